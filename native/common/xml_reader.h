// A small, strict XML 1.0 reader producing a flat DOM (elements in document order).
//
// Supported: UTF-8 input (optional BOM), elements, attributes, character data with the five
// predefined entities and &#N; / &#xN; references, CDATA sections, comments, processing
// instructions and the XML declaration (both skipped). Line ends are normalized (CR LF and lone
// CR become LF) as XML 1.0 requires; character references such as &#13; are not normalized.
// Rejected: DOCTYPE and any other <!...> declaration, unknown entities, references to characters
// XML 1.0 does not allow, invalid UTF-8, mismatched or unclosed tags, duplicate attributes, text
// or markup after the root element, "]]>" in text, input above the size / element / depth limits.
// Namespaces are not resolved: a "prefix:" is stripped from `name` and kept in `qname`.
// Parsing is iterative (no recursion); every failure returns false with "XML error at byte N: …".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace wdm::xml {

struct Attribute {
  std::string qname;  // as written, e.g. "xmlns:MSFT"
  std::string name;   // local part, e.g. "MSFT"
  std::string value;  // entity-decoded, whitespace-normalized per XML 1.0
};

struct Element {
  static constexpr std::size_t kNoParent = static_cast<std::size_t>(-1);

  std::string qname;  // as written, e.g. "syncml:Format"
  std::string name;   // local part, e.g. "Format"
  std::vector<Attribute> attributes;
  // All character data directly inside this element, in order: text entity-decoded, CDATA
  // verbatim (text between child elements is included too).
  std::string text;
  std::vector<std::size_t> children;  // indices into Document::elements, document order
  std::size_t parent = kNoParent;
  std::size_t offset = 0;       // byte offset of the '<' of the start tag
  std::size_t inner_begin = 0;  // [inner_begin, inner_end): raw content between start and end tag
  std::size_t inner_end = 0;
};

struct Document {
  std::vector<Element> elements;  // elements[0] is the root when parsing succeeded

  const Element& root() const { return elements[0]; }
  const Element& at(std::size_t index) const { return elements[index]; }
};

struct Limits {
  std::size_t max_bytes = 64u * 1024u * 1024u;
  std::size_t max_elements = 1000000;
  std::size_t max_depth = 64;
};

// Parses `input`. On success fills `doc` (replacing its contents) and returns true. On failure
// returns false, sets `error`, and leaves `doc` empty.
bool Parse(std::string_view input, Document* doc, std::string* error,
           const Limits& limits = Limits());

}  // namespace wdm::xml
