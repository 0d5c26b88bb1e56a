// MSFT:AllowedValues parsing and checks (see allowed_values.h).
#include "emulator/allowed_values.h"

// GCC 12 reports false -Wmaybe-uninitialized inside libstdc++'s regex compiler (at -O1 with
// sanitizers, as native-tests.sh builds); the warning is about library code, not ours.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace wdm::emulator {

struct AllowedValues::Compiled {
  std::regex regex;
};

namespace {

constexpr char kValueSeparator = '\037';
constexpr std::size_t kMaxRepeat = 1000;
constexpr std::size_t kMaxStates = 20000;  // rough NFA size bound (libstdc++ allows 100000)

std::vector<std::string_view> Split(std::string_view text, std::string_view delimiter) {
  std::vector<std::string_view> out;
  if (delimiter.empty()) {
    out.push_back(text);
    return out;
  }
  for (;;) {
    const std::size_t at = text.find(delimiter);
    out.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + delimiter.size());
  }
}

// Optional '-' and 1..19 decimal digits.
bool ParseInt64(std::string_view text, std::int64_t* out) {
  bool negative = false;
  if (!text.empty() && text[0] == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > 18) return false;
  std::int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  *out = negative ? -n : n;
  return true;
}

// "[a-b]" where a bound is an integer, optionally in parentheses: "[(-1)-4294967295]".
bool ParseRange(std::string_view text, std::pair<std::int64_t, std::int64_t>* out) {
  if (text.size() < 5 || text.front() != '[' || text.back() != ']') return false;
  text = text.substr(1, text.size() - 2);
  auto bound = [&text](std::int64_t* value) {
    std::size_t end;
    std::string_view digits;
    if (!text.empty() && text[0] == '(') {
      end = text.find(')');
      if (end == std::string_view::npos) return false;
      digits = text.substr(1, end - 1);
      ++end;
    } else {
      end = text.find('-', 1);  // a leading '-' is a sign
      digits = text.substr(0, end);
    }
    if (!ParseInt64(digits, value)) return false;
    text.remove_prefix(end == std::string_view::npos ? text.size() : end);
    return true;
  };
  if (!bound(&out->first) || text.empty() || text[0] != '-') return false;
  text.remove_prefix(1);
  return bound(&out->second) && text.empty() && out->first <= out->second;
}

std::string ListDelimiter(const char* delimiter) {
  if (delimiter == nullptr) return std::string();
  const std::string_view d = delimiter;
  if (d == "0xF000" || d == "\\xF000") return "\xEF\x80\x80";  // U+F000 in UTF-8
  return std::string(d);
}

