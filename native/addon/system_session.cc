// SystemSession (see system_session.h) and SystemWorker, the AsyncWorker that performs one
// system call off the JS thread.
#include "addon/system_session.h"

#include <string>
#include <utility>

#include "addon/js_args.h"
#include "addon/mdm_session.h"
#include "addon/native_error.h"
#include "system/system_api.h"

namespace wdm::addon {
namespace {

Napi::Object DateToJs(Napi::Env env, const sys::TransitionDate& date) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("month", Napi::Number::New(env, date.month));
  out.Set("week", Napi::Number::New(env, date.week));
  out.Set("dayOfWeek", Napi::Number::New(env, date.day_of_week));
  out.Set("hour", Napi::Number::New(env, date.hour));
  out.Set("minute", Napi::Number::New(env, date.minute));
  return out;
}

Napi::Object TimeZoneToJs(Napi::Env env, const sys::TimeZone& tz) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("keyName", Napi::String::New(env, tz.key_name));
  out.Set("bias", Napi::Number::New(env, tz.bias));
  out.Set("standardName", Napi::String::New(env, tz.standard_name));
  out.Set("standardBias", Napi::Number::New(env, tz.standard_bias));
  out.Set("standardDate", DateToJs(env, tz.standard_date));
  out.Set("daylightName", Napi::String::New(env, tz.daylight_name));
  out.Set("daylightBias", Napi::Number::New(env, tz.daylight_bias));
  out.Set("daylightDate", DateToJs(env, tz.daylight_date));
  out.Set("dynamicDaylightTimeDisabled",
          Napi::Boolean::New(env, tz.dynamic_daylight_time_disabled));
  return out;
}

Napi::Object ServiceToJs(Napi::Env env, const sys::ServiceInfo& service) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", Napi::String::New(env, service.name));
  out.Set("startup", Napi::String::New(env, sys::StartupName(service.startup)));
  out.Set("running", Napi::Boolean::New(env, service.running));
  return out;
}

// The arguments of one call.
struct SystemArgs {
  sys::TimeZone tz;           // setTimeZone
  std::string service_name;   // getService, setService
  sys::ServiceChange change;  // setService
  std::string action;         // appLifecycle (with service_name = the package family name)
};

// One getTimeZone/setTimeZone/bootTime/getService/setService call. Execute() (pool thread)
// touches no Node-API.
class SystemWorker final : public Napi::AsyncWorker {
 public:
  enum class Kind {
    kGetTimeZone,
    kSetTimeZone,
    kBootTime,
    kGetService,
    kSetService,
    kAppLifecycle
  };

  static const char* ResourceName(Kind kind) {
    switch (kind) {
      case Kind::kGetTimeZone:
        return "windows-iot-dm:GetTimeZone";
      case Kind::kSetTimeZone:
        return "windows-iot-dm:SetTimeZone";
      case Kind::kBootTime:
        return "windows-iot-dm:BootTime";
      case Kind::kGetService:
        return "windows-iot-dm:GetService";
      case Kind::kSetService:
        return "windows-iot-dm:SetService";
      case Kind::kAppLifecycle:
        return "windows-iot-dm:AppLifecycle";
    }
    return "windows-iot-dm:System";
  }

