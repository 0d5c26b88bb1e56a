// UTF-16 <-> UTF-8 conversion at the emulator's C ABI boundary (PCWSTR in, PWSTR out).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace wdm::emulator {

// Converts a NUL-terminated UTF-16 string. False for an unpaired surrogate.
bool Utf16ToUtf8(const char16_t* text, std::string* out);

// The allocator of every string the library returns: LocalAlloc on Windows, where callers of
// the real mdmlocalmanagement.dll (the addon's library_win.cc) free results with LocalFree;
// malloc elsewhere. FreeResult (MdmEmulatorFree) is its counterpart. Null when out of memory.
void* AllocResult(std::size_t bytes);
void FreeResult(void* p);

// A NUL-terminated UTF-16 copy of `text` from AllocResult (free with MdmEmulatorFree; LocalFree
// on Windows), or nullptr when out of memory. Invalid UTF-8 (never produced by the engine)
// becomes U+FFFD.
char16_t* NewUtf16(std::string_view text);

}  // namespace wdm::emulator
