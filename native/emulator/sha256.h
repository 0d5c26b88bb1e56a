// SHA-256 (FIPS 180-4) for the emulator's derived identifiers: stable device ids hashed from the
// host's machine id (never exposed raw) and the emulated health-attestation blob's digest.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace wdm::emulator {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);

// Lower-case hex of the digest (64 characters).
std::string Sha256Hex(std::string_view data);

// Formats 16 bytes of `digest` as an RFC 4122 name-based GUID (version 5 style bits):
// "xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx", upper-case hex.
std::string DigestToGuid(const Sha256Digest& digest);

}  // namespace wdm::emulator
