// A DDF node's MSFT:AllowedValues, parsed once when the schema is built; the emulator answers 400
// to an Add/Replace whose value is outside them (after the format checks, which answer 415).
//
// Input: a NodeFact's `allowed` text, "ValueType:" followed by values separated by \037 (U+001F),
// its MSFT:List delimiter (or null) and the node's DFFormat name. Enforced:
//   Range  int nodes: the value lies in one of the ranges "[a-b]" (a bound may be written "(-1)").
//   ENUM   int nodes: the value equals one of the enum values numerically ("07" = "7");
//          other formats except bool: byte-for-byte equal to one of them (case-sensitive).
//   RegEx  leaves: the pattern is found in the value (std::regex_search, ECMAScript grammar).
//          A pattern written as a JavaScript literal "/.../" is used without its slashes, and a
//          '{' that opens no valid {n}, {n,} or {n,m} counts as a literal brace.
//   With an MSFT:List delimiter (ENUM, RegEx) every delimited item must be allowed.
// Not enforced (every value accepted): None, ADMX, XSD, JSON, SDDL, Flag; Range on non-int
// nodes; ENUM on bool nodes (their enums mix "0"/"1"/"True" spellings, the bool format check
// applies); RegEx on interior nodes (those patterns constrain the dynamic node's NAME); a Range
// text that does not parse; a RegEx outside the safe subset below; values longer than
// kMaxCheckedValue bytes (RegEx only).
// Safe RegEx subset (checked before std::regex sees the pattern, because the library is built
// without exceptions): at most kMaxPattern bytes; literals, '.', classes with escapes and ordered
// ranges, groups "(...)" and "(?:...)", '|', '^', '$', \d \D \w \W \s \S \b \B \t \n \r and
// escaped punctuation, quantifiers * + ? {n} {n,} {n,m} (n, m <= 1000, optionally lazy). Not:
// (?i) and other (?...) groups, backreferences, \x \u \c escapes, and an unbounded quantifier on
// a group that itself holds one (catastrophic backtracking). On libstdc++ the pattern is also
// compiled for the polynomial (non-backtracking) executor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wdm::emulator {

class AllowedValues {
 public:
  enum class Kind { kAny, kRange, kIntEnum, kTextEnum, kRegex };
  static constexpr std::size_t kMaxPattern = 1024;
  static constexpr std::size_t kMaxCheckedValue = 4096;

  AllowedValues() = default;
  // Never fails: what cannot be enforced is kAny, with the reason in note().
  static AllowedValues Parse(const char* allowed, const char* list_delimiter,
                             std::string_view format_name);

  bool Accepts(std::string_view value) const;
  Kind kind() const { return kind_; }
  // Why a constraint that the DDF states is not enforced ("" when enforced or when none).
  const std::string& note() const { return note_; }

 private:
  struct Compiled;
  bool AcceptsItem(std::string_view item) const;

  Kind kind_ = Kind::kAny;
  std::string note_;
  std::string delimiter_;  // empty = the value is one item
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges_;
  std::vector<std::int64_t> int_values_;
  std::vector<std::string> text_values_;
  std::shared_ptr<const Compiled> regex_;
};

// Exposed for tests: the std::regex-ready form of a DDF pattern, or false (with a reason) when
// it is outside the safe subset.
bool NormalizeDdfRegex(std::string_view pattern, std::string* out, std::string* why);

}  // namespace wdm::emulator
