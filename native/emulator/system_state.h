// The emulated system settings behind the emulator's MdmEmulatorSystem* functions (see
// emulator_abi.h): the time zone and the boot time, which no CSP covers (the addon's system
// part, native/system, reaches Win32 for them on Windows and these functions elsewhere).
//
// State: the member "system" of the persisted events object (state_store.h; same transaction,
// lock and file as the node tree, reset to the default by MdmEmulatorReset):
//   "system": {"timeZone": { <the time zone's JSON form, system/time_zone.h> },
//              "services": {"w32time": { <the service's JSON form, system/service.h> }}}
// A new state takes the device profile's system.timeZone (profile.h), else has none; missing or
// unreadable, the time zone is UTC (the "UTC" entry of the table below).
//
// Boot time: the last emulated RebootNow (events.reboot.last, reboot_wipe.h) when there was one,
// else the host's boot time (DeviceHost::BootTimeMs).
//
// Services: only those of the allowlist (system/service.h IsAllowedService) exist; the emulated
// default of w32time is startup "auto", running. A missing or unreadable entry reads as the
// default. Starting a service whose startup type is disabled is refused
// (ERROR_SERVICE_DISABLED), as StartService does; starting a running service or stopping a
// stopped one is not an error.
//
// Setting by key name (system/time_zone.h SetsByKeyName) uses a small built-in table of Windows
// time zones with their current rules: UTC, Pacific/Mountain/Central/Eastern Standard Time, GMT
// Standard Time, W. Europe Standard Time, China Standard Time, Tokyo Standard Time, India Standard
// Time, AUS Eastern Standard Time. The key name is matched ignoring ASCII case and stored as the
// table spells it; any other key name is refused (kHresultTimeZoneNotFound).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/json.h"
#include "emulator/behaviors.h"
#include "emulator/device_host.h"
#include "system/service.h"
#include "system/time_zone.h"

namespace wdm::emulator {

// HRESULT_FROM_WIN32(ERROR_NOT_FOUND): setting by a key name the table does not hold.
inline constexpr std::int32_t kHresultTimeZoneNotFound = static_cast<std::int32_t>(0x80070490u);

// The table entry for `key_name` (ASCII case ignored); false when there is none.
bool LookupTimeZone(std::string_view key_name, sys::TimeZone* out);
// The time zone of a new device: UTC.
sys::TimeZone DefaultTimeZone();

// The stored time zone (DefaultTimeZone() when absent or not valid).
sys::TimeZone LoadTimeZone(const json::Value& events);
// Stores `tz` (already resolved: explicit fields) in events.system.timeZone.
void SaveTimeZone(const sys::TimeZone& tz, json::Value* events);

// The default state of service `name`; false when the emulator has no such service (a name
// outside the allowlist).
bool DefaultService(std::string_view name, sys::ServiceInfo* out);
// The stored state of service `name` (which DefaultService knows); the default when absent or
// not valid.
sys::ServiceInfo LoadService(const json::Value& events, std::string_view name);
// Stores `info` in events.system.services.<info.name>.
void SaveService(const sys::ServiceInfo& info, json::Value* events);
// `current` with `change` applied; false (with the HRESULT and a reason) when the change is
// refused: starting a service whose resulting startup type is disabled.
bool ApplyServiceChange(const sys::ServiceInfo& current, const sys::ServiceChange& change,
                        sys::ServiceInfo* out, std::uint32_t* hresult, std::string* reason);

// The emulated boot time in ms since the Unix epoch (see above).
std::int64_t EmulatedBootTimeMs(const json::Value& events, const DeviceHost& host);

}  // namespace wdm::emulator
