// The time zone as the native system part carries it: the fields of Win32's
// DYNAMIC_TIME_ZONE_INFORMATION (lib/native/system-contract.ts TimeZoneInfo), its checks, and its
// JSON form (the text the CSP emulator's MdmEmulatorSystem* functions exchange). Shared by the
// addon (native/system, native/addon) and the emulator library. No Node-API, no Win32.
//
// JSON form (member names as in TimeZoneInfo):
//   {"keyName": "Pacific Standard Time", "bias": 480,
//    "standardName": "Pacific Standard Time", "standardBias": 0,
//    "standardDate": {"month": 11, "week": 1, "dayOfWeek": 0, "hour": 2, "minute": 0},
//    "daylightName": "Pacific Daylight Time", "daylightBias": -60,
//    "daylightDate": {"month": 3, "week": 2, "dayOfWeek": 0, "hour": 2, "minute": 0},
//    "dynamicDaylightTimeDisabled": false}
//
// Two ways to set a zone:
//   by key name   keyName is not empty and dynamicDaylightTimeDisabled is false: the system
//                 looks the rules up (Windows: its time zone database; the emulator: a small
//                 built-in table). Only keyName and dynamicDaylightTimeDisabled are needed; the
//                 other members may be left out and are ignored when present (but still checked).
//   explicit      otherwise: every member is required and is used as given.
//
// Checks (ValidateTimeZone): names at most 31 UTF-16 code units and the key name at most 127 (the
// WCHAR[32] / WCHAR[128] arrays of the Win32 struct, NUL excluded), no U+0000; biases within
// +-1440 minutes; transition dates month 0-12, week 0-5, dayOfWeek 0-6, hour 0-23, minute 0-59,
// and, as Win32 requires, either both dates set (month 1-12, week 1-5) or neither (month 0).
#pragma once

#include <cstddef>
#include <string>

#include "common/json.h"

namespace wdm::sys {

inline constexpr std::size_t kMaxNameUnits = 31;
inline constexpr std::size_t kMaxKeyNameUnits = 127;
inline constexpr int kMaxBiasMinutes = 1440;

// SYSTEMTIME as a time zone transition uses it (day-in-month form).
struct TransitionDate {
  int month = 0;  // 1-12; 0 = no daylight saving time
  int week = 0;   // 1-5: the n-th dayOfWeek of the month (5 = last)
  int day_of_week = 0;
  int hour = 0;
  int minute = 0;
};

struct TimeZone {
  std::string key_name;  // UTF-8
  int bias = 0;          // minutes, UTC = local time + bias
  std::string standard_name;
  int standard_bias = 0;
  TransitionDate standard_date;
  std::string daylight_name;
  int daylight_bias = 0;
  TransitionDate daylight_date;
  bool dynamic_daylight_time_disabled = false;
};

bool operator==(const TransitionDate& a, const TransitionDate& b);
bool operator==(const TimeZone& a, const TimeZone& b);

// True when `tz` asks for the system's rules of its key name (see above).
inline bool SetsByKeyName(const TimeZone& tz) {
  return !tz.key_name.empty() && !tz.dynamic_daylight_time_disabled;
}

// UTF-16 code units of well-formed UTF-8 text.
std::size_t Utf16Length(const std::string& utf8);

// False with a one-line *error ("standardName is longer than 31 UTF-16 code units") when `tz`
// breaks a rule above. Every field is checked, also when `tz` sets by key name.
bool ValidateTimeZone(const TimeZone& tz, std::string* error);

json::Value TimeZoneToJson(const TimeZone& tz);
// Reads the JSON form: the members' presence and types (unknown members are refused), then
// ValidateTimeZone. False with *error on any problem.
bool TimeZoneFromJson(const json::Value& value, TimeZone* out, std::string* error);

}  // namespace wdm::sys
