// TpmSession (JS class), TpmQueue (one FIFO per session) and TpmWorker (the AsyncWorker that
// runs one submit/info/close on a libuv pool thread). House rules as in mdm_session.cc: at most
// one pool thread per queue, failures settled from OnOK after checking that JS can still run.
#include "addon/tpm_session.h"

#include <cmath>
#include <cstring>
#include <deque>
#include <string>
#include <utility>

#include "addon/mdm_session.h"
#include "addon/native_error.h"
#include "tpm/channel.h"
#include "tpm/framing.h"

namespace wdm::addon {

// One pending call.
struct TpmCall {
  enum class Kind { kSubmit, kInfo, kClose };
  Kind kind = Kind::kSubmit;
  std::vector<std::uint8_t> command;  // kSubmit
  Napi::Promise::Deferred deferred;

  TpmCall(Napi::Env env, Kind call_kind)
      : kind(call_kind), deferred(Napi::Promise::Deferred::New(env)) {}
};

// JS-thread only. Owns the channel; runs its calls one at a time, in submission order.
class TpmQueue : public std::enable_shared_from_this<TpmQueue> {
 public:
  TpmQueue(const tpm::ChannelOptions& options, bool env_closed)
      : channel_(tpm::CreatePlatformChannel(options)),
        path_(options.path),
        env_closed_(env_closed) {}

  const std::string& path() const { return path_; }
  bool closing() const { return closing_; }
  void MarkClosing() { closing_ = true; }

  void Submit(Napi::Env env, TpmCall call) {
    if (env_closed_) return;  // the environment is going away; so is the promise
    pending_.push_back(std::move(call));
    if (!running_) StartNext(env);
  }

  // From the worker's completion callback.
  void Finished(Napi::Env env, bool env_alive) {
    running_ = false;
    if (!env_alive) CloseForEnvironment();
    if (env_closed_) {
      channel_->Close();
      return;
    }
    StartNext(env);
  }

  // The environment's cleanup hook: nothing more runs; an idle channel is closed now.
  void CloseForEnvironment() {
    env_closed_ = true;
    closing_ = true;
    pending_.clear();
    if (!running_) channel_->Close();
  }

 private:
  void StartNext(Napi::Env env);

  std::shared_ptr<tpm::TpmChannel> channel_;
  std::string path_;
  std::deque<TpmCall> pending_;
  bool running_ = false;
  bool closing_ = false;  // close() was called (or the environment is going away)
  bool env_closed_ = false;
};

namespace {

class TpmWorker final : public Napi::AsyncWorker {
 public:
  TpmWorker(Napi::Env env, std::shared_ptr<TpmQueue> queue,
            std::shared_ptr<tpm::TpmChannel> channel, TpmCall call)
      : Napi::AsyncWorker(env, "windows-iot-dm:TpmSubmit"),
        queue_(std::move(queue)),
        channel_(std::move(channel)),
        call_(std::move(call)) {}

