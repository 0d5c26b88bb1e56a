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
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace wdm::xml {

// A read-only view of consecutive T owned by a Document.
template <typename T>
class Span {
 public:
  Span() = default;
  Span(const T* begin, std::size_t size) : begin_(begin), size_(size) {}
  const T* begin() const { return begin_; }
  const T* end() const { return begin_ + size_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](std::size_t i) const { return begin_[i]; }

 private:
  const T* begin_ = nullptr;
  std::size_t size_ = 0;
};

// Every string_view below points into the parsed input (which the caller must keep alive,
// unchanged, as long as the Document is used) or, for text that needed decoding, into the Document
// itself.
struct Attribute {
  std::string_view qname;  // as written, e.g. "xmlns:MSFT"
  std::string_view name;   // local part, e.g. "MSFT"
  std::string_view value;  // entity-decoded, whitespace-normalized per XML 1.0
};

struct Element {
  static constexpr std::size_t kNoParent = static_cast<std::size_t>(-1);

  std::string_view qname;  // as written, e.g. "syncml:Format"
  std::string_view name;   // local part, e.g. "Format"
  Span<Attribute> attributes;
  // All character data directly inside this element, in order: text entity-decoded, CDATA
  // verbatim (text between child elements is included too).
  std::string_view text;
  Span<std::size_t> children;  // indices into Document::elements, document order
  std::size_t parent = kNoParent;
  std::size_t offset = 0;       // byte offset of the '<' of the start tag
  std::size_t inner_begin = 0;  // [inner_begin, inner_end): raw content between start and end tag
  std::size_t inner_end = 0;
};

// Zero-copy DOM: names and text that needs no decoding are views into the input. Movable (views
// stay valid), not copyable.
struct Document {
  std::vector<Element> elements;  // elements[0] is the root when parsing succeeded

  // Storage behind the elements' spans and decoded text (filled by Parse).
  std::vector<Attribute> attribute_pool;
  std::vector<std::size_t> child_pool;
  std::deque<std::string> decoded;  // a deque never moves its strings

  Document() = default;
  Document(Document&&) = default;
  Document& operator=(Document&&) = default;
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  const Element& root() const { return elements[0]; }
  const Element& at(std::size_t index) const { return elements[index]; }
  void clear() {
    elements.clear();
    attribute_pool.clear();
    child_pool.clear();
    decoded.clear();
  }
};

struct Limits {
  std::size_t max_bytes = 64u * 1024u * 1024u;
  std::size_t max_elements = 1000000;
  std::size_t max_depth = 64;
};

// Parses `input`. On success fills `doc` (replacing its contents) and returns true; `doc` refers
// into `input`, which must outlive it. On failure returns false, sets `error`, and leaves `doc`
// empty.
bool Parse(std::string_view input, Document* doc, std::string* error,
           const Limits& limits = Limits());

}  // namespace wdm::xml
