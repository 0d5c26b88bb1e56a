// Module entry point of windows_iot_dm.node: a context-aware Napi::Addon whose per-environment
// state is the SessionRegistry (main thread and every worker_thread get their own), an
// environment cleanup hook that closes it (and the TpmRegistry of open TPM channels), and the
// exports { MdmSession, SystemSession, TpmSession, openTpm, getPeerCredentials, buildInfo }.
#include <cerrno>
#include <cstring>
#include <memory>

#include <napi.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "addon/mdm_session.h"
#include "addon/native_error.h"
#include "addon/system_session.h"
#include "addon/tpm_session.h"
#include "emulator/emulator_abi.h"
#include "peer/peer_credentials.h"

namespace wdm::addon {
namespace {

#if defined(_WIN32)
constexpr const char* kPlatform = "win32";
#elif defined(__APPLE__)
constexpr const char* kPlatform = "darwin";
#elif defined(__linux__)
constexpr const char* kPlatform = "linux";
#elif defined(__FreeBSD__)
constexpr const char* kPlatform = "freebsd";
#else
constexpr const char* kPlatform = "unknown";
#endif

#if defined(__x86_64__) || defined(_M_X64)
constexpr const char* kArch = "x64";
#elif defined(__aarch64__) || defined(_M_ARM64)
constexpr const char* kArch = "arm64";
#elif defined(__i386__) || defined(_M_IX86)
constexpr const char* kArch = "ia32";
#elif defined(__arm__) || defined(_M_ARM)
constexpr const char* kArch = "arm";
#else
constexpr const char* kArch = "unknown";
#endif

// Facts fixed at compile time, for diagnostics (process.platform/arch naming).
Napi::Object BuildInfo(Napi::Env env) {
  Napi::Object info = Napi::Object::New(env);
  info.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  info.Set("platform", kPlatform);
  info.Set("arch", kArch);
  // The CSP emulator ABI this addon expects (checked against MdmEmulatorAbiVersion on load).
  info.Set("emulatorAbi", Napi::Number::New(env, MDM_EMULATOR_ABI_VERSION));
  info.Freeze();
  return info;
}

class WindowsIotDmAddon final : public Napi::Addon<WindowsIotDmAddon> {
 public:
  WindowsIotDmAddon(Napi::Env env, Napi::Object exports)
      : registry_(std::make_shared<SessionRegistry>(
            env.Global().Get("JSON").As<Napi::Object>().Get("parse").As<Napi::Function>())),
        tpm_registry_(std::make_shared<TpmRegistry>()) {
    // Runs while the environment is torn down, before instances are finalized: pending calls are
    // dropped and nothing new is queued. The hook shares ownership of the registry.
    env.AddCleanupHook([registry = registry_]() { registry->Close(); });
    env.AddCleanupHook([tpm = tpm_registry_]() { tpm->Close(); });
    Napi::Function tpm_session = TpmSession::DefineClass(env, tpm_registry_.get());
    tpm_session_ = Napi::Persistent(tpm_session);
    DefineAddon(
        exports,
        {InstanceValue("MdmSession", MdmSession::DefineClass(env, registry_.get()),
                       napi_enumerable),
         InstanceValue("SystemSession", SystemSession::DefineClass(env), napi_enumerable),
         InstanceValue("TpmSession", tpm_session, napi_enumerable),
         InstanceMethod<&WindowsIotDmAddon::OpenTpm>("openTpm", napi_enumerable),
         InstanceMethod<&WindowsIotDmAddon::GetPeerCredentials>("getPeerCredentials",
                                                                napi_enumerable),
         InstanceMethod<&WindowsIotDmAddon::TrimNativeHeap>("trimNativeHeap", napi_enumerable),
         InstanceValue("buildInfo", BuildInfo(env), napi_enumerable)});
  }

 private:
  // openTpm(options) = new TpmSession(options).
  Napi::Value OpenTpm(const Napi::CallbackInfo& info) {
    Napi::Object session = tpm_session_.New({info[0]});
    return session.IsEmpty() ? info.Env().Undefined() : Napi::Value(session);
  }

  // getPeerCredentials(fd) = { uid, gid, pid, groups? } of the process at the other end of a
  // connected Unix domain socket (lib/service/peer.ts). Throws an Error with code
  // ERR_PEER_CREDENTIALS and osError (errno) when the kernel does not say; ENOTSUP on Windows.
  Napi::Value GetPeerCredentials(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      InvalidArgError(env, "getPeerCredentials: expected a file descriptor (number)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const int fd = info[0].As<Napi::Number>().Int32Value();
    peer::PeerCredentials cred;
    const int err = peer::GetPeerCredentials(fd, &cred);
    if (err != 0) {
      Napi::Error error =
          Napi::Error::New(env, std::string("getPeerCredentials: ") + std::strerror(err));
      error.Set("code", "ERR_PEER_CREDENTIALS");
      error.Set("osError", Napi::Number::New(env, err));
      error.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("uid", Napi::Number::New(env, cred.uid));
    out.Set("gid", Napi::Number::New(env, cred.gid));
    out.Set("pid", Napi::Number::New(env, cred.pid));
    if (cred.has_groups) {
      Napi::Array groups = Napi::Array::New(env, cred.groups.size());
      for (std::size_t i = 0; i < cred.groups.size(); ++i) {
        groups.Set(static_cast<std::uint32_t>(i), Napi::Number::New(env, cred.groups[i]));
      }
      out.Set("groups", groups);
    }
    return out;
  }

  // trimNativeHeap() = whether the C heap gave free memory back to the system: glibc's
  // malloc_trim(0), which releases the free pages of every arena (the per-thread arenas keep what
  // V8's background compiler threads freed). The agent calls it once it is ready
  // (docs/memory.md). false where there is no such call (Windows, macOS, musl).
  Napi::Value TrimNativeHeap(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
    return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
    return Napi::Boolean::New(info.Env(), false);
#endif
  }

  std::shared_ptr<SessionRegistry> registry_;
  std::shared_ptr<TpmRegistry> tpm_registry_;
  Napi::FunctionReference tpm_session_;
};

}  // namespace
}  // namespace wdm::addon

// The macro pastes the class name into an identifier, so it must be unqualified.
using wdm::addon::WindowsIotDmAddon;
NODE_API_ADDON(WindowsIotDmAddon)
