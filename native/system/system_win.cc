// SystemApi over Win32 (see system_api.h).
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>

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
      hresult_ = LastErrorHresult();
      return;
    }
    TOKEN_PRIVILEGES wanted{};
    wanted.PrivilegeCount = 1;
    wanted.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
    if (!LookupPrivilegeValueW(nullptr, L"SeTimeZonePrivilege", &wanted.Privileges[0].Luid)) {
      hresult_ = LastErrorHresult();
      return;
    }
    DWORD size = sizeof previous_;
    if (!AdjustTokenPrivileges(token_, FALSE, &wanted, sizeof previous_, &previous_, &size)) {
      hresult_ = LastErrorHresult();
      return;
    }
    if (GetLastError() == ERROR_NOT_ALL_ASSIGNED) {  // the account does not hold the privilege
      hresult_ = static_cast<std::uint32_t>(HRESULT_FROM_WIN32(ERROR_PRIVILEGE_NOT_HELD));
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

 private:
  HANDLE token_ = nullptr;
  TOKEN_PRIVILEGES previous_{};
  bool adjusted_ = false;
  std::uint32_t hresult_ = 0;
};

// Serializes the token adjustments of concurrent SetTimeZone calls (the token is process-wide).
// Never destroyed, like the MDM mutex (library_common.cc).
std::mutex& PrivilegeMutex() {
  static std::mutex* const mutex = new std::mutex();
  return *mutex;
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
      return SystemOutcome::Hresult("AdjustTokenPrivileges", privilege.hresult(),
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
