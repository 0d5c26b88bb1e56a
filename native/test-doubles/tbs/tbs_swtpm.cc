// TEST DOUBLE, NEVER SHIPPED: a tbs.dll (TPM Base Services) for wine that forwards every command
// to a swtpm simulator over TCP, so the addon's real TBS path (native/tpm/tpm_win.cc:
// LoadLibraryExW("tbs.dll", SYSTEM32) + GetProcAddress) runs against a real TPM 2.0 in
// `npm run test:windows` (scripts/test-windows.sh copies it over wine's own system32\tbs.dll).
//
// Built by scripts/cross/win32-x64.sh. Exports the four functions the addon uses, with the
// Windows SDK's shapes (undecorated; x64 has one calling convention):
//   Tbsi_GetDeviceInfo      a TPM 2.0 (structVersion 1, tpmVersion 2)
//   Tbsi_Context_Create     TBS_CONTEXT_PARAMS2 with includeTpm20 (or version 1 params)
//   Tbsip_Submit_Command    one mssim TPM_SEND_COMMAND exchange on a new connection
//   Tbsip_Context_Close     frees the context
// The simulator: %WINDOWS_IOT_DM_TBS_SWTPM% = "host:port" of swtpm's data port (default
// 127.0.0.1:2321). Framing (mssim): u32be 8 | u8 locality | u32be size | command ->
// u32be size | response | u32be 0, then u32be 20 (TPM_SESSION_END). One connection per command,
// because swtpm serves one client at a time and a test may talk to it directly in between.
// Failures: TBS_E_TPM_NOT_FOUND when Context_Create cannot reach the simulator, TBS_E_IOERROR
// when an exchange fails, TBS_E_INSUFFICIENT_BUFFER, TBS_E_BAD_PARAMETER, TBS_E_INVALID_CONTEXT,
// each with one line on stderr starting "tbs test double: ".
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <winsock2.h>
#include <ws2tcpip.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using TbsResult = UINT32;

constexpr TbsResult kSuccess = 0;
constexpr TbsResult kBadParameter = 0x80284002u;
constexpr TbsResult kInvalidContext = 0x80284004u;
constexpr TbsResult kInsufficientBuffer = 0x80284005u;
constexpr TbsResult kIoError = 0x80284006u;
constexpr TbsResult kInvalidContextParam = 0x80284007u;
constexpr TbsResult kTpmNotFound = 0x8028400Fu;

constexpr UINT32 kSendCommand = 8;  // TPM_SEND_COMMAND
constexpr UINT32 kSessionEnd = 20;  // TPM_SESSION_END
constexpr UINT32 kMaxResponse = 65536;
constexpr std::uint32_t kContextMagic = 0x54425344;  // "TBSD"

struct TpmDeviceInfo {
  UINT32 structVersion;
  UINT32 tpmVersion;
  UINT32 tpmInterfaceType;
  UINT32 tpmImpRevision;
};

struct ContextParams {
  UINT32 version;  // 1 (TBS_CONTEXT_PARAMS) or 2 (TBS_CONTEXT_PARAMS2)
  UINT32 flags;    // version 2: bit 0 requestRaw, bit 1 includeTpm12, bit 2 includeTpm20
};

struct Context {
  std::uint32_t magic = kContextMagic;
  std::string host;
  std::string port;
};

void Log(const std::string& line) {
  std::fprintf(stderr, "tbs test double: %s\n", line.c_str());
  std::fflush(stderr);
}

bool StartWinsock() {
  static const bool ok = [] {
    WSADATA data;
    return WSAStartup(MAKEWORD(2, 2), &data) == 0;
  }();
  return ok;
}

// "host:port" from the environment.
void Target(std::string* host, std::string* port) {
  // The process environment (not the CRT's copy), so a change made after start-up counts.
  char value[256];
  const DWORD n = GetEnvironmentVariableA("WINDOWS_IOT_DM_TBS_SWTPM", value, sizeof value);
  std::string text = n > 0 && n < sizeof value ? std::string(value, n) : "127.0.0.1:2321";
  const std::size_t colon = text.rfind(':');
  *host = colon == std::string::npos ? text : text.substr(0, colon);
  *port = colon == std::string::npos ? "2321" : text.substr(colon + 1);
}

SOCKET Connect(const Context& context) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  addrinfo* found = nullptr;
  if (getaddrinfo(context.host.c_str(), context.port.c_str(), &hints, &found) != 0) {
    return INVALID_SOCKET;
  }
  SOCKET s = INVALID_SOCKET;
  for (addrinfo* a = found; a != nullptr && s == INVALID_SOCKET; a = a->ai_next) {
    s = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (s == INVALID_SOCKET) continue;
    if (connect(s, a->ai_addr, static_cast<int>(a->ai_addrlen)) != 0) {
      closesocket(s);
      s = INVALID_SOCKET;
    }
  }
  freeaddrinfo(found);
  if (s != INVALID_SOCKET) {
    const BOOL on = TRUE;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&on), sizeof on);
  }
  return s;
}

