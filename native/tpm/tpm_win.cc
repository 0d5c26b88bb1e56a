// TpmChannel on Windows: TPM Base Services. tbs.dll is loaded at run time from System32 only and
// its exports resolved with GetProcAddress against our own prototypes (mingw-w64's tbs.h is the
// TBS 1.2-era header: no TBS_CONTEXT_PARAMS2, no Tbsi_GetDeviceInfo). Open: Tbsi_GetDeviceInfo
// (a TPM 2.0 is required), then Tbsi_Context_Create with TBS_CONTEXT_PARAMS2 (version TWO,
// includeTpm20). Submit: Tbsip_Submit_Command at locality 0, normal priority, into a
// kMaxResponseSize buffer. Close: Tbsip_Context_Close. Every TBS failure is "unavailable" with
// its TBS_RESULT as the HRESULT.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "tpm/channel.h"
#include "tpm/framing.h"

namespace wdm::tpm {
namespace {

// From tbs.h of the Windows SDK (Windows 8+), declared here under our own names.
using TbsResult = UINT32;
using TbsContext = void*;
struct TbsContextParams2 {
  UINT32 version;  // kTbsContextVersionTwo
  UINT32 flags;    // bit 0 requestRaw, bit 1 includeTpm12, bit 2 includeTpm20
};
struct TpmDeviceInfoRaw {
  UINT32 structVersion;
  UINT32 tpmVersion;  // 1 = TPM 1.2, 2 = TPM 2.0
  UINT32 tpmInterfaceType;
  UINT32 tpmImpRevision;
};
constexpr UINT32 kTbsContextVersionTwo = 2;
constexpr UINT32 kIncludeTpm20 = 1u << 2;
constexpr UINT32 kTpmVersion20 = 2;
constexpr UINT32 kLocalityZero = 0;      // TBS_COMMAND_LOCALITY_ZERO
constexpr UINT32 kPriorityNormal = 200;  // TBS_COMMAND_PRIORITY_NORMAL
constexpr TbsResult kTbsSuccess = 0;

using GetDeviceInfoFn = TbsResult(WINAPI*)(UINT32 size, void* info);
using ContextCreateFn = TbsResult(WINAPI*)(const TbsContextParams2* params, TbsContext* context);
using SubmitFn = TbsResult(WINAPI*)(TbsContext context, UINT32 locality, UINT32 priority,
                                    const BYTE* command, UINT32 command_size, BYTE* result,
                                    UINT32* result_size);
using ContextCloseFn = TbsResult(WINAPI*)(TbsContext context);

constexpr const char* kDll = "tbs.dll";

// TBS_E_* (winerror.h) meanings, with what to do.
const char* TbsHint(TbsResult result) {
  switch (result) {
    case 0x80284001u:
      return "TBS_E_INTERNAL_ERROR";
    case 0x80284002u:
      return "TBS_E_BAD_PARAMETER";
    case 0x80284004u:
      return "TBS_E_INVALID_CONTEXT";
    case 0x80284005u:
      return "TBS_E_INSUFFICIENT_BUFFER";
    case 0x80284006u:
      return "TBS_E_IOERROR: the TPM did not answer";
    case 0x80284007u:
      return "TBS_E_INVALID_CONTEXT_PARAM";
    case 0x80284008u:
      return "TBS_E_SERVICE_NOT_RUNNING: start the TPM Base Services (TBS) service";
    case 0x80284009u:
      return "TBS_E_TOO_MANY_TBS_CONTEXTS";
    case 0x8028400Au:
      return "TBS_E_TOO_MANY_RESOURCES";
    case 0x8028400Bu:
      return "TBS_E_SERVICE_START_PENDING: TBS is starting; try again";
    case 0x8028400Du:
      return "TBS_E_COMMAND_CANCELED";
    case 0x8028400Eu:
      return "TBS_E_BUFFER_TOO_LARGE";
    case 0x8028400Fu:
      return "TBS_E_TPM_NOT_FOUND: this machine has no (enabled) TPM";
    case 0x80284010u:
      return "TBS_E_SERVICE_DISABLED: enable the TPM Base Services service";
    case 0x80284012u:
      return "TBS_E_ACCESS_DENIED: TBS blocked the command or the caller";
    default:
      return nullptr;
  }
}

std::string Hex32(std::uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08X", static_cast<unsigned>(value));
  return buffer;
}

class WindowsChannel final : public TpmChannel {
 public:
  ~WindowsChannel() override {
    Close();
    if (module_ != nullptr) FreeLibrary(module_);
  }

