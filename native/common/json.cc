// Strict JSON reader and deterministic writer (see json.h).
#include "common/json.h"

#include "common/xml_chars.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <locale>
#include <sstream>

namespace wdm::json {
namespace {

const std::string& EmptyString() {
  static const std::string* const empty = new std::string();
  return *empty;
}
const std::vector<Value>& EmptyItems() {
  static const std::vector<Value>* const empty = new std::vector<Value>();
  return *empty;
}
const std::vector<Value::Member>& EmptyMembers() {
  static const std::vector<Value::Member>* const empty = new std::vector<Value::Member>();
  return *empty;
}

// Length of the well-formed UTF-8 sequence at text[i] (Unicode Table 3-7), or 0.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = at(i);
  if (b0 < 0x80) return 1;
  std::size_t length = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - i < length) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  }
  return length;
}

bool LessKey(const Value::Member& member, std::string_view key) { return member.first < key; }

#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
bool TextToDouble(std::string_view text, double* out, bool* out_of_range) {
  const auto result = std::from_chars(text.data(), text.data() + text.size(), *out);
  *out_of_range = result.ec == std::errc::result_out_of_range;
  return result.ec == std::errc() && result.ptr == text.data() + text.size();
}
std::string DoubleToText(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}
#else
// Fallback for standard libraries without floating-point <charconv>: classic-locale streams.
bool TextToDouble(std::string_view text, double* out, bool* out_of_range) {
  std::istringstream in{std::string(text)};
  in.imbue(std::locale::classic());
  in >> *out;
  *out_of_range = !in || std::isinf(*out);
  return !*out_of_range && in.peek() == std::char_traits<char>::eof();
}
std::string DoubleToText(double value) {
  for (int precision = 1; precision <= 17; ++precision) {
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out.precision(precision);
    out << value;
    double back = 0;
    bool range = false;
    if (TextToDouble(out.str(), &back, &range) && back == value) return out.str();
  }
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out.precision(17);
  out << value;
  return out.str();
}
#endif

}  // namespace

const char* TypeName(Type type) {
  switch (type) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "boolean";
    case Type::kNumber:
      return "number";
    case Type::kString:
      return "string";
    case Type::kArray:
      return "array";
    case Type::kObject:
      return "object";
  }
  return "null";
}

bool IsValidUtf8(std::string_view text, std::size_t* bad_offset) {
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {  // ASCII fast path
      ++i;
      continue;
    }
    const std::size_t length = Utf8SequenceLength(text, i);
    if (length == 0) {
      if (bad_offset != nullptr) *bad_offset = i;
      return false;
    }
    i += length;
  }
  return true;
}

// ---- Value --------------------------------------------------------------------------------------

Value Value::Bool(bool value) {
  Value v;
  v.type_ = Type::kBool;
  v.bool_ = value;
  return v;
}

Value Value::Int(std::int64_t value) {
  Value v;
  v.type_ = Type::kNumber;
  v.is_int_ = true;
  v.int_ = value;
  v.double_ = static_cast<double>(value);
  return v;
}

Value Value::Double(double value) {
  Value v;
  v.type_ = Type::kNumber;
  v.double_ = value;
  return v;
}

Value Value::String(std::string value) {
  Value v;
  v.type_ = Type::kString;
  v.string_ = std::move(value);
  return v;
}

Value Value::Array() {
  Value v;
  v.type_ = Type::kArray;
  return v;
}

Value Value::Object() {
  Value v;
  v.type_ = Type::kObject;
  return v;
}

double Value::number_value() const {
  if (!is_number()) return 0;
  return is_int_ ? static_cast<double>(int_) : double_;
}

const std::string& Value::string_value() const { return is_string() ? string_ : EmptyString(); }

const std::vector<Value>& Value::items() const { return is_array() ? items_ : EmptyItems(); }

std::vector<Value>& Value::mutable_items() {
  if (!is_array()) *this = Array();
  return items_;
}

Value& Value::Append(Value value) {
  mutable_items().push_back(std::move(value));
  return items_.back();
}

const std::vector<Value::Member>& Value::members() const {
  return is_object() ? members_ : EmptyMembers();
}

const Value* Value::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  const auto it = std::lower_bound(members_.begin(), members_.end(), key, LessKey);
  return it != members_.end() && it->first == key ? &it->second : nullptr;
}

Value* Value::Find(std::string_view key) {
  return const_cast<Value*>(static_cast<const Value*>(this)->Find(key));
}

Value& Value::Set(std::string key, Value value) {
  Value& slot = mutable_member(key);
  slot = std::move(value);
  return slot;
}

