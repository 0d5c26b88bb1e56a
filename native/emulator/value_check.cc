// Format checks for node values (see value_check.h).
#include "emulator/value_check.h"

#include <cstdint>
#include <string>

#include "common/xml_reader.h"

namespace wdm::emulator {
namespace {

bool IsValidInt(std::string_view value) {
  bool negative = false;
  if (!value.empty() && value[0] == '-') {
    negative = true;
    value.remove_prefix(1);
  }
  if (value.empty()) return false;
  const std::uint64_t limit = negative ? 2147483648u : 4294967295u;
  std::uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
    if (n > limit) return false;
  }
  return true;
}

bool IsB64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

bool IsValidB64(std::string_view value) {
  std::string compact;
  compact.reserve(value.size());
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    compact.push_back(c);
  }
  if (compact.size() % 4 != 0) return false;
  std::size_t padding = 0;
  while (padding < 2 && padding < compact.size() && compact[compact.size() - 1 - padding] == '=') {
    ++padding;
  }
  for (std::size_t i = 0; i + padding < compact.size(); ++i) {
    if (!IsB64Char(compact[i])) return false;
  }
  return true;
}

bool IsWellFormedXml(std::string_view value) {
  xml::Document doc;
  std::string error;
  if (value.substr(0, 5) == "<?xml") return xml::Parse(value, &doc, &error);
  std::string wrapped = "<v>";
  wrapped.append(value);
  wrapped.append("</v>");
  return xml::Parse(wrapped, &doc, &error);
}

}  // namespace

bool IsValidValue(Format format, std::string_view value) {
  switch (format) {
    case Format::kChr:
    case Format::kBin:
    case Format::kDate:
    case Format::kTime:
    case Format::kFloat:
      return true;
    case Format::kInt:
      return IsValidInt(value);
    case Format::kBool:
      return value == "true" || value == "false";
    case Format::kB64:
      return IsValidB64(value);
    case Format::kXml:
      return IsWellFormedXml(value);
    case Format::kNull:
      return value.empty();
    case Format::kNode:
      return false;
  }
  return false;
}

}  // namespace wdm::emulator