bool IsAsciiPunct(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

// Recursive-descent check of a DDF pattern against the safe subset, writing the std::regex form.
class RegexNormalizer {
 public:
  explicit RegexNormalizer(std::string_view pattern) : p_(pattern) {}

  bool Run(std::string* out, std::string* why) {
    bool unbounded = false;
    std::size_t states = 0;
    const bool ok = Alternation(0, &unbounded, &states) && Check(pos_ == p_.size(), "stray ')'") &&
                    Check(states <= kMaxStates, "too many states");
    if (!ok) {
      *why = why_ + " at offset " + std::to_string(pos_);
      return false;
    }
    *out = std::move(out_);
    return true;
  }

 private:
  bool Check(bool condition, const char* why) {
    if (!condition && why_.empty()) why_ = why;
    return condition;
  }
  bool AtEnd() const { return pos_ >= p_.size(); }
  char Peek(std::size_t ahead = 0) const {
    return pos_ + ahead < p_.size() ? p_[pos_ + ahead] : '\0';
  }

  bool Alternation(int depth, bool* unbounded, std::size_t* states) {
    if (!Check(depth < 20, "groups nested too deep")) return false;
    for (;;) {
      if (!Sequence(depth, unbounded, states)) return false;
      if (Peek() != '|') return true;
      out_.push_back('|');
      ++pos_;
    }
  }

  bool Sequence(int depth, bool* unbounded, std::size_t* states) {
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      const char c = Peek();
      if (c == '^' || c == '$' || (c == '\\' && (Peek(1) == 'b' || Peek(1) == 'B'))) {
        const std::size_t length = c == '\\' ? 2 : 1;
        out_.append(p_.substr(pos_, length));
        pos_ += length;
        if (!Check(!IsQuantifierStart(), "quantified assertion")) return false;
        continue;
      }
      bool atom_unbounded = false;
      std::size_t atom_states = 0;
      bool is_group = false;
      if (!Atom(depth, &atom_unbounded, &atom_states, &is_group)) return false;
      std::size_t times = 1;
      bool quantifier_unbounded = false;
      if (!Quantifier(&times, &quantifier_unbounded)) return false;
      if (!Check(!(quantifier_unbounded && atom_unbounded && is_group),
                 "unbounded quantifier over a group with one")) {
        return false;
      }
      *unbounded = *unbounded || atom_unbounded || quantifier_unbounded;
      *states += atom_states * times;
      if (!Check(*states <= kMaxStates, "too many states")) return false;
    }
    return true;
  }

  // Whether a valid {n}, {n,} or {n,m} starts here.
  bool IsBraceQuantifier() const {
    std::size_t i = pos_ + 1;
    std::size_t digits = 0;
    while (i < p_.size() && p_[i] >= '0' && p_[i] <= '9') ++i, ++digits;
    if (digits == 0) return false;
    if (i < p_.size() && p_[i] == ',') {
      ++i;
      while (i < p_.size() && p_[i] >= '0' && p_[i] <= '9') ++i;
    }
    return i < p_.size() && p_[i] == '}';
  }
  bool IsQuantifierStart() const {
    const char c = Peek();
    return c == '*' || c == '+' || c == '?' || (c == '{' && IsBraceQuantifier());
  }

  bool ReadNumber(std::size_t* out) {
    std::size_t n = 0;
    std::size_t digits = 0;
    while (Peek() >= '0' && Peek() <= '9') {
      n = n * 10 + static_cast<std::size_t>(Peek() - '0');
      ++pos_;
      if (++digits > 4) return Check(false, "repeat count too large");
    }
    *out = n;
    return Check(n <= kMaxRepeat, "repeat count too large");
  }

  // A quantifier if one follows: `times` = how many copies of the atom an NFA holds (roughly).
  bool Quantifier(std::size_t* times, bool* unbounded) {
    if (!IsQuantifierStart()) return true;
    const char c = Peek();
    if (c == '{') {
      const std::size_t start = pos_;
      ++pos_;
      std::size_t low = 0;
      std::size_t high = 0;
      if (!ReadNumber(&low)) return false;
      high = low;
      if (Peek() == ',') {
        ++pos_;
        if (Peek() == '}') {
          *unbounded = true;
          high = low + 1;
        } else if (!ReadNumber(&high) || !Check(low <= high, "{n,m} with n > m")) {
          return false;
        }
      }
      ++pos_;  // '}'
      out_.append(p_.substr(start, pos_ - start));
      *times = high == 0 ? 1 : high;
    } else {
      *unbounded = c != '?';
      *times = 2;
      out_.push_back(c);
      ++pos_;
    }
    if (Peek() == '?') {  // lazy
      out_.push_back('?');
      ++pos_;
    }
    return Check(!IsQuantifierStart(), "repeated quantifier");
  }

  bool Atom(int depth, bool* unbounded, std::size_t* states, bool* is_group) {
    const char c = Peek();
    *states = 1;
    switch (c) {
      case '(': {
        ++pos_;
        out_.push_back('(');
        if (Peek() == '?') {
          if (!Check(Peek(1) == ':', "(?...) other than (?:")) return false;
          out_.append("?:");
          pos_ += 2;
        }
        std::size_t inner = 0;
        if (!Alternation(depth + 1, unbounded, &inner)) return false;
        if (!Check(Peek() == ')', "unclosed group")) return false;
        ++pos_;
        out_.push_back(')');
        *states = inner + 2;
        *is_group = true;
        return true;
      }
      case '[':
        return Class();
      case '\\':
        return Escape();
      case '*':
      case '+':
      case '?':
        return Check(false, "nothing to repeat");
      case '{':
      case '}':
      case ']':
        out_.push_back('\\');  // a literal brace or bracket
        out_.push_back(c);
        ++pos_;
        return true;
      default:
        out_.push_back(c);  // '.', or a literal (bytes of UTF-8 text included)
        ++pos_;
        return true;
    }
  }

  bool Escape() {
    const char e = Peek(1);
    if (e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 's' || e == 'S' || e == 't' ||
        e == 'n' || e == 'r' || IsAsciiPunct(e)) {
      out_.push_back('\\');
      out_.push_back(e);
      pos_ += 2;
      return true;
    }
    return Check(false, "unsupported escape");
  }

  // One class member that can end a range: a literal or an escaped character. `single` is
  // false for \d-like escapes.
  bool ClassChar(bool* single, char* value) {
    const char c = Peek();
    if (!Check(static_cast<unsigned char>(c) < 0x80 && c >= ' ', "non-ASCII in a class")) {
      return false;
    }
    if (c == '[' || c == '-') {  // escaped: no POSIX [: class, no accidental range
      out_.push_back('\\');
      out_.push_back(c);
      ++pos_;
      *single = true;
      *value = c;
      return true;
    }
    if (c != '\\') {
      out_.push_back(c);
      ++pos_;
      *single = true;
      *value = c;
      return true;
    }
    const char e = Peek(1);
    if (e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 's' || e == 'S') {
      *single = false;
    } else if (e == 't' || e == 'n' || e == 'r') {
      *single = true;
      *value = e == 't' ? '\t' : e == 'n' ? '\n' : '\r';
    } else if (IsAsciiPunct(e)) {
      *single = true;
      *value = e;
    } else {
      return Check(false, "unsupported escape in a class");
    }
    out_.push_back('\\');
    out_.push_back(e);
    pos_ += 2;
    return true;
  }

  bool Class() {
    out_.push_back('[');
    ++pos_;
    if (Peek() == '^') {
      out_.push_back('^');
      ++pos_;
    }
    if (!Check(Peek() != ']', "empty class")) return false;
    bool first = true;
    while (!AtEnd() && Peek() != ']') {
      if (Peek() == '-' && (first || Peek(1) == ']')) {  // a literal '-'
        out_.append("\\-");
        ++pos_;
        first = false;
        continue;
      }
      first = false;
      bool single = false;
      char low = 0;
      if (!ClassChar(&single, &low)) return false;
      if (Peek() == '-' && Peek(1) != ']' && pos_ + 1 < p_.size()) {
        out_.push_back('-');
        ++pos_;
        bool high_single = false;
        char high = 0;
        if (!ClassChar(&high_single, &high)) return false;
        if (!Check(single && high_single && low <= high, "bad class range")) return false;
      }
    }
    if (!Check(!AtEnd(), "unclosed class")) return false;
    out_.push_back(']');
    ++pos_;
    return true;
  }

  std::string_view p_;
  std::size_t pos_ = 0;
  std::string out_;
  std::string why_;
};

}  // namespace

