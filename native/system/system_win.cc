// SystemApi over Win32 (see system_api.h).
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <winsvc.h>  // not included by windows.h under WIN32_LEAN_AND_MEAN

#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/utf16.h"
#include "system/system_api.h"

namespace wdm::sys {
namespace {

static_assert(sizeof(wchar_t) == sizeof(char16_t), "Windows wide strings are UTF-16");

std::uint32_t LastErrorHresult() {
  const DWORD error = GetLastError();
  return static_cast<std::uint32_t>(HRESULT_FROM_WIN32(error != 0 ? error : ERROR_GEN_FAILURE));
}

// A NUL-terminated WCHAR array (at most N units) as UTF-8; false for a lone surrogate.
template <std::size_t N>
bool FromWide(const WCHAR (&array)[N], std::string* out) {
  std::size_t length = 0;
  while (length < N && array[length] != 0) ++length;
  std::string error;
  return text::Utf16ToUtf8(std::u16string_view(reinterpret_cast<const char16_t*>(array), length),
                           out, &error);
}

// UTF-8 text (checked by ValidateTimeZone: fits, no NUL) into a WCHAR array, NUL-terminated.
template <std::size_t N>
bool ToWide(const std::string& utf8, WCHAR (&array)[N]) {
  std::u16string wide;
  std::string error;
  if (!text::Utf8ToUtf16(utf8, &wide, &error) || wide.size() >= N) return false;
  std::memset(array, 0, sizeof array);
  std::memcpy(array, wide.data(), wide.size() * sizeof(WCHAR));
  return true;
}

TransitionDate FromSystemTime(const SYSTEMTIME& t) {
  return TransitionDate{t.wMonth, t.wDay, t.wDayOfWeek, t.wHour, t.wMinute};
}

SYSTEMTIME ToSystemTime(const TransitionDate& d) {
  SYSTEMTIME t{};
  t.wMonth = static_cast<WORD>(d.month);
  t.wDay = static_cast<WORD>(d.week);
  t.wDayOfWeek = static_cast<WORD>(d.day_of_week);
  t.wHour = static_cast<WORD>(d.hour);
  t.wMinute = static_cast<WORD>(d.minute);
  return t;
}

// SeTimeZonePrivilege enabled on the process token while it lives (restored afterwards).
// Process-wide: concurrent setters take turns (TokenPrivilegeScope is only used under the mutex).
class TokenPrivilegeScope {
 public:
  TokenPrivilegeScope() {
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token_)) {
      token_ = nullptr;
      Fail("OpenProcessToken", LastErrorHresult());
      return;
    }
    TOKEN_PRIVILEGES wanted{};
    wanted.PrivilegeCount = 1;
    wanted.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
    if (!LookupPrivilegeValueW(nullptr, L"SeTimeZonePrivilege", &wanted.Privileges[0].Luid)) {
      Fail("LookupPrivilegeValueW", LastErrorHresult());
      return;
    }
    DWORD size = sizeof previous_;
    if (!AdjustTokenPrivileges(token_, FALSE, &wanted, sizeof previous_, &previous_, &size)) {
      Fail("AdjustTokenPrivileges", LastErrorHresult());
      return;
    }
    if (GetLastError() == ERROR_NOT_ALL_ASSIGNED) {  // the account does not hold the privilege
      Fail("AdjustTokenPrivileges",
           static_cast<std::uint32_t>(HRESULT_FROM_WIN32(ERROR_PRIVILEGE_NOT_HELD)));
      return;
    }
    adjusted_ = true;
  }
  ~TokenPrivilegeScope() {
    if (adjusted_) AdjustTokenPrivileges(token_, FALSE, &previous_, 0, nullptr, nullptr);
    if (token_ != nullptr) CloseHandle(token_);
  }
  TokenPrivilegeScope(const TokenPrivilegeScope&) = delete;
  TokenPrivilegeScope& operator=(const TokenPrivilegeScope&) = delete;

  std::uint32_t hresult() const { return hresult_; }  // 0 = enabled
  const char* api() const { return api_; }            // the call that failed

