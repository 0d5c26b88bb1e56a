// Host-derived values of DevDetail, DevInfo and DeviceStatus (registered by
// RegisterDeviceInfoBehaviors, behaviors.h). Each value is computed at Get from DeviceHost, in
// the node's DDF format:
//
//   DevDetail/SwV          the kernel release as Windows' Major.Minor.Build.QFE: the first four
//                          runs of digits of `uname -r` ("6.1.0-18-amd64" -> "6.1.0.18")
//   DevDetail/FwV, HwV     the BIOS version (DMI bios_version; the DDF says desktop editions
//                          report the BIOS version for both), else "Unknown"
//   DevDetail/OEM, DevInfo/Man        DMI sys_vendor, else "Unknown"
//   DevDetail/DevTyp, DevInfo/Mod     DMI product_name, else the device-tree model, else "Unknown"
//   Ext/Microsoft/ProcessorArchitecture  Windows PROCESSOR_ARCHITECTURE: 9 AMD64 (x86_64),
//                          12 ARM64 (aarch64), 5 ARM, 6 IA64, 0 x86, 65535 unknown
//   Ext/Microsoft/ProcessorType  SYSTEM_INFO dwProcessorType: 8664, 586/486/386, 2200, else 0
//   Ext/Microsoft/OSPlatform  os-release PRETTY_NAME
//   Ext/Microsoft/LocalTime   now, local time with offset: "2026-01-01T04:00:00+01:00" ("Z" in UTC)
//   Ext/Microsoft/DeviceName, DNSComputerName  the host name (gethostname) until a Replace; a
//                          Replace keeps the new (pending) name in the node, which Get then
//                          reports; the host is never renamed. DNSComputerName expands %SERIAL%
//                          (SMBIOS serial) and %RAND:n% (n deterministic digits) and must then be
//                          a DNS label (1-63 letters/digits/hyphens, no leading/trailing hyphen,
//                          not all digits), else 400.
//
// Every value below except LocalTime and the NetworkIdentifiers instances is a default: a value
// the device profile (profile.h "device" facts / nodes) or a Replace put in the node wins.
//   Ext/Microsoft/TotalRAM    physical memory in MB (floor)
//   Ext/Microsoft/TotalStorage, FreeStorage  "/" (statvfs) total and available MB
//   Ext/Microsoft/SMBIOSSerialNumber  DMI product_serial when readable, else "EMU-" + 12 hex
//                          digits derived from the machine id
//   Ext/Microsoft/MobileID, CommercializationOperator  404 (no cellular radio, as the DDF says)
//   DevInfo/DevId          a GUID derived (SHA-256) from the salted machine id: stable per machine,
//                          never the raw /etc/machine-id
//   DevInfo/Lang           the locale (LC_ALL/LC_MESSAGES/LANG) as BCP 47, "en-US" by default
//   DeviceStatus/SecureBootState  0 not supported (no EFI or no SecureBoot variable), 1 enabled,
//                          2 disabled (efivars SecureBoot)
//   DeviceStatus/OS/Edition  os-release NAME + VERSION_ID; OS/Mode 0 (standard, not S mode)
//   DeviceStatus/DomainName  the host name's part after the first '.', else ""
//   DeviceStatus/Battery   Status = SYSTEM_POWER_STATUS BatteryFlag (1 high > 66%, 2 low < 33%,
//                          4 critical < 5%, +8 charging, 128 no system battery, 255 unknown);
//                          EstimatedChargeRemaining = percent, -1 unknown/no battery;
//                          EstimatedRuntime = seconds on battery, -1 on AC/unknown/no battery
//   DeviceStatus/TPM/*     from /sys/class/tpm and, for TPM 2.0, TPM2_GetCapability on
//                          /dev/tpmrm0 when it can be opened; "Not available" (the DDF default)
//                          when there is no TPM or the value cannot be read
//   DeviceStatus/DeviceGuard/*  no Hyper-V on the host: HwReq 0x8 (+0x1 without Secure Boot),
//                          VBS status 4, LsaCfgCredGuard 3, HVCI 2, SystemGuard 2 ("not
//                          configured")
//   DeviceStatus/DMA/BootDMAProtectionStatus  1 when an IOMMU is active, else 2
//   DeviceStatus/NetworkIdentifiers/<MAC>  one instance per network card with a hardware address
//                          (loopback excluded), MAC as 12 upper-case hex digits; IPAddressV4,
//                          IPAddressV6 (global preferred), IsConnected (up and running), Type
//                          (2 wireless, 1 wired, 0 unknown)
//   CellularIdentities     never has instances (no cellular radio)
#pragma once

#include <cstdint>
#include <string>

#include "emulator/device_host.h"

namespace wdm::emulator {

std::string WindowsStyleVersion(const std::string& kernel_release);
int ProcessorArchitecture(const std::string& machine);
int ProcessorType(const std::string& machine);
std::string DeviceId(const HostIdentity& id);
std::string SmbiosSerial(const HostIdentity& id);
int BatteryFlag(const BatteryFacts& battery);
// Expands the DNSComputerName macros and checks the result (see above); advances *sequence once
// per %RAND%.
bool ExpandDnsComputerName(const std::string& pattern, const std::string& serial,
                           std::int64_t* sequence, std::string* out);

}  // namespace wdm::emulator
