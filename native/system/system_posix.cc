// SystemApi over the CSP emulator library (see system_api.h): dlopen(path, RTLD_NOW |
// RTLD_LOCAL) on first use (the same library the MDM part loads: dlopen shares one copy), the
// MdmEmulatorSystem* functions (ABI version 3), time zones and services exchanged as UTF-16 JSON
// text.
#include <dlfcn.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

#include "common/json.h"
#include "common/utf16.h"
#include "emulator/emulator_abi.h"
#include "system/system_api.h"

namespace wdm::sys {
namespace {

using GetTimeZoneFn = decltype(&MdmEmulatorSystemGetTimeZone);
using SetTimeZoneFn = decltype(&MdmEmulatorSystemSetTimeZone);
using BootTimeFn = decltype(&MdmEmulatorSystemBootTime);
using GetServiceFn = decltype(&MdmEmulatorSystemGetService);
using SetServiceFn = decltype(&MdmEmulatorSystemSetService);
using AppLifecycleFn = decltype(&MdmEmulatorSystemAppLifecycle);
using FreeFn = decltype(&MdmEmulatorFree);
using AbiVersionFn = decltype(&MdmEmulatorAbiVersion);

constexpr const char* kAdvice =
    "Set WINDOWS_IOT_DM_MDM_LIBRARY or pass libraryPath to the CSP emulator library (build it "
    "with `npm run build:native`).";
constexpr std::uint32_t kInvalidData = 0x8007000Du;  // HRESULT_FROM_WIN32(ERROR_INVALID_DATA)

bool Failed(std::int32_t hr) { return (static_cast<std::uint32_t>(hr) & 0x80000000u) != 0; }

// The emulator's UTF-16 string, copied; the original is freed with `free_fn`.
std::u16string TakeString(char16_t* p, FreeFn free_fn) {
  if (p == nullptr) return {};
  std::u16string copy = p;
  free_fn(p);
  return copy;
}

// A JSON answer of `api` (UTF-16 text) into `value`; on failure, `*fail` says what was wrong.
bool ParseAnswer(const char* api, const std::u16string& text, json::Value* value,
                 SystemOutcome* fail) {
  std::string utf8, error;
  json::Error parse_error;
  if (!text::Utf16ToUtf8(text, &utf8, &error)) {
    *fail = SystemOutcome::Hresult(api, kInvalidData,
                                   "the answer is not well-formed UTF-16 (" + error + ")");
    return false;
  }
  if (!json::Parse(utf8, value, &parse_error)) {
    *fail = SystemOutcome::Hresult(api, kInvalidData,
                                   "the answer is not JSON: " + parse_error.ToString());
    return false;
  }
  return true;
}

class PosixSystemApi final : public SystemApi {
 public:
  explicit PosixSystemApi(std::string path) : path_(std::move(path)) {}
  ~PosixSystemApi() override {
    if (handle_ != nullptr) dlclose(handle_);
  }

  std::u16string Take(char16_t* p) const { return TakeString(p, free_); }

  SystemOutcome GetTimeZone(TimeZone* out) override {
    SystemOutcome outcome;
    if (!Load(&outcome)) return outcome;
    char16_t* json = nullptr;
    const std::int32_t hr = get_(&json);
    const std::u16string text = Take(json);
    if (Failed(hr)) return SystemOutcome::Hresult("MdmEmulatorSystemGetTimeZone", Unsigned(hr));
    json::Value value;
    std::string error;
    if (!ParseAnswer("MdmEmulatorSystemGetTimeZone", text, &value, &outcome)) return outcome;
    if (!TimeZoneFromJson(value, out, &error)) {
      return SystemOutcome::Hresult("MdmEmulatorSystemGetTimeZone", kInvalidData,
                                    "the answer is not a time zone: " + error);
    }
    return outcome;
  }

  SystemOutcome SetTimeZone(const TimeZone& tz) override {
    SystemOutcome outcome;
    if (!Load(&outcome)) return outcome;
    std::string utf8, error;
    std::u16string text;
    if (!json::Write(TimeZoneToJson(tz), &utf8, &error) ||
        !text::Utf8ToUtf16(utf8, &text, &error)) {
      // Unreachable: the addon validated the strings as UTF-16 before.
      return SystemOutcome::Hresult("MdmEmulatorSystemSetTimeZone", 0x80070057u,
                                    "the time zone cannot be encoded: " + error);
    }
    char16_t* reason = nullptr;
    const std::int32_t hr = set_(text.c_str(), &reason);
    if (Failed(hr)) return Refused("MdmEmulatorSystemSetTimeZone", hr, reason);
    Free(reason);
    return outcome;
  }