 private:
  void Fail(const char* api, std::uint32_t hresult) {
    api_ = api;
    hresult_ = hresult;
  }

  HANDLE token_ = nullptr;
  TOKEN_PRIVILEGES previous_{};
  bool adjusted_ = false;
  std::uint32_t hresult_ = 0;
  const char* api_ = "";
};

// Serializes the token adjustments of concurrent SetTimeZone calls (the token is process-wide).
// Never destroyed, like the MDM mutex (library_common.cc).
std::mutex& PrivilegeMutex() {
  static std::mutex* const mutex = new std::mutex();
  return *mutex;
}

// ---- services ----------------------------------------------------------------------------------

// How long SetService waits for a started service to run or a stopped one to stop.
constexpr auto kServiceWait = std::chrono::seconds(30);

std::uint32_t Win32Hresult(DWORD error) {
  return static_cast<std::uint32_t>(HRESULT_FROM_WIN32(error));
}

// Closes a service control manager or service handle.
class ScHandle {
 public:
  explicit ScHandle(SC_HANDLE handle) : handle_(handle) {}
  ~ScHandle() {
    if (handle_ != nullptr) CloseServiceHandle(handle_);
  }
  ScHandle(const ScHandle&) = delete;
  ScHandle& operator=(const ScHandle&) = delete;
  SC_HANDLE get() const { return handle_; }

 private:
  SC_HANDLE handle_;
};

// Serializes SetService calls (a start racing a stop would make each wait for the other).
// Never destroyed, like PrivilegeMutex.
std::mutex& ServiceMutex() {
  static std::mutex* const mutex = new std::mutex();
  return *mutex;
}

SystemOutcome NotAllowed(const char* api, const std::string& name) {
  return SystemOutcome::Hresult(
      api, kHresultServiceDoesNotExist,
      "the service \"" + name +
          "\" is not one that may be controlled (allowed: " + AllowedServicesText() + ")");
}

// Opens service `name` (already checked against the allowlist) with `access`.
SystemOutcome OpenNamedService(const std::string& name, DWORD access, SC_HANDLE* scm_out,
                               SC_HANDLE* service_out) {
  std::u16string wide;
  std::string error;
  if (!text::Utf8ToUtf16(name, &wide, &error)) return NotAllowed("OpenServiceW", name);
  SC_HANDLE scm = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT);
  if (scm == nullptr) return SystemOutcome::Hresult("OpenSCManagerW", LastErrorHresult());
  SC_HANDLE service = OpenServiceW(scm, reinterpret_cast<LPCWSTR>(wide.c_str()), access);
  if (service == nullptr) {
    const std::uint32_t hr = LastErrorHresult();
    CloseServiceHandle(scm);
    return SystemOutcome::Hresult("OpenServiceW", hr);
  }
  *scm_out = scm;
  *service_out = service;
  return SystemOutcome();
}

SystemOutcome QueryStartup(SC_HANDLE service, ServiceStartup* out) {
  DWORD needed = 0;
  if (!QueryServiceConfigW(service, nullptr, 0, &needed) &&
      GetLastError() != ERROR_INSUFFICIENT_BUFFER) {
    return SystemOutcome::Hresult("QueryServiceConfigW", LastErrorHresult());
  }
  std::vector<BYTE> buffer(needed > 0 ? needed : sizeof(QUERY_SERVICE_CONFIGW));
  auto* config = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buffer.data());
  if (!QueryServiceConfigW(service, config, static_cast<DWORD>(buffer.size()), &needed)) {
    return SystemOutcome::Hresult("QueryServiceConfigW", LastErrorHresult());
  }
  switch (config->dwStartType) {
    case SERVICE_DISABLED:
      *out = ServiceStartup::kDisabled;
      break;
    case SERVICE_DEMAND_START:
      *out = ServiceStartup::kManual;
      break;
    default:  // SERVICE_AUTO_START (also delayed), SERVICE_BOOT_START, SERVICE_SYSTEM_START
      *out = ServiceStartup::kAuto;
      break;
  }
  return SystemOutcome();
}

