// Helpers shared by codec_client.cc and codec_device.cc (not part of the codec's API): reading
// the XML DOM with strict cardinality checks, and writing SyncML elements.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/xml_reader.h"
#include "syncml/codec.h"

namespace wdm::syncml::internal {

// Strips XML whitespace (space, tab, CR, LF) from both ends.
std::string_view TrimXmlSpace(std::string_view text);

// Parses a decimal number made only of ASCII digits (no sign, no spaces), at most `max`.
bool ParseDecimal(std::string_view text, std::uint64_t max, std::uint64_t* out);

// Parses `text` into `doc` (clearing `*err` first). On failure sets `*err` to
// "<what> is not well-formed XML: <reader error>" and returns false.
bool ParseDocument(std::string_view text, const char* what, xml::Document* doc, std::string* err);

// Meta and Item as views into the parsed document (or its input); see Meta and Item.
struct MetaView {
  std::optional<std::string_view> format;
  std::optional<std::string_view> type;
};
struct ItemView {
  std::optional<std::string_view> target;
  std::optional<std::string_view> source;
  MetaView meta;
  std::optional<std::string_view> data;
};

// Reads a parsed document. Every failing call sets the error (once) and returns false.
class DomReader {
 public:
  // The first and the second child with a given name (nullptr where there is none).
  struct Found {
    const xml::Element* first = nullptr;
    const xml::Element* second = nullptr;
  };

  DomReader(std::string_view source, const xml::Document& doc, std::string* error)
      : source_(source), doc_(doc), error_(error) {}

  const xml::Element& At(std::size_t index) const { return doc_.at(index); }

  // Records "SyncML error at byte N in <el>: message" and returns false.
  bool Fail(const xml::Element& el, const std::string& message);

  // Fails if `el` holds character data other than whitespace (structural elements only).
  bool NoText(const xml::Element& el);
  // One pass over the children of `parent`: found[i] for the children named names[i].
  void FindChildren(const xml::Element& parent, const std::string_view* names, std::size_t count,
                    Found* found) const;
  // The only child (found.first), or nullptr if there is none; fails if there are several.
  bool OptionalChild(const Found& found, std::string_view name, const xml::Element** out);
  bool OptionalChild(const xml::Element& parent, std::string_view name, const xml::Element** out);
  // Like OptionalChild, but a missing child fails too.
  bool RequiredChild(const xml::Element& parent, std::string_view name, const xml::Element** out);
  // The trimmed text of a child that must not contain elements; nullopt if there is no child.
  bool OptionalLeaf(const Found& found, std::string_view name,
                    std::optional<std::string_view>* out);
  bool OptionalLeaf(const xml::Element& parent, std::string_view name,
                    std::optional<std::string>* out);
  // <Data>: its character data verbatim, or the raw inner markup if it contains elements.
  std::string_view DataValue(const xml::Element& data) const;
  // <Meta>: Format and Type (other children are ignored).
  bool ReadMeta(const xml::Element& meta, MetaView* out);
  bool ReadMeta(const xml::Element& meta, Meta* out);
  // <Item>: Target/LocURI, Source/LocURI, Meta, Data (other children are ignored).
  bool ReadItem(const xml::Element& item, ItemView* out);
  bool ReadItem(const xml::Element& item, Item* out);

 private:
  bool ReadLocUri(const Found& found, std::string_view name, std::optional<std::string_view>* out);

  std::string_view source_;
  const xml::Document& doc_;
  std::string* error_;
};

// <name>escaped text</name>
void AppendLeaf(std::string* out, std::string_view name, std::string_view text);
// <Meta><Format xmlns="syncml:metinf">…</Format><Type …>…</Type></Meta>, or nothing if both
// are absent.
void AppendMeta(std::string* out, const std::optional<std::string>& format,
                const std::optional<std::string>& type);

}  // namespace wdm::syncml::internal