  SystemOutcome GetService(const std::string& name, ServiceInfo* out) override {
    SystemOutcome outcome;
    if (!Load(&outcome)) return outcome;
    std::u16string name16;
    std::string error;
    if (!text::Utf8ToUtf16(name, &name16, &error)) {
      return SystemOutcome::Hresult("MdmEmulatorSystemGetService", 0x80070057u,
                                    "the service name cannot be encoded: " + error);
    }
    char16_t* json = nullptr;
    const std::int32_t hr = get_service_(name16.c_str(), &json);
    const std::u16string text = Take(json);
    if (Failed(hr)) return SystemOutcome::Hresult("MdmEmulatorSystemGetService", Unsigned(hr));
    json::Value value;
    error.clear();
    if (!ParseAnswer("MdmEmulatorSystemGetService", text, &value, &outcome)) return outcome;
    if (!ServiceFromJson(value, out, &error)) {
      return SystemOutcome::Hresult("MdmEmulatorSystemGetService", kInvalidData,
                                    "the answer is not a service: " + error);
    }
    return outcome;
  }

  SystemOutcome SetService(const std::string& name, const ServiceChange& change) override {
    SystemOutcome outcome;
    if (!Load(&outcome)) return outcome;
    std::string utf8, error;
    std::u16string name16, text;
    if (!text::Utf8ToUtf16(name, &name16, &error) ||
        !json::Write(ServiceChangeToJson(change), &utf8, &error) ||
        !text::Utf8ToUtf16(utf8, &text, &error)) {
      return SystemOutcome::Hresult("MdmEmulatorSystemSetService", 0x80070057u,
                                    "the request cannot be encoded: " + error);
    }
    char16_t* reason = nullptr;
    const std::int32_t hr = set_service_(name16.c_str(), text.c_str(), &reason);
    if (Failed(hr)) return Refused("MdmEmulatorSystemSetService", hr, reason);
    Free(reason);
    return outcome;
  }

  SystemOutcome AppLifecycle(const std::string& pfn, const std::string& action) override {
    SystemOutcome outcome;
    if (!Load(&outcome)) return outcome;
    std::string error;
    std::u16string pfn16, action16;
    if (!text::Utf8ToUtf16(pfn, &pfn16, &error) || !text::Utf8ToUtf16(action, &action16, &error)) {
      return SystemOutcome::Hresult("MdmEmulatorSystemAppLifecycle", 0x80070057u,
                                    "the request cannot be encoded: " + error);
    }
    char16_t* reason = nullptr;
    const std::int32_t hr = app_lifecycle_(pfn16.c_str(), action16.c_str(), &reason);
    if (Failed(hr)) return Refused("MdmEmulatorSystemAppLifecycle", hr, reason);
    Free(reason);
    return outcome;
  }

  SystemOutcome BootTime(std::int64_t* ms) override {
    SystemOutcome outcome;
    if (!Load(&outcome)) return outcome;
    const std::int32_t hr = boot_(ms);
    if (Failed(hr)) return SystemOutcome::Hresult("MdmEmulatorSystemBootTime", Unsigned(hr));
    return outcome;
  }

 private:
  static std::uint32_t Unsigned(std::int32_t hr) { return static_cast<std::uint32_t>(hr); }

  // Frees a reason string the library may have given with a success.
  void Free(char16_t* reason) const { Take(reason); }

  // A failed set/lifecycle call: the HRESULT with the library's reason (freed here), if any.
  SystemOutcome Refused(const char* api, std::int32_t hr, char16_t* reason) const {
    std::string detail, error;
    if (reason != nullptr && !text::Utf16ToUtf8(Take(reason), &detail, &error)) detail.clear();
    return SystemOutcome::Hresult(api, Unsigned(hr), std::move(detail));
  }