SystemOutcome QueryState(SC_HANDLE service, DWORD* state, DWORD* wait_hint) {
  SERVICE_STATUS_PROCESS status{};
  DWORD needed = 0;
  if (!QueryServiceStatusEx(service, SC_STATUS_PROCESS_INFO, reinterpret_cast<LPBYTE>(&status),
                            sizeof status, &needed)) {
    return SystemOutcome::Hresult("QueryServiceStatusEx", LastErrorHresult());
  }
  *state = status.dwCurrentState;
  if (wait_hint != nullptr) *wait_hint = status.dwWaitHint;
  return SystemOutcome();
}

// Running = neither stopped nor stopping.
bool IsRunningState(DWORD state) {
  return state != SERVICE_STOPPED && state != SERVICE_STOP_PENDING;
}

// Polls until the service reaches `target` (SERVICE_RUNNING or SERVICE_STOPPED), at most
// kServiceWait; the poll interval follows the service's wait hint (0.1-1 s).
SystemOutcome WaitForState(SC_HANDLE service, DWORD target, const std::string& name) {
  const auto deadline = std::chrono::steady_clock::now() + kServiceWait;
  for (;;) {
    DWORD state = 0, hint = 0;
    SystemOutcome outcome = QueryState(service, &state, &hint);
    if (outcome.kind != SystemOutcome::Kind::kOk) return outcome;
    if (state == target) return outcome;
    if (target == SERVICE_RUNNING && state == SERVICE_STOPPED) {
      return SystemOutcome::Hresult("StartServiceW", Win32Hresult(ERROR_SERVICE_NOT_ACTIVE),
                                    "the service " + name + " stopped while starting");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return SystemOutcome::Hresult(target == SERVICE_RUNNING ? "StartServiceW" : "ControlService",
                                    kHresultServiceRequestTimeout,
                                    "the service " + name + " did not " +
                                        (target == SERVICE_RUNNING ? "start" : "stop") +
                                        " within 30 s");
    }
    DWORD sleep = hint / 10;
    if (sleep < 100) sleep = 100;
    if (sleep > 1000) sleep = 1000;
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep));
  }
}

class WindowsSystemApi final : public SystemApi {
 public:
  SystemOutcome GetTimeZone(TimeZone* out) override {
    DYNAMIC_TIME_ZONE_INFORMATION info{};
    if (GetDynamicTimeZoneInformation(&info) == TIME_ZONE_ID_INVALID) {
      return SystemOutcome::Hresult("GetDynamicTimeZoneInformation", LastErrorHresult());
    }
    TimeZone tz;
    if (!FromWide(info.TimeZoneKeyName, &tz.key_name) ||
        !FromWide(info.StandardName, &tz.standard_name) ||
        !FromWide(info.DaylightName, &tz.daylight_name)) {
      return SystemOutcome::Hresult(
          "GetDynamicTimeZoneInformation",
          static_cast<std::uint32_t>(HRESULT_FROM_WIN32(ERROR_INVALID_DATA)),
          "a time zone name is not well-formed UTF-16");
    }
    tz.bias = static_cast<int>(info.Bias);
    tz.standard_bias = static_cast<int>(info.StandardBias);
    tz.standard_date = FromSystemTime(info.StandardDate);
    tz.daylight_bias = static_cast<int>(info.DaylightBias);
    tz.daylight_date = FromSystemTime(info.DaylightDate);
    tz.dynamic_daylight_time_disabled = info.DynamicDaylightTimeDisabled != FALSE;
    *out = std::move(tz);
    return SystemOutcome();
  }

