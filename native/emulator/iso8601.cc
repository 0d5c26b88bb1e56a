// ISO 8601 parsing and formatting (see iso8601.h).
#include "emulator/iso8601.h"

#include <cstdio>

namespace wdm::emulator {
namespace {

// Reads exactly `n` digits at `*pos`.
bool Digits(std::string_view text, std::size_t* pos, int n, int* out) {
  if (*pos + static_cast<std::size_t>(n) > text.size()) return false;
  int value = 0;
  for (int i = 0; i < n; ++i) {
    const char c = text[*pos + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *pos += static_cast<std::size_t>(n);
  *out = value;
  return true;
}

bool Expect(std::string_view text, std::size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

bool IsLeap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

bool Date(std::string_view text, std::size_t* pos) {
  int year = 0, month = 0, day = 0;
  if (!Digits(text, pos, 4, &year) || !Expect(text, pos, '-') || !Digits(text, pos, 2, &month) ||
      !Expect(text, pos, '-') || !Digits(text, pos, 2, &day)) {
    return false;
  }
  return month >= 1 && month <= 12 && day >= 1 && day <= DaysInMonth(year, month);
}

// hh:mm:ss and an optional zone, up to the end of the text.
bool TimeAndZone(std::string_view text, std::size_t* pos) {
  int hour = 0, minute = 0, second = 0;
  if (!Digits(text, pos, 2, &hour) || !Expect(text, pos, ':') || !Digits(text, pos, 2, &minute) ||
      !Expect(text, pos, ':') || !Digits(text, pos, 2, &second)) {
    return false;
  }
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (*pos == text.size()) return true;
  const char zone = text[*pos];
  if (zone == 'Z') return *pos + 1 == text.size();
  if (zone != '+' && zone != '-') return false;  // includes a '.' fraction
  ++*pos;
  int off_hour = 0, off_minute = 0;
  if (!Digits(text, pos, 2, &off_hour) || !Expect(text, pos, ':') ||
      !Digits(text, pos, 2, &off_minute)) {
    return false;
  }
  if (off_minute > 59 || off_hour * 60 + off_minute > 14 * 60) return false;
  return *pos == text.size();
}

// Days since 1970-01-01 -> civil date (H. Hinnant's algorithm).
void CivilFromDays(std::int64_t days, int* year, int* month, int* day) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  *day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *year = static_cast<int>(yoe + era * 400 + (*month <= 2 ? 1 : 0));
}

std::string FormatClock(std::int64_t unix_seconds) {
  std::int64_t days = unix_seconds / 86400;
  std::int64_t rest = unix_seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  int year = 0, month = 0, day = 0;
  CivilFromDays(days, &year, &month, &day);
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day,
                static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                static_cast<int>(rest % 60));
  return buffer;
}

// Civil date -> days since 1970-01-01 (H. Hinnant's algorithm).
std::int64_t DaysFromCivil(int year, int month, int day) {
  const std::int64_t y = static_cast<std::int64_t>(year) - (month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t mp = (month + 9) % 12;
  const std::int64_t doy = (153 * mp + 2) / 5 + day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

bool ParseIsoUtc(std::string_view text, std::int64_t* unix_seconds) {
  if (text.size() != 20 || !IsIsoDateTime(text) || text.back() != 'Z') return false;
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(text, &pos, 4, &year) || !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &month) ||
      !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &day) || !Expect(text, &pos, 'T') ||
      !Digits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &second)) {
    return false;
  }
  *unix_seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  return true;
}

bool IsIsoDateTime(std::string_view text, bool date_optional) {
  std::size_t pos = 0;
  const bool has_date = text.size() > 10 && text[4] == '-' && text[10] == 'T';
  if (has_date) {
    if (!Date(text, &pos) || !Expect(text, &pos, 'T')) return false;
  } else if (!date_optional) {
    return false;
  }
  return TimeAndZone(text, &pos);
}

std::string FormatIsoUtc(std::int64_t unix_seconds) { return FormatClock(unix_seconds) + "Z"; }

std::string FormatIsoLocal(std::int64_t unix_seconds, int utc_offset_seconds) {
  std::string out = FormatClock(unix_seconds + utc_offset_seconds);
  if (utc_offset_seconds == 0) return out + "Z";
  const int magnitude = utc_offset_seconds < 0 ? -utc_offset_seconds : utc_offset_seconds;
  char zone[16];
  std::snprintf(zone, sizeof(zone), "%c%02d:%02d", utc_offset_seconds < 0 ? '-' : '+',
                magnitude / 3600, magnitude / 60 % 60);
  return out + zone;
}

}  // namespace wdm::emulator
