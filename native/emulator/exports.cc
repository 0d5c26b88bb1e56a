// The emulator library's exported C functions (see emulator_abi.h) and its one global state.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "emulator/apps.h"
#include "emulator/emulator_abi.h"
#include "emulator/engine.h"
#include "emulator/profile.h"
#include "emulator/seed.h"
#include "emulator/state_store.h"
#include "emulator/system_state.h"
#include "emulator/utf16_text.h"

namespace wdm::emulator {
namespace {

constexpr int32_t kOk = 0;
constexpr int32_t kInvalidArg = static_cast<int32_t>(0x80070057u);
constexpr int32_t kOutOfMemory = static_cast<int32_t>(0x8007000Eu);
constexpr int32_t kFail = static_cast<int32_t>(0x80004005u);

// The emulated device. This is the library's only mutable global; every field is guarded by
// `mutex`, which every exported function holds for its whole body.
struct EmulatorState {
  std::mutex mutex;
  std::unique_ptr<Schema> schema;
  std::unique_ptr<Engine> engine;  // null only if the seed table failed to load
  // The state file and profile, set up from the environment on first use (and again by
  // MdmEmulatorReset); null while store_error says why the device cannot start.
  std::unique_ptr<StateStore> store;
  int32_t store_error = 0;
  bool registered = false;
};

EmulatorState* NewState() {
  auto* state = new EmulatorState();
  std::string error;
  if (BuildSeedSchema(&state->schema, &error)) {
    state->engine = std::make_unique<Engine>(*state->schema);
  }
  return state;
}

// Created on first use and deliberately never destroyed, so that a call racing process exit or
// dlclose never meets a destroyed mutex.
EmulatorState& State() {
  static EmulatorState* const state = NewState();
  return *state;
}

// Sets up state.store from $WINDOWS_IOT_DM_EMULATOR_STATE and $WINDOWS_IOT_DM_EMULATOR_PROFILE
// unless it is already set up (`reread`: always). A problem is reported on stderr once per setup
// and remembered: the device does not start.
int32_t EnsureStore(EmulatorState& state, bool reread) {
  if (!reread && (state.store || state.store_error != 0)) return state.store_error;
  state.store.reset();
  std::string path;
  std::string error;
  Profile profile;
  if (!StatePathFromEnv(&path, &error) || !Profile::Load(*state.schema, &profile, &error)) {
    std::fprintf(stderr,
                 "windows-iot-dm emulator: %s; the emulated device does not start (HRESULT "
                 "0x8007064A)\n",
                 error.c_str());
    std::fflush(stderr);
    state.store_error = kHresultBadConfiguration;
    return state.store_error;
  }
  state.store_error = 0;
  state.store = std::make_unique<StateStore>(*state.schema, std::move(path), std::move(profile));
  return kOk;
}

void AppendJsonString(std::string* out, const std::string& text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (byte < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[byte >> 4]);
      out->push_back(kHex[byte & 0xF]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// Runs `body(events)` in one state transaction (state.mutex held by the caller), as an Apply
// does: the events are saved when `body` changed them. `body` returns an HRESULT; on failure the
// transaction still ends (a failed body changes nothing).
template <typename Body>
int32_t InTransaction(EmulatorState& state, Body body) {
  if (!state.engine) return kFail;
  int32_t hr = EnsureStore(state, false);
  if (hr != kOk) return hr;
  Engine& engine = *state.engine;
  hr = state.store->Begin(engine.mutable_tree(), engine.mutable_events());
  if (hr != kOk) return hr;
  const int32_t result = body(engine.mutable_events());
  hr = state.store->Commit(engine.mutable_tree(), engine.mutable_events());
  return hr != kOk ? hr : result;
}

// *error (when wanted) = a copy of `message`.
void SetError(char16_t** error, const std::string& message) {
  if (error != nullptr) *error = NewUtf16(message);
}

}  // namespace
}  // namespace wdm::emulator

using wdm::emulator::EmulatorState;
using wdm::emulator::State;

extern "C" {

MDM_EMULATOR_API int32_t RegisterDeviceWithLocalManagement(int32_t* alreadyRegistered) {
  EmulatorState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (alreadyRegistered != nullptr) *alreadyRegistered = state.registered ? 1 : 0;
  state.registered = true;
  return wdm::emulator::kOk;
}

MDM_EMULATOR_API int32_t ApplyLocalManagementSyncML(const char16_t* request, char16_t** result) {
  if (result != nullptr) *result = nullptr;
  if (request == nullptr || result == nullptr) return wdm::emulator::kInvalidArg;
  EmulatorState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (!state.engine) return wdm::emulator::kFail;
  if (!state.registered) return MDM_EMULATOR_E_NOT_REGISTERED;
  int32_t hr = wdm::emulator::EnsureStore(state, false);
  if (hr != wdm::emulator::kOk) return hr;
  wdm::emulator::Engine& engine = *state.engine;
  hr = state.store->Begin(engine.mutable_tree(), engine.mutable_events());
  if (hr != wdm::emulator::kOk) return hr;
  const std::size_t exec_log_size = engine.exec_log().size();
  std::string utf8;
  const std::string response = wdm::emulator::Utf16ToUtf8(request, &utf8)
                                   ? engine.HandleRequest(utf8)
                                   : wdm::emulator::Engine::MalformedResponse();
  hr = state.store->Commit(engine.mutable_tree(), engine.mutable_events());
  if (hr != wdm::emulator::kOk) {  // not saved: the device state is what the file holds
    engine.TruncateExecLog(exec_log_size);
    return hr;
  }
  *result = wdm::emulator::NewUtf16(response);
  return *result != nullptr ? wdm::emulator::kOk : wdm::emulator::kOutOfMemory;
}

MDM_EMULATOR_API int32_t UnregisterDeviceWithLocalManagement(void) {
  EmulatorState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  state.registered = false;
  return wdm::emulator::kOk;
}

MDM_EMULATOR_API void MdmEmulatorFree(void* p) { wdm::emulator::FreeResult(p); }

MDM_EMULATOR_API int32_t MdmEmulatorReset(void) {
  EmulatorState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (!state.engine) return wdm::emulator::kFail;
  state.engine->Reset();
  state.registered = false;
  const int32_t hr = wdm::emulator::EnsureStore(state, true);
  if (hr != wdm::emulator::kOk) return hr;
  return state.store->Reset(state.engine->mutable_tree(), state.engine->mutable_events());
}

MDM_EMULATOR_API int32_t MdmEmulatorAbiVersion(void) { return MDM_EMULATOR_ABI_VERSION; }

MDM_EMULATOR_API int32_t MdmEmulatorExecCount(void) {
  EmulatorState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (!state.engine) return 0;
  return static_cast<int32_t>(state.engine->exec_log().size());
}

MDM_EMULATOR_API int32_t MdmEmulatorExecLog(char16_t** result) {
  if (result == nullptr) return wdm::emulator::kInvalidArg;
  *result = nullptr;
  EmulatorState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (!state.engine) return wdm::emulator::kFail;
  std::string json = "[";
  for (const wdm::emulator::ExecRecord& record : state.engine->exec_log()) {
    if (json.size() > 1) json.push_back(',');
    json.append("{\"uri\":");
    wdm::emulator::AppendJsonString(&json, record.uri);
    json.append(",\"data\":");
    if (record.data) {
      wdm::emulator::AppendJsonString(&json, *record.data);
    } else {
      json.append("null");
    }
    json.push_back('}');
  }
  json.push_back(']');
  *result = wdm::emulator::NewUtf16(json);
  return *result != nullptr ? wdm::emulator::kOk : wdm::emulator::kOutOfMemory;
}

}  // extern "C"

extern "C" {

MDM_EMULATOR_API int32_t MdmEmulatorSystemGetTimeZone(char16_t** json) {
  if (json == nullptr) return wdm::emulator::kInvalidArg;
  *json = nullptr;
  EmulatorState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  std::string text;
  const int32_t hr = wdm::emulator::InTransaction(state, [&](wdm::json::Value* events) {
    std::string error;
    wdm::json::Write(wdm::sys::TimeZoneToJson(wdm::emulator::LoadTimeZone(*events)), &text, &error);
    return wdm::emulator::kOk;
  });
  if (hr != wdm::emulator::kOk) return hr;
  *json = wdm::emulator::NewUtf16(text);
  return *json != nullptr ? wdm::emulator::kOk : wdm::emulator::kOutOfMemory;
}

MDM_EMULATOR_API int32_t MdmEmulatorSystemSetTimeZone(const char16_t* json, char16_t** error) {
  if (error != nullptr) *error = nullptr;
  if (json == nullptr) {
    wdm::emulator::SetError(error, "no time zone was given (null)");
    return wdm::emulator::kInvalidArg;
  }
  std::string utf8;
  if (!wdm::emulator::Utf16ToUtf8(json, &utf8)) {
    wdm::emulator::SetError(error, "the time zone text is not well-formed UTF-16");
    return wdm::emulator::kInvalidArg;
  }
  wdm::json::Value value;
  wdm::json::Error parse_error;
  wdm::sys::TimeZone tz;
  std::string reason;
  if (!wdm::json::Parse(utf8, &value, &parse_error)) {
    wdm::emulator::SetError(error, "the time zone is not JSON: " + parse_error.ToString());
    return wdm::emulator::kInvalidArg;
  }
  if (!wdm::sys::TimeZoneFromJson(value, &tz, &reason)) {
    wdm::emulator::SetError(error, reason);
    return wdm::emulator::kInvalidArg;
  }
  if (wdm::sys::SetsByKeyName(tz) && !wdm::emulator::LookupTimeZone(tz.key_name, &tz)) {
    wdm::emulator::SetError(error, "no time zone has the key name \"" + tz.key_name +
                                       "\" (the CSP emulator knows only a few common zones)");
    return wdm::emulator::kHresultTimeZoneNotFound;
  }
  EmulatorState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  const int32_t hr = wdm::emulator::InTransaction(state, [&](wdm::json::Value* events) {
    wdm::emulator::SaveTimeZone(tz, events);
    return wdm::emulator::kOk;
  });
  if (hr != wdm::emulator::kOk) {
    char text[120];
    std::snprintf(text, sizeof text,
                  "the emulated device state could not be saved or read (HRESULT 0x%08X)",
                  static_cast<unsigned>(hr));
    wdm::emulator::SetError(error, text);
  }
  return hr;
}

MDM_EMULATOR_API int32_t MdmEmulatorSystemBootTime(int64_t* ms) {
  if (ms == nullptr) return wdm::emulator::kInvalidArg;
  *ms = 0;
  EmulatorState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  int64_t value = 0;
  const int32_t hr = wdm::emulator::InTransaction(state, [&](wdm::json::Value* events) {
    value = wdm::emulator::EmulatedBootTimeMs(*events, state.engine->behaviors().host());
    return wdm::emulator::kOk;
  });
  if (hr == wdm::emulator::kOk) *ms = value;
  return hr;
}

MDM_EMULATOR_API int32_t MdmEmulatorSystemGetService(const char16_t* name, char16_t** json) {
  if (json != nullptr) *json = nullptr;
  if (name == nullptr || json == nullptr) return wdm::emulator::kInvalidArg;
  std::string utf8;
  if (!wdm::emulator::Utf16ToUtf8(name, &utf8)) return wdm::emulator::kInvalidArg;
  wdm::sys::ServiceInfo info;
  if (!wdm::emulator::DefaultService(utf8, &info)) {
    return static_cast<int32_t>(wdm::sys::kHresultServiceDoesNotExist);
  }
  EmulatorState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  std::string text;
  const int32_t hr = wdm::emulator::InTransaction(state, [&](wdm::json::Value* events) {
    std::string error;
    wdm::json::Write(wdm::sys::ServiceToJson(wdm::emulator::LoadService(*events, utf8)), &text,
                     &error);
    return wdm::emulator::kOk;
  });
  if (hr != wdm::emulator::kOk) return hr;
  *json = wdm::emulator::NewUtf16(text);
  return *json != nullptr ? wdm::emulator::kOk : wdm::emulator::kOutOfMemory;
}

MDM_EMULATOR_API int32_t MdmEmulatorSystemSetService(const char16_t* name, const char16_t* change,
                                                     char16_t** error) {
  if (error != nullptr) *error = nullptr;
  if (name == nullptr || change == nullptr) {
    wdm::emulator::SetError(
        error, name == nullptr ? "no service name was given (null)" : "no change was given (null)");
    return wdm::emulator::kInvalidArg;
  }
  std::string utf8_name, utf8;
  if (!wdm::emulator::Utf16ToUtf8(name, &utf8_name)) {
    wdm::emulator::SetError(error, "the service name is not well-formed UTF-16");
    return wdm::emulator::kInvalidArg;
  }
  wdm::sys::ServiceInfo unused;
  if (!wdm::emulator::DefaultService(utf8_name, &unused)) {
    wdm::emulator::SetError(error, "the service \"" + utf8_name +
                                       "\" is not one that may be controlled (allowed: " +
                                       wdm::sys::AllowedServicesText() + ")");
    return static_cast<int32_t>(wdm::sys::kHresultServiceDoesNotExist);
  }
  if (!wdm::emulator::Utf16ToUtf8(change, &utf8)) {
    wdm::emulator::SetError(error, "the change text is not well-formed UTF-16");
    return wdm::emulator::kInvalidArg;
  }
  wdm::json::Value value;
  wdm::json::Error parse_error;
  if (!wdm::json::Parse(utf8, &value, &parse_error)) {
    wdm::emulator::SetError(error, "the change is not JSON: " + parse_error.ToString());
    return wdm::emulator::kInvalidArg;
  }
  wdm::sys::ServiceChange parsed;
  std::string reason;
  if (!wdm::sys::ServiceChangeFromJson(value, &parsed, &reason)) {
    wdm::emulator::SetError(error, reason);
    return wdm::emulator::kInvalidArg;
  }
  EmulatorState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  const int32_t hr = wdm::emulator::InTransaction(state, [&](wdm::json::Value* events) {
    wdm::sys::ServiceInfo next;
    std::uint32_t refused = 0;
    if (!wdm::emulator::ApplyServiceChange(wdm::emulator::LoadService(*events, utf8_name), parsed,
                                           &next, &refused, &reason)) {
      return static_cast<int32_t>(refused);
    }
    wdm::emulator::SaveService(next, events);
    return wdm::emulator::kOk;
  });
  if (hr == static_cast<int32_t>(wdm::sys::kHresultServiceDisabled)) {
    wdm::emulator::SetError(error, reason);
  } else if (hr != wdm::emulator::kOk) {
    char text[120];
    std::snprintf(text, sizeof text,
                  "the emulated device state could not be saved or read (HRESULT 0x%08X)",
                  static_cast<unsigned>(hr));
    wdm::emulator::SetError(error, text);
  }
  return hr;
}

MDM_EMULATOR_API int32_t MdmEmulatorSystemAppLifecycle(const char16_t* pfn, const char16_t* action,
                                                       char16_t** error) {
  if (error != nullptr) *error = nullptr;
  std::string utf8_pfn, utf8_action;
  if (pfn == nullptr || action == nullptr || !wdm::emulator::Utf16ToUtf8(pfn, &utf8_pfn) ||
      !wdm::emulator::Utf16ToUtf8(action, &utf8_action)) {
    wdm::emulator::SetError(error, "the package family name or action is null or not UTF-16");
    return wdm::emulator::kInvalidArg;
  }
  std::string reason;
  EmulatorState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  const int32_t hr = wdm::emulator::InTransaction(state, [&](wdm::json::Value* events) {
    return wdm::emulator::ManageAppLifecycle(
        utf8_pfn, utf8_action, static_cast<std::int64_t>(std::time(nullptr)), events, &reason);
  });
  if (hr != wdm::emulator::kOk) {
    if (reason.empty()) {
      char text[120];
      std::snprintf(text, sizeof text,
                    "the emulated device state could not be saved or read (HRESULT 0x%08X)",
                    static_cast<unsigned>(hr));
      reason = text;
    }
    wdm::emulator::SetError(error, reason);
  }
  return hr;
}

}  // extern "C"