  SystemOutcome SetTimeZone(const TimeZone& tz) override {
    DYNAMIC_TIME_ZONE_INFORMATION info{};
    if (SetsByKeyName(tz)) {
      WCHAR key[128];
      if (!ToWide(tz.key_name, key)) return Invalid("keyName does not fit");
      bool found = false;
      for (DWORD index = 0;; ++index) {
        DYNAMIC_TIME_ZONE_INFORMATION entry{};
        const DWORD result = EnumDynamicTimeZoneInformation(index, &entry);
        if (result == ERROR_NO_MORE_ITEMS) break;
        if (result != ERROR_SUCCESS) {
          return SystemOutcome::Hresult("EnumDynamicTimeZoneInformation",
                                        static_cast<std::uint32_t>(HRESULT_FROM_WIN32(result)));
        }
        if (CompareStringOrdinal(entry.TimeZoneKeyName, -1, key, -1, TRUE) == CSTR_EQUAL) {
          info = entry;
          found = true;
          break;
        }
      }
      if (!found) {
        return SystemOutcome::Hresult("SetDynamicTimeZoneInformation", kHresultTimeZoneNotFound,
                                      "no time zone has the key name \"" + tz.key_name + "\"");
      }
      info.DynamicDaylightTimeDisabled = FALSE;
    } else {
      if (!ToWide(tz.key_name, info.TimeZoneKeyName) ||
          !ToWide(tz.standard_name, info.StandardName) ||
          !ToWide(tz.daylight_name, info.DaylightName)) {
        return Invalid("a name does not fit");
      }
      info.Bias = tz.bias;
      info.StandardBias = tz.standard_bias;
      info.StandardDate = ToSystemTime(tz.standard_date);
      info.DaylightBias = tz.daylight_bias;
      info.DaylightDate = ToSystemTime(tz.daylight_date);
      info.DynamicDaylightTimeDisabled = tz.dynamic_daylight_time_disabled ? TRUE : FALSE;
    }
    std::lock_guard<std::mutex> lock(PrivilegeMutex());
    TokenPrivilegeScope privilege;
    if (privilege.hresult() != 0) {
      // The API that failed: OpenProcessToken, LookupPrivilegeValueW (wine 8 does not know
      // SeTimeZonePrivilege: 0x80070521) or AdjustTokenPrivileges (0x80070522: not held).
      return SystemOutcome::Hresult(privilege.api(), privilege.hresult(),
                                    "cannot enable SeTimeZonePrivilege (run as Administrator or "
                                    "SYSTEM)");
    }
    if (!SetDynamicTimeZoneInformation(&info)) {
      return SystemOutcome::Hresult("SetDynamicTimeZoneInformation", LastErrorHresult());
    }
    return SystemOutcome();
  }

  SystemOutcome BootTime(std::int64_t* ms) override {
    FILETIME now{};
    GetSystemTimeAsFileTime(&now);
    const std::int64_t ticks =
        (static_cast<std::int64_t>(now.dwHighDateTime) << 32) | now.dwLowDateTime;
    const std::int64_t now_ms = ticks / 10000 - 11644473600000LL;  // 1601 epoch -> 1970
    *ms = now_ms - static_cast<std::int64_t>(GetTickCount64());
    return SystemOutcome();
  }

  SystemOutcome GetService(const std::string& name, ServiceInfo* out) override {
    if (!IsAllowedService(name)) return NotAllowed("OpenServiceW", name);
    SC_HANDLE scm_raw = nullptr, service_raw = nullptr;
    SystemOutcome outcome =
        OpenNamedService(name, SERVICE_QUERY_CONFIG | SERVICE_QUERY_STATUS, &scm_raw, &service_raw);
    if (outcome.kind != SystemOutcome::Kind::kOk) return outcome;
    ScHandle scm(scm_raw), service(service_raw);
    ServiceInfo info;
    info.name = name;
    outcome = QueryStartup(service.get(), &info.startup);
    if (outcome.kind != SystemOutcome::Kind::kOk) return outcome;
    DWORD state = 0;
    outcome = QueryState(service.get(), &state, nullptr);
    if (outcome.kind != SystemOutcome::Kind::kOk) return outcome;
    info.running = IsRunningState(state);
    *out = std::move(info);
    return outcome;
  }

