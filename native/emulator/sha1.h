// SHA-1 (FIPS 180-4) for the emulated certificate stores: Windows names a certificate's node by
// the SHA-1 of its DER encoding (its thumbprint). Not used for any security decision.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace wdm::emulator {

using Sha1Digest = std::array<std::uint8_t, 20>;

Sha1Digest Sha1(std::string_view data);

// Upper-case hex of the digest (40 characters), as Windows writes thumbprints.
std::string Sha1Hex(std::string_view data);

}  // namespace wdm::emulator
