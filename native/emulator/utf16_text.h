// UTF-16 <-> UTF-8 conversion at the emulator's C ABI boundary (PCWSTR in, PWSTR out).
#pragma once

#include <string>
#include <string_view>

namespace wdm::emulator {

// Converts a NUL-terminated UTF-16 string. False for an unpaired surrogate.
bool Utf16ToUtf8(const char16_t* text, std::string* out);

// A malloc'd, NUL-terminated UTF-16 copy of `text` (free with free() / MdmEmulatorFree), or
// nullptr when out of memory. Invalid UTF-8 (never produced by the engine) becomes U+FFFD.
char16_t* NewUtf16(std::string_view text);

}  // namespace wdm::emulator
