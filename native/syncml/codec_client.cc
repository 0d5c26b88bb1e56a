// Client side of the SyncML codec: EncodeOps and DecodeOpResults.
//
// Decoding rules (every violation makes DecodeOpResults return false; no partial result):
//  * The document must be well-formed XML whose root is <SyncML> holding at most one <SyncHdr>
//    and exactly one <SyncBody>; <SyncBody> may hold only <Status>, <Results> and <Final>.
//  * A <Status> needs a numeric <CmdRef> and a <Data> code of three digits in 100..599.
//    CmdRef 0 is the status of the SyncHdr (its <Cmd>, if any, must be SyncHdr); a code >= 300
//    there means the device rejected the whole message (e.g. the emulator's answer to a request
//    that is not well formed), reported as an error naming the code.
//    CmdRef 1..N is op CmdRef-1; CmdRef N+1 (atomic only) is the <Atomic>'s own status, which is
//    checked for duplicates and for its <Cmd> but otherwise ignored: every op must carry its own
//    status whatever the Atomic's outcome, so an op without a status is an error even when the
//    Atomic failed. Any other CmdRef is an error. A second status for the same CmdRef is an error.
//  * <Results> must reference an op (CmdRef 1..N) that is a Get (known from the ops overload, or
//    from the op's <Status><Cmd> when only the count is given). Each item needs a LocURI
//    (Source, else Target); an item without its own <Meta> uses the <Results>' <Meta>.
//  * A <Status><Cmd>, when present, must name the op's verb (ops overload only).
#include <cstdint>

#include "syncml/codec.h"
#include "syncml/codec_internal.h"

