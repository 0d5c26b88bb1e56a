// XML text escaping (see xml_escape.h).
#include "common/xml_escape.h"

#include <cstddef>

#include "common/xml_chars.h"

namespace wdm::xml {

void AppendEscaped(std::string* out, std::string_view text) {
  out->reserve(out->size() + text.size());
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char* entity = nullptr;
    switch (text[i]) {
      case '&':
        entity = "&amp;";
        break;
      case '<':
        entity = "&lt;";
        break;
      case '>':
        entity = "&gt;";
        break;
      case '"':
        entity = "&quot;";
        break;
      case '\'':
        entity = "&apos;";
        break;
      case '\r':
        entity = "&#13;";
        break;
      default:
        continue;
    }
    out->append(text.data() + run_start, i - run_start);
    out->append(entity);
    run_start = i + 1;
  }
  out->append(text.data() + run_start, text.size() - run_start);
}

bool IsValidXmlText(std::string_view text, std::string* error) {
  std::size_t offset = 0;
  const char* reason = nullptr;
  if (ValidateXmlChars(text, &offset, &reason)) return true;
  if (error != nullptr) *error = std::string(reason) + " at byte " + std::to_string(offset);
  return false;
}

}  // namespace wdm::xml