  bool Open(ChannelError* error) override {
    if (context_ != nullptr) return true;
    if (!LoadTbs(error)) return false;
    TpmDeviceInfoRaw info{};
    TbsResult result = get_device_info_(static_cast<UINT32>(sizeof info), &info);
    if (result != kTbsSuccess) return TbsFailed(error, "Tbsi_GetDeviceInfo", result);
    if (info.tpmVersion != kTpmVersion20) {
      error->kind = ChannelError::Kind::kUnavailable;
      error->api = "Tbsi_GetDeviceInfo";
      error->message = "this machine's TPM is version " +
                       std::string(info.tpmVersion == 1 ? "1.2" : std::to_string(info.tpmVersion)) +
                       "; a TPM 2.0 is required";
      return false;
    }
    TbsContextParams2 params{kTbsContextVersionTwo, kIncludeTpm20};
    TbsContext context = nullptr;
    result = context_create_(&params, &context);
    if (result != kTbsSuccess) return TbsFailed(error, "Tbsi_Context_Create", result);
    context_ = context;
    return true;
  }

  bool Submit(const std::vector<std::uint8_t>& command, std::vector<std::uint8_t>* response,
              ChannelError* error) override {
    if (!Open(error)) return false;
    response->assign(kMaxResponseSize, 0);
    UINT32 size = static_cast<UINT32>(response->size());
    const TbsResult result = submit_(context_, kLocalityZero, kPriorityNormal, command.data(),
                                     static_cast<UINT32>(command.size()), response->data(), &size);
    if (result != kTbsSuccess) {
      response->clear();
      Close();
      return TbsFailed(error, "Tbsip_Submit_Command", result);
    }
    response->resize(size <= kMaxResponseSize ? size : kMaxResponseSize);
    std::string detail;
    if (!CheckResponse(response->data(), response->size(), &detail)) {
      error->kind = ChannelError::Kind::kMalformed;
      error->api = "Tbsip_Submit_Command";
      error->message = "TBS returned a malformed TPM response: " + detail;
      return false;
    }
    return true;
  }

  DeviceInfo Info() const override {
    DeviceInfo info;
    info.transport = "tbs";
    info.tpm_version = 2;
    info.path = "TBS";
    return info;
  }

  void Close() override {
    if (context_ != nullptr && context_close_ != nullptr) context_close_(context_);
    context_ = nullptr;
  }

 private:
  bool LoadTbs(ChannelError* error) {
    if (module_ != nullptr) return true;
    HMODULE module = LoadLibraryExW(L"tbs.dll", nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
    if (module == nullptr) {
      const DWORD code = GetLastError();
      error->kind = ChannelError::Kind::kUnavailable;
      error->api = "LoadLibraryExW";
      error->os_error = static_cast<int>(code);
      error->message = "cannot load tbs.dll from System32 (Windows error " + std::to_string(code) +
                       "): TPM Base Services are missing";
      return false;
    }
    module_ = module;
    if (!Resolve("Tbsi_GetDeviceInfo", &get_device_info_, error) ||
        !Resolve("Tbsi_Context_Create", &context_create_, error) ||
        !Resolve("Tbsip_Submit_Command", &submit_, error) ||
        !Resolve("Tbsip_Context_Close", &context_close_, error)) {
      FreeLibrary(module_);
      module_ = nullptr;
      get_device_info_ = nullptr;
      context_create_ = nullptr;
      submit_ = nullptr;
      context_close_ = nullptr;
      return false;
    }
    return true;
  }

  template <typename Fn>
  bool Resolve(const char* name, Fn* out, ChannelError* error) {
    const FARPROC proc = GetProcAddress(module_, name);
    if (proc == nullptr) {
      const DWORD code = GetLastError();
      error->kind = ChannelError::Kind::kUnavailable;
      error->api = "GetProcAddress";
      error->os_error = static_cast<int>(code);
      error->message = std::string(kDll) + " does not export " + name + " (Windows error " +
                       std::to_string(code) + "): Windows 8 / Server 2012 or later is required";
      return false;
    }
    // Through void(*)(), the generic function pointer type, to keep -Wcast-function-type quiet.
    *out = reinterpret_cast<Fn>(reinterpret_cast<void (*)()>(proc));
    return true;
  }

  bool TbsFailed(ChannelError* error, const char* api, TbsResult result) {
    error->kind = ChannelError::Kind::kUnavailable;
    error->api = api;
    error->hresult = result;
    error->message = std::string(api) + " failed with " + Hex32(result);
    if (const char* hint = TbsHint(result)) error->message += std::string(" (") + hint + ")";
    return false;
  }

  HMODULE module_ = nullptr;
  GetDeviceInfoFn get_device_info_ = nullptr;
  ContextCreateFn context_create_ = nullptr;
  SubmitFn submit_ = nullptr;
  ContextCloseFn context_close_ = nullptr;
  TbsContext context_ = nullptr;
};

}  // namespace

std::unique_ptr<TpmChannel> CreatePlatformChannel(const ChannelOptions& /*options*/) {
  return std::make_unique<WindowsChannel>();
}

}  // namespace wdm::tpm
