// Builds the addon's coded Error objects (see native_error.h).
#include "addon/native_error.h"

#include <cstdio>

namespace wdm::addon {
namespace {

// Meanings reported for the local MDM API by Microsoft's IoT DM client and third-party tools;
// not an official table, so the message says "likely".
const char* HresultHint(std::uint32_t hresult) {
  switch (hresult) {
    case 0x80070005u:
      return "E_ACCESSDENIED: likely the process is not elevated (run as Administrator or SYSTEM)";
    case 0x80010106u:
      return "RPC_E_CHANGED_MODE: likely the calling thread is in a single-threaded COM apartment";
    case 0x80040154u:
      return "REGDB_E_CLASSNOTREG: likely a 32-bit process; the API needs a 64-bit one";
    case 0x8007139Fu:
      return "ERROR_INVALID_STATE: likely embedded mode is not enabled on this Windows edition";
    case 0x80070490u:
      return "ERROR_NOT_FOUND: the device is not registered with local management (emulator "
             "convention)";
    case 0x80070522u:
      return "ERROR_PRIVILEGE_NOT_HELD: the process lacks a privilege it needs (run as "
             "Administrator or SYSTEM)";
    case 0x800705B4u:
      return "ERROR_TIMEOUT";
    case 0x8007064Au:
      return "ERROR_BAD_CONFIGURATION: the CSP emulator's device profile or state location is "
             "unusable; its stderr line says why (emulator convention)";
    case 0x8007001Du:
      return "ERROR_WRITE_FAULT: the CSP emulator could not save its state file; the device state "
             "was rolled back (emulator convention)";
    case 0x8007001Eu:
      return "ERROR_READ_FAULT: the CSP emulator could not read its state file (emulator "
             "convention)";
    case 0x80070021u:
      return "ERROR_LOCK_VIOLATION: the CSP emulator could not lock its state file (emulator "
             "convention)";
    default:
      return nullptr;
  }
}

void SetCode(Napi::Object error, const char* code) { error.Set("code", code); }

}  // namespace

Napi::Error MdmUnavailableError(Napi::Env env, const mdm::LoadError& load_error) {
  Napi::Error error = Napi::Error::New(env, load_error.message);
  Napi::Object object = error.Value();
  SetCode(object, "ERR_MDM_UNAVAILABLE");
  object.Set("library", load_error.library);
  if (!load_error.symbol.empty()) object.Set("symbol", load_error.symbol);
  if (load_error.os_error) {
    object.Set("osError", Napi::Number::New(env, static_cast<double>(*load_error.os_error)));
  }
  return error;
}

Napi::Error HresultError(Napi::Env env, const char* api, std::uint32_t hresult,
                         const std::string& detail) {
  char buffer[160];
  std::snprintf(buffer, sizeof buffer, "%s failed with HRESULT 0x%08X", api,
                static_cast<unsigned>(hresult));
  std::string message = buffer;
  if (!detail.empty()) {
    message += ": " + detail;
  } else if (const char* hint = HresultHint(hresult)) {
    message += std::string(" (") + hint + ")";
  }
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object object = error.Value();
  SetCode(object, "ERR_MDM_HRESULT");
  object.Set("hresult", Napi::Number::New(env, static_cast<double>(hresult)));
  object.Set("api", api);
  if (!detail.empty()) object.Set("detail", detail);
  return error;
}

Napi::Error SyncMLMalformedError(Napi::Env env, const std::string& detail) {
  Napi::Error error = Napi::Error::New(
      env, "The MDM library returned a SyncML response that cannot be decoded: " + detail);
  Napi::Object object = error.Value();
  SetCode(object, "ERR_SYNCML_MALFORMED");
  object.Set("detail", detail);
  return error;
}

Napi::Error TpmUnavailableError(Napi::Env env, const tpm::ChannelError& error,
                                const std::string& path) {
  Napi::Error result = Napi::Error::New(env, error.message);
  Napi::Object object = result.Value();
  SetCode(object, "ERR_TPM_UNAVAILABLE");
  if (!error.api.empty()) object.Set("api", error.api);
  if (!path.empty()) object.Set("path", path);
  if (error.hresult) {
    object.Set("hresult", Napi::Number::New(env, static_cast<double>(*error.hresult)));
  }
  if (error.os_error) {
    object.Set("osError", Napi::Number::New(env, static_cast<double>(*error.os_error)));
  }
  if (!error.os_error_name.empty()) object.Set("osErrorName", error.os_error_name);
  return result;
}

Napi::Error TpmMalformedError(Napi::Env env, const std::string& command,
                              const std::string& detail) {
  Napi::Error result = Napi::Error::New(env, command + ": " + detail);
  Napi::Object object = result.Value();
  SetCode(object, "ERR_TPM");
  object.Set("command", command);
  object.Set("detail", detail);
  return result;
}

Napi::TypeError InvalidArgError(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  SetCode(error.Value(), "ERR_INVALID_ARG");
  return error;
}

}  // namespace wdm::addon