  SystemWorker(Napi::Env env, std::shared_ptr<sys::SystemApi> api, Kind kind, SystemArgs args)
      : Napi::AsyncWorker(env, ResourceName(kind)),
        api_(std::move(api)),
        kind_(kind),
        tz_(std::move(args.tz)),
        service_name_(std::move(args.service_name)),
        change_(args.change),
        action_(std::move(args.action)),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    switch (kind_) {
      case Kind::kGetTimeZone:
        outcome_ = api_->GetTimeZone(&tz_);
        break;
      case Kind::kSetTimeZone:
        outcome_ = api_->SetTimeZone(tz_);
        break;
      case Kind::kBootTime:
        outcome_ = api_->BootTime(&boot_ms_);
        break;
      case Kind::kGetService:
        outcome_ = api_->GetService(service_name_, &service_);
        break;
      case Kind::kSetService:
        outcome_ = api_->SetService(service_name_, change_);
        break;
      case Kind::kAppLifecycle:
        outcome_ = api_->AppLifecycle(service_name_, action_);
        break;
    }
  }

  // Failures go through OnOK too (see SyncMLWorker in mdm_session.cc).
  void OnOK() override {
    Napi::Env env = Env();
    if (!CanCallIntoJs(env)) return;  // the environment is going away; so is the promise
    switch (outcome_.kind) {
      case sys::SystemOutcome::Kind::kOk:
        if (kind_ == Kind::kGetTimeZone) {
          deferred_.Resolve(TimeZoneToJs(env, tz_));
        } else if (kind_ == Kind::kGetService) {
          deferred_.Resolve(ServiceToJs(env, service_));
        } else if (kind_ == Kind::kBootTime) {
          deferred_.Resolve(Napi::Number::New(env, static_cast<double>(boot_ms_)));
        } else {
          deferred_.Resolve(env.Undefined());
        }
        break;
      case sys::SystemOutcome::Kind::kUnavailable:
        deferred_.Reject(MdmUnavailableError(env, outcome_.load_error).Value());
        break;
      case sys::SystemOutcome::Kind::kHresult:
        deferred_.Reject(
            HresultError(env, outcome_.api, outcome_.hresult, outcome_.detail).Value());
        break;
    }
  }

 private:
  std::shared_ptr<sys::SystemApi> api_;
  const Kind kind_;
  sys::TimeZone tz_;  // kSetTimeZone: the argument; kGetTimeZone: the result
  const std::string service_name_;
  const sys::ServiceChange change_;
  const std::string action_;
  Napi::Promise::Deferred deferred_;
  // Written by Execute(), read by OnOK().
  sys::SystemOutcome outcome_;
  std::int64_t boot_ms_ = 0;
  sys::ServiceInfo service_;
};

Napi::Value Start(Napi::Env env, const std::shared_ptr<sys::SystemApi>& api,
                  SystemWorker::Kind kind, SystemArgs args = SystemArgs()) {
  auto* worker = new SystemWorker(env, api, kind, std::move(args));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

Napi::Function SystemSession::DefineClass(Napi::Env env) {
  return ObjectWrap<SystemSession>::DefineClass(
      env, "SystemSession",
      {InstanceMethod<&SystemSession::GetTimeZone>("getTimeZone"),
       InstanceMethod<&SystemSession::SetTimeZone>("setTimeZone"),
       InstanceMethod<&SystemSession::BootTime>("bootTime"),
       InstanceMethod<&SystemSession::GetService>("getService"),
       InstanceMethod<&SystemSession::SetService>("setService"),
       InstanceMethod<&SystemSession::AppLifecycle>("appLifecycle")});
}

SystemSession::SystemSession(const Napi::CallbackInfo& info) : ObjectWrap<SystemSession>(info) {
  std::string path;
  if (!ReadLibraryPath(info.Env(), info[0], &path)) return;
  api_ = sys::CreatePlatformSystemApi(std::move(path));
}

Napi::Value SystemSession::GetTimeZone(const Napi::CallbackInfo& info) {
  return Start(info.Env(), api_, SystemWorker::Kind::kGetTimeZone);
}

Napi::Value SystemSession::SetTimeZone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SystemArgs args;
  if (!ReadTimeZone(env, info[0], &args.tz)) return env.Undefined();
  return Start(env, api_, SystemWorker::Kind::kSetTimeZone, std::move(args));
}

Napi::Value SystemSession::BootTime(const Napi::CallbackInfo& info) {
  return Start(info.Env(), api_, SystemWorker::Kind::kBootTime);
}

Napi::Value SystemSession::GetService(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SystemArgs args;
  if (!ReadServiceName(env, info[0], &args.service_name)) return env.Undefined();
  return Start(env, api_, SystemWorker::Kind::kGetService, std::move(args));
}

Napi::Value SystemSession::SetService(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SystemArgs args;
  if (!ReadServiceName(env, info[0], &args.service_name) ||
      !ReadServiceChange(env, info[1], &args.change)) {
    return env.Undefined();
  }
  return Start(env, api_, SystemWorker::Kind::kSetService, std::move(args));
}

// appLifecycle(pkgFamilyName, "start" | "stop"); the values are checked in lib/native.
Napi::Value SystemSession::AppLifecycle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString()) {
    Napi::TypeError::New(env, "appLifecycle(pkgFamilyName, action) takes two strings")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  SystemArgs args;
  args.service_name = info[0].As<Napi::String>().Utf8Value();
  args.action = info[1].As<Napi::String>().Utf8Value();
  return Start(env, api_, SystemWorker::Kind::kAppLifecycle, std::move(args));
}

}  // namespace wdm::addon
