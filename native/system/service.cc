// Service allowlist and JSON form (see service.h).
#include "system/service.h"

namespace wdm::sys {

bool operator==(const ServiceInfo& a, const ServiceInfo& b) {
  return a.name == b.name && a.startup == b.startup && a.running == b.running;
}

bool IsAllowedService(std::string_view name) { return name == "w32time"; }

const char* AllowedServicesText() { return "w32time"; }

const char* StartupName(ServiceStartup startup) {
  switch (startup) {
    case ServiceStartup::kAuto:
      return "auto";
    case ServiceStartup::kManual:
      return "manual";
    case ServiceStartup::kDisabled:
      return "disabled";
  }
  return "manual";
}

bool ParseStartup(std::string_view text, ServiceStartup* out) {
  if (text == "auto") {
    *out = ServiceStartup::kAuto;
  } else if (text == "manual") {
    *out = ServiceStartup::kManual;
  } else if (text == "disabled") {
    *out = ServiceStartup::kDisabled;
  } else {
    return false;
  }
  return true;
}

json::Value ServiceToJson(const ServiceInfo& info) {
  json::Value out = json::Value::Object();
  out.Set("name", json::Value::String(info.name));
  out.Set("startup", json::Value::String(StartupName(info.startup)));
  out.Set("running", json::Value::Bool(info.running));
  return out;
}

namespace {

bool ReadStartup(const json::Value& value, ServiceStartup* out, std::string* error) {
  if (!value.is_string() || !ParseStartup(value.string_value(), out)) {
    *error = "startup must be \"auto\", \"manual\" or \"disabled\"";
    return false;
  }
  return true;
}

}  // namespace

bool ServiceFromJson(const json::Value& value, ServiceInfo* out, std::string* error) {
  if (!value.is_object()) {
    *error = "the service must be a JSON object";
    return false;
  }
  const json::Value* name = value.Find("name");
  const json::Value* startup = value.Find("startup");
  const json::Value* running = value.Find("running");
  if (name == nullptr || !name->is_string()) {
    *error = "name must be a string";
    return false;
  }
  ServiceInfo info;
  info.name = name->string_value();
  if (startup == nullptr || !ReadStartup(*startup, &info.startup, error)) {
    if (startup == nullptr) *error = "startup is missing";
    return false;
  }
  if (running == nullptr || !running->is_bool()) {
    *error = "running must be a boolean";
    return false;
  }
  info.running = running->bool_value();
  *out = std::move(info);
  return true;
}

json::Value ServiceChangeToJson(const ServiceChange& change) {
  json::Value out = json::Value::Object();
  if (change.startup) out.Set("startup", json::Value::String(StartupName(*change.startup)));
  if (change.running) out.Set("running", json::Value::Bool(*change.running));
  return out;
}

bool ServiceChangeFromJson(const json::Value& value, ServiceChange* out, std::string* error) {
  if (!value.is_object()) {
    *error = "the change must be a JSON object";
    return false;
  }
  ServiceChange change;
  for (const auto& member : value.members()) {
    if (member.first == "startup") {
      ServiceStartup startup;
      if (!ReadStartup(member.second, &startup, error)) return false;
      change.startup = startup;
    } else if (member.first == "running") {
      if (!member.second.is_bool()) {
        *error = "running must be a boolean";
        return false;
      }
      change.running = member.second.bool_value();
    } else {
      *error = "the change has an unknown member \"" + member.first + "\"";
      return false;
    }
  }
  *out = change;
  return true;
}

}  // namespace wdm::sys
