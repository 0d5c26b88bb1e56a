// DevDetail, DevInfo and DeviceStatus values computed from the host (see device_info.h).
#include "emulator/device_info.h"

#include <cstdio>
#include <string>
#include <vector>

#include "emulator/behaviors.h"
#include "emulator/iso8601.h"
#include "emulator/sha256.h"

namespace wdm::emulator {
namespace {

constexpr const char* kUnknown = "Unknown";             // DevInfo Man/Mod: "If no name is found"
constexpr const char* kNotAvailable = "Not available";  // DeviceStatus/TPM DefaultValue

std::string OrUnknown(const std::string& text) { return text.empty() ? kUnknown : text; }

int Set(std::string* value, std::string text) {
  *value = std::move(text);
  return 200;
}

int SetInt(std::string* value, long long number) { return Set(value, std::to_string(number)); }

std::string Megabytes(std::uint64_t bytes) { return std::to_string(bytes / (1024 * 1024)); }

// ---- DevDetail

int SwV(HookContext& ctx, std::string* value) {
  return Set(value, WindowsStyleVersion(ctx.host.Identity().kernel_release));
}
int DevTyp(HookContext& ctx, std::string* value) {
  const HostIdentity& id = ctx.host.Identity();
  return Set(value, OrUnknown(id.product_name.empty() ? id.board_model : id.product_name));
}
int Oem(HookContext& ctx, std::string* value) {
  return Set(value, OrUnknown(ctx.host.Identity().sys_vendor));
}
// DDF: desktop editions report the BIOS version for both FwV and HwV.
int BiosVersion(HookContext& ctx, std::string* value) {
  return Set(value, OrUnknown(ctx.host.Identity().bios_version));
}
int ProcessorArchitectureHook(HookContext& ctx, std::string* value) {
  return SetInt(value, ProcessorArchitecture(ctx.host.Identity().machine));
}
int ProcessorTypeHook(HookContext& ctx, std::string* value) {
  return SetInt(value, ProcessorType(ctx.host.Identity().machine));
}
int OsPlatform(HookContext& ctx, std::string* value) {
  return Set(value, OrUnknown(ctx.host.Identity().os_pretty_name));
}
int LocalTime(HookContext& ctx, std::string* value) {
  const std::int64_t now = ctx.host.Now();
  return Set(value, FormatIsoLocal(now, ctx.host.UtcOffset(now)));
}
int HostName(HookContext& ctx, std::string* value) { return Set(value, ctx.host.HostName()); }
// DNSComputerName Replace: macros expanded, then a DNS label; the tree stores the result.
int ReplaceDnsComputerName(HookContext& ctx, std::string* data) {
  std::string name;
  if (!ExpandDnsComputerName(*data, SmbiosSerial(ctx.host.Identity()), &ctx.state.sequence,
                             &name)) {
    return 400;
  }
  *data = name;
  return 200;
}
int TotalRam(HookContext& ctx, std::string* value) {
  return Set(value, Megabytes(ctx.host.TotalRamBytes()));
}
int TotalStorage(HookContext& ctx, std::string* value) {
  std::uint64_t total = 0, available = 0;
  if (!ctx.host.Storage(&total, &available)) return 404;
  return Set(value, Megabytes(total));
}
int FreeStorage(HookContext& ctx, std::string* value) {
  std::uint64_t total = 0, available = 0;
  if (!ctx.host.Storage(&total, &available)) return 404;
  return Set(value, Megabytes(available));
}
int SmbiosSerialHook(HookContext& ctx, std::string* value) {
  return Set(value, SmbiosSerial(ctx.host.Identity()));
}
int SystemSku(HookContext& ctx, std::string* value) {
  return Set(value, ctx.host.Identity().product_sku);
}
int NoCellular(HookContext&, std::string*) { return 404; }  // DDF: 404 without a cellular radio

// ---- DevInfo

int DevId(HookContext& ctx, std::string* value) {
  return Set(value, DeviceId(ctx.host.Identity()));
}
int Man(HookContext& ctx, std::string* value) {
  return Set(value, OrUnknown(ctx.host.Identity().sys_vendor));
}
int Mod(HookContext& ctx, std::string* value) {
  const HostIdentity& id = ctx.host.Identity();
  return Set(value, OrUnknown(id.product_name.empty() ? id.board_model : id.product_name));
}
int Lang(HookContext& ctx, std::string* value) { return Set(value, ctx.host.Identity().language); }

// ---- DeviceStatus

int SecureBoot(HookContext& ctx, std::string* value) {
  return SetInt(value, static_cast<int>(ctx.host.Identity().secure_boot));
}
int OsEdition(HookContext& ctx, std::string* value) {
  const HostIdentity& id = ctx.host.Identity();
  std::string text = id.os_name;
  if (!id.os_version_id.empty()) text += (text.empty() ? "" : " ") + id.os_version_id;
  return Set(value, text.empty() ? kNotAvailable : text);
}
int OsMode(HookContext&, std::string* value) { return SetInt(value, 0); }  // standard, not S mode
int DomainName(HookContext& ctx, std::string* value) {
  const std::string host = ctx.host.HostName();
  const std::size_t dot = host.find('.');
  return Set(value, dot == std::string::npos ? std::string() : host.substr(dot + 1));
}
int BatteryStatus(HookContext& ctx, std::string* value) {
  return SetInt(value, BatteryFlag(ctx.host.Battery()));
}
int BatteryCharge(HookContext& ctx, std::string* value) {
  const BatteryFacts battery = ctx.host.Battery();
  return SetInt(value, battery.present ? battery.percent : -1);
}
int BatteryRuntime(HookContext& ctx, std::string* value) {
  const BatteryFacts battery = ctx.host.Battery();
  return SetInt(value, battery.present ? battery.seconds_left : -1);
}
int TpmSpec(HookContext& ctx, std::string* value) {
  const TpmFacts& tpm = ctx.host.Identity().tpm;
  return Set(value, tpm.present && !tpm.spec_version.empty() ? tpm.spec_version : kNotAvailable);
}
int TpmManufacturerId(HookContext& ctx, std::string* value) {
  const TpmFacts& tpm = ctx.host.Identity().tpm;
  if (!tpm.present || !tpm.manufacturer) return Set(value, kNotAvailable);
  return Set(value, std::to_string(*tpm.manufacturer));
}
int TpmManufacturerIdTxt(HookContext& ctx, std::string* value) {
  const TpmFacts& tpm = ctx.host.Identity().tpm;
  if (!tpm.present || !tpm.manufacturer) return Set(value, kNotAvailable);
  std::string text;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const char c = static_cast<char>((*tpm.manufacturer >> shift) & 0xFF);
    if (c > ' ' && c < 0x7F) text.push_back(c);
  }
  return Set(value, text);
}
int TpmManufacturerVersion(HookContext& ctx, std::string* value) {
  const TpmFacts& tpm = ctx.host.Identity().tpm;
  return Set(value,
             tpm.present && !tpm.firmware_version.empty() ? tpm.firmware_version : kNotAvailable);
}
// No Hyper-V on a Linux host: VBS and its features are "not configured"; the hardware
// requirement mask says Hyper-V is unavailable (0x8) and, without Secure Boot, that it is
// required (0x1).
int VbsHwReq(HookContext& ctx, std::string* value) {
  const bool secure = ctx.host.Identity().secure_boot == SecureBootState::kEnabled;
  return SetInt(value, 0x8 | (secure ? 0 : 0x1));
}
int VbsStatus(HookContext&, std::string* value) { return SetInt(value, 4); }
int CredGuardStatus(HookContext&, std::string* value) { return SetInt(value, 3); }
int HvciStatus(HookContext&, std::string* value) { return SetInt(value, 2); }
int SystemGuardStatus(HookContext&, std::string* value) { return SetInt(value, 2); }
int BootDmaProtection(HookContext& ctx, std::string* value) {
  return SetInt(value, ctx.host.Identity().iommu ? 1 : 2);
}

// NetworkIdentifiers/<MAC>: one instance per network card with a hardware address.
std::vector<std::string> NetworkCards(HookContext& ctx) {
  std::vector<std::string> names;
  for (const NetInterface& card : ctx.host.Interfaces()) names.push_back(card.mac);
  return names;
}
// The card of ./Device/Vendor/MSFT/DeviceStatus/NetworkIdentifiers/<MAC>/<leaf>.
bool FindCard(HookContext& ctx, NetInterface* out) {
  if (ctx.path.size() < 2) return false;
  const std::string& mac = ctx.path[ctx.path.size() - 2];
  for (const NetInterface& card : ctx.host.Interfaces()) {
    if (card.mac == mac) {
      *out = card;
      return true;
    }
  }
  return false;
}
int CardIpv4(HookContext& ctx, std::string* value) {
  NetInterface card;
  return FindCard(ctx, &card) ? Set(value, card.ipv4) : 404;
}
int CardIpv6(HookContext& ctx, std::string* value) {
  NetInterface card;
  return FindCard(ctx, &card) ? Set(value, card.ipv6) : 404;
}
int CardConnected(HookContext& ctx, std::string* value) {
  NetInterface card;
  return FindCard(ctx, &card) ? Set(value, card.connected ? "true" : "false") : 404;
}
int CardType(HookContext& ctx, std::string* value) {
  NetInterface card;
  return FindCard(ctx, &card) ? SetInt(value, card.type) : 404;
}

// A host-derived default: a value the profile or a Replace set wins (behaviors.h).
NodeHooks Host(int (*get)(HookContext&, std::string*),
               int (*write)(HookContext&, std::string*) = nullptr) {
  NodeHooks hooks;
  hooks.get = get;
  hooks.write = write;
  hooks.overridable = true;
  return hooks;
}

}  // namespace