  // Loads the library once (a failure is retried by the next call).
  bool Load(SystemOutcome* outcome) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (handle_ != nullptr) return true;
    mdm::LoadError& error = outcome->load_error;
    outcome->kind = SystemOutcome::Kind::kUnavailable;
    error.library = path_;
    if (path_.empty()) {
      error.message = std::string(
                          "No system library is configured: on this platform the addon's system "
                          "part needs the CSP emulator. ") +
                      kAdvice;
      return false;
    }
    dlerror();
    void* handle = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* text = dlerror();
      error.message = "Cannot load the CSP emulator library '" + path_ +
                      "': " + (text != nullptr ? text : "unknown error") + ". " + kAdvice;
      return false;
    }
    auto abi = reinterpret_cast<AbiVersionFn>(Symbol(handle, "MdmEmulatorAbiVersion", &error));
    if (abi != nullptr && abi() < MDM_EMULATOR_ABI_VERSION) {
      error.symbol = "MdmEmulatorAbiVersion";
      error.message = "The CSP emulator library '" + path_ + "' has ABI version " +
                      std::to_string(abi()) + ", but the system functions need version " +
                      std::to_string(MDM_EMULATOR_ABI_VERSION) +
                      "; rebuild both with `npm run build:native`.";
      abi = nullptr;
    }
    GetTimeZoneFn get = nullptr;
    SetTimeZoneFn set = nullptr;
    BootTimeFn boot = nullptr;
    GetServiceFn get_service = nullptr;
    SetServiceFn set_service = nullptr;
    AppLifecycleFn app_lifecycle = nullptr;
    FreeFn free_fn = nullptr;
    if (abi == nullptr ||
        (get = reinterpret_cast<GetTimeZoneFn>(
             Symbol(handle, "MdmEmulatorSystemGetTimeZone", &error))) == nullptr ||
        (set = reinterpret_cast<SetTimeZoneFn>(
             Symbol(handle, "MdmEmulatorSystemSetTimeZone", &error))) == nullptr ||
        (boot = reinterpret_cast<BootTimeFn>(
             Symbol(handle, "MdmEmulatorSystemBootTime", &error))) == nullptr ||
        (get_service = reinterpret_cast<GetServiceFn>(
             Symbol(handle, "MdmEmulatorSystemGetService", &error))) == nullptr ||
        (set_service = reinterpret_cast<SetServiceFn>(
             Symbol(handle, "MdmEmulatorSystemSetService", &error))) == nullptr ||
        (app_lifecycle = reinterpret_cast<AppLifecycleFn>(
             Symbol(handle, "MdmEmulatorSystemAppLifecycle", &error))) == nullptr ||
        (free_fn = reinterpret_cast<FreeFn>(Symbol(handle, "MdmEmulatorFree", &error))) ==
            nullptr) {
      dlclose(handle);
      return false;
    }
    handle_ = handle;
    get_ = get;
    set_ = set;
    boot_ = boot;
    get_service_ = get_service;
    set_service_ = set_service;
    app_lifecycle_ = app_lifecycle;
    free_ = free_fn;
    outcome->kind = SystemOutcome::Kind::kOk;
    return true;
  }

  void* Symbol(void* handle, const char* name, mdm::LoadError* error) {
    dlerror();
    void* symbol = dlsym(handle, name);
    if (symbol == nullptr) {
      const char* text = dlerror();
      error->symbol = name;
      error->message = "The library '" + path_ + "' does not export " + name + " (" +
                       (text != nullptr ? text : "unknown error") +
                       "), so it is not the CSP emulator library of this version. " + kAdvice;
    }
    return symbol;
  }

  const std::string path_;
  std::mutex mutex_;  // guards the loading below; the functions are safe to call concurrently
  void* handle_ = nullptr;
  GetTimeZoneFn get_ = nullptr;
  SetTimeZoneFn set_ = nullptr;
  BootTimeFn boot_ = nullptr;
  GetServiceFn get_service_ = nullptr;
  SetServiceFn set_service_ = nullptr;
  AppLifecycleFn app_lifecycle_ = nullptr;
  FreeFn free_ = nullptr;
};

}  // namespace

std::unique_ptr<SystemApi> CreatePlatformSystemApi(std::string library_path) {
  return std::make_unique<PosixSystemApi>(std::move(library_path));
}

}  // namespace wdm::sys
