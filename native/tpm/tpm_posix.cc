// TpmChannel on Linux/macOS: a TPM character device (/dev/tpmrm0, the kernel's resource-managed
// TPM 2.0 device) or a Unix socket speaking raw TPM command/response (swtpm --server
// type=unixio,path=...; also any test double). The path is stat()ed when the channel opens: a
// socket is connected to, anything else is open()ed read-write. Commands are written whole; the
// response is read as its 10-byte header, then the rest (the size from the header, bounded by
// kMaxResponseSize), with EINTR and short reads/writes handled.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>

#include "tpm/channel.h"
#include "tpm/framing.h"

namespace wdm::tpm {
namespace {

constexpr const char* kDefaultDevice = "/dev/tpmrm0";

const char* ErrnoName(int code) {
  switch (code) {
    case ENOENT:
      return "ENOENT";
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case ENOTDIR:
      return "ENOTDIR";
    case EBUSY:
      return "EBUSY";
    case ENODEV:
      return "ENODEV";
    case ENXIO:
      return "ENXIO";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case ECONNRESET:
      return "ECONNRESET";
    case EPIPE:
      return "EPIPE";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case EIO:
      return "EIO";
    case EINVAL:
      return "EINVAL";
    case ENAMETOOLONG:
      return "ENAMETOOLONG";
    default:
      return "";
  }
}

void SetErrno(ChannelError* error, const char* api, int code, std::string message) {
  error->kind = ChannelError::Kind::kUnavailable;
  error->api = api;
  error->os_error = code;
  error->os_error_name = ErrnoName(code);
  error->message = std::move(message);
}

std::string ErrnoSuffix(int code) {
  const char* name = ErrnoName(code);
  return std::string(" (") + (*name != '\0' ? name : "errno " + std::to_string(code)) + ": " +
         std::strerror(code) + ")";
}

class PosixChannel final : public TpmChannel {
 public:
  explicit PosixChannel(const ChannelOptions& options)
      : path_(options.path.empty() ? kDefaultDevice : options.path),
        timeout_ms_(options.timeout_ms) {}
  ~PosixChannel() override { Close(); }

  bool Open(ChannelError* error) override {
    if (fd_ >= 0) return true;
    struct stat st;
    if (stat(path_.c_str(), &st) != 0) return OpenFailed(error, "stat", errno);
    is_socket_ = S_ISSOCK(st.st_mode);
    return is_socket_ ? Connect(error) : OpenDevice(error);
  }

  bool Submit(const std::vector<std::uint8_t>& command, std::vector<std::uint8_t>* response,
              ChannelError* error) override {
    if (!Open(error)) return false;
    const bool ok = WriteAll(command, error) && ReadResponse(response, error);
    if (!ok) Close();  // the stream is out of step (or gone): start afresh next time
    return ok;
  }

  DeviceInfo Info() const override {
    DeviceInfo info;
    info.transport = is_socket_ ? "socket" : "device";
    info.tpm_version = 2;
    info.path = path_;
    return info;
  }