bool SendAll(SOCKET s, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const int n = send(s, reinterpret_cast<const char*>(data), static_cast<int>(size), 0);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool ReceiveAll(SOCKET s, std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const int n = recv(s, reinterpret_cast<char*>(data), static_cast<int>(size), 0);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void PutU32(std::vector<std::uint8_t>* out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out->push_back(static_cast<std::uint8_t>(v >> shift));
}

std::uint32_t GetU32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

// One TPM_SEND_COMMAND exchange; false with *why on a transport failure.
bool Exchange(const Context& context, UINT32 locality, const BYTE* command, UINT32 size,
              std::vector<std::uint8_t>* response, std::string* why) {
  const SOCKET s = Connect(context);
  if (s == INVALID_SOCKET) {
    *why = "cannot connect to swtpm at " + context.host + ":" + context.port;
    return false;
  }
  std::vector<std::uint8_t> frame;
  PutU32(&frame, kSendCommand);
  frame.push_back(static_cast<std::uint8_t>(locality));
  PutU32(&frame, size);
  frame.insert(frame.end(), command, command + size);
  std::uint8_t word[4];
  bool ok = SendAll(s, frame.data(), frame.size()) && ReceiveAll(s, word, 4);
  if (ok) {
    const std::uint32_t length = GetU32(word);
    if (length > kMaxResponse) {
      *why = "swtpm announced a " + std::to_string(length) + "-byte response";
      ok = false;
    } else {
      response->assign(length, 0);
      ok = (length == 0 || ReceiveAll(s, response->data(), length)) && ReceiveAll(s, word, 4);
      if (ok && GetU32(word) != 0) {
        *why = "swtpm acknowledged with " + std::to_string(GetU32(word));
        ok = false;
      }
    }
  }
  if (!ok && why->empty()) *why = "the exchange with swtpm broke off";
  std::vector<std::uint8_t> end;
  PutU32(&end, kSessionEnd);
  SendAll(s, end.data(), end.size());
  closesocket(s);
  return ok;
}

Context* FromHandle(void* handle) {
  auto* context = static_cast<Context*>(handle);
  return context != nullptr && context->magic == kContextMagic ? context : nullptr;
}

}  // namespace

extern "C" {

__declspec(dllexport) TbsResult WINAPI Tbsi_GetDeviceInfo(UINT32 size, void* info) {
  if (info == nullptr || size < sizeof(TpmDeviceInfo)) return kBadParameter;
  TpmDeviceInfo device{};
  device.structVersion = 1;
  device.tpmVersion = 2;        // TPM_VERSION_20
  device.tpmInterfaceType = 1;  // TPM_IFTYPE_1 (a simulator has none; any documented value)
  device.tpmImpRevision = 0;
  std::memcpy(info, &device, sizeof device);
  return kSuccess;
}

__declspec(dllexport) TbsResult WINAPI
    Tbsi_Context_Create(const ContextParams* params, void** handle) {
  if (params == nullptr || handle == nullptr) return kBadParameter;
  *handle = nullptr;
  if (params->version == 2 && (params->flags & (1u << 2)) == 0) return kInvalidContextParam;
  if (params->version != 1 && params->version != 2) return kInvalidContextParam;
  if (!StartWinsock()) {
    Log("WSAStartup failed");
    return kIoError;
  }
  auto* context = new Context();
  Target(&context->host, &context->port);
  const SOCKET probe = Connect(*context);  // fail here, as TBS does when there is no TPM
  if (probe == INVALID_SOCKET) {
    Log("cannot connect to swtpm at " + context->host + ":" + context->port +
        " (set WINDOWS_IOT_DM_TBS_SWTPM=host:port): TBS_E_TPM_NOT_FOUND");
    delete context;
    return kTpmNotFound;
  }
  std::vector<std::uint8_t> end;
  PutU32(&end, kSessionEnd);
  SendAll(probe, end.data(), end.size());
  closesocket(probe);
  *handle = context;
  return kSuccess;
}

__declspec(dllexport) TbsResult WINAPI
    Tbsip_Submit_Command(void* handle, UINT32 locality, UINT32 /*priority*/, const BYTE* command,
                         UINT32 size, BYTE* result, UINT32* result_size) {
  const Context* context = FromHandle(handle);
  if (context == nullptr) return kInvalidContext;
  if (command == nullptr || result == nullptr || result_size == nullptr || size < 10 ||
      locality > 4) {
    return kBadParameter;
  }
  std::vector<std::uint8_t> response;
  std::string why;
  if (!Exchange(*context, locality, command, size, &response, &why)) {
    Log(why + ": TBS_E_IOERROR");
    return kIoError;
  }
  if (response.size() > *result_size) {
    *result_size = static_cast<UINT32>(response.size());
    return kInsufficientBuffer;
  }
  std::memcpy(result, response.data(), response.size());
  *result_size = static_cast<UINT32>(response.size());
  return kSuccess;
}

__declspec(dllexport) TbsResult WINAPI Tbsip_Context_Close(void* handle) {
  Context* context = FromHandle(handle);
  if (context == nullptr) return kInvalidContext;
  context->magic = 0;
  delete context;
  return kSuccess;
}

}  // extern "C"
