// Tests of the emulated system settings: the time zone checks and JSON form
// (system/time_zone.h), the emulator's zone table and boot time (emulator/system_state.h), and
// the MdmEmulatorSystem* functions of the C ABI (linked directly) over a real state file.
// Run with WINDOWS_IOT_DM_EMULATOR_STATE set to a fresh file (scripts/native-tests.sh).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "common/json.h"
#include "emulator/device_host.h"
#include "emulator/emulator_abi.h"
#include "emulator/iso8601.h"
#include "emulator/profile.h"
#include "emulator/seed.h"
#include "emulator/system_state.h"
#include "emulator/utf16_text.h"
#include "syncml/codec.h"
#include "system/service.h"
#include "system/time_zone.h"
#include "test/test_util.h"

namespace {

using wdm::sys::TimeZone;
using wdm::sys::TransitionDate;

constexpr int32_t kInvalidArg = static_cast<int32_t>(0x80070057u);
constexpr int32_t kNotFound = static_cast<int32_t>(0x80070490u);

TimeZone Pacific() {
  TimeZone tz;
  CHECK(wdm::emulator::LookupTimeZone("Pacific Standard Time", &tz));
  return tz;
}

std::string Validate(const TimeZone& tz) {
  std::string error;
  return wdm::sys::ValidateTimeZone(tz, &error) ? "ok" : error;
}

std::string FromJsonText(const std::string& text, TimeZone* tz) {
  wdm::json::Value value;
  wdm::json::Error parse_error;
  if (!wdm::json::Parse(text, &value, &parse_error)) return "parse: " + parse_error.ToString();
  std::string error;
  return wdm::sys::TimeZoneFromJson(value, tz, &error) ? "ok" : error;
}

std::string ToJsonText(const TimeZone& tz) {
  std::string out, error;
  CHECK(wdm::json::Write(wdm::sys::TimeZoneToJson(tz), &out, &error));
  return out;
}

void TestValidate() {
  CHECK_EQ(Validate(wdm::emulator::DefaultTimeZone()), "ok");
  CHECK_EQ(Validate(Pacific()), "ok");
  TimeZone tz = Pacific();
  tz.standard_name = std::string(31, 'a');
  CHECK_EQ(Validate(tz), "ok");
  tz.standard_name = std::string(32, 'a');
  CHECK_EQ(Validate(tz), "standardName is longer than 31 UTF-16 code units");
  // 15 non-BMP characters = 30 units (ok); 16 = 32 units (too long), although 16 code points.
  std::string emoji;
  for (int i = 0; i < 15; ++i) emoji += "\xF0\x9F\x98\x80";
  tz.standard_name = emoji;
  CHECK_EQ(Validate(tz), "ok");
  tz.daylight_name = emoji + "\xF0\x9F\x98\x80";
  CHECK_EQ(Validate(tz), "daylightName is longer than 31 UTF-16 code units");
  CHECK_EQ(wdm::sys::Utf16Length("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"), 5u);
  tz = Pacific();
  tz.key_name = std::string(127, 'k');
  CHECK_EQ(Validate(tz), "ok");
  tz.key_name += "k";
  CHECK_EQ(Validate(tz), "keyName is longer than 127 UTF-16 code units");
  tz = Pacific();
  tz.standard_name = std::string("a\0b", 3);
  CHECK_EQ(Validate(tz), "standardName must not contain U+0000");
  tz = Pacific();
  tz.bias = 1440;
  tz.daylight_bias = -1440;
  CHECK_EQ(Validate(tz), "ok");
  tz.bias = 1441;
  CHECK_EQ(Validate(tz), "bias must be an integer from -1440 to 1440 (got 1441)");
  tz = Pacific();
  tz.standard_bias = -1441;
  CHECK_EQ(Validate(tz), "standardBias must be an integer from -1440 to 1440 (got -1441)");
  tz = Pacific();
  tz.standard_date.month = 13;
  CHECK_EQ(Validate(tz), "standardDate.month must be an integer from 0 to 12 (got 13)");
  tz = Pacific();
  tz.daylight_date.week = 6;
  CHECK_EQ(Validate(tz), "daylightDate.week must be an integer from 0 to 5 (got 6)");
  tz = Pacific();
  tz.daylight_date.week = 0;
  CHECK_EQ(Validate(tz), "daylightDate.week must be an integer from 1 to 5 (got 0)");
  tz = Pacific();
  tz.daylight_date.day_of_week = 7;
  CHECK_EQ(Validate(tz), "daylightDate.dayOfWeek must be an integer from 0 to 6 (got 7)");
  tz = Pacific();
  tz.standard_date.hour = 24;
  CHECK_EQ(Validate(tz), "standardDate.hour must be an integer from 0 to 23 (got 24)");
  tz = Pacific();
  tz.standard_date.minute = -1;
  CHECK_EQ(Validate(tz), "standardDate.minute must be an integer from 0 to 59 (got -1)");
  tz = Pacific();
  tz.daylight_date = TransitionDate();
  CHECK_EQ(Validate(tz),
           "standardDate and daylightDate must both be set (month 1-12) or both unset (month 0)");
}

void TestJson() {
  TimeZone tz;
  CHECK_EQ(FromJsonText(ToJsonText(Pacific()), &tz), "ok");
  CHECK(tz == Pacific());
  CHECK_EQ(ToJsonText(wdm::emulator::DefaultTimeZone()),
           "{\"bias\":0,\"daylightBias\":0,\"daylightDate\":{\"dayOfWeek\":0,\"hour\":0,"
           "\"minute\":0,\"month\":0,\"week\":0},\"daylightName\":\"Coordinated Universal Time\","
           "\"dynamicDaylightTimeDisabled\":false,\"keyName\":\"UTC\",\"standardBias\":0,"
           "\"standardDate\":{\"dayOfWeek\":0,\"hour\":0,\"minute\":0,\"month\":0,\"week\":0},"
           "\"standardName\":\"Coordinated Universal Time\"}");
  // By key name: the other members may be left out.
  CHECK_EQ(FromJsonText("{\"keyName\":\"UTC\",\"dynamicDaylightTimeDisabled\":false}", &tz), "ok");
  CHECK(wdm::sys::SetsByKeyName(tz));
  // Explicit: every member is needed.
  CHECK_EQ(FromJsonText("{\"keyName\":\"UTC\",\"dynamicDaylightTimeDisabled\":true}", &tz),
           "bias is missing");
  CHECK_EQ(FromJsonText("{\"keyName\":\"\",\"dynamicDaylightTimeDisabled\":false}", &tz),
           "bias is missing");
  CHECK_EQ(FromJsonText("{\"dynamicDaylightTimeDisabled\":false}", &tz), "keyName is missing");
  CHECK_EQ(FromJsonText("{\"keyName\":1,\"dynamicDaylightTimeDisabled\":false}", &tz),
           "keyName must be a string");
  CHECK_EQ(FromJsonText("{\"keyName\":\"UTC\"}", &tz), "dynamicDaylightTimeDisabled is missing");
  CHECK_EQ(FromJsonText("{\"keyName\":\"UTC\",\"dynamicDaylightTimeDisabled\":0}", &tz),
           "dynamicDaylightTimeDisabled must be a boolean");
  CHECK_EQ(FromJsonText("{\"keyName\":\"UTC\",\"dynamicDaylightTimeDisabled\":false,\"x\":1}", &tz),
           "the time zone has an unknown member \"x\"");
  CHECK_EQ(
      FromJsonText("{\"keyName\":\"UTC\",\"dynamicDaylightTimeDisabled\":false,\"bias\":1.5}", &tz),
      "bias must be an integer");
  CHECK_EQ(FromJsonText("{\"keyName\":\"UTC\",\"dynamicDaylightTimeDisabled\":false,\"bias\":2000}",
                        &tz),
           "bias must be an integer from -1440 to 1440 (got 2000)");
  CHECK_EQ(FromJsonText("{\"keyName\":\"UTC\",\"dynamicDaylightTimeDisabled\":false,"
                        "\"standardDate\":{\"month\":1}}",
                        &tz),
           "standardDate.week is missing");
  CHECK_EQ(FromJsonText("{\"keyName\":\"UTC\",\"dynamicDaylightTimeDisabled\":false,"
                        "\"standardDate\":[]}",
                        &tz),
           "standardDate must be an object");
  CHECK_EQ(FromJsonText("[]", &tz), "the time zone must be a JSON object");
}

void TestTable() {
  TimeZone tz;
  for (const char* key : {"UTC", "Pacific Standard Time", "Mountain Standard Time",
                          "Central Standard Time", "Eastern Standard Time", "GMT Standard Time",
                          "W. Europe Standard Time", "China Standard Time", "Tokyo Standard Time",
                          "India Standard Time", "AUS Eastern Standard Time"}) {
    CHECK(wdm::emulator::LookupTimeZone(key, &tz));
    CHECK_EQ(tz.key_name, key);
    CHECK_EQ(Validate(tz), "ok");
    CHECK(!tz.dynamic_daylight_time_disabled);
  }
  CHECK(wdm::emulator::LookupTimeZone("tokyo STANDARD time", &tz));
  CHECK_EQ(tz.key_name, "Tokyo Standard Time");
  CHECK_EQ(tz.bias, -540);
  CHECK_EQ(tz.standard_date.month, 0);
  CHECK(wdm::emulator::LookupTimeZone("W. Europe Standard Time", &tz));
  CHECK_EQ(tz.bias, -60);
  CHECK_EQ(tz.daylight_date.month, 3);
  CHECK_EQ(tz.daylight_date.week, 5);
  CHECK(!wdm::emulator::LookupTimeZone("Mars Standard Time", &tz));
  CHECK(!wdm::emulator::LookupTimeZone("", &tz));
}

void TestBootTimeFromEvents() {
  wdm::emulator::FixedHost host;
  wdm::json::Value events = wdm::json::Value::Object();
  CHECK_EQ(wdm::emulator::EmulatedBootTimeMs(events, host), host.boot_time_ms);
  wdm::json::Value reboot = wdm::json::Value::Object();
  reboot.Set("count", wdm::json::Value::Int(1));
  reboot.Set("last", wdm::json::Value::String("2026-01-01T03:00:00Z"));
  events.Set("reboot", std::move(reboot));
  CHECK_EQ(wdm::emulator::EmulatedBootTimeMs(events, host), int64_t{1767236400000});
  std::int64_t seconds = 0;
  CHECK(wdm::emulator::ParseIsoUtc("1970-01-01T00:00:00Z", &seconds));
  CHECK_EQ(seconds, int64_t{0});
  CHECK(wdm::emulator::ParseIsoUtc("2024-02-29T23:59:59Z", &seconds));
  CHECK_EQ(wdm::emulator::FormatIsoUtc(seconds), "2024-02-29T23:59:59Z");
  CHECK(!wdm::emulator::ParseIsoUtc("2026-01-01T03:00:00", &seconds));
  CHECK(!wdm::emulator::ParseIsoUtc("2026-01-01T03:00:00+01:00", &seconds));
  CHECK(!wdm::emulator::ParseIsoUtc("2023-02-29T00:00:00Z", &seconds));
  // A stored time zone that does not load reads as the default.
  wdm::json::Value system = wdm::json::Value::Object();
  system.Set("timeZone", wdm::json::Value::String("garbage"));
  events.Set("system", std::move(system));
  CHECK(wdm::emulator::LoadTimeZone(events) == wdm::emulator::DefaultTimeZone());
  wdm::emulator::SaveTimeZone(Pacific(), &events);
  CHECK(wdm::emulator::LoadTimeZone(events) == Pacific());
  // The real host's boot time is in the past and after 2000.
  std::unique_ptr<wdm::emulator::DeviceHost> real = wdm::emulator::NewSystemHost();
  const std::int64_t boot = real->BootTimeMs();
  CHECK(boot > int64_t{946684800000});
  CHECK(boot <= static_cast<std::int64_t>(std::time(nullptr)) * 1000);
}

// ---- the C ABI ---------------------------------------------------------------------------------

int32_t GetTimeZoneJson(std::string* json) {
  char16_t* text = reinterpret_cast<char16_t*>(1);  // must be reset
  const int32_t hr = MdmEmulatorSystemGetTimeZone(&text);
  json->clear();
  if (hr == 0) {
    CHECK(text != nullptr);
    if (text != nullptr) CHECK(wdm::emulator::Utf16ToUtf8(text, json));
  } else {
    CHECK(text == nullptr);
  }
  MdmEmulatorFree(text);
  return hr;
}

TimeZone CurrentZone() {
  std::string json;
  CHECK_EQ(GetTimeZoneJson(&json), 0);
  TimeZone tz;
  CHECK_EQ(FromJsonText(json, &tz), "ok");
  return tz;
}

int32_t SetTimeZoneJson(const std::string& json, std::string* error) {
  char16_t* wide = wdm::emulator::NewUtf16(json);
  char16_t* reason = reinterpret_cast<char16_t*>(1);  // must be reset
  const int32_t hr = MdmEmulatorSystemSetTimeZone(wide, &reason);
  wdm::emulator::FreeResult(wide);
  error->clear();
  if (hr == 0) {
    CHECK(reason == nullptr);
  } else {
    CHECK(reason != nullptr);
    if (reason != nullptr) CHECK(wdm::emulator::Utf16ToUtf8(reason, error));
  }
  MdmEmulatorFree(reason);
  return hr;
}

std::string ReadStateFile() {
  const char* path = std::getenv("WINDOWS_IOT_DM_EMULATOR_STATE");
  std::ifstream in(path != nullptr ? path : "");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void TestAbiTimeZone() {
  CHECK_EQ(MdmEmulatorAbiVersion(), 4);
  CHECK_EQ(MdmEmulatorReset(), 0);
  // Default: UTC (no registration needed).
  CHECK(CurrentZone() == wdm::emulator::DefaultTimeZone());
  std::string error;
  // By key name (case ignored): the table's rules, stored under the table's spelling.
  CHECK_EQ(
      SetTimeZoneJson(
          "{\"keyName\":\"pacific standard time\",\"dynamicDaylightTimeDisabled\":false}", &error),
      0);
  CHECK(CurrentZone() == Pacific());
  CHECK(ReadStateFile().find("\"Pacific Daylight Time\"") != std::string::npos);
  // Explicit rules, kept exactly.
  TimeZone custom = Pacific();
  custom.key_name = "";
  custom.standard_name = "Custom Standard";
  custom.daylight_name = "Custom Daylight";
  custom.bias = 90;
  custom.dynamic_daylight_time_disabled = true;
  CHECK_EQ(SetTimeZoneJson(ToJsonText(custom), &error), 0);
  CHECK(CurrentZone() == custom);
  // Refused: nothing changes, the reason is given.
  CHECK_EQ(SetTimeZoneJson("{\"keyName\":\"Mars\",\"dynamicDaylightTimeDisabled\":false}", &error),
           kNotFound);
  CHECK_EQ(error,
           "no time zone has the key name \"Mars\" (the CSP emulator knows only a few common "
           "zones)");
  CHECK_EQ(SetTimeZoneJson("{\"keyName\":\"UTC\",\"dynamicDaylightTimeDisabled\":false,"
                           "\"bias\":5000}",
                           &error),
           kInvalidArg);
  CHECK_EQ(error, "bias must be an integer from -1440 to 1440 (got 5000)");
  CHECK_EQ(SetTimeZoneJson("{not json", &error), kInvalidArg);
  CHECK(error.rfind("the time zone is not JSON: ", 0) == 0);
  CHECK(CurrentZone() == custom);
  // Null arguments.
  CHECK_EQ(MdmEmulatorSystemGetTimeZone(nullptr), kInvalidArg);
  CHECK_EQ(MdmEmulatorSystemSetTimeZone(nullptr, nullptr), kInvalidArg);
  char16_t* reason = nullptr;
  CHECK_EQ(MdmEmulatorSystemSetTimeZone(nullptr, &reason), kInvalidArg);
  CHECK(reason != nullptr);
  MdmEmulatorFree(reason);
  char16_t lone[] = {0xD800, 0};
  CHECK_EQ(MdmEmulatorSystemSetTimeZone(lone, nullptr), kInvalidArg);
  // A reset puts the device (and its time zone) back in its initial state.
  CHECK_EQ(MdmEmulatorReset(), 0);
  CHECK(CurrentZone() == wdm::emulator::DefaultTimeZone());
}

void TestAbiBootTime() {
  CHECK_EQ(MdmEmulatorReset(), 0);
  CHECK_EQ(MdmEmulatorSystemBootTime(nullptr), kInvalidArg);
  std::int64_t before = 0;
  CHECK_EQ(MdmEmulatorSystemBootTime(&before), 0);
  const std::int64_t now_ms = static_cast<std::int64_t>(std::time(nullptr)) * 1000;
  CHECK(before > 0 && before <= now_ms);
  std::int64_t again = 0;
  CHECK_EQ(MdmEmulatorSystemBootTime(&again), 0);
  CHECK_EQ(again, before);  // the host's boot time is stable
  // An emulated RebootNow moves the boot time to the reboot (whole seconds).
  CHECK_EQ(RegisterDeviceWithLocalManagement(nullptr), 0);
  wdm::syncml::Op op;
  op.verb = wdm::syncml::Verb::kExec;
  op.uri = "./Device/Vendor/MSFT/Reboot/RebootNow";
  char16_t* request = wdm::emulator::NewUtf16(wdm::syncml::EncodeOps({op}, false));
  char16_t* response = nullptr;
  const std::int64_t start_s = static_cast<std::int64_t>(std::time(nullptr));
  CHECK_EQ(ApplyLocalManagementSyncML(request, &response), 0);
  const std::int64_t end_s = static_cast<std::int64_t>(std::time(nullptr));
  wdm::emulator::FreeResult(request);
  MdmEmulatorFree(response);
  std::int64_t after = 0;
  CHECK_EQ(MdmEmulatorSystemBootTime(&after), 0);
  CHECK(after >= start_s * 1000 && after <= end_s * 1000);
  CHECK(after > before);
  CHECK_EQ(MdmEmulatorReset(), 0);
  CHECK_EQ(MdmEmulatorSystemBootTime(&again), 0);
  CHECK_EQ(again, before);
}

// ---- services ----------------------------------------------------------------------------------

constexpr int32_t kNoService = static_cast<int32_t>(0x80070424u);
constexpr int32_t kDisabled = static_cast<int32_t>(0x80070422u);

int32_t GetServiceJson(const char* name, std::string* json) {
  char16_t* wide = wdm::emulator::NewUtf16(name);
  char16_t* text = reinterpret_cast<char16_t*>(1);  // must be reset
  const int32_t hr = MdmEmulatorSystemGetService(wide, &text);
  wdm::emulator::FreeResult(wide);
  json->clear();
  if (hr == 0) {
    CHECK(text != nullptr);
    if (text != nullptr) CHECK(wdm::emulator::Utf16ToUtf8(text, json));
  } else {
    CHECK(text == nullptr);
  }
  MdmEmulatorFree(text);
  return hr;
}

wdm::sys::ServiceInfo CurrentService() {
  std::string json;
  CHECK_EQ(GetServiceJson("w32time", &json), 0);
  wdm::json::Value value;
  wdm::json::Error parse_error;
  wdm::sys::ServiceInfo info;
  std::string error;
  CHECK(wdm::json::Parse(json, &value, &parse_error));
  CHECK(wdm::sys::ServiceFromJson(value, &info, &error));
  return info;
}

int32_t SetServiceJson(const char* name, const std::string& change, std::string* error) {
  char16_t* wide_name = wdm::emulator::NewUtf16(name);
  char16_t* wide = wdm::emulator::NewUtf16(change);
  char16_t* reason = reinterpret_cast<char16_t*>(1);  // must be reset
  const int32_t hr = MdmEmulatorSystemSetService(wide_name, wide, &reason);
  wdm::emulator::FreeResult(wide_name);
  wdm::emulator::FreeResult(wide);
  error->clear();
  if (hr == 0) {
    CHECK(reason == nullptr);
  } else {
    CHECK(reason != nullptr);
    if (reason != nullptr) CHECK(wdm::emulator::Utf16ToUtf8(reason, error));
  }
  MdmEmulatorFree(reason);
  return hr;
}

wdm::sys::ServiceInfo W32Time(wdm::sys::ServiceStartup startup, bool running) {
  wdm::sys::ServiceInfo info;
  info.name = "w32time";
  info.startup = startup;
  info.running = running;
  return info;
}

void TestServiceForms() {
  using wdm::sys::ServiceStartup;
  CHECK(wdm::sys::IsAllowedService("w32time"));
  CHECK(!wdm::sys::IsAllowedService("W32Time"));
  CHECK(!wdm::sys::IsAllowedService("wuauserv"));
  CHECK(!wdm::sys::IsAllowedService(""));
  std::string out, error;
  CHECK(wdm::json::Write(wdm::sys::ServiceToJson(W32Time(ServiceStartup::kManual, false)), &out,
                         &error));
  CHECK_EQ(out, "{\"name\":\"w32time\",\"running\":false,\"startup\":\"manual\"}");
  wdm::json::Value value;
  wdm::json::Error parse_error;
  wdm::sys::ServiceChange change;
  CHECK(wdm::json::Parse("{\"startup\":\"disabled\",\"running\":true}", &value, &parse_error));
  CHECK(wdm::sys::ServiceChangeFromJson(value, &change, &error));
  CHECK(change.startup && *change.startup == ServiceStartup::kDisabled);
  CHECK(change.running && *change.running);
  CHECK(wdm::json::Parse("{\"startup\":\"boot\"}", &value, &parse_error));
  CHECK(!wdm::sys::ServiceChangeFromJson(value, &change, &error));
  CHECK_EQ(error, "startup must be \"auto\", \"manual\" or \"disabled\"");
  CHECK(wdm::json::Parse("{\"running\":1}", &value, &parse_error));
  CHECK(!wdm::sys::ServiceChangeFromJson(value, &change, &error));
  CHECK_EQ(error, "running must be a boolean");
  CHECK(wdm::json::Parse("{\"x\":1}", &value, &parse_error));
  CHECK(!wdm::sys::ServiceChangeFromJson(value, &change, &error));
  CHECK_EQ(error, "the change has an unknown member \"x\"");
  // Emulated state: default, stored, unreadable.
  wdm::json::Value events = wdm::json::Value::Object();
  CHECK(wdm::emulator::LoadService(events, "w32time") == W32Time(ServiceStartup::kAuto, true));
  wdm::emulator::SaveService(W32Time(ServiceStartup::kManual, false), &events);
  CHECK(wdm::emulator::LoadService(events, "w32time") == W32Time(ServiceStartup::kManual, false));
  events.mutable_member("system")
      .mutable_member("services")
      .Set("w32time", wdm::json::Value::String("garbage"));
  CHECK(wdm::emulator::LoadService(events, "w32time") == W32Time(ServiceStartup::kAuto, true));
}

void TestAbiService() {
  using wdm::sys::ServiceStartup;
  CHECK_EQ(MdmEmulatorReset(), 0);
  // Default (no registration needed): auto, running.
  CHECK(CurrentService() == W32Time(ServiceStartup::kAuto, true));
  std::string error;
  CHECK_EQ(SetServiceJson("w32time", "{\"startup\":\"manual\"}", &error), 0);
  CHECK(CurrentService() == W32Time(ServiceStartup::kManual, true));
  CHECK_EQ(SetServiceJson("w32time", "{\"running\":false}", &error), 0);
  CHECK(CurrentService() == W32Time(ServiceStartup::kManual, false));
  CHECK(ReadStateFile().find("\"services\"") != std::string::npos);
  // Stopping a stopped service, an empty change: not errors.
  CHECK_EQ(SetServiceJson("w32time", "{\"running\":false}", &error), 0);
  CHECK_EQ(SetServiceJson("w32time", "{}", &error), 0);
  // Disabled: starting it is refused and nothing changes (the startup type neither).
  CHECK_EQ(SetServiceJson("w32time", "{\"startup\":\"disabled\",\"running\":true}", &error),
           kDisabled);
  CHECK_EQ(error, "the service w32time cannot be started: its startup type is disabled");
  CHECK(CurrentService() == W32Time(ServiceStartup::kManual, false));
  CHECK_EQ(SetServiceJson("w32time", "{\"startup\":\"disabled\"}", &error), 0);
  CHECK_EQ(SetServiceJson("w32time", "{\"running\":true}", &error), kDisabled);
  CHECK_EQ(SetServiceJson("w32time", "{\"startup\":\"auto\",\"running\":true}", &error), 0);
  CHECK(CurrentService() == W32Time(ServiceStartup::kAuto, true));
  // A running service may be disabled (it keeps running, as on Windows).
  CHECK_EQ(SetServiceJson("w32time", "{\"startup\":\"disabled\",\"running\":true}", &error), 0);
  CHECK(CurrentService() == W32Time(ServiceStartup::kDisabled, true));
  // Names outside the allowlist do not exist.
  std::string json;
  CHECK_EQ(GetServiceJson("wuauserv", &json), kNoService);
  CHECK_EQ(GetServiceJson("W32Time", &json), kNoService);
  CHECK_EQ(SetServiceJson("wuauserv", "{\"running\":false}", &error), kNoService);
  CHECK_EQ(error, "the service \"wuauserv\" is not one that may be controlled (allowed: w32time)");
  // Bad changes.
  CHECK_EQ(SetServiceJson("w32time", "{\"startup\":\"boot\"}", &error), kInvalidArg);
  CHECK_EQ(SetServiceJson("w32time", "{not json", &error), kInvalidArg);
  CHECK(error.rfind("the change is not JSON: ", 0) == 0);
  CHECK_EQ(SetServiceJson("w32time", "[]", &error), kInvalidArg);
  CHECK_EQ(error, "the change must be a JSON object");
  CHECK(CurrentService() == W32Time(ServiceStartup::kDisabled, true));
  // Null arguments.
  char16_t* text = nullptr;
  CHECK_EQ(MdmEmulatorSystemGetService(nullptr, &text), kInvalidArg);
  CHECK(text == nullptr);
  char16_t name[] = {u'w', u'3', u'2', u't', u'i', u'm', u'e', 0};
  CHECK_EQ(MdmEmulatorSystemGetService(name, nullptr), kInvalidArg);
  CHECK_EQ(MdmEmulatorSystemSetService(name, nullptr, nullptr), kInvalidArg);
  CHECK_EQ(MdmEmulatorSystemSetService(nullptr, name, nullptr), kInvalidArg);
  char16_t lone[] = {0xD800, 0};
  CHECK_EQ(MdmEmulatorSystemGetService(lone, &text), kInvalidArg);
  // A reset restores the default.
  CHECK_EQ(MdmEmulatorReset(), 0);
  CHECK(CurrentService() == W32Time(ServiceStartup::kAuto, true));
}

std::string ParseProfile(const std::string& system, wdm::emulator::Profile* profile) {
  static std::unique_ptr<wdm::emulator::Schema> schema;
  std::string error;
  if (!schema) CHECK(wdm::emulator::BuildSeedSchema(&schema, &error));
  const std::string text =
      "{\"format\":\"windows-iot-dm/emulator-profile\",\"version\":1,\"system\":" + system + "}";
  return wdm::emulator::Profile::Parse(text, "test", *schema, profile, &error) ? "ok" : error;
}

void TestProfileTimeZone() {
  wdm::emulator::Profile profile;
  CHECK_EQ(ParseProfile("{}", &profile), "ok");
  CHECK(!profile.time_zone());
  CHECK_EQ(ParseProfile("{\"timeZone\":\"tokyo standard time\"}", &profile), "ok");
  CHECK(profile.time_zone() && profile.time_zone()->key_name == "Tokyo Standard Time");
  CHECK_EQ(ParseProfile("{\"timeZone\":" + ToJsonText([] {
                          TimeZone tz = Pacific();
                          tz.key_name = "";
                          tz.bias = 15;
                          return tz;
                        }()) +
                            "}",
                        &profile),
           "ok");
  CHECK(profile.time_zone() && profile.time_zone()->bias == 15);
  CHECK_EQ(ParseProfile("{\"timeZone\":{\"keyName\":\"UTC\",\"dynamicDaylightTimeDisabled\":"
                        "false}}",
                        &profile),
           "ok");
  CHECK(profile.time_zone() && *profile.time_zone() == wdm::emulator::DefaultTimeZone());
  CHECK_EQ(ParseProfile("{\"timeZone\":\"Mars\"}", &profile),
           "device profile test: system.timeZone: no time zone has the key name \"Mars\" (see "
           "native/emulator/system_state.h for the ones the emulator knows)");
  CHECK_EQ(ParseProfile("{\"timeZone\":{\"keyName\":\"\",\"dynamicDaylightTimeDisabled\":true}}",
                        &profile),
           "device profile test: system.timeZone: bias is missing");
  CHECK_EQ(ParseProfile("{\"clock\":1}", &profile),
           "device profile test: system.clock: unknown member (expected timeZone)");
  CHECK_EQ(ParseProfile("[]", &profile), "device profile test: \"system\" must be an object");

  // A new state (here: a reset) starts with the profile's time zone.
  const char* state = std::getenv("WINDOWS_IOT_DM_EMULATOR_STATE");
  if (!CHECK(state != nullptr)) return;
  const std::string profile_path = std::string(state) + ".profile.json";
  std::ofstream(profile_path) << "{\"format\":\"windows-iot-dm/emulator-profile\",\"version\":1,"
                                 "\"system\":{\"timeZone\":\"India Standard Time\"}}";
  setenv("WINDOWS_IOT_DM_EMULATOR_PROFILE", profile_path.c_str(), 1);
  CHECK_EQ(MdmEmulatorReset(), 0);
  CHECK_EQ(CurrentZone().key_name, "India Standard Time");
  CHECK_EQ(CurrentZone().bias, -330);
  unsetenv("WINDOWS_IOT_DM_EMULATOR_PROFILE");
  CHECK_EQ(MdmEmulatorReset(), 0);
  CHECK(CurrentZone() == wdm::emulator::DefaultTimeZone());
  std::remove(profile_path.c_str());
}

}  // namespace

int main() {
  RUN(TestValidate);
  RUN(TestJson);
  RUN(TestTable);
  RUN(TestBootTimeFromEvents);
  RUN(TestAbiTimeZone);
  RUN(TestAbiBootTime);
  RUN(TestProfileTimeZone);
  RUN(TestServiceForms);
  RUN(TestAbiService);
  return wdm::test::Finish("system_test");
}