Value& Value::mutable_member(std::string_view key) {
  if (!is_object()) *this = Object();
  auto it = std::lower_bound(members_.begin(), members_.end(), key, LessKey);
  if (it == members_.end() || it->first != key) {
    it = members_.emplace(it, std::string(key), Value());
  }
  return it->second;
}

bool Value::Erase(std::string_view key) {
  if (!is_object()) return false;
  const auto it = std::lower_bound(members_.begin(), members_.end(), key, LessKey);
  if (it == members_.end() || it->first != key) return false;
  members_.erase(it);
  return true;
}

std::size_t Value::size() const {
  if (is_array()) return items_.size();
  if (is_object()) return members_.size();
  return 0;
}

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return a.bool_ == b.bool_;
    case Type::kNumber:
      if (a.is_int_ && b.is_int_) return a.int_ == b.int_;
      return a.number_value() == b.number_value();
    case Type::kString:
      return a.string_ == b.string_;
    case Type::kArray:
      return a.items_ == b.items_;
    case Type::kObject:
      return a.members_ == b.members_;
  }
  return false;
}

// ---- Reader -------------------------------------------------------------------------------------

std::string Error::ToString() const {
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + " (byte " +
         std::to_string(offset) + "): " + message;
}

class Parser {
 public:
  Parser(std::string_view text, const Limits& limits) : text_(text), limits_(limits) {}

  bool Run(Value* out, Error* error) {
    bool ok = false;
    if (text_.size() > limits_.max_bytes) {
      Fail(limits_.max_bytes,
           "input is longer than the limit of " + std::to_string(limits_.max_bytes) + " bytes");
    } else {
      SkipSpace();
      if (ParseValue(out, 0)) {
        SkipSpace();
        if (pos_ == text_.size()) {
          ok = true;
        } else {
          Fail(pos_, "unexpected text after the JSON value");
        }
      }
    }
    if (!ok) {
      *out = Value();
      if (error != nullptr) {
        *error = error_;
        error->line = 1;
        error->column = 1;
        const std::size_t end = std::min(error_.offset, text_.size());
        for (std::size_t i = 0; i < end; ++i) {
          if (text_[i] == '\n') {
            ++error->line;
            error->column = 1;
          } else {
            ++error->column;
          }
        }
      }
    }
    return ok;
  }

