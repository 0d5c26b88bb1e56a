// Device side of the SyncML codec: ParseRequest and EncodeResponse.
//
// ParseRequest accepts a bare <SyncBody> or a <SyncML> with an optional <SyncHdr> (ignored) and
// one <SyncBody>. <Final/> directly in <SyncBody> is skipped. Every other child element becomes
// a Command named after the element (prefix stripped), in document order:
//  * Get/Add/Replace/Delete/Exec: CmdID, command-level Meta, and every Item (Target/LocURI,
//    Source/LocURI, Meta Format/Type, Data). Other children (NoResp, Cred, ...) are ignored.
//  * Atomic/Sequence: CmdID, Meta, and their child elements as nested Commands (so an <Item>
//    directly inside an Atomic becomes a Command "Item" the engine answers with 400).
//  * Anything else: only a single well-formed CmdID is picked up (if present); the engine
//    answers such commands with 400.
// Duplicate CmdID/Meta/Target/Data elements or stray text in a structural element make the whole
// request malformed (false).
#include "syncml/codec.h"
#include "syncml/codec_internal.h"

namespace wdm::syncml {
namespace {

using internal::DomReader;

bool IsContainer(std::string_view name) { return name == "Atomic" || name == "Sequence"; }

bool IsVerb(std::string_view name) {
  Verb verb;
  return VerbFromName(name, &verb);
}

bool ReadCommands(DomReader& r, const xml::Element& container, bool is_body,
                  std::vector<Command>* out);

bool ReadCommand(DomReader& r, const xml::Element& el, Command* cmd) {
  cmd->name = el.name;
  const bool container = IsContainer(el.name);
  if (!container && !IsVerb(el.name)) {
    // Unknown command: best effort CmdID for the status' CmdRef, never a parse failure.
    const xml::Element* id = nullptr;
    int count = 0;
    for (std::size_t index : el.children) {
      if (r.At(index).name == "CmdID") id = &r.At(index), ++count;
    }
    if (count == 1 && id->children.empty()) {
      cmd->cmd_id = std::string(internal::TrimXmlSpace(id->text));
    }
    return true;
  }
  if (!r.NoText(el) || !r.OptionalLeaf(el, "CmdID", &cmd->cmd_id)) return false;
  const xml::Element* meta = nullptr;
  if (!r.OptionalChild(el, "Meta", &meta)) return false;
  if (meta != nullptr && !r.ReadMeta(*meta, &cmd->meta)) return false;
  if (container) return ReadCommands(r, el, false, &cmd->children);
  for (std::size_t index : el.children) {
    const xml::Element& child = r.At(index);
    if (child.name != "Item") continue;
    Item item;
    if (!r.ReadItem(child, &item)) return false;
    cmd->items.push_back(std::move(item));
  }
  return true;
}

bool ReadCommands(DomReader& r, const xml::Element& container, bool is_body,
                  std::vector<Command>* out) {
  if (!r.NoText(container)) return false;
  for (std::size_t index : container.children) {
    const xml::Element& child = r.At(index);
    if (is_body && child.name == "Final") continue;
    if (!is_body && (child.name == "CmdID" || child.name == "Meta" || child.name == "NoResp")) {
      continue;  // the container's own fields
    }
    Command cmd;
    if (!ReadCommand(r, child, &cmd)) return false;
    out->push_back(std::move(cmd));
  }
  return true;
}

void AppendStatus(std::string* out, const Status& status) {
  out->append("<Status>");
  if (!status.cmd_id.empty()) internal::AppendLeaf(out, "CmdID", status.cmd_id);
  if (!status.msg_ref.empty()) internal::AppendLeaf(out, "MsgRef", status.msg_ref);
  internal::AppendLeaf(out, "CmdRef", status.cmd_ref);
  internal::AppendLeaf(out, "Cmd", status.cmd);
  for (const std::string& ref : status.target_refs) internal::AppendLeaf(out, "TargetRef", ref);
  internal::AppendLeaf(out, "Data", std::to_string(status.code));
  out->append("</Status>");
}

void AppendResults(std::string* out, const Results& results) {
  out->append("<Results>");
  if (!results.cmd_id.empty()) internal::AppendLeaf(out, "CmdID", results.cmd_id);
  if (!results.msg_ref.empty()) internal::AppendLeaf(out, "MsgRef", results.msg_ref);
  internal::AppendLeaf(out, "CmdRef", results.cmd_ref);
  for (const ResultItem& item : results.items) {
    out->append("<Item><Source>");
    internal::AppendLeaf(out, "LocURI", item.uri);
    out->append("</Source>");
    internal::AppendMeta(out, item.format, item.type);
    if (item.data) internal::AppendLeaf(out, "Data", *item.data);
    out->append("</Item>");
  }
  out->append("</Results>");
}

}  // namespace

bool ParseRequest(std::string_view xml, std::vector<Command>* out, std::string* error) {
  out->clear();
  std::string local_error;
  std::string* err = error != nullptr ? error : &local_error;
  xml::Document doc;
  if (!internal::ParseDocument(xml, "request", &doc, err)) return false;
  DomReader r(xml, doc, err);
  const xml::Element& root = doc.root();
  const xml::Element* body = nullptr;
  if (root.name == "SyncBody") {
    body = &root;
  } else if (root.name == "SyncML") {
    if (!r.NoText(root)) return false;
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
  } else {
    return r.Fail(root, "the root element must be <SyncBody> or <SyncML>");
  }
  std::vector<Command> commands;
  if (!ReadCommands(r, *body, true, &commands)) return false;
  *out = std::move(commands);
  return true;
}

std::string EncodeResponse(const Response& response) {
  std::string out =
      "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
      "<SessionID>1</SessionID><MsgID>1</MsgID></SyncHdr><SyncBody>";
  const bool has_header_status = !response.entries.empty() && !response.entries[0].is_results &&
                                 response.entries[0].status.cmd_ref == "0";
  if (!has_header_status) {
    Status header;
    header.cmd_id = "1";
    header.cmd_ref = "0";
    header.cmd = "SyncHdr";
    header.code = 200;
    AppendStatus(&out, header);
  }
  for (const Response::Entry& entry : response.entries) {
    if (entry.is_results) {
      AppendResults(&out, entry.results);
    } else {
      AppendStatus(&out, entry.status);
    }
  }
  out.append("<Final/></SyncBody></SyncML>");
  return out;
}

}  // namespace wdm::syncml
