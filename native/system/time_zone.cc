// Time zone checks and JSON form (see time_zone.h).
#include "system/time_zone.h"

#include <utility>

namespace wdm::sys {
namespace {

bool CheckName(const std::string& value, const char* field, std::size_t max_units,
               std::string* error) {
  if (value.find('\0') != std::string::npos) {
    *error = std::string(field) + " must not contain U+0000";
    return false;
  }
  if (Utf16Length(value) > max_units) {
    *error =
        std::string(field) + " is longer than " + std::to_string(max_units) + " UTF-16 code units";
    return false;
  }
  return true;
}

bool CheckRange(int value, int low, int high, const std::string& field, std::string* error) {
  if (value >= low && value <= high) return true;
  *error = field + " must be an integer from " + std::to_string(low) + " to " +
           std::to_string(high) + " (got " + std::to_string(value) + ")";
  return false;
}

bool CheckDate(const TransitionDate& date, const char* field, std::string* error) {
  const std::string f = field;
  return CheckRange(date.month, 0, 12, f + ".month", error) &&
         CheckRange(date.week, 0, 5, f + ".week", error) &&
         CheckRange(date.day_of_week, 0, 6, f + ".dayOfWeek", error) &&
         CheckRange(date.hour, 0, 23, f + ".hour", error) &&
         CheckRange(date.minute, 0, 59, f + ".minute", error) &&
         (date.month == 0 || CheckRange(date.week, 1, 5, f + ".week", error));
}

json::Value DateToJson(const TransitionDate& date) {
  json::Value out = json::Value::Object();
  out.Set("month", json::Value::Int(date.month));
  out.Set("week", json::Value::Int(date.week));
  out.Set("dayOfWeek", json::Value::Int(date.day_of_week));
  out.Set("hour", json::Value::Int(date.hour));
  out.Set("minute", json::Value::Int(date.minute));
  return out;
}

// An integer member within +-2^31 (range checks come later).
bool ReadInt(const json::Value& object, const char* key, const std::string& field, bool required,
             int* out, std::string* error) {
  const json::Value* value = object.Find(key);
  if (value == nullptr) {
    if (!required) return true;
    *error = field + " is missing";
    return false;
  }
  if (!value->is_int() || value->int_value() < -2147483647 || value->int_value() > 2147483647) {
    *error = field + " must be an integer";
    return false;
  }
  *out = static_cast<int>(value->int_value());
  return true;
}

bool ReadString(const json::Value& object, const char* key, bool required, std::string* out,
                std::string* error) {
  const json::Value* value = object.Find(key);
  if (value == nullptr) {
    if (!required) return true;
    *error = std::string(key) + " is missing";
    return false;
  }
  if (!value->is_string()) {
    *error = std::string(key) + " must be a string";
    return false;
  }
  *out = value->string_value();
  return true;
}

bool OnlyKnownMembers(const json::Value& object, std::initializer_list<const char*> keys,
                      const std::string& where, std::string* error) {
  for (const json::Value::Member& member : object.members()) {
    bool known = false;
    for (const char* key : keys) known = known || member.first == key;
    if (!known) {
      *error = where + "has an unknown member \"" + member.first + "\"";
      return false;
    }
  }
  return true;
}

bool ReadDate(const json::Value& object, const char* key, bool required, TransitionDate* out,
              std::string* error) {
  const json::Value* value = object.Find(key);
  if (value == nullptr) {
    if (!required) return true;
    *error = std::string(key) + " is missing";
    return false;
  }
  if (!value->is_object()) {
    *error = std::string(key) + " must be an object";
    return false;
  }
  const std::string f = key;
  return OnlyKnownMembers(*value, {"month", "week", "dayOfWeek", "hour", "minute"}, f + " ",
                          error) &&
         ReadInt(*value, "month", f + ".month", true, &out->month, error) &&
         ReadInt(*value, "week", f + ".week", true, &out->week, error) &&
         ReadInt(*value, "dayOfWeek", f + ".dayOfWeek", true, &out->day_of_week, error) &&
         ReadInt(*value, "hour", f + ".hour", true, &out->hour, error) &&
         ReadInt(*value, "minute", f + ".minute", true, &out->minute, error);
}

}  // namespace

bool operator==(const TransitionDate& a, const TransitionDate& b) {
  return a.month == b.month && a.week == b.week && a.day_of_week == b.day_of_week &&
         a.hour == b.hour && a.minute == b.minute;
}

bool operator==(const TimeZone& a, const TimeZone& b) {
  return a.key_name == b.key_name && a.bias == b.bias && a.standard_name == b.standard_name &&
         a.standard_bias == b.standard_bias && a.standard_date == b.standard_date &&
         a.daylight_name == b.daylight_name && a.daylight_bias == b.daylight_bias &&
         a.daylight_date == b.daylight_date &&
         a.dynamic_daylight_time_disabled == b.dynamic_daylight_time_disabled;
}

std::size_t Utf16Length(const std::string& utf8) {
  std::size_t units = 0;
  for (const char c : utf8) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte
    units += byte >= 0xF0 ? 2 : 1;        // a 4-byte sequence is a surrogate pair
  }
  return units;
}