 private:
  bool Fail(std::size_t offset, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_.offset = offset;
      error_.message = std::move(message);
    }
    return false;
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return Fail(pos_, "invalid literal");
    pos_ += word.size();
    return true;
  }

  bool ParseValue(Value* out, std::size_t depth) {
    if (pos_ >= text_.size()) return Fail(pos_, "unexpected end of input, expected a value");
    const char c = text_[pos_];
    switch (c) {
      case '{':
      case '[':
        if (depth >= limits_.max_depth) {
          return Fail(pos_,
                      "nesting is deeper than the limit of " + std::to_string(limits_.max_depth));
        }
        return c == '{' ? ParseObject(out, depth + 1) : ParseArray(out, depth + 1);
      case '"': {
        std::string text;
        if (!ParseString(&text)) return false;
        *out = Value::String(std::move(text));
        return true;
      }
      case 't':
        *out = Value::Bool(true);
        return Literal("true");
      case 'f':
        *out = Value::Bool(false);
        return Literal("false");
      case 'n':
        *out = Value();
        return Literal("null");
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
        if (static_cast<unsigned char>(c) == 0xEF && text_.substr(pos_, 3) == "\xEF\xBB\xBF") {
          return Fail(pos_, "byte order mark is not allowed");
        }
        return Fail(pos_, "unexpected character, expected a value");
    }
  }

  bool ParseArray(Value* out, std::size_t depth) {
    *out = Value::Array();
    ++pos_;  // '['
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      SkipSpace();
      Value item;
      if (!ParseValue(&item, depth)) return false;
      out->items_.push_back(std::move(item));
      SkipSpace();
      if (pos_ >= text_.size()) return Fail(pos_, "unexpected end of input in an array");
      if (text_[pos_] == ',') {
        ++pos_;
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == ']') return Fail(pos_, "trailing comma");
        continue;
      }
      if (text_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return Fail(pos_, "expected ',' or ']'");
    }
  }

  bool ParseObject(Value* out, std::size_t depth) {
    *out = Value::Object();
    std::vector<std::size_t> key_offsets;
    ++pos_;  // '{'
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      SkipSpace();
      if (pos_ >= text_.size()) return Fail(pos_, "unexpected end of input in an object");
      if (text_[pos_] != '"') return Fail(pos_, "expected a string key");
      key_offsets.push_back(pos_);
      std::string key;
      if (!ParseString(&key)) return false;
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') return Fail(pos_, "expected ':'");
      ++pos_;
      SkipSpace();
      Value value;
      if (!ParseValue(&value, depth)) return false;
      out->members_.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (pos_ >= text_.size()) return Fail(pos_, "unexpected end of input in an object");
      if (text_[pos_] == ',') {
        ++pos_;
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == '}') return Fail(pos_, "trailing comma");
        continue;
      }
      if (text_[pos_] == '}') {
        ++pos_;
        break;
      }
      return Fail(pos_, "expected ',' or '}'");
    }
    // Sort (stable, so the first of two equal keys stays first) and reject duplicates.
    std::vector<std::size_t> order(out->members_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return out->members_[a].first < out->members_[b].first;
    });
    for (std::size_t i = 1; i < order.size(); ++i) {
      if (out->members_[order[i]].first == out->members_[order[i - 1]].first) {
        const std::size_t later = std::max(order[i], order[i - 1]);
        return Fail(key_offsets[later], "duplicate key \"" + out->members_[later].first + "\"");
      }
    }
    std::vector<Value::Member> sorted;
    sorted.reserve(order.size());
    for (std::size_t index : order) sorted.push_back(std::move(out->members_[index]));
    out->members_ = std::move(sorted);
    return true;
  }

  // Reads four hex digits at `at`; false (no error recorded) when they are not there.
  bool ReadHex4(std::size_t at, std::uint32_t* out) const {
    if (at > text_.size() || text_.size() - at < 4) return false;
    *out = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      const char c = text_[at + i];
      int digit = -1;
      if (c >= '0' && c <= '9') digit = c - '0';
      if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      if (digit < 0) return false;
      *out = *out * 16 + static_cast<std::uint32_t>(digit);
    }
    return true;
  }

  bool ParseString(std::string* out) {
    ++pos_;  // opening quote
    for (;;) {
      if (pos_ >= text_.size()) return Fail(pos_, "unterminated string");
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail(pos_, "control character in a string (must be escaped)");
      if (c >= 0x80) {
        const std::size_t length = Utf8SequenceLength(text_, pos_);
        if (length == 0) return Fail(pos_, "invalid UTF-8 in a string");
        out->append(text_.substr(pos_, length));
        pos_ += length;
        continue;
      }
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        ++pos_;
        continue;
      }
      const std::size_t escape = pos_;
      if (pos_ + 1 >= text_.size()) return Fail(pos_, "unterminated string");
      const char kind = text_[pos_ + 1];
      pos_ += 2;
      switch (kind) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          std::uint32_t unit = 0;
          if (!ReadHex4(pos_, &unit)) return Fail(escape, "\\u must be followed by 4 hex digits");
          pos_ += 4;
          if (unit >= 0xDC00 && unit <= 0xDFFF) {
            return Fail(escape, "unpaired low surrogate in a \\u escape");
          }
          if (unit >= 0xD800 && unit <= 0xDBFF) {
            std::uint32_t low = 0;
            if (text_.substr(pos_, 2) != "\\u" || !ReadHex4(pos_ + 2, &low) || low < 0xDC00 ||
                low > 0xDFFF) {
              return Fail(escape, "unpaired high surrogate in a \\u escape");
            }
            pos_ += 6;
            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
          }
          xml::AppendUtf8(out, unit);
          break;
        }
        default:
          return Fail(escape, "invalid escape in a string");
      }
    }
  }

  bool ParseNumber(Value* out) {
    const std::size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    const auto digit = [&](std::size_t at) {
      return at < text_.size() && text_[at] >= '0' && text_[at] <= '9';
    };
    if (!digit(pos_)) return Fail(pos_, "invalid number: expected a digit");
    const std::size_t int_start = pos_;
    if (text_[pos_] == '0') {
      ++pos_;
      if (digit(pos_)) return Fail(pos_, "invalid number: leading zero");
    } else {
      while (digit(pos_)) ++pos_;
    }
    const std::size_t int_end = pos_;
    bool integral = true;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      integral = false;
      ++pos_;
      if (!digit(pos_)) return Fail(pos_, "invalid number: expected a digit after '.'");
      while (digit(pos_)) ++pos_;
    }
    long exponent = 0;
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      bool negative = false;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) {
        negative = text_[pos_] == '-';
        ++pos_;
      }
      if (!digit(pos_)) return Fail(pos_, "invalid number: expected a digit in the exponent");
      while (digit(pos_)) {
        if (exponent < 100000) exponent = exponent * 10 + (text_[pos_] - '0');
        ++pos_;
      }
      if (negative) exponent = -exponent;
    }
    const std::string_view number = text_.substr(start, pos_ - start);
    if (integral) {
      std::int64_t value = 0;
      const auto result = std::from_chars(number.data(), number.data() + number.size(), value);
      if (result.ec == std::errc() && result.ptr == number.data() + number.size()) {
        *out = Value::Int(value);
        return true;
      }
    }
    double value = 0;
    bool out_of_range = false;
    if (TextToDouble(number, &value, &out_of_range) && std::isfinite(value)) {
      *out = Value::Double(value);
      return true;
    }
    // Out of range: underflow (tiny magnitudes) reads as zero, overflow is an error.
    std::size_t first_nonzero = int_start;
    while (first_nonzero < int_end && text_[first_nonzero] == '0') ++first_nonzero;
    const long magnitude = static_cast<long>(int_end - first_nonzero) + exponent;
    if (out_of_range && magnitude <= 0) {
      *out = Value::Double(number[0] == '-' ? -0.0 : 0.0);
      return true;
    }
    return Fail(start, "number is out of range for a double");
  }

  std::string_view text_;
  const Limits& limits_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  Error error_;
};

