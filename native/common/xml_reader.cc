// Strict, iterative XML 1.0 reader (see xml_reader.h).
#include "common/xml_reader.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "common/xml_chars.h"

namespace wdm::xml {
namespace {

constexpr std::size_t kMaxReserve = 1u << 16;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Bit 1: may start a name; bit 2: may continue one. Bytes from 0x80 up are parts of non-ASCII
// characters (the input is validated UTF-8), all allowed.
struct NameTable {
  unsigned char bits[256] = {};
  constexpr NameTable() {
    for (int c = 0; c < 256; ++c) {
      const bool start =
          (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
      const bool more = start || (c >= '0' && c <= '9') || c == '-' || c == '.';
      bits[c] = static_cast<unsigned char>((start ? 1 : 0) | (more ? 2 : 0));
    }
  }
};
constexpr NameTable kNameTable;

bool IsNameStart(char c) { return (kNameTable.bits[static_cast<unsigned char>(c)] & 1) != 0; }
bool IsNameChar(char c) { return (kNameTable.bits[static_cast<unsigned char>(c)] & 2) != 0; }

// Whether `text` holds `a` or `b`. (string_view::find_first_of calls memchr once per character
// of the text: most of a short text node's cost.)
bool HasAny(std::string_view text, char a, char b) {
  for (const char c : text) {
    if (c == a || c == b) return true;
  }
  return false;
}

int DigitValue(char c, bool hex) {
  if (c >= '0' && c <= '9') return c - '0';
  if (hex && c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (hex && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Parser {
 public:
  Parser(std::string_view input, const Limits& limits, Document* doc)
      : in_(input), limits_(limits), doc_(doc) {}

  bool Run();
  const std::string& error() const { return error_; }

 private:
  bool Fail(std::size_t offset, const std::string& message) {
    error_ = "XML error at byte " + std::to_string(offset) + ": " + message;
    return false;
  }
  bool FailEof(const char* where) {
    return Fail(in_.size(), std::string("unexpected end of input ") + where);
  }
  bool AtEnd() const { return pos_ >= in_.size(); }
  bool StartsWith(std::string_view s) const {
    return pos_ <= in_.size() && in_.size() - pos_ >= s.size() &&
           in_.compare(pos_, s.size(), s) == 0;
  }
  bool SkipSpace() {
    const std::size_t start = pos_;
    while (!AtEnd() && IsSpace(in_[pos_])) ++pos_;
    return pos_ != start;
  }

  bool ParseName(std::string_view* qname);
  bool LocalName(std::string_view qname, std::size_t offset, std::string_view* local);
  // Points every element's `children` and `attributes` into the document's pools.
  void LinkChildren();
  // Where text for the innermost open element goes once it cannot be a view into the input.
  std::string* TextBuffer();
  // Appends a run of character data to the innermost open element: as a view when it is the
  // element's first run and needs no decoding, else (decoded) into its buffer.
  bool AddText(std::string_view raw, std::size_t base, bool plain);
  bool SkipComment();
  bool SkipProcessingInstruction(bool at_document_start);
  bool ParseStartTag();
  bool ParseEndTag();
  bool ParseCdata();
  bool ParseText();
  bool Decode(std::string_view raw, std::size_t base, bool attribute, std::string* out);

  struct Open {
    std::size_t index;         // into doc_->elements
    std::string* text_buffer;  // in doc_->decoded once the text is not a plain view
  };
  struct AttributeRange {
    std::size_t element, begin, count;
  };

  std::string_view in_;
  const Limits& limits_;
  Document* doc_;
  std::size_t pos_ = 0;
  std::vector<Open> open_;  // the open elements, innermost last
  std::vector<AttributeRange> attribute_ranges_;
  std::string error_;
};

bool Parser::Run() {
  if (in_.size() > limits_.max_bytes) {
    return Fail(0, "input is " + std::to_string(in_.size()) + " bytes, more than the limit of " +
                       std::to_string(limits_.max_bytes));
  }
  std::size_t bad = 0;
  const char* reason = nullptr;
  if (!ValidateXmlChars(in_, &bad, &reason)) return Fail(bad, reason);
  // Every element but an empty-element tag has two '<'; reserving for that many elements keeps
  // the vector from reallocating (and moving every element) while it grows.
  std::size_t tags = 0;
  for (std::size_t at = in_.find('<'); at != std::string_view::npos; at = in_.find('<', at + 1)) {
    ++tags;  // find() is memchr: a fraction of a byte-by-byte count on a large answer
  }
  doc_->elements.reserve(std::min({tags / 2 + 1, limits_.max_elements, kMaxReserve}));
  if (StartsWith("\xEF\xBB\xBF")) pos_ = 3;
  const std::size_t document_start = pos_;

  // Prolog: XML declaration, comments, processing instructions, whitespace.
  for (;;) {
    SkipSpace();
    if (AtEnd()) return Fail(pos_, "no root element");
    if (in_[pos_] != '<') return Fail(pos_, "text before the root element");
    if (StartsWith("<?")) {
      if (!SkipProcessingInstruction(pos_ == document_start)) return false;
    } else if (StartsWith("<!--")) {
      if (!SkipComment()) return false;
    } else if (StartsWith("<!DOCTYPE")) {
      return Fail(pos_, "DOCTYPE is not allowed");
    } else if (StartsWith("<!")) {
      return Fail(pos_, "markup declaration is not allowed");
    } else {
      break;
    }
  }

  if (!ParseStartTag()) return false;
  while (!open_.empty()) {
    if (AtEnd()) {
      const std::string qname(doc_->elements[open_.back().index].qname);
      return FailEof(("(<" + qname + "> is not closed)").c_str());
    }
    bool ok = true;
    const char next = pos_ + 1 < in_.size() ? in_[pos_ + 1] : '\0';
    if (in_[pos_] != '<') {
      ok = ParseText();
    } else if (next == '/') {
      ok = ParseEndTag();
    } else if (next != '!' && next != '?') {
      ok = ParseStartTag();
    } else if (StartsWith("<!--")) {
      ok = SkipComment();
    } else if (StartsWith("<![CDATA[")) {
      ok = ParseCdata();
    } else if (StartsWith("<!")) {
      ok = Fail(pos_, "markup declaration is not allowed");
    } else {
      ok = SkipProcessingInstruction(false);  // "<?"
    }
    if (!ok) return false;
  }

  // Misc after the root: only whitespace, comments and processing instructions.
  for (;;) {
    SkipSpace();
    if (AtEnd()) {
      LinkChildren();
      return true;
    }
    if (StartsWith("<?")) {
      if (!SkipProcessingInstruction(false)) return false;
    } else if (StartsWith("<!--")) {
      if (!SkipComment()) return false;
    } else {
      return Fail(pos_, "content after the root element");
    }
  }
}

void Parser::LinkChildren() {
  std::vector<Element>& elements = doc_->elements;
  const std::size_t n = elements.size();
  // Counting sort by parent: children of element i occupy [first[i], first[i + 1]).
  std::vector<std::size_t> first(n + 1, 0);
  for (const Element& el : elements) {
    if (el.parent != Element::kNoParent) ++first[el.parent + 1];
  }
  for (std::size_t i = 0; i < n; ++i) first[i + 1] += first[i];
  std::vector<std::size_t>& pool = doc_->child_pool;
  pool.resize(first[n]);
  std::vector<std::size_t> next(first.begin(), first.end() - 1);
  for (std::size_t i = 1; i < n; ++i) pool[next[elements[i].parent]++] = i;
  for (std::size_t i = 0; i < n; ++i) {
    elements[i].children = Span<std::size_t>(pool.data() + first[i], first[i + 1] - first[i]);
  }
  const Attribute* attributes = doc_->attribute_pool.data();
  for (const AttributeRange& range : attribute_ranges_) {
    elements[range.element].attributes = Span<Attribute>(attributes + range.begin, range.count);
  }
}

std::string* Parser::TextBuffer() {
  Open& top = open_.back();
  if (top.text_buffer == nullptr) {
    top.text_buffer = &doc_->decoded.emplace_back(doc_->elements[top.index].text);
  }
  return top.text_buffer;
}

bool Parser::AddText(std::string_view raw, std::size_t base, bool plain) {
  Open& top = open_.back();
  std::string_view& text = doc_->elements[top.index].text;
  if (plain && top.text_buffer == nullptr && text.empty()) {
    text = raw;
    return true;
  }
  std::string* buffer = TextBuffer();
  if (plain) {
    buffer->append(raw);
    return true;
  }
  return Decode(raw, base, false, buffer);
}

bool Parser::ParseName(std::string_view* qname) {
  if (AtEnd()) return FailEof("(expected a name)");
  if (!IsNameStart(in_[pos_])) return Fail(pos_, "expected a name");
  const std::size_t start = pos_;
  const char* const data = in_.data();
  const std::size_t size = in_.size();
  std::size_t end = start + 1;  // local copies: the loop keeps them in registers
  while (end < size && IsNameChar(data[end])) ++end;
  pos_ = end;
  *qname = in_.substr(start, end - start);
  return true;
}

bool Parser::LocalName(std::string_view qname, std::size_t offset, std::string_view* local) {
  std::size_t colon = 0;  // a byte loop: names are short, a memchr call costs more
  while (colon < qname.size() && qname[colon] != ':') ++colon;
  if (colon == qname.size()) {
    *local = qname;
    return true;
  }
  if (colon == 0 || colon + 1 == qname.size() ||
      qname.find(':', colon + 1) != std::string_view::npos) {
    return Fail(offset, "invalid qualified name '" + std::string(qname) + "'");
  }
  *local = qname.substr(colon + 1);
  return true;
}

bool Parser::SkipComment() {
  const std::size_t body = pos_ + 4;  // after "<!--"
  const std::size_t dashes = in_.find("--", body);
  if (dashes == std::string_view::npos || dashes + 2 >= in_.size()) return FailEof("in a comment");
  if (in_[dashes + 2] != '>') return Fail(dashes, "'--' inside a comment");
  pos_ = dashes + 3;
  return true;
}

bool Parser::SkipProcessingInstruction(bool at_document_start) {
  const std::size_t start = pos_;
  pos_ += 2;  // "<?"
  std::string_view target;
  if (!ParseName(&target)) return false;
  const bool is_xml_decl = target.size() == 3 && (target[0] | 0x20) == 'x' &&
                           (target[1] | 0x20) == 'm' && (target[2] | 0x20) == 'l';
  if (is_xml_decl && (!at_document_start || target != "xml")) {
    return Fail(start, "XML declaration is only allowed at the start of the document");
  }
  if (StartsWith("?>")) {
    pos_ += 2;
    return true;
  }
  if (AtEnd()) return FailEof("in a processing instruction");
  if (!IsSpace(in_[pos_])) return Fail(pos_, "expected whitespace after the target");
  const std::size_t end = in_.find("?>", pos_);
  if (end == std::string_view::npos) return FailEof("in a processing instruction");
  pos_ = end + 2;
  return true;
}

bool Parser::ParseStartTag() {
  const std::size_t start = pos_;
  if (doc_->elements.size() >= limits_.max_elements) {
    return Fail(start, "more than " + std::to_string(limits_.max_elements) + " elements");
  }
  if (open_.size() >= limits_.max_depth) {
    return Fail(start, "elements nested deeper than " + std::to_string(limits_.max_depth));
  }
  ++pos_;  // '<'
  std::vector<Element>& elements = doc_->elements;
  const std::size_t index = elements.size();
  Element& el = elements.emplace_back();  // popped again by Parse() when this fails
  el.offset = start;
  el.parent = open_.empty() ? Element::kNoParent : open_.back().index;
  if (!ParseName(&el.qname) || !LocalName(el.qname, start, &el.name)) return false;
  std::vector<Attribute>& attributes = doc_->attribute_pool;
  const std::size_t first_attribute = attributes.size();
  bool open = false;
  for (;;) {
    const bool had_space = SkipSpace();
    if (AtEnd()) return FailEof("in a start tag");
    if (in_[pos_] == '>') {
      ++pos_;
      el.inner_begin = pos_;
      open = true;
      break;
    }
    if (in_[pos_] == '/') {
      if (pos_ + 1 >= in_.size()) return FailEof("in a start tag");
      if (in_[pos_ + 1] != '>') return Fail(pos_, "expected '>' after '/'");
      pos_ += 2;
      el.inner_begin = el.inner_end = pos_;
      break;
    }
    if (!had_space) return Fail(pos_, "expected whitespace, '>' or '/>' in a start tag");
    const std::size_t attr_offset = pos_;
    std::string_view attr_qname, attr_name;
    if (!ParseName(&attr_qname) || !LocalName(attr_qname, attr_offset, &attr_name)) return false;
    for (std::size_t i = first_attribute; i < attributes.size(); ++i) {
      if (attributes[i].qname == attr_qname) {
        return Fail(attr_offset, "duplicate attribute " + std::string(attr_qname));
      }
    }
    Attribute attr;
    attr.qname = attr_qname;
    attr.name = attr_name;
    SkipSpace();
    if (AtEnd()) return FailEof("in a start tag");
    if (in_[pos_] != '=') return Fail(pos_, "expected '=' after an attribute name");
    ++pos_;
    SkipSpace();
    if (AtEnd()) return FailEof("in a start tag");
    const char quote = in_[pos_];
    if (quote != '"' && quote != '\'') return Fail(pos_, "expected a quoted attribute value");
    const std::size_t value_start = pos_ + 1;
    const std::size_t value_end = in_.find(quote, value_start);
    if (value_end == std::string_view::npos) return FailEof("in an attribute value");
    const std::string_view raw = in_.substr(value_start, value_end - value_start);
    const std::size_t lt = raw.find('<');
    if (lt != std::string_view::npos) return Fail(value_start + lt, "'<' in an attribute value");
    if (!HasAny(raw, '&', '\r') && !HasAny(raw, '\n', '\t')) {
      attr.value = raw;
    } else {
      std::string& value = doc_->decoded.emplace_back();
      if (!Decode(raw, value_start, true, &value)) return false;
      attr.value = value;
    }
    pos_ = value_end + 1;
    attributes.push_back(attr);
  }
  if (attributes.size() > first_attribute) {
    attribute_ranges_.push_back({index, first_attribute, attributes.size() - first_attribute});
  }
  if (open) open_.push_back({index, nullptr});
  return true;
}

bool Parser::ParseEndTag() {
  const std::size_t start = pos_;
  pos_ += 2;  // "</"
  std::string_view qname;
  if (!ParseName(&qname)) return false;
  SkipSpace();
  if (AtEnd()) return FailEof("in an end tag");
  if (in_[pos_] != '>') return Fail(pos_, "expected '>' in an end tag");
  Element& top = doc_->elements[open_.back().index];
  if (qname != top.qname) {
    return Fail(start, "end tag </" + std::string(qname) + "> does not match <" +
                           std::string(top.qname) + "> at byte " + std::to_string(top.offset));
  }
  top.inner_end = start;
  if (open_.back().text_buffer != nullptr) top.text = *open_.back().text_buffer;
  open_.pop_back();
  ++pos_;
  return true;
}

bool Parser::ParseCdata() {
  const std::size_t body = pos_ + 9;  // after "<![CDATA["
  const std::size_t end = in_.find("]]>", body);
  if (end == std::string_view::npos) return FailEof("in a CDATA section");
  const std::string_view raw = in_.substr(body, end - body);
  pos_ = end + 3;
  if (raw.find('\r') == std::string_view::npos) return AddText(raw, body, true);
  std::string& text = *TextBuffer();
  std::size_t run = body;
  for (std::size_t i = body; i < end; ++i) {
    if (in_[i] != '\r') continue;
    text.append(in_.data() + run, i - run);
    text.push_back('\n');
    if (i + 1 < end && in_[i + 1] == '\n') ++i;
    run = i + 1;
  }
  text.append(in_.data() + run, end - run);
  return true;
}

bool Parser::ParseText() {
  const std::size_t start = pos_;
  std::size_t end = in_.find('<', start);
  if (end == std::string_view::npos) end = in_.size();
  const std::string_view raw = in_.substr(start, end - start);
  // One pass over the (mostly short) text: "]]>" is an error, '&' and CR need decoding.
  bool plain = true;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '&' || c == '\r') {
      plain = false;
    } else if (c == ']' && raw.substr(i, 3) == "]]>") {
      return Fail(start + i, "']]>' in text");
    }
  }
  pos_ = end;
  return AddText(raw, start, plain);
}

bool Parser::Decode(std::string_view raw, std::size_t base, bool attribute, std::string* out) {
  std::size_t run = 0;  // start of the characters not appended yet (copied as they are)
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c != '\r' && c != '&' && (!attribute || (c != '\n' && c != '\t'))) continue;
    out->append(raw.data() + run, i - run);
    if (c == '\r') {
      out->push_back(attribute ? ' ' : '\n');
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
      run = i + 1;
      continue;
    }
    if (c != '&') {  // a tab or line feed in an attribute value
      out->push_back(' ');
      run = i + 1;
      continue;
    }
    const std::size_t amp = i;
    std::size_t j = i + 1;
    if (j < raw.size() && raw[j] == '#') {
      ++j;
      const bool hex = j < raw.size() && raw[j] == 'x';
      if (hex) ++j;
      const std::size_t digits_start = j;
      std::uint32_t value = 0;
      while (j < raw.size() && raw[j] != ';') {
        const int d = DigitValue(raw[j], hex);
        if (d < 0) return Fail(base + j, "invalid character reference");
        value = value * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
        if (value > 0x10FFFF) return Fail(base + amp, "character reference above U+10FFFF");
        ++j;
      }
      if (j >= raw.size()) return Fail(base + amp, "unterminated character reference");
      if (j == digits_start) return Fail(base + amp, "empty character reference");
      if (!IsXmlChar(value)) {
        return Fail(base + amp, "character reference to a character not allowed in XML 1.0");
      }
      AppendUtf8(out, value);
    } else {
      while (j < raw.size() && raw[j] != ';' && IsNameChar(raw[j])) ++j;
      if (j >= raw.size() || raw[j] != ';') {
        return Fail(base + amp, "'&' is not the start of a valid entity reference");
      }
      const std::string_view name = raw.substr(amp + 1, j - amp - 1);
      if (name == "lt") {
        out->push_back('<');
      } else if (name == "gt") {
        out->push_back('>');
      } else if (name == "amp") {
        out->push_back('&');
      } else if (name == "quot") {
        out->push_back('"');
      } else if (name == "apos") {
        out->push_back('\'');
      } else {
        return Fail(base + amp, "unknown entity &" + std::string(name) + ";");
      }
    }
    i = j;  // the ';'
    run = i + 1;
  }
  out->append(raw.data() + run, raw.size() - run);
  return true;
}

}  // namespace

bool Parse(std::string_view input, Document* doc, std::string* error, const Limits& limits) {
  doc->clear();
  Parser parser(input, limits, doc);
  if (parser.Run()) return true;
  doc->clear();
  if (error != nullptr) *error = parser.error();
  return false;
}

}  // namespace wdm::xml
