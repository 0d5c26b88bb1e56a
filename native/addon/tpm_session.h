// TpmSession, the JS class over a TPM 2.0 command channel (native/tpm/channel.h), and the
// per-environment TpmRegistry whose Close() runs from the addon's cleanup hook.
//
// JS: openTpm({ path?, timeoutMs? }) -> TpmSession (path: POSIX only, a TPM character device or
//   a Unix socket speaking raw TPM command/response, default /dev/tpmrm0; ignored on Windows,
//   where TBS is used; timeoutMs: sockets only, how long to wait for an answer, default 120000,
//   0 = forever)
//   session.submit(command: Uint8Array) -> Promise<Uint8Array>  (the complete response)
//   session.info()  -> Promise<{ transport: 'tbs' | 'device' | 'socket', tpmVersion, path }>
//   session.close() -> Promise<undefined>
// The channel opens lazily, on the first submit()/info(), off the JS thread. Arguments are checked
// synchronously (TypeError, code ERR_INVALID_ARG: the command must be a whole TPM 2.0 command
// whose header size matches its length). Every call runs in its own AsyncWorker through one FIFO
// per session, so commands reach the TPM one at a time, in call order. close() is queued behind
// the calls already made (they complete); calls after close() reject with ERR_TPM_UNAVAILABLE.
// Failures reject with ERR_TPM_UNAVAILABLE (no TPM, no access, TBS error: path?, api, hresult?,
// osError?, osErrorName?) or ERR_TPM (a malformed response: command, detail).
#pragma once

#include <memory>
#include <vector>

#include <napi.h>

namespace wdm::addon {

class TpmQueue;

// Per-environment list of open TPM queues. Close(): drop queued calls, close idle channels (a
// channel busy in a worker is closed when that worker finishes), refuse new work.
class TpmRegistry {
 public:
  void Add(const std::shared_ptr<TpmQueue>& queue);
  void Close();
  bool closed() const { return closed_; }

 private:
  std::vector<std::weak_ptr<TpmQueue>> queues_;
  bool closed_ = false;
};

class TpmSession : public Napi::ObjectWrap<TpmSession> {
 public:
  // `registry` must outlive every TpmSession constructed in this environment.
  static Napi::Function DefineClass(Napi::Env env, TpmRegistry* registry);
  explicit TpmSession(const Napi::CallbackInfo& info);

 private:
  Napi::Value Submit(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  std::shared_ptr<TpmQueue> queue_;
};

}  // namespace wdm::addon