bool Parse(std::string_view text, Value* out, Error* error, const Limits& limits) {
  return Parser(text, limits).Run(out, error);
}

// ---- Writer -------------------------------------------------------------------------------------

namespace {

class Writer {
 public:
  Writer(std::string* out, const WriteOptions& options) : out_(out), options_(options) {}

  bool Run(const Value& value, std::string* error) {
    if (WriteValue(value, 0)) return true;
    if (error != nullptr) *error = error_;
    return false;
  }

 private:
  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  void Newline(std::size_t depth) {
    if (!options_.pretty) return;
    out_->push_back('\n');
    out_->append(depth * 2, ' ');
  }

  bool WriteString(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::size_t bad = 0;
    if (!IsValidUtf8(text, &bad)) {
      return Fail("string is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    }
    out_->push_back('"');
    std::size_t run = 0;  // start of the bytes not yet copied
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto byte = static_cast<unsigned char>(text[i]);
      if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
      out_->append(text.data() + run, i - run);
      run = i + 1;
      switch (byte) {
        case '"':
          out_->append("\\\"");
          break;
        case '\\':
          out_->append("\\\\");
          break;
        case '\b':
          out_->append("\\b");
          break;
        case '\f':
          out_->append("\\f");
          break;
        case '\n':
          out_->append("\\n");
          break;
        case '\r':
          out_->append("\\r");
          break;
        case '\t':
          out_->append("\\t");
          break;
        default:
          out_->append("\\u00");
          out_->push_back(kHex[byte >> 4]);
          out_->push_back(kHex[byte & 0xF]);
      }
    }
    out_->append(text.data() + run, text.size() - run);
    out_->push_back('"');
    return true;
  }

  bool WriteValue(const Value& value, std::size_t depth) {
    switch (value.type()) {
      case Type::kNull:
        out_->append("null");
        return true;
      case Type::kBool:
        out_->append(value.bool_value() ? "true" : "false");
        return true;
      case Type::kNumber:
        if (value.is_int()) {
          out_->append(std::to_string(value.int_value()));
          return true;
        }
        if (!std::isfinite(value.number_value())) return Fail("number is not finite");
        out_->append(DoubleToText(value.number_value()));
        return true;
      case Type::kString:
        return WriteString(value.string_value());
      case Type::kArray:
      case Type::kObject:
        break;
    }
    if (depth >= Limits().max_depth) return Fail("nesting is deeper than the limit");
    const bool is_array = value.is_array();
    out_->push_back(is_array ? '[' : '{');
    if (value.size() == 0) {
      out_->push_back(is_array ? ']' : '}');
      return true;
    }
    bool first = true;
    if (is_array) {
      for (const Value& item : value.items()) {
        if (!first) out_->push_back(',');
        first = false;
        Newline(depth + 1);
        if (!WriteValue(item, depth + 1)) return false;
      }
    } else {
      for (const Value::Member& member : value.members()) {
        if (!first) out_->push_back(',');
        first = false;
        Newline(depth + 1);
        if (!WriteString(member.first)) return false;
        out_->append(options_.pretty ? ": " : ":");
        if (!WriteValue(member.second, depth + 1)) return false;
      }
    }
    Newline(depth);
    out_->push_back(is_array ? ']' : '}');
    return true;
  }

  std::string* out_;
  const WriteOptions& options_;
  std::string error_;
};

}  // namespace

bool Write(const Value& value, std::string* out, std::string* error, const WriteOptions& options) {
  return Writer(out, options).Run(value, error);
}

}  // namespace wdm::json
