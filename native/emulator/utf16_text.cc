// UTF-16 <-> UTF-8 conversion (see utf16_text.h).
#include "emulator/utf16_text.h"

#include <cstdlib>

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#endif

#include "common/xml_chars.h"

namespace wdm::emulator {

void* AllocResult(std::size_t bytes) {
#if defined(_WIN32)
  return LocalAlloc(LMEM_FIXED, bytes);
#else
  return std::malloc(bytes);
#endif
}

void FreeResult(void* p) {
#if defined(_WIN32)
  if (p != nullptr) LocalFree(p);
#else
  std::free(p);
#endif
}

bool Utf16ToUtf8(const char16_t* text, std::string* out) {
  out->clear();
  out->reserve(std::char_traits<char16_t>::length(text));
  for (std::size_t i = 0; text[i] != 0; ++i) {
    if (text[i] < 0x80) {  // a run of ASCII, copied unit by unit
      std::size_t end = i;
      while (text[end] != 0 && text[end] < 0x80) ++end;
      const std::size_t old_size = out->size();
      out->resize(old_size + (end - i));
      for (std::size_t k = i; k < end; ++k) (*out)[old_size + k - i] = static_cast<char>(text[k]);
      i = end - 1;
      continue;
    }
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
  // UTF-8 never needs fewer bytes than UTF-16 needs units, so text.size() + 1 units suffice.
  auto* out = static_cast<char16_t*>(AllocResult((text.size() + 1) * sizeof(char16_t)));
  if (out == nullptr) return nullptr;
  char16_t* unit = out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (byte < 0x80) {
      *unit++ = byte;
      ++pos;
      continue;
    }
    char32_t cp = 0;
    if (!xml::NextCodePoint(text, &pos, &cp)) {
      cp = 0xFFFD;
      ++pos;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      *unit++ = static_cast<char16_t>(0xD800 + (cp >> 10));
      *unit++ = static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
    } else {
      *unit++ = static_cast<char16_t>(cp);
    }
  }
  *unit = 0;
  return out;
}

}  // namespace wdm::emulator