std::string WindowsStyleVersion(const std::string& release) {
  // The first four runs of digits: "6.1.0-18-amd64" -> "6.1.0.18"; missing parts are 0.
  std::vector<std::string> runs;
  std::string run;
  for (std::size_t i = 0; i <= release.size() && runs.size() < 4; ++i) {
    const char c = i < release.size() ? release[i] : ' ';
    if (c >= '0' && c <= '9') {
      if (run.size() < 9) run.push_back(c);
    } else if (!run.empty()) {
      runs.push_back(run);
      run.clear();
    }
  }
  while (runs.size() < 4) runs.emplace_back("0");
  return runs[0] + "." + runs[1] + "." + runs[2] + "." + runs[3];
}

int ProcessorArchitecture(const std::string& machine) {
  if (machine == "x86_64" || machine == "amd64") return 9;    // PROCESSOR_ARCHITECTURE_AMD64
  if (machine == "aarch64" || machine == "arm64") return 12;  // PROCESSOR_ARCHITECTURE_ARM64
  if (machine.rfind("arm", 0) == 0) return 5;                 // PROCESSOR_ARCHITECTURE_ARM
  if (machine == "ia64") return 6;                            // PROCESSOR_ARCHITECTURE_IA64
  if (machine == "i386" || machine == "i486" || machine == "i586" || machine == "i686" ||
      machine == "x86") {
    return 0;  // PROCESSOR_ARCHITECTURE_INTEL
  }
  return 0xFFFF;  // PROCESSOR_ARCHITECTURE_UNKNOWN
}