bool ValidateTimeZone(const TimeZone& tz, std::string* error) {
  if (!CheckName(tz.key_name, "keyName", kMaxKeyNameUnits, error) ||
      !CheckName(tz.standard_name, "standardName", kMaxNameUnits, error) ||
      !CheckName(tz.daylight_name, "daylightName", kMaxNameUnits, error) ||
      !CheckRange(tz.bias, -kMaxBiasMinutes, kMaxBiasMinutes, "bias", error) ||
      !CheckRange(tz.standard_bias, -kMaxBiasMinutes, kMaxBiasMinutes, "standardBias", error) ||
      !CheckRange(tz.daylight_bias, -kMaxBiasMinutes, kMaxBiasMinutes, "daylightBias", error) ||
      !CheckDate(tz.standard_date, "standardDate", error) ||
      !CheckDate(tz.daylight_date, "daylightDate", error)) {
    return false;
  }
  if ((tz.standard_date.month == 0) != (tz.daylight_date.month == 0)) {
    *error = "standardDate and daylightDate must both be set (month 1-12) or both unset (month 0)";
    return false;
  }
  return true;
}

json::Value TimeZoneToJson(const TimeZone& tz) {
  json::Value out = json::Value::Object();
  out.Set("keyName", json::Value::String(tz.key_name));
  out.Set("bias", json::Value::Int(tz.bias));
  out.Set("standardName", json::Value::String(tz.standard_name));
  out.Set("standardBias", json::Value::Int(tz.standard_bias));
  out.Set("standardDate", DateToJson(tz.standard_date));
  out.Set("daylightName", json::Value::String(tz.daylight_name));
  out.Set("daylightBias", json::Value::Int(tz.daylight_bias));
  out.Set("daylightDate", DateToJson(tz.daylight_date));
  out.Set("dynamicDaylightTimeDisabled", json::Value::Bool(tz.dynamic_daylight_time_disabled));
  return out;
}

bool TimeZoneFromJson(const json::Value& value, TimeZone* out, std::string* error) {
  if (!value.is_object()) {
    *error = "the time zone must be a JSON object";
    return false;
  }
  if (!OnlyKnownMembers(
          value,
          {"keyName", "bias", "standardName", "standardBias", "standardDate", "daylightName",
           "daylightBias", "daylightDate", "dynamicDaylightTimeDisabled"},
          "the time zone ", error)) {
    return false;
  }
  TimeZone tz;
  if (!ReadString(value, "keyName", true, &tz.key_name, error)) return false;
  const json::Value* disabled = value.Find("dynamicDaylightTimeDisabled");
  if (disabled == nullptr || !disabled->is_bool()) {
    *error = disabled == nullptr ? "dynamicDaylightTimeDisabled is missing"
                                 : "dynamicDaylightTimeDisabled must be a boolean";
    return false;
  }
  tz.dynamic_daylight_time_disabled = disabled->bool_value();
  const bool required = !SetsByKeyName(tz);
  if (!ReadInt(value, "bias", "bias", required, &tz.bias, error) ||
      !ReadString(value, "standardName", required, &tz.standard_name, error) ||
      !ReadInt(value, "standardBias", "standardBias", required, &tz.standard_bias, error) ||
      !ReadDate(value, "standardDate", required, &tz.standard_date, error) ||
      !ReadString(value, "daylightName", required, &tz.daylight_name, error) ||
      !ReadInt(value, "daylightBias", "daylightBias", required, &tz.daylight_bias, error) ||
      !ReadDate(value, "daylightDate", required, &tz.daylight_date, error) ||
      !ValidateTimeZone(tz, error)) {
    return false;
  }
  *out = std::move(tz);
  return true;
}

}  // namespace wdm::sys
