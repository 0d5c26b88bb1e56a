// XML text escaping shared by every SyncML writer.
#pragma once

#include <string>
#include <string_view>

namespace wdm::xml {

// Appends `text` to `out` with & < > " ' replaced by entities, so any value is data, never markup.
// CR is written as &#13; so it survives XML line-end normalization. Other bytes are copied as is:
// text XML 1.0 cannot carry (see IsValidXmlText) makes the document not well formed, so a reader
// rejects it instead of seeing a different value.
void AppendEscaped(std::string* out, std::string_view text);

// True if `text` is valid UTF-8 made only of XML 1.0 characters (no NUL, no C0 controls other
// than tab/LF/CR, no U+FFFE/U+FFFF). Otherwise false with `error` naming the byte offset.
bool IsValidXmlText(std::string_view text, std::string* error);

}  // namespace wdm::xml
