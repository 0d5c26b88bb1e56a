// What the emulated device knows about the machine it runs on: the facts behind DevDetail,
// DevInfo, DeviceStatus and HealthAttestation values. SystemHost reads them from the host
// (Linux: uname, /etc/os-release, /sys, getifaddrs, statvfs; Windows: the cheap Win32 calls,
// the rest reported unknown); FixedHost holds fixed facts for tests. Nothing here changes the
// host: no rename, no reboot, no wipe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wdm::emulator {

enum class SecureBootState { kNotSupported = 0, kEnabled = 1, kDisabled = 2 };

struct TpmFacts {
  bool present = false;      // /sys/class/tpm/tpm0 (or /dev/tpmrm0) exists
  std::string spec_version;  // "2.0, 0, 1.38" (family, level, revision) or "2.0"/"1.2"
  std::optional<std::uint32_t> manufacturer;  // TPM_PT_MANUFACTURER: 4 ASCII bytes, big-endian
  std::string firmware_version;               // "7.85.4555.0" from TPM_PT_FIRMWARE_VERSION_1/_2
};

struct NetInterface {
  std::string name;        // kernel name ("eth0")
  std::string mac;         // 12 upper-case hex digits, no separators ("0A1B2C3D4E5F")
  std::string ipv4;        // first IPv4 address, "" if none
  std::string ipv6;        // first non-link-local IPv6 address (else a link-local one), "" if none
  bool connected = false;  // administratively up and carrier/running
  int type = 0;            // DeviceStatus NetworkIdentifiers Type: 2 wireless, 1 wired, 0 unknown
};

struct BatteryFacts {
  bool present = false;  // a system battery (not a peripheral's)
  int percent = -1;      // 0-100, -1 unknown
  bool charging = false;
  bool on_ac = true;               // external power present (true when no battery)
  std::int64_t seconds_left = -1;  // estimated runtime on battery, -1 unknown or on AC
};

// Facts that do not change while the process runs.
struct HostIdentity {
  std::string kernel_release;  // uname -r ("6.1.0-18-amd64")
  std::string machine;         // uname -m ("x86_64", "aarch64")
  std::string os_name;         // os-release NAME ("Debian GNU/Linux")
  std::string os_version_id;   // os-release VERSION_ID ("12")
  std::string os_pretty_name;  // os-release PRETTY_NAME
  // SMBIOS/DMI strings ("" when unreadable or absent).
  std::string sys_vendor, product_name, product_version, product_serial, product_sku;
  std::string bios_version;
  std::string board_model;  // device-tree model (ARM boards), ""
  // SHA-256 hex of a salted machine id (/etc/machine-id); the raw id is never kept.
  std::string stable_id;
  std::string language;  // BCP 47 from the locale ("en-US" when unknown)
  SecureBootState secure_boot = SecureBootState::kNotSupported;
  bool iommu = false;  // an IOMMU is active (DMA protection)
  TpmFacts tpm;
};

class DeviceHost {
 public:
  virtual ~DeviceHost() = default;
  virtual const HostIdentity& Identity() const = 0;
  virtual std::string HostName() const = 0;
  virtual std::int64_t Now() const = 0;                        // Unix seconds
  virtual int UtcOffset(std::int64_t unix_seconds) const = 0;  // local zone, seconds east
  // When the host last booted, in ms since the Unix epoch (Linux: /proc/stat btime, else
  // CLOCK_REALTIME - CLOCK_BOOTTIME; Windows: now - GetTickCount64()); 0 when unknown.
  virtual std::int64_t BootTimeMs() const = 0;
  virtual std::uint64_t TotalRamBytes() const = 0;
  // The system drive ("/"): total and available bytes; false when unknown.
  virtual bool Storage(std::uint64_t* total, std::uint64_t* available) const = 0;
  virtual std::vector<NetInterface> Interfaces() const = 0;
  virtual BatteryFacts Battery() const = 0;
};

// The real machine. Identity() is read once, on first use.
std::unique_ptr<DeviceHost> NewSystemHost();

// Fixed facts (tests). `now` advances only when a test changes it.
class FixedHost : public DeviceHost {
 public:
  HostIdentity identity;
  std::string host_name = "fixed-host";
  std::int64_t now = 1767236400;  // 2026-01-01T03:00:00Z
  int utc_offset = 0;
  std::int64_t boot_time_ms = 1767232800000;  // 2026-01-01T02:00:00Z, an hour before `now`
  std::uint64_t total_ram = 4096ull << 20;
  std::uint64_t storage_total = 65536ull << 20;
  std::uint64_t storage_available = 32768ull << 20;
  std::vector<NetInterface> interfaces;
  BatteryFacts battery;

  const HostIdentity& Identity() const override { return identity; }
  std::string HostName() const override { return host_name; }
  std::int64_t Now() const override { return now; }
  int UtcOffset(std::int64_t) const override { return utc_offset; }
  std::int64_t BootTimeMs() const override { return boot_time_ms; }
  std::uint64_t TotalRamBytes() const override { return total_ram; }
  bool Storage(std::uint64_t* total, std::uint64_t* available) const override {
    *total = storage_total;
    *available = storage_available;
    return true;
  }
  std::vector<NetInterface> Interfaces() const override { return interfaces; }
  BatteryFacts Battery() const override { return battery; }
};

// Parses a TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES) response into `out` (spec_version,
// manufacturer, firmware_version). False for a short or failed response. Exposed for tests.
bool ParseTpm2PropertiesResponse(const std::uint8_t* data, std::size_t size, TpmFacts* out);

// "en_US.UTF-8" -> "en-US"; "C", "POSIX" or "" -> "en-US". Exposed for tests.
std::string LanguageFromLocale(const std::string& locale);

}  // namespace wdm::emulator
