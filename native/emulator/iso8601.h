// ISO 8601 date-times as the emulated CSPs accept and report them.
//
// Accepted (Reboot/Schedule values): "YYYY-MM-DDThh:mm:ss" with an optional zone, "Z" or
// "+hh:mm" / "-hh:mm" (offset at most 14:00). Whole seconds only: a fraction (".5") is refused,
// because the Windows Reboot CSP does not take one (the original Windows IoT DM client's
// scheduled-reboot failures came from fractional seconds). Upper-case 'T' and 'Z' only; month,
// day (leap years included), hour 0-23, minute and second 0-59 are range-checked. With
// `date_optional`, a bare time "hh:mm:ss[zone]" is accepted too.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wdm::emulator {

bool IsIsoDateTime(std::string_view text, bool date_optional = false);

// "YYYY-MM-DDThh:mm:ssZ" for a Unix time (seconds; UTC).
std::string FormatIsoUtc(std::int64_t unix_seconds);

// "YYYY-MM-DDThh:mm:ssZ" (exactly FormatIsoUtc's form, range-checked) -> Unix seconds.
bool ParseIsoUtc(std::string_view text, std::int64_t* unix_seconds);

// Local time "YYYY-MM-DDThh:mm:ss+hh:mm" for a Unix time and the zone's offset from UTC in
// seconds; "Z" instead of the offset when it is 0.
std::string FormatIsoLocal(std::int64_t unix_seconds, int utc_offset_seconds);

}  // namespace wdm::emulator
