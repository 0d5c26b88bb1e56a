// Service control for the addon's system part: which Windows services a caller may query and
// change (an allowlist: a device twin must not be able to stop arbitrary services), their startup
// type and running state, and the JSON form in which they cross the CSP emulator's C ABI
// (MdmEmulatorSystemGetService / MdmEmulatorSystemSetService, emulator_abi.h):
//   service: {"name":"w32time","startup":"auto"|"manual"|"disabled","running":true|false}
//   change:  {"startup"?: "auto"|"manual"|"disabled", "running"?: true|false}
// No Node-API and no Win32 here (shared by the addon and the emulator).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"

namespace wdm::sys {

// HRESULT_FROM_WIN32(ERROR_SERVICE_DOES_NOT_EXIST): a name outside the allowlist (or, on
// Windows, a service that is not installed).
constexpr std::uint32_t kHresultServiceDoesNotExist = 0x80070424u;
// HRESULT_FROM_WIN32(ERROR_SERVICE_DISABLED): starting a service whose startup type is disabled.
constexpr std::uint32_t kHresultServiceDisabled = 0x80070422u;
// HRESULT_FROM_WIN32(ERROR_SERVICE_REQUEST_TIMEOUT): the state change was not seen in time.
constexpr std::uint32_t kHresultServiceRequestTimeout = 0x8007041Du;

enum class ServiceStartup { kAuto, kManual, kDisabled };

struct ServiceInfo {
  std::string name;
  ServiceStartup startup = ServiceStartup::kManual;
  bool running = false;
};

// What to change; an absent member stays as it is.
struct ServiceChange {
  std::optional<ServiceStartup> startup;
  std::optional<bool> running;
};

bool operator==(const ServiceInfo& a, const ServiceInfo& b);

// True for the services that may be queried and changed: exactly "w32time" (the Windows Time
// service) for now. Case-sensitive.
bool IsAllowedService(std::string_view name);
// The allowlist for messages: "w32time".
const char* AllowedServicesText();

const char* StartupName(ServiceStartup startup);  // "auto", "manual", "disabled"
bool ParseStartup(std::string_view text, ServiceStartup* out);

json::Value ServiceToJson(const ServiceInfo& info);
bool ServiceFromJson(const json::Value& value, ServiceInfo* out, std::string* error);
json::Value ServiceChangeToJson(const ServiceChange& change);
// Unknown members and wrong types are refused (`error` says why).
bool ServiceChangeFromJson(const json::Value& value, ServiceChange* out, std::string* error);

}  // namespace wdm::sys