namespace wdm::syncml {
namespace {

using internal::DomReader;

constexpr std::uint64_t kMaxCmdRef = 0xFFFFFFFFu;

struct StatusFields {
  std::uint64_t cmd_ref = 0;
  int code = 0;
  std::optional<std::string_view> cmd;
};

bool ReadStatus(DomReader& r, const xml::Element& el, StatusFields* out) {
  if (!r.NoText(el)) return false;
  static constexpr std::string_view kNames[] = {"CmdRef", "Data", "Cmd"};
  DomReader::Found found[3];
  r.FindChildren(el, kNames, 3, found);
  std::optional<std::string_view> cmd_ref;
  std::optional<std::string_view> code;
  if (!r.OptionalLeaf(found[0], kNames[0], &cmd_ref) ||
      !r.OptionalLeaf(found[1], kNames[1], &code) ||
      !r.OptionalLeaf(found[2], kNames[2], &out->cmd)) {
    return false;
  }
  if (!cmd_ref) return r.Fail(el, "missing <CmdRef>");
  if (!internal::ParseDecimal(*cmd_ref, kMaxCmdRef, &out->cmd_ref)) {
    return r.Fail(el, "<CmdRef> '" + std::string(*cmd_ref) + "' is not a command number");
  }
  if (!code) return r.Fail(el, "missing <Data> (the status code)");
  std::uint64_t value = 0;
  if (code->size() != 3 || !internal::ParseDecimal(*code, 599, &value) || value < 100) {
    return r.Fail(el, "status code '" + std::string(*code) + "' is not a number in 100..599");
  }
  out->code = static_cast<int>(value);
  return true;
}

// The CmdRef of a <Results> (its items are read by ReadResultItems).
bool ReadResultsRef(DomReader& r, const xml::Element& el, std::uint64_t* cmd_ref) {
  if (!r.NoText(el)) return false;
  static constexpr std::string_view kCmdRef = "CmdRef";
  DomReader::Found found;
  r.FindChildren(el, &kCmdRef, 1, &found);
  std::optional<std::string_view> ref;
  if (!r.OptionalLeaf(found, kCmdRef, &ref)) return false;
  if (!ref) return r.Fail(el, "missing <CmdRef>");
  if (!internal::ParseDecimal(*ref, kMaxCmdRef, cmd_ref)) {
    return r.Fail(el, "<CmdRef> '" + std::string(*ref) + "' is not a command number");
  }
  return true;
}

void Assign(const std::optional<std::string_view>& view, std::optional<std::string>* out) {
  if (view) out->emplace(*view);
}

// Appends the <Item>s of a <Results> to `items`, copying each value once from the document.
bool ReadResultItems(DomReader& r, const xml::Element& el, std::vector<ResultItem>* items) {
  static constexpr std::string_view kMeta = "Meta";
  DomReader::Found found;
  r.FindChildren(el, &kMeta, 1, &found);
  internal::MetaView shared;
  const xml::Element* meta = nullptr;
  if (!r.OptionalChild(found, kMeta, &meta)) return false;
  if (meta != nullptr && !r.ReadMeta(*meta, &shared)) return false;
  for (std::size_t index : el.children) {
    const xml::Element& child = r.At(index);
    if (child.name != "Item") continue;
    internal::ItemView item;
    if (!r.ReadItem(child, &item)) return false;
    const std::optional<std::string_view>& uri = item.source ? item.source : item.target;
    if (!uri) return r.Fail(child, "item without Source/LocURI or Target/LocURI");
    ResultItem& result = items->emplace_back();
    result.uri = *uri;
    const bool own_meta = item.meta.format || item.meta.type;
    Assign(own_meta ? item.meta.format : shared.format, &result.format);
    Assign(own_meta ? item.meta.type : shared.type, &result.type);
    Assign(item.data, &result.data);
  }
  return true;
}

bool Decode(std::string_view response, std::size_t op_count, bool atomic,
            const std::vector<Op>* ops, std::vector<OpResult>* out, std::string* error) {
  out->clear();
  std::string local_error;
  std::string* err = error != nullptr ? error : &local_error;
  xml::Document doc;
  if (!internal::ParseDocument(response, "response", &doc, err)) return false;
  DomReader r(response, doc, err);
  const xml::Element& root = doc.root();
  if (root.name != "SyncML") return r.Fail(root, "the root element must be <SyncML>");
  if (!r.NoText(root)) return false;
  const xml::Element* body = nullptr;
  const xml::Element* header = nullptr;
  for (std::size_t index : root.children) {
    const xml::Element& child = doc.at(index);
    const xml::Element** slot = child.name == "SyncBody"  ? &body
                                : child.name == "SyncHdr" ? &header
                                                          : nullptr;
    if (slot == nullptr) return r.Fail(child, "unexpected element in <SyncML>");
    if (*slot != nullptr) return r.Fail(child, "more than one <" + std::string(child.name) + ">");
    *slot = &child;
  }
  if (body == nullptr) return r.Fail(root, "missing <SyncBody>");
  if (!r.NoText(*body)) return false;

  std::vector<OpResult> results(op_count);
  std::vector<bool> has_status(op_count, false);
  std::vector<bool> has_results(op_count, false);
  std::vector<std::optional<std::string_view>> status_cmd(op_count);
  const std::uint64_t atomic_ref = atomic ? op_count + 1 : 0;
  bool has_atomic_status = false;
  bool has_header_status = false;
  int header_code = 0;

  for (std::size_t index : body->children) {
    const xml::Element& child = doc.at(index);
    if (child.name == "Final") continue;
    if (child.name == "Status") {
      StatusFields status;
      if (!ReadStatus(r, child, &status)) return false;
      if (status.cmd_ref == 0) {
        if (has_header_status) return r.Fail(child, "more than one <Status> for the SyncHdr");
        if (status.cmd && *status.cmd != "SyncHdr") {
          return r.Fail(
              child, "CmdRef 0 with <Cmd> '" + std::string(*status.cmd) + "' (expected SyncHdr)");
        }
        has_header_status = true;
        header_code = status.code;
      } else if (status.cmd_ref <= op_count) {
        const std::size_t op = static_cast<std::size_t>(status.cmd_ref - 1);
        if (has_status[op]) {
          return r.Fail(child, "duplicate <Status> for CmdRef " + std::to_string(status.cmd_ref));
        }
        has_status[op] = true;
        results[op].status = status.code;
        status_cmd[op] = status.cmd;
      } else if (status.cmd_ref == atomic_ref) {
        if (has_atomic_status) return r.Fail(child, "duplicate <Status> for the Atomic");
        if (status.cmd && *status.cmd != "Atomic") {
          return r.Fail(child, "the Atomic's status has <Cmd> '" + std::string(*status.cmd) + "'");
        }
        has_atomic_status = true;
      } else {
        return r.Fail(
            child, "CmdRef " + std::to_string(status.cmd_ref) + " does not match any command sent");
      }
    } else if (child.name == "Results") {
      std::uint64_t cmd_ref = 0;
      if (!ReadResultsRef(r, child, &cmd_ref)) return false;
      // The items are read (and checked) before the CmdRef is judged, straight into the op's
      // result when the CmdRef is one.
      const bool valid = cmd_ref != 0 && cmd_ref != atomic_ref && cmd_ref <= op_count;
      std::vector<ResultItem> rejected;
      const std::size_t op = valid ? static_cast<std::size_t>(cmd_ref - 1) : 0;
      if (!ReadResultItems(r, child, valid ? &results[op].items : &rejected)) return false;
      if (cmd_ref == 0 || cmd_ref == atomic_ref) {
        return r.Fail(child, "<Results> for a command that is not a Get (CmdRef " +
                                 std::to_string(cmd_ref) + ")");
      }
      if (cmd_ref > op_count) {
        return r.Fail(child,
                      "CmdRef " + std::to_string(cmd_ref) + " does not match any command sent");
      }
      has_results[op] = true;
    } else {
      return r.Fail(child, "unexpected element in <SyncBody>");
    }
  }

  if (has_header_status && header_code >= 300) {
    *err = "the device rejected the whole message (SyncHdr status " + std::to_string(header_code) +
           ")";
    return false;
  }
  for (std::size_t op = 0; op < op_count; ++op) {
    const std::string op_name = "op " + std::to_string(op + 1);
    if (!has_status[op]) return r.Fail(*body, "no <Status> for " + op_name);
    const char* expected = ops != nullptr ? VerbName((*ops)[op].verb) : nullptr;
    if (expected != nullptr && status_cmd[op] && *status_cmd[op] != expected) {
      return r.Fail(*body, "the <Status> for " + op_name + " is for <Cmd> '" +
                               std::string(*status_cmd[op]) + "', expected " + expected);
    }
    if (has_results[op]) {
      const bool is_get = ops != nullptr ? (*ops)[op].verb == Verb::kGet
                                         : (!status_cmd[op] || *status_cmd[op] == "Get");
      if (!is_get) return r.Fail(*body, "<Results> for " + op_name + ", which is not a Get");
    }
  }
  *out = std::move(results);
  return true;
}

}  // namespace

std::string EncodeOps(const std::vector<Op>& ops, bool atomic) {
  std::string out = "<SyncBody>";
  if (atomic) {
    out.append("<Atomic>");
    internal::AppendLeaf(&out, "CmdID", std::to_string(ops.size() + 1));
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    const std::string verb = VerbName(op.verb);
    out.append("<").append(verb).append(">");
    internal::AppendLeaf(&out, "CmdID", std::to_string(i + 1));
    out.append("<Item><Target>");
    internal::AppendLeaf(&out, "LocURI", op.uri);
    out.append("</Target>");
    std::optional<std::string> format;
    std::optional<std::string> type;
    if (!op.format.empty()) format = op.format;
    if (!op.type.empty()) {
      type = op.type;
    } else if (op.data) {
      type = "text/plain";
    }
    internal::AppendMeta(&out, format, type);
    if (op.data) internal::AppendLeaf(&out, "Data", *op.data);
    out.append("</Item></").append(verb).append(">");
  }
  if (atomic) out.append("</Atomic>");
  out.append("</SyncBody>");
  return out;
}

bool DecodeOpResults(std::string_view response, std::size_t op_count, bool atomic,
                     std::vector<OpResult>* out, std::string* error) {
  return Decode(response, op_count, atomic, nullptr, out, error);
}

bool DecodeOpResults(std::string_view response, const std::vector<Op>& ops, bool atomic,
                     std::vector<OpResult>* out, std::string* error) {
  return Decode(response, ops.size(), atomic, &ops, out, error);
}

}  // namespace wdm::syncml
