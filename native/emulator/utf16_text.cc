// UTF-16 <-> UTF-8 conversion (see utf16_text.h).
#include "emulator/utf16_text.h"

#include <cstdlib>
#include <vector>

#include "common/xml_chars.h"

namespace wdm::emulator {

bool Utf16ToUtf8(const char16_t* text, std::string* out) {
  out->clear();
  for (std::size_t i = 0; text[i] != 0; ++i) {
    char32_t cp = text[i];
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      const char32_t low = text[i + 1];  // may be the terminating NUL, which is not a low half
      if (low < 0xDC00 || low > 0xDFFF) return false;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      ++i;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return false;
    }
    xml::AppendUtf8(out, cp);
  }
  return true;
}

char16_t* NewUtf16(std::string_view text) {
  std::vector<char16_t> units;
  units.reserve(text.size() + 1);
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    if (!xml::NextCodePoint(text, &pos, &cp)) {
      cp = 0xFFFD;
      ++pos;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      units.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      units.push_back(static_cast<char16_t>(cp));
    }
  }
  units.push_back(0);
  auto* out = static_cast<char16_t*>(std::malloc(units.size() * sizeof(char16_t)));
  if (out == nullptr) return nullptr;
  for (std::size_t i = 0; i < units.size(); ++i) out[i] = units[i];
  return out;
}

}  // namespace wdm::emulator
