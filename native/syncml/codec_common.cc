// Verb names and the DOM reading / element writing helpers of codec_internal.h.
#include <cstddef>

#include "common/xml_escape.h"
#include "syncml/codec.h"
#include "syncml/codec_internal.h"

namespace wdm::syncml {

const char* VerbName(Verb verb) {
  switch (verb) {
    case Verb::kGet:
      return "Get";
    case Verb::kAdd:
      return "Add";
    case Verb::kReplace:
      return "Replace";
    case Verb::kDelete:
      return "Delete";
    case Verb::kExec:
      return "Exec";
  }
  return "Get";
}

bool VerbFromName(std::string_view name, Verb* out) {
  static constexpr Verb kVerbs[] = {Verb::kGet, Verb::kAdd, Verb::kReplace, Verb::kDelete,
                                    Verb::kExec};
  for (Verb verb : kVerbs) {
    if (name == VerbName(verb)) {
      *out = verb;
      return true;
    }
  }
  return false;
}

namespace internal {
namespace {

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::string_view TrimXmlSpace(std::string_view text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && IsXmlSpace(text[begin])) ++begin;
  while (end > begin && IsXmlSpace(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

bool ParseDecimal(std::string_view text, std::uint64_t max, std::uint64_t* out) {
  if (text.empty()) return false;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > max) return false;
  }
  *out = value;
  return true;
}

bool ParseDocument(std::string_view text, const char* what, xml::Document* doc, std::string* err) {
  err->clear();
  std::string xml_error;
  if (xml::Parse(text, doc, &xml_error)) return true;
  *err = std::string(what) + " is not well-formed XML: " + xml_error;
  return false;
}

bool DomReader::Fail(const xml::Element& el, const std::string& message) {
  if (error_ != nullptr && error_->empty()) {
    *error_ = "SyncML error at byte " + std::to_string(el.offset) + " in <" +
              std::string(el.qname) + ">: " + message;
  }
  return false;
}

bool DomReader::NoText(const xml::Element& el) {
  if (!TrimXmlSpace(el.text).empty()) return Fail(el, "unexpected character data");
  return true;
}

void DomReader::FindChildren(const xml::Element& parent, const std::string_view* names,
                             std::size_t count, Found* found) const {
  for (std::size_t index : parent.children) {
    const xml::Element& child = doc_.at(index);
    for (std::size_t i = 0; i < count; ++i) {
      if (child.name != names[i]) continue;
      if (found[i].first == nullptr) {
        found[i].first = &child;
      } else if (found[i].second == nullptr) {
        found[i].second = &child;
      }
      break;
    }
  }
}

bool DomReader::OptionalChild(const Found& found, std::string_view name, const xml::Element** out) {
  *out = found.first;
  if (found.second != nullptr) {
    return Fail(*found.second, "more than one <" + std::string(name) + ">");
  }
  return true;
}

bool DomReader::OptionalChild(const xml::Element& parent, std::string_view name,
                              const xml::Element** out) {
  Found found;
  FindChildren(parent, &name, 1, &found);
  return OptionalChild(found, name, out);
}

bool DomReader::RequiredChild(const xml::Element& parent, std::string_view name,
                              const xml::Element** out) {
  if (!OptionalChild(parent, name, out)) return false;
  if (*out == nullptr) return Fail(parent, "missing <" + std::string(name) + ">");
  return true;
}

bool DomReader::OptionalLeaf(const Found& found, std::string_view name,
                             std::optional<std::string_view>* out) {
  out->reset();
  const xml::Element* child = nullptr;
  if (!OptionalChild(found, name, &child)) return false;
  if (child == nullptr) return true;
  if (!child->children.empty()) return Fail(*child, "unexpected element inside");
  *out = TrimXmlSpace(child->text);
  return true;
}

bool DomReader::OptionalLeaf(const xml::Element& parent, std::string_view name,
                             std::optional<std::string>* out) {
  Found found;
  FindChildren(parent, &name, 1, &found);
  std::optional<std::string_view> view;
  if (!OptionalLeaf(found, name, &view)) return false;
  if (view) {
    out->emplace(*view);
  } else {
    out->reset();
  }
  return true;
}

std::string_view DomReader::DataValue(const xml::Element& data) const {
  if (data.children.empty()) return data.text;
  return source_.substr(data.inner_begin, data.inner_end - data.inner_begin);
}

bool DomReader::ReadMeta(const xml::Element& meta, MetaView* out) {
  static constexpr std::string_view kNames[] = {"Format", "Type"};
  Found found[2];
  FindChildren(meta, kNames, 2, found);
  return NoText(meta) && OptionalLeaf(found[0], kNames[0], &out->format) &&
         OptionalLeaf(found[1], kNames[1], &out->type);
}

bool DomReader::ReadLocUri(const Found& found, std::string_view name,
                           std::optional<std::string_view>* out) {
  out->reset();
  const xml::Element* holder = nullptr;
  if (!OptionalChild(found, name, &holder)) return false;
  if (holder == nullptr) return true;
  static constexpr std::string_view kLocUri = "LocURI";
  Found loc_uri;
  FindChildren(*holder, &kLocUri, 1, &loc_uri);
  return NoText(*holder) && OptionalLeaf(loc_uri, kLocUri, out);
}

bool DomReader::ReadItem(const xml::Element& item, ItemView* out) {
  static constexpr std::string_view kNames[] = {"Target", "Source", "Meta", "Data"};
  Found found[4];
  FindChildren(item, kNames, 4, found);
  *out = ItemView();
  if (!NoText(item) || !ReadLocUri(found[0], kNames[0], &out->target) ||
      !ReadLocUri(found[1], kNames[1], &out->source)) {
    return false;
  }
  const xml::Element* meta = nullptr;
  if (!OptionalChild(found[2], kNames[2], &meta)) return false;
  if (meta != nullptr && !ReadMeta(*meta, &out->meta)) return false;
  const xml::Element* data = nullptr;
  if (!OptionalChild(found[3], kNames[3], &data)) return false;
  if (data != nullptr) out->data = DataValue(*data);
  return true;
}

namespace {

void Assign(const std::optional<std::string_view>& view, std::optional<std::string>* out) {
  if (view) {
    out->emplace(*view);
  } else {
    out->reset();
  }
}

}  // namespace

bool DomReader::ReadMeta(const xml::Element& meta, Meta* out) {
  MetaView view;
  if (!ReadMeta(meta, &view)) return false;
  Assign(view.format, &out->format);
  Assign(view.type, &out->type);
  return true;
}

bool DomReader::ReadItem(const xml::Element& item, Item* out) {
  ItemView view;
  if (!ReadItem(item, &view)) return false;
  Assign(view.target, &out->target);
  Assign(view.source, &out->source);
  Assign(view.meta.format, &out->meta.format);
  Assign(view.meta.type, &out->meta.type);
  Assign(view.data, &out->data);
  return true;
}

void AppendLeaf(std::string* out, std::string_view name, std::string_view text) {
  out->push_back('<');
  out->append(name);
  out->push_back('>');
  xml::AppendEscaped(out, text);
  out->append("</");
  out->append(name);
  out->push_back('>');
}

void AppendMeta(std::string* out, const std::optional<std::string>& format,
                const std::optional<std::string>& type) {
  if (!format && !type) return;
  out->append("<Meta>");
  if (format) {
    out->append("<Format xmlns=\"syncml:metinf\">");
    xml::AppendEscaped(out, *format);
    out->append("</Format>");
  }
  if (type) {
    out->append("<Type xmlns=\"syncml:metinf\">");
    xml::AppendEscaped(out, *type);
    out->append("</Type>");
  }
  out->append("</Meta>");
}

}  // namespace internal
}  // namespace wdm::syncml
