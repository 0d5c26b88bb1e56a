// HealthAttestation CSP (legacy DHA-Service flow), emulated: registered by
// RegisterHealthAttestationBehaviors (behaviors.h), state in BehaviorState::health.
//
// Nodes (./Device/Vendor/MSFT/HealthAttestation/..., formats and access from the DDF):
//   VerifyHealth (null, Exec)  starts a request: with HASEndpoint "" the request fails at once
//                    (Status 404, "endpoint not reachable"); otherwise Status becomes 1, the
//                    request gets a new CorrelationID, and the certificate's issue time is set to
//                    now when there is none yet or ForceRetrieve is "true" (else the cached one
//                    is kept, as the device reuses its DHA-EncBlob). The Exec itself answers 200.
//   Status (int, Get)   0 before any request. THE TIMING RULE: after VerifyHealth, the first Get
//                    of Status answers 1 (requested) and moves the request to 3 (complete); every
//                    later Get answers 3 until the next VerifyHealth. Deterministic, no clock.
//   Certificate (chr, Get)  only when Status is 3 (else 404): base64 of an emulated, clearly
//                    marked DHA-Data text ("EMULATED DHA-Data ...") holding DevId, Nonce,
//                    CorrelationID, issue time (Issued), HASEndpoint, TpmPresent, AIKPresent (the
//                    TPM's presence), TpmVersion, SecureBootState (0/1/2, as DeviceStatus/
//                    SecureBootState answers it: the profile's value when it set one, else the
//                    host's), SecureBootEnabled (true iff that state is 1), RestartCount (the
//                    emulated reboots) and a SHA-256 "Digest" of those lines. Same inputs -> same
//                    blob. Not a real health certificate: the digest detects a corrupted or
//                    edited text, it proves nothing (no key: a verifier trusts the transport,
//                    see docs/attest.md).
//   CorrelationID (chr, Get)  the GUID of the last request; 404 before the first.
//   Nonce (chr, Get/Replace)  DDF: hex, 8 to 32 bytes -> 16 to 64 hex digits (even count);
//                    anything else -> 400. Initial value the DDF default "\0".
//   HASEndpoint (chr, Get/Replace)  an FQDN (letters, digits, '-', '.'; at most 255) or "";
//                    anything else (a URL, spaces) -> 400. Initial value the DDF default
//                    "has.spserv.microsoft.com.".
//   ForceRetrieve (bool, Get/Replace)  stored; read by VerifyHealth.
//   TpmReadyStatus (int, Get)  1 when a TPM is visible to the host, else 0.
//   MaxSupportedProtocolVersion (int, Get) 3; PreferredMaxProtocolVersion (int, Get/Replace,
//                    default 3, must be >= 1 else 400); CurrentProtocolVersion (int, Get) the
//                    smaller of the two.
#pragma once

#include <string>

namespace wdm::emulator {

constexpr int kHealthUninitialized = 0;
constexpr int kHealthRequested = 1;
constexpr int kHealthComplete = 3;
constexpr int kHealthEndpointUnreachable = 404;
constexpr int kHealthMaxProtocolVersion = 3;

// Standard base64 with padding (exposed for tests).
std::string Base64Encode(const std::string& bytes);
// 16-64 hex digits, even count.
bool IsValidNonce(const std::string& text);
// "" or an FQDN as accepted by HASEndpoint.
bool IsValidEndpoint(const std::string& text);

}  // namespace wdm::emulator