  void Execute() override {
    switch (call_.kind) {
      case TpmCall::Kind::kSubmit:
        ok_ = channel_->Submit(call_.command, &response_, &error_);
        break;
      case TpmCall::Kind::kInfo:
        ok_ = channel_->Open(&error_);
        if (ok_) info_ = channel_->Info();
        break;
      case TpmCall::Kind::kClose:
        channel_->Close();
        ok_ = true;
        break;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    const bool alive = CanCallIntoJs(env);
    if (alive) Settle(env);
    queue_->Finished(env, alive);
  }

 private:
  void Settle(Napi::Env env) {
    Napi::Promise::Deferred& deferred = call_.deferred;
    if (!ok_) {
      if (error_.kind == tpm::ChannelError::Kind::kMalformed) {
        const std::string command = call_.command.size() >= tpm::kHeaderSize
                                        ? tpm::CommandLabel(call_.command.data())
                                        : std::string("TPM2 command");
        deferred.Reject(TpmMalformedError(env, command, error_.message).Value());
      } else {
        deferred.Reject(TpmUnavailableError(env, error_, queue_->path()).Value());
      }
      return;
    }
    switch (call_.kind) {
      case TpmCall::Kind::kSubmit: {
        Napi::Uint8Array bytes = Napi::Uint8Array::New(env, response_.size());
        if (!response_.empty()) std::memcpy(bytes.Data(), response_.data(), response_.size());
        deferred.Resolve(bytes);
        break;
      }
      case TpmCall::Kind::kInfo: {
        Napi::Object object = Napi::Object::New(env);
        object.Set("transport", info_.transport);
        object.Set("tpmVersion", Napi::Number::New(env, info_.tpm_version));
        object.Set("path", info_.path);
        deferred.Resolve(object);
        break;
      }
      case TpmCall::Kind::kClose:
        deferred.Resolve(env.Undefined());
        break;
    }
  }

  std::shared_ptr<TpmQueue> queue_;
  std::shared_ptr<tpm::TpmChannel> channel_;
  TpmCall call_;
  // Written by Execute(), read by OnOK().
  bool ok_ = false;
  tpm::ChannelError error_;
  std::vector<std::uint8_t> response_;
  tpm::DeviceInfo info_;
};

bool Fail(Napi::Env env, const std::string& message) {
  InvalidArgError(env, message).ThrowAsJavaScriptException();
  return false;
}

// openTpm()'s options: { path?: string, timeoutMs?: number }.
bool ReadTpmOptions(Napi::Env env, Napi::Value value, tpm::ChannelOptions* options) {
  if (value.IsUndefined() || value.IsNull()) return true;
  if (!value.IsObject() || value.IsArray()) return Fail(env, "options must be an object");
  Napi::Object object = value.As<Napi::Object>();
  Napi::Value path = object.Get("path");
  if (path.IsEmpty() || env.IsExceptionPending()) return false;
  if (!path.IsUndefined()) {
    if (!path.IsString()) return Fail(env, "options.path must be a string when present");
    options->path = path.As<Napi::String>().Utf8Value();
    if (options->path.empty()) return Fail(env, "options.path must not be empty");
    if (options->path.find('\0') != std::string::npos) {
      return Fail(env, "options.path must not contain U+0000");
    }
  }
  Napi::Value timeout = object.Get("timeoutMs");
  if (timeout.IsEmpty() || env.IsExceptionPending()) return false;
  if (!timeout.IsUndefined()) {
    const double ms = timeout.IsNumber() ? timeout.As<Napi::Number>().DoubleValue() : -1;
    if (!(ms >= 0 && ms <= 2147483647.0) || std::floor(ms) != ms) {
      return Fail(env, "options.timeoutMs must be an integer from 0 to 2147483647");
    }
    options->timeout_ms = static_cast<std::uint32_t>(ms);
  }
  return true;
}

TpmCall ClosedCall(Napi::Env env, const std::string& path) {
  TpmCall call(env, TpmCall::Kind::kSubmit);
  tpm::ChannelError error;
  error.message = "the TPM channel is closed";
  call.deferred.Reject(TpmUnavailableError(env, error, path).Value());
  return call;
}

}  // namespace

void TpmQueue::StartNext(Napi::Env env) {
  if (env_closed_ || running_ || pending_.empty()) return;
  running_ = true;
  TpmCall call = std::move(pending_.front());
  pending_.pop_front();
  (new TpmWorker(env, shared_from_this(), channel_, std::move(call)))->Queue();
}

void TpmRegistry::Add(const std::shared_ptr<TpmQueue>& queue) {
  for (auto it = queues_.begin(); it != queues_.end();) {
    it = it->expired() ? queues_.erase(it) : std::next(it);
  }
  queues_.push_back(queue);
}

void TpmRegistry::Close() {
  closed_ = true;
  for (auto& entry : queues_) {
    if (std::shared_ptr<TpmQueue> queue = entry.lock()) queue->CloseForEnvironment();
  }
  queues_.clear();
}

Napi::Function TpmSession::DefineClass(Napi::Env env, TpmRegistry* registry) {
  return ObjectWrap<TpmSession>::DefineClass(
      env, "TpmSession",
      {InstanceMethod<&TpmSession::Submit>("submit"), InstanceMethod<&TpmSession::Info>("info"),
       InstanceMethod<&TpmSession::Close>("close")},
      registry);
}

TpmSession::TpmSession(const Napi::CallbackInfo& info) : ObjectWrap<TpmSession>(info) {
  tpm::ChannelOptions options;
  if (!ReadTpmOptions(info.Env(), info[0], &options)) return;
  auto* registry = static_cast<TpmRegistry*>(info.Data());
  queue_ = std::make_shared<TpmQueue>(options, registry->closed());
  registry->Add(queue_);
}

Napi::Value TpmSession::Submit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!queue_) return env.Undefined();  // the constructor threw
  Napi::Value value = info[0];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Fail(env, "the command must be a Uint8Array");
    return env.Undefined();
  }
  Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
  std::string detail;
  if (!tpm::CheckCommand(bytes.Data(), bytes.ByteLength(), &detail)) {
    Fail(env, "not a TPM 2.0 command: " + detail);
    return env.Undefined();
  }
  if (queue_->closing()) return ClosedCall(env, queue_->path()).deferred.Promise();
  TpmCall call(env, TpmCall::Kind::kSubmit);
  call.command.assign(bytes.Data(), bytes.Data() + bytes.ByteLength());
  Napi::Promise promise = call.deferred.Promise();
  queue_->Submit(env, std::move(call));
  return promise;
}

Napi::Value TpmSession::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!queue_) return env.Undefined();
  if (queue_->closing()) return ClosedCall(env, queue_->path()).deferred.Promise();
  TpmCall call(env, TpmCall::Kind::kInfo);
  Napi::Promise promise = call.deferred.Promise();
  queue_->Submit(env, std::move(call));
  return promise;
}

Napi::Value TpmSession::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!queue_) return env.Undefined();
  TpmCall call(env, TpmCall::Kind::kClose);
  Napi::Promise promise = call.deferred.Promise();
  if (queue_->closing()) {
    call.deferred.Resolve(env.Undefined());  // already closed (or closing): nothing to do
    return promise;
  }
  queue_->MarkClosing();
  queue_->Submit(env, std::move(call));
  return promise;
}

}  // namespace wdm::addon