int ProcessorType(const std::string& machine) {
  if (machine == "x86_64" || machine == "amd64") return 8664;  // PROCESSOR_AMD_X8664
  if (machine == "ia64") return 2200;                          // PROCESSOR_INTEL_IA64
  if (machine == "i386") return 386;
  if (machine == "i486") return 486;
  if (machine == "i586" || machine == "i686" || machine == "x86") return 586;
  return 0;  // no SYSTEM_INFO constant (ARM)
}

std::string DeviceId(const HostIdentity& id) {
  // Every Get of ./DevInfo/DevId lands here: remember the last answer (per thread, so no lock)
  // keyed by its only input.
  thread_local std::string cached_input;
  thread_local std::string cached_id;
  if (cached_id.empty() || cached_input != id.stable_id) {
    cached_id = DigestToGuid(Sha256("DevInfo/DevId:" + id.stable_id));
    cached_input = id.stable_id;
  }
  return cached_id;
}

std::string SmbiosSerial(const HostIdentity& id) {
  const std::string& serial = id.product_serial;
  if (!serial.empty() && serial != "None" && serial != "Not Specified" &&
      serial != "To be filled by O.E.M." && serial != "0") {
    return serial;
  }
  std::string hex = Sha256Hex("SMBIOSSerialNumber:" + id.stable_id).substr(0, 12);
  for (char& c : hex) {
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  return "EMU-" + hex;
}

int BatteryFlag(const BatteryFacts& battery) {
  if (!battery.present) return 128;     // no system battery
  if (battery.percent < 0) return 255;  // unknown status
  int flag = 0;
  if (battery.percent > 66)
    flag |= 1;  // high
  else if (battery.percent < 5)
    flag |= 4;  // critical
  else if (battery.percent < 33)
    flag |= 2;  // low
  if (battery.charging) flag |= 8;
  return flag;
}

bool ExpandDnsComputerName(const std::string& pattern, const std::string& serial,
                           std::int64_t* sequence, std::string* out) {
  out->clear();
  // %RAND:n% wins over %SERIAL% (DDF): with both, %SERIAL% expands to nothing.
  const bool has_rand = pattern.find("%RAND:") != std::string::npos;
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern.compare(i, 6, "%RAND:") == 0) {
      const std::size_t end = pattern.find('%', i + 6);
      if (end == std::string::npos || end == i + 6 || end - (i + 6) > 2) return false;
      int digits = 0;
      for (std::size_t j = i + 6; j < end; ++j) {
        if (pattern[j] < '0' || pattern[j] > '9') return false;
        digits = digits * 10 + (pattern[j] - '0');
      }
      if (digits < 1 || digits > 15) return false;
      // Deterministic digits: a hash of a counter kept in the state (rolls back with it).
      const std::string hex = Sha256Hex("RAND:" + std::to_string((*sequence)++));
      for (int d = 0; d < digits; ++d) {
        out->push_back(static_cast<char>('0' + (hex[static_cast<std::size_t>(d)] % 10)));
      }
      i = end + 1;
    } else if (pattern.compare(i, 8, "%SERIAL%") == 0) {
      if (!has_rand) {
        for (char c : serial) {
          const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-';
          if (ok) out->push_back(c);
        }
      }
      i += 8;
    } else {
      out->push_back(pattern[i++]);
    }
  }
  // A DNS host label: 1-63 letters, digits and hyphens, not starting or ending with a hyphen,
  // not all digits.
  if (out->empty() || out->size() > 63 || out->front() == '-' || out->back() == '-') return false;
  bool any_letter = false;
  for (char c : *out) {
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    const bool ok = letter || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
    any_letter = any_letter || letter || c == '-';
  }
  return any_letter;
}