  void Close() override {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  bool OpenFailed(ChannelError* error, const char* api, int code) {
    std::string message;
    if (code == ENOENT || code == ENOTDIR) {
      message = "no TPM at " + path_ + ErrnoSuffix(code);
      if (path_ == kDefaultDevice) {
        message +=
            ": this system exposes no TPM 2.0 resource manager device; set "
            "WINDOWS_IOT_DM_TPM_DEVICE (or the path option) to a TPM device or simulator "
            "socket";
      }
    } else if (code == EACCES || code == EPERM) {
      message = "permission denied opening the TPM at " + path_ + ErrnoSuffix(code) +
                ": add the user to the tss group (or run as root)";
    } else if (code == ECONNREFUSED) {
      message = "nothing listens on the TPM socket " + path_ + ErrnoSuffix(code) +
                ": is the simulator running?";
    } else if (code == EBUSY) {
      message = "the TPM at " + path_ + " is busy" + ErrnoSuffix(code) +
                ": another program holds it (use /dev/tpmrm0, the resource-managed device)";
    } else {
      message = "cannot open the TPM at " + path_ + ErrnoSuffix(code);
    }
    SetErrno(error, api, code, std::move(message));
    return false;
  }

  bool OpenDevice(ChannelError* error) {
    int fd;
    do {
      fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return OpenFailed(error, "open", errno);
    fd_ = fd;
    return true;
  }

  bool Connect(ChannelError* error) {
    sockaddr_un address;
    std::memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (path_.size() >= sizeof address.sun_path) {
      return OpenFailed(error, "connect", ENAMETOOLONG);
    }
    std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return OpenFailed(error, "socket", errno);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
#ifdef SO_NOSIGPIPE
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    int rc;
    do {
      rc = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      const int code = errno;
      close(fd);
      return OpenFailed(error, "connect", code);
    }
    fd_ = fd;
    return true;
  }

  bool IoFailed(ChannelError* error, const char* api, int code) {
    SetErrno(error, api, code,
             std::string("the TPM at ") + path_ + " failed during " + api + ErrnoSuffix(code));
    return false;
  }

  bool WriteAll(const std::vector<std::uint8_t>& command, ChannelError* error) {
    std::size_t done = 0;
    while (done < command.size()) {
      ssize_t n;
      if (is_socket_) {
#ifdef MSG_NOSIGNAL
        n = send(fd_, command.data() + done, command.size() - done, MSG_NOSIGNAL);
#else
        n = send(fd_, command.data() + done, command.size() - done, 0);
#endif
      } else {
        n = write(fd_, command.data() + done, command.size() - done);
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IoFailed(error, is_socket_ ? "send" : "write", errno);
      if (n == 0) return IoFailed(error, "write", EIO);
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Waits until the socket is readable (sockets only; the device blocks in the kernel).
  bool WaitReadable(ChannelError* error) {
    if (!is_socket_ || timeout_ms_ == 0) return true;
    pollfd entry{fd_, POLLIN, 0};
    for (;;) {
      const int rc = poll(&entry, 1, static_cast<int>(timeout_ms_));
      if (rc > 0) return true;
      if (rc < 0 && errno == EINTR) continue;  // restarts the full wait: bounded by signals
      if (rc < 0) return IoFailed(error, "poll", errno);
      SetErrno(error, "poll", ETIMEDOUT,
               "the TPM at " + path_ + " did not answer within " + std::to_string(timeout_ms_) +
                   " ms (ETIMEDOUT)");
      return false;
    }
  }

  // Reads until `buffer` holds `want` bytes; `*eof` is set if the peer closed first.
  bool ReadUpTo(std::vector<std::uint8_t>* buffer, std::size_t want, bool* eof,
                ChannelError* error) {
    *eof = false;
    while (buffer->size() < want) {
      if (!WaitReadable(error)) return false;
      const std::size_t have = buffer->size();
      // The device returns the whole response to one read() (older kernels drop what a short
      // read leaves), so ask it for the maximum; ask a socket for exactly what is missing.
      const std::size_t room = is_socket_ ? want - have : kMaxResponseSize - have;
      buffer->resize(have + room);
      ssize_t n;
      do {
        n = read(fd_, buffer->data() + have, room);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        const int code = errno;
        buffer->resize(have);
        return IoFailed(error, "read", code);
      }
      buffer->resize(have + static_cast<std::size_t>(n));
      if (n == 0) {
        *eof = true;
        return true;
      }
    }
    return true;
  }

  bool Malformed(ChannelError* error, std::string detail) {
    error->kind = ChannelError::Kind::kMalformed;
    error->api = "read";
    error->message = "the TPM at " + path_ + " sent a malformed response: " + std::move(detail);
    return false;
  }

  bool ReadResponse(std::vector<std::uint8_t>* response, ChannelError* error) {
    response->clear();
    response->reserve(kMaxResponseSize);
    bool eof = false;
    if (!ReadUpTo(response, kHeaderSize, &eof, error)) return false;
    if (response->size() < kHeaderSize) {
      if (response->empty()) {
        SetErrno(error, "read", ECONNRESET,
                 "the TPM at " + path_ + " closed the connection without answering");
        return false;
      }
      return Malformed(
          error, "truncated: " + std::to_string(response->size()) + " bytes, less than a header");
    }
    std::size_t size = 0;
    std::string detail;
    if (!ParseResponseHeader(response->data(), &size, &detail)) return Malformed(error, detail);
    if (response->size() > size) {
      return Malformed(error, "the header announces " + std::to_string(size) + " bytes but " +
                                  std::to_string(response->size()) + " came");
    }
    if (!ReadUpTo(response, size, &eof, error)) return false;
    if (response->size() < size) {
      return Malformed(error, "truncated: " + std::to_string(response->size()) + " of the " +
                                  std::to_string(size) + " bytes the header announces");
    }
    return true;
  }

  std::string path_;
  std::uint32_t timeout_ms_;
  int fd_ = -1;
  bool is_socket_ = false;
};

}  // namespace

std::unique_ptr<TpmChannel> CreatePlatformChannel(const ChannelOptions& options) {
  return std::make_unique<PosixChannel>(options);
}

}  // namespace wdm::tpm
