// UTF-8 decoding and the XML 1.0 character rules, shared by the XML reader and the escaper.
// Header-only; every function is bounds-checked and never reads past `text.size()`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace wdm::xml {

// Decodes one UTF-8 code point of `text` at `*pos` and advances `*pos`. Returns false (leaving
// `*pos` unchanged) for a truncated, overlong or surrogate sequence or a value above U+10FFFF.
inline bool NextCodePoint(std::string_view text, std::size_t* pos, char32_t* cp) {
  const std::size_t i = *pos;
  if (i >= text.size()) return false;
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) {
    *cp = b0;
    *pos = i + 1;
    return true;
  }
  std::size_t len = 0;
  char32_t value = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, value = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, value = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, value = b0 & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (text.size() - i < len) return false;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return false;
    value = (value << 6) | (b & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return false;
  *cp = value;
  *pos = i + len;
  return true;
}

// XML 1.0 `Char`: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
inline bool IsXmlChar(char32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// Appends `cp` (assumed <= U+10FFFF and not a surrogate) as UTF-8.
inline void AppendUtf8(std::string* out, char32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Checks that all of `text` is valid UTF-8 made of XML 1.0 characters. On failure returns false
// and sets `*bad_offset` to the byte offset of the first offending sequence and `*reason`.
inline bool ValidateXmlChars(std::string_view text, std::size_t* bad_offset, const char** reason) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    // Fast path: eight bytes at a time while they are all printable ASCII (0x20..0x7F).
    constexpr std::uint64_t kOnes = 0x0101010101010101u;
    constexpr std::uint64_t kHigh = 0x8080808080808080u;
    while (text.size() - pos >= 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, text.data() + pos, 8);
      // A byte below 0x20 or from 0x80 up sets its high bit in (word - 0x20…) | word.
      if ((((word - kOnes * 0x20) | word) & kHigh) != 0) break;
      pos += 8;
    }
    if (pos >= text.size()) break;
    // Then one byte at a time for printable ASCII and the three allowed controls.
    const auto b = static_cast<unsigned char>(text[pos]);
    if (b >= 0x20 && b < 0x80) {
      ++pos;
      continue;
    }
    const std::size_t start = pos;
    char32_t cp = 0;
    if (!NextCodePoint(text, &pos, &cp)) {
      *bad_offset = start;
      *reason = "invalid UTF-8";
      return false;
    }
    if (!IsXmlChar(cp)) {
      *bad_offset = start;
      *reason = "character not allowed in XML 1.0";
      return false;
    }
  }
  return true;
}

}  // namespace wdm::xml
