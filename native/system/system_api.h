// The addon's system part: the few Windows settings and facts no CSP covers (the time zone, the
// boot time, control of the allowlisted services of system/service.h), behind one interface with
// a platform implementation:
//   Windows (system_win.cc)  Get/SetDynamicTimeZoneInformation (SeTimeZonePrivilege enabled on the
//                            process token for the call), EnumDynamicTimeZoneInformation to look a
//                            key name up, boot time = now - GetTickCount64(). Failures are
//                            HRESULT_FROM_WIN32(GetLastError()). Services: the service control
//                            manager (QueryServiceConfig/QueryServiceStatusEx,
//                            ChangeServiceConfig, StartService/ControlService with a bounded
//                            wait for the new state).
//   elsewhere (system_posix.cc)  the CSP emulator library's MdmEmulatorSystem* functions
//                            (emulator_abi.h, ABI version 3), dlopen()ed from the same path as
//                            the MDM part (the emulated state lives in the emulator's state file).
// No Node-API here. Every implementation is thread-safe (the addon calls it from pool threads).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mdm/library.h"
#include "system/service.h"
#include "system/time_zone.h"

namespace wdm::sys {

// HRESULT_FROM_WIN32(ERROR_NOT_FOUND): setting by a key name the system does not know (Windows:
// not in EnumDynamicTimeZoneInformation; the emulator: not in its table).
constexpr std::uint32_t kHresultTimeZoneNotFound = 0x80070490u;

struct SystemOutcome {
  enum class Kind { kOk, kUnavailable, kHresult };
  Kind kind = Kind::kOk;
  mdm::LoadError load_error;  // kUnavailable: the emulator library (or a symbol) is missing
  std::uint32_t hresult = 0;  // kHresult
  const char* api = "";       // kHresult: the function that failed
  std::string detail;         // kHresult: why, when known ("" otherwise)

  static SystemOutcome Hresult(const char* api, std::uint32_t hresult, std::string detail = "") {
    SystemOutcome out;
    out.kind = Kind::kHresult;
    out.api = api;
    out.hresult = hresult;
    out.detail = std::move(detail);
    return out;
  }
};

class SystemApi {
 public:
  virtual ~SystemApi() = default;
  // The time zone in effect.
  virtual SystemOutcome GetTimeZone(TimeZone* out) = 0;
  // Sets the time zone: `tz` must pass ValidateTimeZone. By key name (SetsByKeyName) the system's
  // rules for that key are used (kHresultTimeZoneNotFound when it has none), else `tz` as given.
  virtual SystemOutcome SetTimeZone(const TimeZone& tz) = 0;
  // When the system last started, in ms since the Unix epoch.
  virtual SystemOutcome BootTime(std::int64_t* ms) = 0;
  // The startup type and running state of service `name`. Every implementation refuses a name
  // outside the allowlist (IsAllowedService) with kHresultServiceDoesNotExist.
  virtual SystemOutcome GetService(const std::string& name, ServiceInfo* out) = 0;
  // Changes the startup type (first) and/or starts or stops the service, waiting (bounded) until
  // it runs or has stopped. Starting a running service or stopping a stopped one succeeds.
  virtual SystemOutcome SetService(const std::string& name, const ServiceChange& change) = 0;
  // Starts or stops (`action` "start" | "stop") the app of package family `pfn`
  // (windows.manageAppLifeCycleAsync). Emulator: MdmEmulatorSystemAppLifecycle. Windows: not
  // implemented in this version (E_NOTIMPL with an explanation).
  virtual SystemOutcome AppLifecycle(const std::string& pfn, const std::string& action) = 0;
};

// `library_path`: POSIX only, the CSP emulator library (empty = none configured: every call
// fails with kUnavailable and an explanation). Ignored on Windows. Loads nothing until used.
std::unique_ptr<SystemApi> CreatePlatformSystemApi(std::string library_path);

}  // namespace wdm::sys
