// A small strict JSON (RFC 8259) reader and deterministic writer. No exceptions, no locale.
//
// Reader (Parse): exactly one JSON value, optionally surrounded by whitespace (space, tab, CR,
// LF). Rejected, with the byte offset (and line/column) of the problem:
//   * anything outside the grammar: comments, trailing commas, single quotes, NaN/Infinity,
//     leading '+' or zeros, "1.", ".5", a byte order mark, text after the value;
//   * strings that are not valid UTF-8 (overlong forms, encoded surrogates, > U+10FFFF,
//     truncated sequences), raw control characters (< 0x20) in strings, bad escapes, \u escapes
//     that leave a surrogate unpaired;
//   * duplicate object keys;
//   * numbers that overflow a double (1e400); integers without fraction/exponent that fit in
//     int64 are kept exactly (is_int()), every other number becomes a double;
//   * input longer than Limits::max_bytes or nesting deeper than Limits::max_depth.
// \u0000 is accepted (the string then holds a NUL byte).
//
// Writer (Write): object keys in byte order (objects are kept sorted), no insignificant spaces
// (compact) or two-space indentation with one member per line (pretty), strings escaped with
// \" \\ \b \f \n \r \t and \u00XX for other control characters, everything else as UTF-8.
// Doubles use the shortest text that reads back to the same double. The same value always gives
// the same bytes. Fails (false + error) for a string or key that is not valid UTF-8, a
// non-finite double, or nesting deeper than Limits::max_depth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wdm::json {

enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
const char* TypeName(Type type);  // "null", "boolean", "number", "string", "array", "object"

class Value {
 public:
  using Member = std::pair<std::string, Value>;

  Value() = default;  // null
  static Value Bool(bool value);
  static Value Int(std::int64_t value);
  static Value Double(double value);
  static Value String(std::string value);
  static Value Array();
  static Value Object();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_int() const { return type_ == Type::kNumber && is_int_; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Typed reads: the zero value when the type differs.
  bool bool_value() const { return is_bool() && bool_; }
  std::int64_t int_value() const { return is_int() ? int_ : 0; }
  double number_value() const;
  const std::string& string_value() const;

  // Arrays. items() is empty unless this is an array; Append makes this an (empty) array first
  // when it is not one.
  const std::vector<Value>& items() const;
  std::vector<Value>& mutable_items();
  Value& Append(Value value);

  // Objects: members sorted by key, keys unique. Set and mutable_member make this an (empty)
  // object first when it is not one.
  const std::vector<Member>& members() const;
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key);
  Value& Set(std::string key, Value value);  // inserts or replaces; returns the stored value
  // The member's value, inserted as null when missing.
  Value& mutable_member(std::string_view key);
  bool Erase(std::string_view key);

  // Number of items or members (0 for other types).
  std::size_t size() const;

  // Deep equality; an int and a double are equal when they denote the same number.
  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  friend class Parser;
  Type type_ = Type::kNull;
  bool bool_ = false;
  bool is_int_ = false;
  std::int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  std::vector<Value> items_;
  std::vector<Member> members_;
};

struct Limits {
  std::size_t max_bytes = std::size_t{64} << 20;  // 64 MiB of input text
  std::size_t max_depth = 64;                     // nested arrays/objects
};

struct Error {
  std::size_t offset = 0;  // byte offset into the input
  std::size_t line = 0;    // 1-based
  std::size_t column = 0;  // 1-based, in bytes
  std::string message;
  // "line L, column C (byte N): message"
  std::string ToString() const;
};

// Parses `text` into *out (null on failure). Returns false with *error filled when it is not
// exactly one valid JSON value within the limits.
bool Parse(std::string_view text, Value* out, Error* error, const Limits& limits = Limits());

struct WriteOptions {
  bool pretty = false;  // two-space indentation, one item/member per line, ": " after keys
};

// Appends the text of `value` to *out. False (with *error; *out unspecified) when a string is
// not valid UTF-8, a double is not finite or nesting exceeds Limits().max_depth.
bool Write(const Value& value, std::string* out, std::string* error,
           const WriteOptions& options = WriteOptions());

// True when `text` is valid UTF-8 (the reader's rules); *bad_offset is the first bad byte.
bool IsValidUtf8(std::string_view text, std::size_t* bad_offset = nullptr);

}  // namespace wdm::json