  // Not implemented in this version: starting a UWP app needs IApplicationActivationManager
  // and stopping it IPackageDebugSettings (COM) on the package full names of the family.
  SystemOutcome AppLifecycle(const std::string&, const std::string&) override {
    return SystemOutcome::Hresult(
        "AppLifecycle", 0x80004001u,  // E_NOTIMPL
        "starting or stopping an app is not implemented on Windows in this version");
  }

  SystemOutcome SetService(const std::string& name, const ServiceChange& change) override {
    if (!IsAllowedService(name)) return NotAllowed("OpenServiceW", name);
    DWORD access = SERVICE_QUERY_CONFIG | SERVICE_QUERY_STATUS;
    if (change.startup) access |= SERVICE_CHANGE_CONFIG;
    if (change.running) access |= *change.running ? SERVICE_START : SERVICE_STOP;
    std::lock_guard<std::mutex> lock(ServiceMutex());
    SC_HANDLE scm_raw = nullptr, service_raw = nullptr;
    SystemOutcome outcome = OpenNamedService(name, access, &scm_raw, &service_raw);
    if (outcome.kind != SystemOutcome::Kind::kOk) return outcome;
    ScHandle scm(scm_raw), service(service_raw);
    ServiceStartup startup = ServiceStartup::kManual;
    outcome = QueryStartup(service.get(), &startup);
    if (outcome.kind != SystemOutcome::Kind::kOk) return outcome;
    DWORD state = 0;
    outcome = QueryState(service.get(), &state, nullptr);
    if (outcome.kind != SystemOutcome::Kind::kOk) return outcome;
    if (change.startup) startup = *change.startup;
    // Refused before anything changes: StartService would fail after ChangeServiceConfig.
    if (change.running && *change.running && !IsRunningState(state) &&
        startup == ServiceStartup::kDisabled) {
      return SystemOutcome::Hresult(
          "StartServiceW", kHresultServiceDisabled,
          "the service " + name + " cannot be started: its startup type is disabled");
    }
    if (change.startup) {
      const DWORD start_type = startup == ServiceStartup::kAuto     ? SERVICE_AUTO_START
                               : startup == ServiceStartup::kManual ? SERVICE_DEMAND_START
                                                                    : SERVICE_DISABLED;
      if (!ChangeServiceConfigW(service.get(), SERVICE_NO_CHANGE, start_type, SERVICE_NO_CHANGE,
                                nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr)) {
        return SystemOutcome::Hresult("ChangeServiceConfigW", LastErrorHresult());
      }
    }
    if (!change.running) return outcome;
    if (*change.running) {
      if (state == SERVICE_RUNNING) return outcome;
      if (state == SERVICE_STOPPED || state == SERVICE_STOP_PENDING) {
        if (state == SERVICE_STOP_PENDING) {
          outcome = WaitForState(service.get(), SERVICE_STOPPED, name);
          if (outcome.kind != SystemOutcome::Kind::kOk) return outcome;
        }
        if (!StartServiceW(service.get(), 0, nullptr) &&
            GetLastError() != ERROR_SERVICE_ALREADY_RUNNING) {
          return SystemOutcome::Hresult("StartServiceW", LastErrorHresult());
        }
      }
      return WaitForState(service.get(), SERVICE_RUNNING, name);
    }
    if (state == SERVICE_STOPPED) return outcome;
    if (state != SERVICE_STOP_PENDING) {
      SERVICE_STATUS status{};
      if (!ControlService(service.get(), SERVICE_CONTROL_STOP, &status) &&
          GetLastError() != ERROR_SERVICE_NOT_ACTIVE) {
        return SystemOutcome::Hresult("ControlService", LastErrorHresult());
      }
    }
    return WaitForState(service.get(), SERVICE_STOPPED, name);
  }

 private:
  static SystemOutcome Invalid(const char* why) {
    return SystemOutcome::Hresult("SetDynamicTimeZoneInformation", 0x80070057u, why);
  }
};

}  // namespace

std::unique_ptr<SystemApi> CreatePlatformSystemApi(std::string) {
  return std::make_unique<WindowsSystemApi>();
}

}  // namespace wdm::sys
