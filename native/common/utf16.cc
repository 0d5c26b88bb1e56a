// Strict UTF-8 <-> UTF-16 conversion (see utf16.h for what counts as malformed).
#include "common/utf16.h"

#include "common/xml_chars.h"

#include <cstddef>

namespace wdm::text {
namespace {

std::string At(const char* what, std::size_t offset) {
  return std::string(what) + " at offset " + std::to_string(offset);
}

// Appends the ASCII code units from[i] onwards (up to the first one that is not ASCII, or n) to
// `out`, one unit each; returns the index after them.
template <typename From, typename To>
std::size_t AppendAsciiRun(const From* from, std::size_t i, std::size_t n, To* out) {
  std::size_t end = i;
  while (end < n && from[end] < 0x80) ++end;
  const std::size_t old_size = out->size();
  out->resize(old_size + (end - i));
  auto* to = &(*out)[old_size];
  for (std::size_t k = i; k < end; ++k) *to++ = static_cast<typename To::value_type>(from[k]);
  return end;
}

}  // namespace

bool Utf8ToUtf16(std::string_view in, std::u16string* out, std::string* error) {
  out->clear();
  out->reserve(in.size());
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char lead = s[i];
    if (lead < 0x80) {
      i = AppendAsciiRun(s, i, n, out);
      continue;
    }
    std::size_t len;
    char32_t cp;
    char32_t min;
    if ((lead & 0xE0) == 0xC0) {
      len = 2, cp = lead & 0x1F, min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      len = 3, cp = lead & 0x0F, min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      len = 4, cp = lead & 0x07, min = 0x10000;
    } else {
      *error = At("invalid UTF-8 lead byte", i);
      return false;
    }
    if (n - i < len) {
      *error = At("truncated UTF-8 sequence", i);
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      const unsigned char c = s[i + k];
      if ((c & 0xC0) != 0x80) {
        *error = At("invalid UTF-8 continuation byte", i + k);
        return false;
      }
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min) {
      *error = At("overlong UTF-8 sequence", i);
      return false;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      *error = At("UTF-8 encoded surrogate", i);
      return false;
    }
    if (cp > 0x10FFFF) {
      *error = At("code point above U+10FFFF", i);
      return false;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out->push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out->push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out->push_back(static_cast<char16_t>(cp));
    }
    i += len;
  }
  return true;
}

bool Utf16ToUtf8(std::u16string_view in, std::string* out, std::string* error) {
  out->clear();
  out->reserve(in.size());
  const std::size_t n = in.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (in[i] < 0x80) {
      i = AppendAsciiRun(in.data(), i, n, out) - 1;
      continue;
    }
    char32_t cp = in[i];
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (i + 1 >= n || in[i + 1] < 0xDC00 || in[i + 1] > 0xDFFF) {
        *error = At("unpaired high surrogate", i);
        return false;
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (in[i + 1] - 0xDC00);
      ++i;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      *error = At("unpaired low surrogate", i);
      return false;
    }
    xml::AppendUtf8(out, cp);
  }
  return true;
}

}  // namespace wdm::text
