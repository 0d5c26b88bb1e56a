// The emulated time zone and boot time (see system_state.h).
#include "emulator/system_state.h"

#include <cstddef>

#include "emulator/iso8601.h"

namespace wdm::emulator {
namespace {

struct ZoneRow {
  const char* key;
  int bias;
  const char* standard_name;
  const char* daylight_name;
  int daylight_bias;
  sys::TransitionDate standard_date;  // {month, week, dayOfWeek, hour, minute}
  sys::TransitionDate daylight_date;
};

// The Windows registry's TZI values (HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Time
// Zones\<key>), current rules. standardBias is 0 for all of them.
constexpr sys::TransitionDate kNone{};
const ZoneRow kZones[] = {
    {"UTC", 0, "Coordinated Universal Time", "Coordinated Universal Time", 0, kNone, kNone},
    {"Pacific Standard Time",
     480,
     "Pacific Standard Time",
     "Pacific Daylight Time",
     -60,
     {11, 1, 0, 2, 0},
     {3, 2, 0, 2, 0}},
    {"Mountain Standard Time",
     420,
     "Mountain Standard Time",
     "Mountain Daylight Time",
     -60,
     {11, 1, 0, 2, 0},
     {3, 2, 0, 2, 0}},
    {"Central Standard Time",
     360,
     "Central Standard Time",
     "Central Daylight Time",
     -60,
     {11, 1, 0, 2, 0},
     {3, 2, 0, 2, 0}},
    {"Eastern Standard Time",
     300,
     "Eastern Standard Time",
     "Eastern Daylight Time",
     -60,
     {11, 1, 0, 2, 0},
     {3, 2, 0, 2, 0}},
    {"GMT Standard Time",
     0,
     "GMT Standard Time",
     "GMT Daylight Time",
     -60,
     {10, 5, 0, 2, 0},
     {3, 5, 0, 1, 0}},
    {"W. Europe Standard Time",
     -60,
     "W. Europe Standard Time",
     "W. Europe Daylight Time",
     -60,
     {10, 5, 0, 3, 0},
     {3, 5, 0, 2, 0}},
    {"China Standard Time", -480, "China Standard Time", "China Daylight Time", 0, kNone, kNone},
    {"Tokyo Standard Time", -540, "Tokyo Standard Time", "Tokyo Daylight Time", 0, kNone, kNone},
    {"India Standard Time", -330, "India Standard Time", "India Daylight Time", 0, kNone, kNone},
    {"AUS Eastern Standard Time",
     -600,
     "AUS Eastern Standard Time",
     "AUS Eastern Daylight Time",
     -60,
     {4, 1, 0, 3, 0},
     {10, 1, 0, 2, 0}},
};

bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

bool LookupTimeZone(std::string_view key_name, sys::TimeZone* out) {
  for (const ZoneRow& row : kZones) {
    if (!EqualsIgnoringAsciiCase(key_name, row.key)) continue;
    sys::TimeZone tz;
    tz.key_name = row.key;
    tz.bias = row.bias;
    tz.standard_name = row.standard_name;
    tz.standard_bias = 0;
    tz.standard_date = row.standard_date;
    tz.daylight_name = row.daylight_name;
    tz.daylight_bias = row.daylight_bias;
    tz.daylight_date = row.daylight_date;
    tz.dynamic_daylight_time_disabled = false;
    *out = tz;
    return true;
  }
  return false;
}

namespace {

int ConfigureTimeZonePolicy(HookContext& ctx, std::string* data) {
  sys::TimeZone tz;
  if (!LookupTimeZone(*data, &tz)) return 400;
  ctx.state.configured_time_zone = tz.key_name;
  return 200;
}

}  // namespace

void RegisterTimeZonePolicyBehaviors(Behaviors* behaviors) {
  NodeHooks hooks;
  hooks.write = ConfigureTimeZonePolicy;
  behaviors->Register("./Device/Vendor/MSFT/Policy/Config/TimeLanguageSettings/ConfigureTimeZone",
                      hooks);
}

sys::TimeZone DefaultTimeZone() {
  sys::TimeZone tz;
  LookupTimeZone("UTC", &tz);
  return tz;
}

sys::TimeZone LoadTimeZone(const json::Value& events) {
  const json::Value* system = events.Find("system");
  const json::Value* stored = system == nullptr ? nullptr : system->Find("timeZone");
  sys::TimeZone tz;
  std::string error;
  if (stored != nullptr && sys::TimeZoneFromJson(*stored, &tz, &error)) return tz;
  return DefaultTimeZone();
}

void SaveTimeZone(const sys::TimeZone& tz, json::Value* events) {
  if (!events->is_object()) *events = json::Value::Object();
  json::Value& system = events->mutable_member("system");
  if (!system.is_object()) system = json::Value::Object();
  system.Set("timeZone", sys::TimeZoneToJson(tz));
}

bool DefaultService(std::string_view name, sys::ServiceInfo* out) {
  if (!sys::IsAllowedService(name)) return false;
  sys::ServiceInfo info;
  info.name = std::string(name);
  info.startup = sys::ServiceStartup::kAuto;
  info.running = true;
  *out = std::move(info);
  return true;
}

sys::ServiceInfo LoadService(const json::Value& events, std::string_view name) {
  sys::ServiceInfo fallback;
  DefaultService(name, &fallback);
  const json::Value* system = events.Find("system");
  const json::Value* services = system == nullptr ? nullptr : system->Find("services");
  const json::Value* stored = services == nullptr ? nullptr : services->Find(name);
  sys::ServiceInfo info;
  std::string error;
  if (stored != nullptr && sys::ServiceFromJson(*stored, &info, &error) && info.name == name) {
    return info;
  }
  return fallback;
}

void SaveService(const sys::ServiceInfo& info, json::Value* events) {
  if (!events->is_object()) *events = json::Value::Object();
  json::Value& system = events->mutable_member("system");
  if (!system.is_object()) system = json::Value::Object();
  json::Value& services = system.mutable_member("services");
  if (!services.is_object()) services = json::Value::Object();
  services.Set(info.name, sys::ServiceToJson(info));
}

bool ApplyServiceChange(const sys::ServiceInfo& current, const sys::ServiceChange& change,
                        sys::ServiceInfo* out, std::uint32_t* hresult, std::string* reason) {
  sys::ServiceInfo next = current;
  if (change.startup) next.startup = *change.startup;
  if (change.running) {
    if (*change.running && !current.running && next.startup == sys::ServiceStartup::kDisabled) {
      *hresult = sys::kHresultServiceDisabled;
      *reason = "the service " + current.name + " cannot be started: its startup type is disabled";
      return false;
    }
    next.running = *change.running;
  }
  *out = std::move(next);
  return true;
}

std::int64_t EmulatedBootTimeMs(const json::Value& events, const DeviceHost& host) {
  const BehaviorState state = BehaviorState::Load(events);
  std::int64_t seconds = 0;
  if (!state.last_reboot_time.empty() && ParseIsoUtc(state.last_reboot_time, &seconds)) {
    return seconds * 1000;
  }
  return host.BootTimeMs();
}

}  // namespace wdm::emulator
