// Tests of the TPM framing checks (native/tpm/framing.h) and of the POSIX channel
// (native/tpm/tpm_posix.cc) against a scripted TPM on a Unix socket served from a thread: answers
// dribbled out one byte at a time (short reads), truncated and oversized answers, a missing path.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "test/test_util.h"
#include "tpm/channel.h"
#include "tpm/framing.h"

namespace {

using Bytes = std::vector<std::uint8_t>;
using wdm::tpm::ChannelError;

Bytes GetRandom(std::uint16_t n) {
  return {0x80,
          0x01,
          0,
          0,
          0,
          12,
          0,
          0,
          0x01,
          0x7b,
          static_cast<std::uint8_t>(n >> 8),
          static_cast<std::uint8_t>(n)};
}

Bytes RandomAnswer(std::uint16_t n) {
  const std::uint32_t size = 12u + n;
  Bytes r = {0x80,
             0x01,
             static_cast<std::uint8_t>(size >> 24),
             static_cast<std::uint8_t>(size >> 16),
             static_cast<std::uint8_t>(size >> 8),
             static_cast<std::uint8_t>(size),
             0,
             0,
             0,
             0,
             static_cast<std::uint8_t>(n >> 8),
             static_cast<std::uint8_t>(n)};
  r.resize(size, 0xab);
  return r;
}

void TestCommandChecks() {
  std::string error;
  Bytes ok = GetRandom(8);
  CHECK(wdm::tpm::CheckCommand(ok.data(), ok.size(), &error));
  CHECK_EQ(wdm::tpm::CommandLabel(ok.data()), std::string("TPM_CC 0x0000017B"));
  CHECK(!wdm::tpm::CheckCommand(ok.data(), 9, &error));
  CHECK(error.find("at least 10 bytes") != std::string::npos);
  Bytes wrong_size = ok;
  wrong_size[5] = 13;
  CHECK(!wdm::tpm::CheckCommand(wrong_size.data(), wrong_size.size(), &error));
  CHECK(error.find("says 13 bytes but 12") != std::string::npos);
  Bytes tpm12 = ok;
  tpm12[0] = 0x00;
  tpm12[1] = 0xC1;
  CHECK(!wdm::tpm::CheckCommand(tpm12.data(), tpm12.size(), &error));
  CHECK(error.find("0x00C1") != std::string::npos);
  Bytes big(wdm::tpm::kMaxCommandSize + 1, 0);
  CHECK(!wdm::tpm::CheckCommand(big.data(), big.size(), &error));
}

void TestResponseChecks() {
  std::string error;
  std::size_t size = 0;
  Bytes answer = RandomAnswer(4);
  CHECK(wdm::tpm::ParseResponseHeader(answer.data(), &size, &error));
  CHECK_EQ(size, std::size_t{16});
  CHECK(wdm::tpm::CheckResponse(answer.data(), answer.size(), &error));
  CHECK(!wdm::tpm::CheckResponse(answer.data(), answer.size() - 1, &error));
  CHECK(!wdm::tpm::CheckResponse(answer.data(), 9, &error));
  // TPM_ST_RSP_COMMAND (a TPM 2.0's answer to a TPM 1.2 tag) is a response tag.
  const Bytes bad_tag = {0x00, 0xC4, 0, 0, 0, 10, 0, 0, 0x00, 0x1E};
  CHECK(wdm::tpm::CheckResponse(bad_tag.data(), bad_tag.size(), &error));
  const Bytes oversized = {0x80, 0x01, 0x00, 0x01, 0x80, 0x00, 0, 0, 0, 0};
  CHECK(!wdm::tpm::ParseResponseHeader(oversized.data(), &size, &error));
  CHECK(error.find("98304 bytes, more than the 8192") != std::string::npos);
  const Bytes undersized = {0x80, 0x01, 0, 0, 0, 9, 0, 0, 0, 0};
  CHECK(!wdm::tpm::ParseResponseHeader(undersized.data(), &size, &error));
  const Bytes no_tag = {0x12, 0x34, 0, 0, 0, 10, 0, 0, 0, 0};
  CHECK(!wdm::tpm::ParseResponseHeader(no_tag.data(), &size, &error));
}

// A one-connection scripted TPM on a Unix socket: `serve` gets the connected fd.
class FakeTpm {
 public:
  explicit FakeTpm(const std::string& path, std::function<void(int)> serve) : path_(path) {
    listener_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    unlink(path.c_str());
    bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    listen(listener_, 4);
    thread_ = std::thread([this, serve] {
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd >= 0) {
        serve(fd);
        close(fd);
      }
    });
  }
  ~FakeTpm() {
    thread_.join();
    close(listener_);
    unlink(path_.c_str());
  }