void RegisterDeviceInfoBehaviors(Behaviors* b) {
  const std::string dd = "./DevDetail";
  const std::string ms = dd + "/Ext/Microsoft";
  b->Register(dd + "/DevTyp", Host(DevTyp));
  b->Register(dd + "/OEM", Host(Oem));
  b->Register(dd + "/FwV", Host(BiosVersion));
  b->Register(dd + "/SwV", Host(SwV));
  b->Register(dd + "/HwV", Host(BiosVersion));
  b->Register(ms + "/ProcessorArchitecture", Host(ProcessorArchitectureHook));
  b->Register(ms + "/ProcessorType", Host(ProcessorTypeHook));
  b->Register(ms + "/OSPlatform", Host(OsPlatform));
  NodeHooks clock;  // always now: not overridable
  clock.get = LocalTime;
  b->Register(ms + "/LocalTime", clock);
  b->Register(ms + "/DeviceName", Host(HostName));
  b->Register(ms + "/DNSComputerName", Host(HostName, ReplaceDnsComputerName));
  b->Register(ms + "/TotalStorage", Host(TotalStorage));
  b->Register(ms + "/FreeStorage", Host(FreeStorage));
  b->Register(ms + "/TotalRAM", Host(TotalRam));
  b->Register(ms + "/SMBIOSSerialNumber", Host(SmbiosSerialHook));
  b->Register(ms + "/SystemSKU", Host(SystemSku));
  b->Register(ms + "/MobileID", Host(NoCellular));
  b->Register(ms + "/CommercializationOperator", Host(NoCellular));

  b->Register("./DevInfo/DevId", Host(DevId));
  b->Register("./DevInfo/Man", Host(Man));
  b->Register("./DevInfo/Mod", Host(Mod));
  b->Register("./DevInfo/Lang", Host(Lang));

  const std::string ds = "./Device/Vendor/MSFT/DeviceStatus";
  b->Register(ds + "/SecureBootState", Host(SecureBoot));
  b->Register(ds + "/OS/Edition", Host(OsEdition));
  b->Register(ds + "/OS/Mode", Host(OsMode));
  b->Register(ds + "/DomainName", Host(DomainName));
  b->Register(ds + "/Battery/Status", Host(BatteryStatus));
  b->Register(ds + "/Battery/EstimatedChargeRemaining", Host(BatteryCharge));
  b->Register(ds + "/Battery/EstimatedRuntime", Host(BatteryRuntime));
  b->Register(ds + "/TPM/SpecificationVersion", Host(TpmSpec));
  b->Register(ds + "/TPM/ManufacturerId", Host(TpmManufacturerId));
  b->Register(ds + "/TPM/ManufacturerIdTxt", Host(TpmManufacturerIdTxt));
  b->Register(ds + "/TPM/ManufacturerVersion", Host(TpmManufacturerVersion));
  b->Register(ds + "/DeviceGuard/VirtualizationBasedSecurityHwReq", Host(VbsHwReq));
  b->Register(ds + "/DeviceGuard/VirtualizationBasedSecurityStatus", Host(VbsStatus));
  b->Register(ds + "/DeviceGuard/LsaCfgCredGuardStatus", Host(CredGuardStatus));
  b->Register(ds + "/DeviceGuard/HypervisorEnforcedCodeIntegrityStatus", Host(HvciStatus));
  b->Register(ds + "/DeviceGuard/SystemGuardStatus", Host(SystemGuardStatus));
  b->Register(ds + "/DMA/BootDMAProtectionStatus", Host(BootDmaProtection));
  NodeHooks cards;
  cards.children = NetworkCards;
  b->Register(ds + "/NetworkIdentifiers", cards);
  b->Register(ds + "/NetworkIdentifiers/<x>/IPAddressV4", Host(CardIpv4));
  b->Register(ds + "/NetworkIdentifiers/<x>/IPAddressV6", Host(CardIpv6));
  b->Register(ds + "/NetworkIdentifiers/<x>/IsConnected", Host(CardConnected));
  b->Register(ds + "/NetworkIdentifiers/<x>/Type", Host(CardType));
}

}  // namespace wdm::emulator