bool NormalizeDdfRegex(std::string_view pattern, std::string* out, std::string* why) {
  out->clear();
  why->clear();
  if (pattern.size() > AllowedValues::kMaxPattern) {
    *why = "pattern longer than " + std::to_string(AllowedValues::kMaxPattern) + " bytes";
    return false;
  }
  if (pattern.size() >= 2 && pattern.front() == '/') {
    const std::size_t last = pattern.rfind('/');
    if (last == 0 || last + 1 != pattern.size()) {
      *why = "a /.../ literal with flags";
      return false;
    }
    pattern = pattern.substr(1, last - 1);
  }
  if (pattern.empty()) {
    *why = "empty pattern";
    return false;
  }
  return RegexNormalizer(pattern).Run(out, why);
}

AllowedValues AllowedValues::Parse(const char* allowed, const char* list_delimiter,
                                   std::string_view format_name) {
  AllowedValues out;
  if (allowed == nullptr || *allowed == '\0') return out;
  const std::string_view text = allowed;
  const std::size_t colon = text.find(':');
  const std::string_view type = text.substr(0, colon);
  const std::vector<std::string_view> values =
      colon == std::string_view::npos ? std::vector<std::string_view>()
                                      : Split(text.substr(colon + 1), std::string_view("\037", 1));
  auto not_enforced = [&out](std::string why) {
    out.kind_ = Kind::kAny;
    out.note_ = std::move(why);
    return out;
  };
  if (type == "Range") {
    if (format_name != "int")
      return not_enforced("Range on a " + std::string(format_name) + " node");
    for (std::string_view v : values) {
      std::pair<std::int64_t, std::int64_t> range;
      if (!ParseRange(v, &range)) return not_enforced("Range text " + std::string(v));
      out.ranges_.push_back(range);
    }
    if (out.ranges_.empty()) return not_enforced("Range without values");
    out.kind_ = Kind::kRange;
    return out;
  }
  if (type == "ENUM") {
    if (format_name == "bool") return not_enforced("ENUM on a bool node");
    if (format_name == "node" || format_name == "null") return not_enforced("ENUM without a value");
    out.delimiter_ = ListDelimiter(list_delimiter);
    for (std::string_view v : values) {
      if (v.empty()) continue;
      if (format_name == "int") {
        std::int64_t n = 0;
        if (!ParseInt64(v, &n)) return not_enforced("ENUM value " + std::string(v) + " on int");
        out.int_values_.push_back(n);
      } else {
        out.text_values_.emplace_back(v);
      }
    }
    if (out.int_values_.empty() && out.text_values_.empty()) return not_enforced("empty ENUM");
    out.kind_ = format_name == "int" ? Kind::kIntEnum : Kind::kTextEnum;
    return out;
  }
  if (type == "RegEx") {
    if (format_name == "node") return not_enforced("RegEx on an interior node (names)");
    std::string normalized;
    std::string why;
    if (values.empty() || !NormalizeDdfRegex(values[0], &normalized, &why)) {
      return not_enforced("RegEx: " + (values.empty() ? std::string("no pattern") : why));
    }
    auto flags = std::regex::ECMAScript | std::regex::nosubs;
#ifdef __GLIBCXX__
    flags |= std::regex_constants::__polynomial;  // the non-backtracking executor
#endif
    out.regex_ = std::make_shared<const Compiled>(Compiled{std::regex(normalized, flags)});
    out.delimiter_ = ListDelimiter(list_delimiter);
    out.kind_ = Kind::kRegex;
    return out;
  }
  return not_enforced(std::string(type) + " is not enforced");
}

bool AllowedValues::AcceptsItem(std::string_view item) const {
  switch (kind_) {
    case Kind::kAny:
      return true;
    case Kind::kRange: {
      std::int64_t n = 0;
      if (!ParseInt64(item, &n)) return false;
      for (const auto& [low, high] : ranges_) {
        if (n >= low && n <= high) return true;
      }
      return false;
    }
    case Kind::kIntEnum: {
      std::int64_t n = 0;
      if (!ParseInt64(item, &n)) return false;
      for (std::int64_t v : int_values_) {
        if (v == n) return true;
      }
      return false;
    }
    case Kind::kTextEnum:
      for (const std::string& v : text_values_) {
        if (v == item) return true;
      }
      return false;
    case Kind::kRegex:
      if (item.size() > kMaxCheckedValue) return true;
      return std::regex_search(item.begin(), item.end(), regex_->regex);
  }
  return true;
}

bool AllowedValues::Accepts(std::string_view value) const {
  if (kind_ == Kind::kAny) return true;
  for (std::string_view item : Split(value, delimiter_)) {
    if (!AcceptsItem(item)) return false;
  }
  return true;
}

}  // namespace wdm::emulator
