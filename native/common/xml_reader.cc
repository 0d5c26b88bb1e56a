// Strict, iterative XML 1.0 reader (see xml_reader.h).
#include "common/xml_reader.h"

#include <cstdint>
#include <utility>

#include "common/xml_chars.h"

namespace wdm::xml {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool IsNameStart(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || u == '_' || u == ':' || u >= 0x80;
}

bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

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

  bool ParseName(std::string* qname);
  bool LocalName(const std::string& qname, std::size_t offset, std::string* local);
  bool SkipComment();
  bool SkipProcessingInstruction(bool at_document_start);
  bool ParseStartTag();
  bool ParseEndTag();
  bool ParseCdata();
  bool ParseText();
  bool Decode(std::string_view raw, std::size_t base, bool attribute, std::string* out);

  std::string_view in_;
  const Limits& limits_;
  Document* doc_;
  std::size_t pos_ = 0;
  std::vector<std::size_t> open_;  // indices of the open elements, innermost last
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
      return FailEof(("(<" + doc_->elements[open_.back()].qname + "> is not closed)").c_str());
    }
    bool ok = true;
    if (in_[pos_] != '<') {
      ok = ParseText();
    } else if (StartsWith("</")) {
      ok = ParseEndTag();
    } else if (StartsWith("<!--")) {
      ok = SkipComment();
    } else if (StartsWith("<![CDATA[")) {
      ok = ParseCdata();
    } else if (StartsWith("<!")) {
      ok = Fail(pos_, "markup declaration is not allowed");
    } else if (StartsWith("<?")) {
      ok = SkipProcessingInstruction(false);
    } else {
      ok = ParseStartTag();
    }
    if (!ok) return false;
  }

  // Misc after the root: only whitespace, comments and processing instructions.
  for (;;) {
    SkipSpace();
    if (AtEnd()) return true;
    if (StartsWith("<?")) {
      if (!SkipProcessingInstruction(false)) return false;
    } else if (StartsWith("<!--")) {
      if (!SkipComment()) return false;
    } else {
      return Fail(pos_, "content after the root element");
    }
  }
}

bool Parser::ParseName(std::string* qname) {
  if (AtEnd()) return FailEof("(expected a name)");
  if (!IsNameStart(in_[pos_])) return Fail(pos_, "expected a name");
  const std::size_t start = pos_;
  while (!AtEnd() && IsNameChar(in_[pos_])) ++pos_;
  qname->assign(in_.data() + start, pos_ - start);
  return true;
}

bool Parser::LocalName(const std::string& qname, std::size_t offset, std::string* local) {
  const std::size_t colon = qname.find(':');
  if (colon == std::string::npos) {
    *local = qname;
    return true;
  }
  if (colon == 0 || colon + 1 == qname.size() || qname.find(':', colon + 1) != std::string::npos) {
    return Fail(offset, "invalid qualified name '" + qname + "'");
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
  std::string target;
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
  Element el;
  el.offset = start;
  if (!ParseName(&el.qname) || !LocalName(el.qname, start, &el.name)) return false;
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
    Attribute attr;
    if (!ParseName(&attr.qname) || !LocalName(attr.qname, attr_offset, &attr.name)) return false;
    for (const Attribute& other : el.attributes) {
      if (other.qname == attr.qname) return Fail(attr_offset, "duplicate attribute " + attr.qname);
    }
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
    if (!Decode(raw, value_start, true, &attr.value)) return false;
    pos_ = value_end + 1;
    el.attributes.push_back(std::move(attr));
  }
  const std::size_t index = doc_->elements.size();
  el.parent = open_.empty() ? Element::kNoParent : open_.back();
  doc_->elements.push_back(std::move(el));
  const std::size_t parent = doc_->elements[index].parent;
  if (parent != Element::kNoParent) doc_->elements[parent].children.push_back(index);
  if (open) open_.push_back(index);
  return true;
}

bool Parser::ParseEndTag() {
  const std::size_t start = pos_;
  pos_ += 2;  // "</"
  std::string qname;
  if (!ParseName(&qname)) return false;
  SkipSpace();
  if (AtEnd()) return FailEof("in an end tag");
  if (in_[pos_] != '>') return Fail(pos_, "expected '>' in an end tag");
  Element& top = doc_->elements[open_.back()];
  if (qname != top.qname) {
    return Fail(start, "end tag </" + qname + "> does not match <" + top.qname + "> at byte " +
                           std::to_string(top.offset));
  }
  top.inner_end = start;
  open_.pop_back();
  ++pos_;
  return true;
}

bool Parser::ParseCdata() {
  const std::size_t body = pos_ + 9;  // after "<![CDATA["
  const std::size_t end = in_.find("]]>", body);
  if (end == std::string_view::npos) return FailEof("in a CDATA section");
  std::string& text = doc_->elements[open_.back()].text;
  for (std::size_t i = body; i < end; ++i) {
    if (in_[i] == '\r') {
      text.push_back('\n');
      if (i + 1 < end && in_[i + 1] == '\n') ++i;
    } else {
      text.push_back(in_[i]);
    }
  }
  pos_ = end + 3;
  return true;
}

bool Parser::ParseText() {
  const std::size_t start = pos_;
  std::size_t end = in_.find('<', start);
  if (end == std::string_view::npos) end = in_.size();
  const std::string_view raw = in_.substr(start, end - start);
  const std::size_t bad = raw.find("]]>");
  if (bad != std::string_view::npos) return Fail(start + bad, "']]>' in text");
  if (!Decode(raw, start, false, &doc_->elements[open_.back()].text)) return false;
  pos_ = end;
  return true;
}

bool Parser::Decode(std::string_view raw, std::size_t base, bool attribute, std::string* out) {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\r') {
      out->push_back(attribute ? ' ' : '\n');
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
      continue;
    }
    if (attribute && (c == '\n' || c == '\t')) {
      out->push_back(' ');
      continue;
    }
    if (c != '&') {
      out->push_back(c);
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
  }
  return true;
}

}  // namespace

bool Parse(std::string_view input, Document* doc, std::string* error, const Limits& limits) {
  doc->elements.clear();
  Parser parser(input, limits, doc);
  if (parser.Run()) return true;
  doc->elements.clear();
  if (error != nullptr) *error = parser.error();
  return false;
}

}  // namespace wdm::xml
