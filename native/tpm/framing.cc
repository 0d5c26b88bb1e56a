// TPM 2.0 header checks (see framing.h).
#include "tpm/framing.h"

#include <cstdio>

namespace wdm::tpm {
namespace {

std::string Hex(std::uint32_t value, int digits) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%0*X", digits, static_cast<unsigned>(value));
  return buffer;
}

}  // namespace

bool CheckCommand(const std::uint8_t* data, std::size_t length, std::string* error) {
  if (length < kHeaderSize) {
    *error = "a TPM 2.0 command is at least " + std::to_string(kHeaderSize) + " bytes (got " +
             std::to_string(length) + ")";
    return false;
  }
  if (length > kMaxCommandSize) {
    *error = "a TPM 2.0 command is at most " + std::to_string(kMaxCommandSize) + " bytes (got " +
             std::to_string(length) + ")";
    return false;
  }
  const std::uint16_t tag = ReadU16(data);
  if (tag != kTagNoSessions && tag != kTagSessions) {
    *error = "the command tag " + Hex(tag, 4) +
             " is not TPM_ST_NO_SESSIONS (0x8001) or TPM_ST_SESSIONS (0x8002)";
    return false;
  }
  const std::uint32_t size = ReadU32(data + 2);
  if (size != length) {
    *error = "the command header says " + std::to_string(size) + " bytes but " +
             std::to_string(length) + " were given";
    return false;
  }
  return true;
}

std::string CommandLabel(const std::uint8_t* command) {
  return "TPM_CC " + Hex(ReadU32(command + 6), 8);
}

bool ParseResponseHeader(const std::uint8_t* header, std::size_t* size, std::string* error) {
  const std::uint16_t tag = ReadU16(header);
  if (tag != kTagNoSessions && tag != kTagSessions && tag != kTagRspCommand) {
    *error = "the response tag " + Hex(tag, 4) + " is not a TPM 2.0 response tag";
    return false;
  }
  const std::uint32_t announced = ReadU32(header + 2);
  if (announced < kHeaderSize) {
    *error = "the response header announces " + std::to_string(announced) +
             " bytes, less than the header itself";
    return false;
  }
  if (announced > kMaxResponseSize) {
    *error = "the response header announces " + std::to_string(announced) +
             " bytes, more than the " + std::to_string(kMaxResponseSize) + " accepted";
    return false;
  }
  *size = announced;
  return true;
}

bool CheckResponse(const std::uint8_t* data, std::size_t length, std::string* error) {
  if (length < kHeaderSize) {
    *error = "the response is truncated: " + std::to_string(length) + " bytes, less than a header";
    return false;
  }
  std::size_t size = 0;
  if (!ParseResponseHeader(data, &size, error)) return false;
  if (size != length) {
    *error = "the response header announces " + std::to_string(size) + " bytes but " +
             std::to_string(length) + " came";
    return false;
  }
  return true;
}

}  // namespace wdm::tpm
