// HealthAttestation (see health_attestation.h).
#include "emulator/health_attestation.h"

#include <cstdlib>

#include "emulator/behaviors.h"
#include "emulator/device_info.h"
#include "emulator/iso8601.h"
#include "emulator/sha256.h"

namespace wdm::emulator {
namespace {

// The value of a sibling leaf of the addressed node ("" when it does not exist).
std::string Sibling(const HookContext& ctx, const char* name) {
  Path path = ctx.path;
  if (path.empty()) return std::string();
  path.back() = name;
  const Instance* node = ctx.tree.Find(path);
  return node == nullptr ? std::string() : node->value;
}

// DeviceStatus/SecureBootState as a Get answers it: the value the device profile (or state) put
// in the node when it differs from the schema's start value, else the host's (device_info.cc).
int SecureBootStateOf(const HookContext& ctx) {
  const Path path{"Device", "Vendor", "MSFT", "DeviceStatus", "SecureBootState"};
  const Instance* node = ctx.tree.Find(path);
  if (node != nullptr && node->schema != nullptr && node->value != node->schema->StartValue()) {
    return static_cast<int>(std::strtol(node->value.c_str(), nullptr, 10));
  }
  return static_cast<int>(ctx.host.Identity().secure_boot);
}

int PreferredVersion(const HookContext& ctx) {
  const std::string text = Sibling(ctx, "PreferredMaxProtocolVersion");
  const long value =
      text.empty() ? kHealthMaxProtocolVersion : std::strtol(text.c_str(), nullptr, 10);
  return value < 1 ? 1 : (value > 1000 ? 1000 : static_cast<int>(value));
}

int VerifyHealth(HookContext& ctx, const std::optional<std::string>&) {
  HealthAttestationState& health = ctx.state.health;
  if (Sibling(ctx, "HASEndpoint").empty()) {
    health.status = kHealthEndpointUnreachable;
    return 200;
  }
  const std::int64_t now = ctx.host.Now();
  ++health.requests;
  health.correlation_id =
      DigestToGuid(Sha256("HealthAttestation/CorrelationID:" + ctx.host.Identity().stable_id + ":" +
                          std::to_string(health.requests) + ":" + std::to_string(now)));
  if (health.issued == 0 || Sibling(ctx, "ForceRetrieve") == "true") health.issued = now;
  health.status = kHealthRequested;
  return 200;
}

int Status(HookContext& ctx, std::string* value) {
  HealthAttestationState& health = ctx.state.health;
  *value = std::to_string(health.status);
  if (health.status == kHealthRequested) health.status = kHealthComplete;  // seen once
  return 200;
}

int Certificate(HookContext& ctx, std::string* value) {
  const HealthAttestationState& health = ctx.state.health;
  if (health.status != kHealthComplete) return 404;
  std::string text = "EMULATED DHA-Data (windows-iot-dm CSP emulator; not a health certificate)\n";
  text += "Version: 1\n";
  text += "DevId: " + DeviceId(ctx.host.Identity()) + "\n";
  text += "Nonce: " + Sibling(ctx, "Nonce") + "\n";
  text += "CorrelationID: " + health.correlation_id + "\n";
  text += "Issued: " + FormatIsoUtc(health.issued) + "\n";
  text += "HASEndpoint: " + Sibling(ctx, "HASEndpoint") + "\n";
  const TpmFacts& tpm = ctx.host.Identity().tpm;
  text += std::string("TpmPresent: ") + (tpm.present ? "true" : "false") + "\n";
  text += std::string("AIKPresent: ") + (tpm.present ? "true" : "false") + "\n";
  text +=
      "TpmVersion: " + (tpm.present && !tpm.spec_version.empty() ? tpm.spec_version : "") + "\n";
  const int secure_boot = SecureBootStateOf(ctx);
  text += "SecureBootState: " + std::to_string(secure_boot) + "\n";
  text += std::string("SecureBootEnabled: ") +
          (secure_boot == static_cast<int>(SecureBootState::kEnabled) ? "true" : "false") + "\n";
  text += "RestartCount: " + std::to_string(ctx.state.reboot_count) + "\n";
  text += "Digest: " + Sha256Hex(text) + "\n";
  *value = Base64Encode(text);
  return 200;
}

int CorrelationId(HookContext& ctx, std::string* value) {
  if (ctx.state.health.correlation_id.empty()) return 404;
  *value = ctx.state.health.correlation_id;
  return 200;
}

int WriteNonce(HookContext&, std::string* data) { return IsValidNonce(*data) ? 200 : 400; }

int WriteEndpoint(HookContext&, std::string* data) { return IsValidEndpoint(*data) ? 200 : 400; }

int WritePreferredVersion(HookContext&, std::string* data) {
  return std::strtol(data->c_str(), nullptr, 10) >= 1 ? 200 : 400;  // int format checked already
}

int TpmReady(HookContext& ctx, std::string* value) {
  *value = ctx.host.Identity().tpm.present ? "1" : "0";
  return 200;
}

int MaxVersion(HookContext&, std::string* value) {
  *value = std::to_string(kHealthMaxProtocolVersion);
  return 200;
}

int CurrentVersion(HookContext& ctx, std::string* value) {
  const int preferred = PreferredVersion(ctx);
  *value =
      std::to_string(preferred < kHealthMaxProtocolVersion ? preferred : kHealthMaxProtocolVersion);
  return 200;
}

}  // namespace

std::string Base64Encode(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = bytes.size() - i < 3 ? bytes.size() - i : 3;
    std::uint32_t chunk = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (n > 1) chunk |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (n > 2) chunk |= static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(chunk >> 18) & 63]);
    out.push_back(kAlphabet[(chunk >> 12) & 63]);
    out.push_back(n > 1 ? kAlphabet[(chunk >> 6) & 63] : '=');
    out.push_back(n > 2 ? kAlphabet[chunk & 63] : '=');
  }
  return out;
}

bool IsValidNonce(const std::string& text) {
  if (text.size() < 16 || text.size() > 64 || text.size() % 2 != 0) return false;
  for (char c : text) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

bool IsValidEndpoint(const std::string& text) {
  if (text.empty()) return true;
  if (text.size() > 255 || text.front() == '.' || text.find("..") != std::string::npos) {
    return false;
  }
  std::size_t label = 0;
  for (char c : text) {
    if (c == '.') {
      label = 0;
      continue;
    }
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || ++label > 63) return false;
  }
  return true;
}

void RegisterHealthAttestationBehaviors(Behaviors* b) {
  const std::string ha = "./Device/Vendor/MSFT/HealthAttestation";
  NodeHooks hooks;
  hooks.exec = VerifyHealth;
  b->Register(ha + "/VerifyHealth", hooks);
  auto get = [b, &ha](const char* name, int (*fn)(HookContext&, std::string*)) {
    NodeHooks h;
    h.get = fn;
    b->Register(ha + "/" + name, h);
  };
  auto write = [b, &ha](const char* name, int (*fn)(HookContext&, std::string*)) {
    NodeHooks h;
    h.write = fn;
    b->Register(ha + "/" + name, h);
  };
  get("Status", Status);
  get("Certificate", Certificate);
  get("CorrelationID", CorrelationId);
  get("TpmReadyStatus", TpmReady);
  get("MaxSupportedProtocolVersion", MaxVersion);
  get("CurrentProtocolVersion", CurrentVersion);
  write("Nonce", WriteNonce);
  write("HASEndpoint", WriteEndpoint);
  write("PreferredMaxProtocolVersion", WritePreferredVersion);
}

}  // namespace wdm::emulator
