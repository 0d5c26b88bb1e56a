// TPM 2.0 command/response framing shared by every channel (no I/O, no Node-API): the 10-byte
// header (tag u16be, size u32be, code u32be), the size bounds, and the checks applied to a
// command before it is sent and to a response before it is handed back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace wdm::tpm {

// TPM2 header: tag, size (of the whole command or response), command code / response code.
constexpr std::size_t kHeaderSize = 10;
// Largest command accepted and largest response read (TPM 2.0 implementations use 4096 for
// MAX_COMMAND_SIZE / MAX_RESPONSE_SIZE; twice that leaves room without trusting any size).
constexpr std::size_t kMaxCommandSize = 8192;
constexpr std::size_t kMaxResponseSize = 8192;

constexpr std::uint16_t kTagNoSessions = 0x8001;  // TPM_ST_NO_SESSIONS
constexpr std::uint16_t kTagSessions = 0x8002;    // TPM_ST_SESSIONS
// TPM_ST_RSP_COMMAND: a TPM 2.0 answers a TPM 1.2-tagged command with it (TPM_RC_BAD_TAG).
constexpr std::uint16_t kTagRspCommand = 0x00C4;

inline std::uint16_t ReadU16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t ReadU32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
}

// Checks a command: at least a header, at most kMaxCommandSize, a TPM 2.0 tag, and a header size
// equal to `length`. On failure `*error` says why (for a TypeError).
bool CheckCommand(const std::uint8_t* data, std::size_t length, std::string* error);

// The command code of a checked command (for error messages: "TPM_CC 0x0000017B").
std::string CommandLabel(const std::uint8_t* command);

// Reads a response header (`header` holds kHeaderSize bytes) and returns the total response size
// it announces in `*size`. False with `*error` when the tag is not a TPM 2.0 response tag or the
// size is below kHeaderSize or above kMaxResponseSize.
bool ParseResponseHeader(const std::uint8_t* header, std::size_t* size, std::string* error);

// Checks a complete response of `length` bytes: a valid header whose size equals `length`.
bool CheckResponse(const std::uint8_t* data, std::size_t length, std::string* error);

}  // namespace wdm::tpm
