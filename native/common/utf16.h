// Strict UTF-8 <-> UTF-16 (char16_t) conversion for strings crossing the local MDM API boundary.
//
// Both directions reject malformed input instead of repairing it: a SyncML request or response
// that changed in transit must fail loudly, never be silently altered. Rejected:
//   UTF-8:  invalid lead/continuation bytes, truncated sequences, overlong forms, encoded
//           surrogates (U+D800..U+DFFF, i.e. CESU-8 / WTF-8) and code points above U+10FFFF;
//   UTF-16: lone (unpaired) surrogates. No U+FFFD substitution happens anywhere here.
// On failure the functions return false, leave `out` unspecified and put a short reason with the
// offending offset (in bytes or code units) into `error`. No exceptions, no Node-API.
#pragma once

#include <string>
#include <string_view>

namespace wdm::text {

bool Utf8ToUtf16(std::string_view in, std::u16string* out, std::string* error);
bool Utf16ToUtf8(std::u16string_view in, std::string* out, std::string* error);

}  // namespace wdm::text
