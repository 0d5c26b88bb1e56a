// TpmChannel: one command channel to a TPM 2.0, as the addon sees it (no Node-API here). One
// implementation per platform: tpm_win.cc (TBS, tbs.dll loaded at run time from System32) and
// tpm_posix.cc (/dev/tpmrm0, another character device, or a Unix socket speaking raw TPM
// command/response, e.g. swtpm --server type=unixio). Not thread-safe: the addon's per-channel
// FIFO runs one call at a time, on a libuv pool thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wdm::tpm {

struct ChannelError {
  enum class Kind {
    kUnavailable,  // no TPM, no access, not TPM 2.0, closed, gone away: ERR_TPM_UNAVAILABLE
    kMalformed,    // the TPM's answer breaks the framing (truncated, oversized): ERR_TPM
  };
  Kind kind = Kind::kUnavailable;
  std::string message;                   // complete; tells the user what to do when it can
  std::string api;                       // the OS call or TBS function that failed
  std::optional<std::uint32_t> hresult;  // Windows: TBS_RESULT / HRESULT
  std::optional<int> os_error;           // errno (POSIX) or GetLastError() (Windows)
  std::string os_error_name;             // "ENOENT", ...
};

struct DeviceInfo {
  std::string transport;  // "tbs" | "device" | "socket"
  int tpm_version = 2;
  std::string path;  // device or socket path; "TBS" on Windows
};

struct ChannelOptions {
  std::string path;  // POSIX: device or Unix socket path (empty: /dev/tpmrm0); ignored on Windows
  // POSIX sockets: how long to wait for the TPM's answer before giving up (0: forever).
  std::uint32_t timeout_ms = 120000;
};

class TpmChannel {
 public:
  virtual ~TpmChannel() = default;
  // Opens the channel if it is not open (true at once if it is). After a failure nothing is
  // held, so a later call tries again.
  virtual bool Open(ChannelError* error) = 0;
  // Sends one checked command (framing.h CheckCommand) and reads the whole response, checked
  // with CheckResponse. Opens first if needed. After an I/O or framing failure the channel is
  // closed (the stream can no longer be trusted); the next call opens it again.
  virtual bool Submit(const std::vector<std::uint8_t>& command, std::vector<std::uint8_t>* response,
                      ChannelError* error) = 0;
  // What an open channel reaches (valid after a successful Open).
  virtual DeviceInfo Info() const = 0;
  virtual void Close() = 0;
};

std::unique_ptr<TpmChannel> CreatePlatformChannel(const ChannelOptions& options);

}  // namespace wdm::tpm
