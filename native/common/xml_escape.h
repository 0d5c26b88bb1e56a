// XML text escaping shared by every SyncML writer.
#pragma once

#include <string>
#include <string_view>

namespace wdm::xml {

// Appends `text` to `out` with & < > " ' replaced by entities, so any value is data, never markup.
void AppendEscaped(std::string* out, std::string_view text);

}  // namespace wdm::xml