 private:
  std::string path_;
  int listener_ = -1;
  std::thread thread_;
};

Bytes ReadCommand(int fd) {
  Bytes command(12);
  std::size_t have = 0;
  while (have < command.size()) {
    const ssize_t n = read(fd, command.data() + have, command.size() - have);
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
  }
  command.resize(have);
  return command;
}

std::string TempSocket(const char* name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/wdm-tpm-test-" + std::to_string(getpid()) +
         "-" + name + ".sock";
}

void TestShortReads() {
  const std::string path = TempSocket("dribble");
  FakeTpm fake(path, [](int fd) {
    for (int round = 0; round < 2; ++round) {
      const Bytes command = ReadCommand(fd);
      const Bytes answer = RandomAnswer(command.size() == 12 ? command[11] : 0);
      for (std::uint8_t byte : answer) {  // one byte per write: the reader sees short reads
        if (write(fd, &byte, 1) != 1) return;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
  });
  wdm::tpm::ChannelOptions options;
  options.path = path;
  options.timeout_ms = 5000;
  auto channel = wdm::tpm::CreatePlatformChannel(options);
  Bytes response;
  ChannelError error;
  CHECK(channel->Submit(GetRandom(20), &response, &error));
  CHECK(response == RandomAnswer(20));
  CHECK(channel->Submit(GetRandom(3), &response, &error));
  CHECK(response == RandomAnswer(3));
  CHECK_EQ(channel->Info().transport, std::string("socket"));
  channel->Close();
}

void TestTruncatedAndOversized() {
  {
    const std::string path = TempSocket("truncated");
    FakeTpm fake(path, [](int fd) {
      ReadCommand(fd);
      const Bytes answer = RandomAnswer(16);
      if (write(fd, answer.data(), 15) != 15) return;  // then close
    });
    wdm::tpm::ChannelOptions options;
    options.path = path;
    auto channel = wdm::tpm::CreatePlatformChannel(options);
    Bytes response;
    ChannelError error;
    CHECK(!channel->Submit(GetRandom(16), &response, &error));
    CHECK(error.kind == ChannelError::Kind::kMalformed);
    CHECK(error.message.find("truncated: 15 of the 28 bytes") != std::string::npos);
  }
  {
    const std::string path = TempSocket("oversized");
    FakeTpm fake(path, [](int fd) {
      ReadCommand(fd);
      const Bytes header = {0x80, 0x01, 0x00, 0x01, 0x80, 0x00, 0, 0, 0, 0};
      if (write(fd, header.data(), header.size()) != 10) return;
    });
    wdm::tpm::ChannelOptions options;
    options.path = path;
    auto channel = wdm::tpm::CreatePlatformChannel(options);
    Bytes response;
    ChannelError error;
    CHECK(!channel->Submit(GetRandom(16), &response, &error));
    CHECK(error.kind == ChannelError::Kind::kMalformed);
    CHECK(error.message.find("more than the 8192 accepted") != std::string::npos);
  }
}

void TestMissingPath() {
  wdm::tpm::ChannelOptions options;
  options.path = "/nonexistent-wdm-dir/tpmrm0";
  auto channel = wdm::tpm::CreatePlatformChannel(options);
  ChannelError error;
  CHECK(!channel->Open(&error));
  CHECK(error.kind == ChannelError::Kind::kUnavailable);
  CHECK_EQ(error.os_error_name, std::string("ENOENT"));
  CHECK(error.message.rfind("no TPM at /nonexistent-wdm-dir/tpmrm0 (ENOENT", 0) == 0);
}

}  // namespace

int main() {
  RUN(TestCommandChecks);
  RUN(TestResponseChecks);
  RUN(TestShortReads);
  RUN(TestTruncatedAndOversized);
  RUN(TestMissingPath);
  return wdm::test::Finish("tpm_test");
}
