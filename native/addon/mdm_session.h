// MdmSession, the JS class over the local MDM API, and the per-environment SessionRegistry.
//
// JS: new MdmSession({ libraryPath? }); session.apply(ops, atomic); session.rawSyncML(body).
// Both methods validate their arguments synchronously (TypeError, code ERR_INVALID_ARG) and
// return a Promise. The SyncML work runs on the libuv pool in an AsyncWorker; calls for one
// library in one environment go through one FIFO CallQueue, and the next call is queued only
// when the previous one has completed, so at most one pool thread per queue is ever busy.
// apply() resolves with [{ status, items: [{ uri, data?, format?, type? }] }], one per op;
// apply([]) resolves with [] without touching the library. rawSyncML() resolves with the
// library's UTF-16 answer exactly as returned (not decoded, not validated).
// session.applyNow(ops, atomic) does apply()'s work on the JS thread (blocking it for the library
// call) when the queue is idle, else returns null: the service uses it for reads, saving the
// pool-thread round trip (docs/service.md).

#pragma once

#include <map>
#include <memory>
#include <string>

#include <napi.h>

namespace wdm::addon {

class CallQueue;

// Whether JS can still run in `env` (false while the environment is torn down: then no promise
// may be settled). See mdm_session.cc.
bool CanCallIntoJs(napi_env env);

// Per-environment state: one CallQueue per library (sessions over the same library share it).
// Owned by the addon instance; Close() runs from the environment's cleanup hook.
class SessionRegistry {
 public:
  // `json_parse`: the environment's JSON.parse, captured when the addon loads (apply() results
  // are handed over as one JSON text: much cheaper than setting each property through Node-API).
  explicit SessionRegistry(Napi::Function json_parse) : json_parse_(Napi::Persistent(json_parse)) {}

  std::shared_ptr<CallQueue> QueueFor(const std::string& library_key, const std::string& path);
  // The environment is going away: drop every queued call and start no new work.
  void Close();
  // JSON.parse(json); empty with a JS exception pending if it threw (or after Close()).
  Napi::Value ParseJson(Napi::Env env, const std::string& json);

 private:
  std::map<std::string, std::weak_ptr<CallQueue>> queues_;
  Napi::FunctionReference json_parse_;
  bool closed_ = false;
};

class MdmSession : public Napi::ObjectWrap<MdmSession> {
 public:
  // `registry` must outlive every MdmSession constructed in this environment.
  static Napi::Function DefineClass(Napi::Env env, SessionRegistry* registry);
  explicit MdmSession(const Napi::CallbackInfo& info);

 private:
  Napi::Value Apply(const Napi::CallbackInfo& info);
  // The same round trip on the JS thread, returning the results (or throwing apply()'s errors);
  // null, without touching the library, when a call is running or queued (FIFO order kept).
  Napi::Value ApplyNow(const Napi::CallbackInfo& info);
  Napi::Value RawSyncML(const Napi::CallbackInfo& info);

  std::shared_ptr<CallQueue> queue_;
};

}  // namespace wdm::addon
