// MdmSession (JS class), CallQueue (one FIFO per library per environment) and SyncMLWorker (the
// AsyncWorker that performs one SyncML round trip off the JS thread).
#include "addon/mdm_session.h"

#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "addon/js_args.h"
#include "addon/native_error.h"
#include "common/utf16.h"
#include "mdm/library.h"
#include "syncml/codec.h"

namespace wdm::addon {

// One pending apply() or rawSyncML() call.
struct Call {
  enum class Kind { kApply, kRaw };
  Kind kind = Kind::kApply;
  std::vector<syncml::Op> ops;  // kApply
  bool atomic = false;          // kApply
  std::u16string body;          // kRaw
  Napi::Promise::Deferred deferred;

  explicit Call(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

// JS-thread only. Holds the library; runs its calls one at a time, in submission order.
class CallQueue : public std::enable_shared_from_this<CallQueue> {
 public:
  CallQueue(SessionRegistry* registry, std::string path, bool closed)
      : registry_(registry),
        library_(std::make_shared<mdm::LibraryHandle>(mdm::CreatePlatformLibrary(std::move(path)))),
        closed_(closed) {}

  // Valid while JS can run in the environment (the registry lives as long as it).
  SessionRegistry& registry() { return *registry_; }

  void Submit(Napi::Env env, Call call) {
    if (closed_) return;  // the environment is going away; so is the promise
    pending_.push_back(std::move(call));
    if (!running_) StartNext(env);
  }

  // From the worker's completion callback.
  void Finished(Napi::Env env, bool env_alive) {
    running_ = false;
    if (!env_alive) Close();
    StartNext(env);
  }

  void Close() {
    closed_ = true;
    pending_.clear();
  }

  // No call running or waiting: a call made now on the JS thread keeps the FIFO order.
  bool Idle() const { return !closed_ && !running_ && pending_.empty(); }
  const std::shared_ptr<mdm::LibraryHandle>& library() const { return library_; }

 private:
  void StartNext(Napi::Env env);

  SessionRegistry* registry_;
  std::shared_ptr<mdm::LibraryHandle> library_;
  std::deque<Call> pending_;
  bool running_ = false;
  bool closed_ = false;
};

namespace {

void AppendJsonString(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  std::size_t run = 0;  // start of the bytes not appended yet (copied as they are)
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
    out->append(text.data() + run, i - run);
    if (byte >= 0x20) {
      out->push_back('\\');
      out->push_back(static_cast<char>(byte));
    } else {
      out->append("\\u00");
      out->push_back(kHex[byte >> 4]);
      out->push_back(kHex[byte & 0xF]);
    }
    run = i + 1;
  }
  out->append(text.data() + run, text.size() - run);
  out->push_back('"');
}

// apply()'s result as JSON: [{"status":200,"items":[{"uri":…,"data"?,"format"?,"type"?}]}].
// The strings are well-formed UTF-8 (they come from a validated XML document).
std::string ResultsJson(const std::vector<syncml::OpResult>& results) {
  std::string out = "[";
  for (const syncml::OpResult& result : results) {
    if (out.size() > 1) out.push_back(',');
    out.append("{\"status\":").append(std::to_string(result.status)).append(",\"items\":[");
    for (std::size_t k = 0; k < result.items.size(); ++k) {
      const syncml::ResultItem& item = result.items[k];
      out.append(k == 0 ? "{\"uri\":" : ",{\"uri\":");
      AppendJsonString(&out, item.uri);
      if (item.data) AppendJsonString(&out.append(",\"data\":"), *item.data);
      if (item.format) AppendJsonString(&out.append(",\"format\":"), *item.format);
      if (item.type) AppendJsonString(&out.append(",\"type\":"), *item.type);
      out.push_back('}');
    }
    out.append("]}");
  }
  out.push_back(']');
  return out;
}

// One apply round trip without Node-API: encode -> UTF-16 -> library -> UTF-8 -> decode. Run() on
// a pool thread (SyncMLWorker) or on the JS thread (MdmSession::ApplyNow); Error() turns a
// failure into the JS error both report.
struct ApplyWork {
  enum class Failure { kNone, kEncode, kUnavailable, kHresult, kMalformed };
  Failure failure = Failure::kNone;
  std::string detail;
  mdm::CallOutcome outcome;
  std::string results_json;  // the results, for JSON.parse

  void Run(mdm::LibraryHandle& library, const std::vector<syncml::Op>& ops, bool atomic) {
    std::u16string request;
    if (!text::Utf8ToUtf16(syncml::EncodeOps(ops, atomic), &request, &detail)) {
      failure = Failure::kEncode;  // unreachable: ops were validated as strict UTF-16
      return;
    }
    if (!CallLibrary(library, request)) return;
    std::string response;
    if (!text::Utf16ToUtf8(outcome.response, &response, &detail)) {
      detail = "the response is not well-formed UTF-16 (" + detail + ")";
      failure = Failure::kMalformed;
      return;
    }
    std::vector<syncml::OpResult> results;
    if (!syncml::DecodeOpResults(response, ops, atomic, &results, &detail)) {
      failure = Failure::kMalformed;
      return;
    }
    results_json = ResultsJson(results);
  }

  // The library call alone (rawSyncML stops here); false on failure.
  bool CallLibrary(mdm::LibraryHandle& library, const std::u16string& request) {
    outcome = library.ApplySyncML(request);
    if (outcome.kind == mdm::CallOutcome::Kind::kUnavailable) failure = Failure::kUnavailable;
    if (outcome.kind == mdm::CallOutcome::Kind::kHresult) failure = Failure::kHresult;
    return failure == Failure::kNone;
  }

  Napi::Value Error(Napi::Env env) const {
    switch (failure) {
      case Failure::kEncode:
        return InvalidArgError(env, "cannot encode the request: " + detail).Value();
      case Failure::kUnavailable:
        return MdmUnavailableError(env, outcome.load_error).Value();
      case Failure::kHresult:
        return HresultError(env, outcome.api, outcome.hresult).Value();
      case Failure::kMalformed:
      case Failure::kNone:
        break;
    }
    return SyncMLMalformedError(env, detail).Value();
  }
};

// Performs one call on a libuv pool thread. Execute() touches no Node-API: encode -> UTF-16 ->
// library -> UTF-8 -> decode. OnOK() (JS thread) settles the promise and starts the next call.
class SyncMLWorker final : public Napi::AsyncWorker {
 public:
  SyncMLWorker(Napi::Env env, std::shared_ptr<CallQueue> queue,
               std::shared_ptr<mdm::LibraryHandle> library, Call call)
      : Napi::AsyncWorker(env, call.kind == Call::Kind::kApply ? "windows-iot-dm:ApplySyncML"
                                                               : "windows-iot-dm:RawSyncML"),
        queue_(std::move(queue)),
        library_(std::move(library)),
        call_(std::move(call)) {}

  void Execute() override {
    if (call_.kind == Call::Kind::kRaw) {
      work_.CallLibrary(*library_, call_.body);  // handed to JS as UTF-16, unchanged
      return;
    }
    work_.Run(*library_, call_.ops, call_.atomic);
  }

  // Failures are reported through OnOK too (not SetError/OnError): node-addon-api's OnError path
  // builds an Error before we could check that the environment can still run JS.
  void OnOK() override {
    Napi::Env env = Env();
    const bool alive = CanCallIntoJs(env);
    if (alive) Settle(env);
    queue_->Finished(env, alive);
  }

 private:
  void Settle(Napi::Env env) {
    Napi::Promise::Deferred& deferred = call_.deferred;
    if (work_.failure != ApplyWork::Failure::kNone) {
      deferred.Reject(work_.Error(env));
      return;
    }
    if (call_.kind == Call::Kind::kRaw) {
      deferred.Resolve(Napi::String::New(env, work_.outcome.response));
      return;
    }
    if (Napi::Value results = queue_->registry().ParseJson(env, work_.results_json);
        !results.IsEmpty()) {
      deferred.Resolve(results);
    } else if (env.IsExceptionPending()) {
      deferred.Reject(env.GetAndClearPendingException().Value());
    } else {
      deferred.Reject(Napi::Error::New(env, "the environment is shutting down").Value());
    }
  }

  std::shared_ptr<CallQueue> queue_;
  std::shared_ptr<mdm::LibraryHandle> library_;
  Call call_;
  ApplyWork work_;  // written by Execute(), read by OnOK()
};

}  // namespace

// Whether JS can still run in `env`. While an environment is torn down (worker.terminate(),
// process exit) in-flight work still completes, but every call that needs JS then fails with
// napi_pending_exception although none is pending (the same test node-addon-api applies under
// NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS). Settling a promise then is a fatal error unless that
// define is set, and the queue would keep running every pending call during teardown (measured:
// terminate() with 1000 queued calls took 1.2 s instead of 50 ms). So: stop at the first sign.
bool CanCallIntoJs(napi_env env) {
  napi_value object, undefined;
  if (napi_create_object(env, &object) != napi_ok) return false;
  if (napi_get_undefined(env, &undefined) != napi_ok) return false;
  if (napi_set_named_property(env, object, "probe", undefined) == napi_ok) return true;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    return true;
  }
  return false;
}

void CallQueue::StartNext(Napi::Env env) {
  if (closed_ || running_ || pending_.empty()) return;
  running_ = true;
  Call call = std::move(pending_.front());
  pending_.pop_front();
  (new SyncMLWorker(env, shared_from_this(), library_, std::move(call)))->Queue();
}

std::shared_ptr<CallQueue> SessionRegistry::QueueFor(const std::string& library_key,
                                                     const std::string& path) {
  for (auto it = queues_.begin(); it != queues_.end();) {
    it = it->second.expired() ? queues_.erase(it) : std::next(it);
  }
  std::weak_ptr<CallQueue>& slot = queues_[library_key];
  std::shared_ptr<CallQueue> queue = slot.lock();
  if (!queue) {
    queue = std::make_shared<CallQueue>(this, path, closed_);
    slot = queue;
  }
  return queue;
}

Napi::Value SessionRegistry::ParseJson(Napi::Env env, const std::string& json) {
  if (json_parse_.IsEmpty()) return Napi::Value();
  return json_parse_.Value().Call({Napi::String::New(env, json)});
}

void SessionRegistry::Close() {
  closed_ = true;
  json_parse_.Reset();
  for (auto& entry : queues_) {
    if (std::shared_ptr<CallQueue> queue = entry.second.lock()) queue->Close();
  }
  queues_.clear();
}

Napi::Function MdmSession::DefineClass(Napi::Env env, SessionRegistry* registry) {
  return ObjectWrap<MdmSession>::DefineClass(env, "MdmSession",
                                             {InstanceMethod<&MdmSession::Apply>("apply"),
                                              InstanceMethod<&MdmSession::ApplyNow>("applyNow"),
                                              InstanceMethod<&MdmSession::RawSyncML>("rawSyncML")},
                                             registry);
}

MdmSession::MdmSession(const Napi::CallbackInfo& info) : ObjectWrap<MdmSession>(info) {
  std::string path;
  if (!ReadLibraryPath(info.Env(), info[0], &path)) return;
#ifdef _WIN32
  // mdmlocalmanagement.dll from System32, whatever the options say: one queue per environment.
  const std::string key = "mdmlocalmanagement.dll";
#else
  const std::string key = path;
#endif
  queue_ = static_cast<SessionRegistry*>(info.Data())->QueueFor(key, path);
}

Napi::Value MdmSession::Apply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<syncml::Op> ops;
  bool atomic = false;
  if (!ReadOps(env, info[0], &ops) || !ReadAtomic(env, info[1], &atomic)) return env.Undefined();
  // The deferred is created only now: a promise that is never settled would pin memory.
  Call call(env);
  Napi::Promise promise = call.deferred.Promise();
  if (ops.empty()) {
    // Nothing to send: one result per op is an empty list. The library is not touched.
    call.deferred.Resolve(Napi::Array::New(env));
    return promise;
  }
  call.kind = Call::Kind::kApply;
  call.ops = std::move(ops);
  call.atomic = atomic;
  queue_->Submit(env, std::move(call));
  return promise;
}

Napi::Value MdmSession::ApplyNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<syncml::Op> ops;
  bool atomic = false;
  if (!ReadOps(env, info[0], &ops) || !ReadAtomic(env, info[1], &atomic)) return env.Undefined();
  if (ops.empty()) return Napi::Array::New(env);
  // A call is running or queued: this one must wait its turn (apply()). `null` says so.
  if (!queue_->Idle()) return env.Null();
  ApplyWork work;
  work.Run(*queue_->library(), ops, atomic);
  if (work.failure != ApplyWork::Failure::kNone) {
    Napi::Error(env, work.Error(env)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return queue_->registry().ParseJson(env, work.results_json);
}

Napi::Value MdmSession::RawSyncML(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::u16string body;
  if (!ReadRawBody(env, info[0], &body)) return env.Undefined();
  Call call(env);
  Napi::Promise promise = call.deferred.Promise();
  call.kind = Call::Kind::kRaw;
  call.body = std::move(body);
  queue_->Submit(env, std::move(call));
  return promise;
}

}  // namespace wdm::addon
