// SystemSession, the JS class over the addon's system part (native/system/system_api.h).
//
// JS: new SystemSession({ libraryPath? }) (libraryPath: non-Windows, the CSP emulator library,
// else process.env.WINDOWS_IOT_DM_MDM_LIBRARY; ignored on Windows);
//   session.getTimeZone()    -> Promise<TimeZoneInfo>
//   session.setTimeZone(tz)  -> Promise<undefined>
//   session.bootTime()       -> Promise<number>  (ms since the Unix epoch)
//   session.getService(name) -> Promise<{ name, startup, running }>
//   session.setService(name, { startup?, running? }) -> Promise<undefined>
//     (name: only the allowlist of system/service.h, "w32time"; startup: auto | manual | disabled)
// Arguments are validated synchronously (TypeError, code ERR_INVALID_ARG; the time zone rules of
// system/time_zone.h). Each call runs on the libuv pool in its own AsyncWorker (the system
// functions are thread-safe; no queue is needed). Failures reject with the coded errors of
// native_error.h: ERR_MDM_UNAVAILABLE (no emulator library), ERR_MDM_HRESULT (api, hresult,
// detail?).
#pragma once

#include <memory>

#include <napi.h>

namespace wdm::sys {
class SystemApi;
}

namespace wdm::addon {

class SystemSession : public Napi::ObjectWrap<SystemSession> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit SystemSession(const Napi::CallbackInfo& info);

 private:
  Napi::Value GetTimeZone(const Napi::CallbackInfo& info);
  Napi::Value SetTimeZone(const Napi::CallbackInfo& info);
  Napi::Value BootTime(const Napi::CallbackInfo& info);
  Napi::Value GetService(const Napi::CallbackInfo& info);
  Napi::Value SetService(const Napi::CallbackInfo& info);
  Napi::Value AppLifecycle(const Napi::CallbackInfo& info);

  std::shared_ptr<sys::SystemApi> api_;
};

}  // namespace wdm::addon
