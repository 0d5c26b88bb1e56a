// The machine the emulator runs on (see device_host.h).
#include "emulator/device_host.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>

#include "emulator/sha256.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/if_packet.h>
#endif
#endif

namespace wdm::emulator {
namespace {

constexpr char kIdSalt[] = "windows-iot-dm/emulator/device-id/v1:";

std::string Trim(std::string text) {
  const char* space = " \t\r\n";
  const std::size_t begin = text.find_first_not_of(space);
  if (begin == std::string::npos) return std::string();
  const std::size_t end = text.find_last_not_of(space);
  return text.substr(begin, end - begin + 1);
}

// The first `limit` bytes of a file, trimmed; "" when unreadable. Stops at a NUL (device-tree
// strings are NUL-terminated).
std::string ReadSmallFile(const char* path, std::size_t limit = 4096) {
  std::FILE* file = std::fopen(path, "rb");
  if (file == nullptr) return std::string();
  std::string out(limit, '\0');
  const std::size_t got = std::fread(&out[0], 1, limit, file);
  std::fclose(file);
  out.resize(got);
  const std::size_t nul = out.find('\0');
  if (nul != std::string::npos) out.resize(nul);
  return Trim(out);
}

std::uint32_t BigEndian32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

#if !defined(_WIN32)

bool PathExists(const char* path) { return access(path, F_OK) == 0; }

// os-release: KEY=value lines, values optionally quoted.
std::map<std::string, std::string> ReadOsRelease() {
  std::map<std::string, std::string> out;
  std::string text = ReadSmallFile("/etc/os-release", 16384);
  if (text.empty()) text = ReadSmallFile("/usr/lib/os-release", 16384);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    const std::size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'') && value.back() == value[0]) {
      value = value.substr(1, value.size() - 2);
    }
    std::string unescaped;
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (value[i] == '\\' && i + 1 < value.size()) ++i;
      unescaped.push_back(value[i]);
    }
    out[line.substr(0, eq)] = unescaped;
  }
  return out;
}

// TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES, TPM_PT_FAMILY_INDICATOR, 16) on the resource
// manager device. Fills what it can; quietly does nothing without access.
void QueryTpm2(TpmFacts* tpm) {
  static constexpr std::uint8_t kCommand[] = {
      0x80, 0x01,              // TPM_ST_NO_SESSIONS
      0x00, 0x00, 0x00, 0x16,  // size 22
      0x00, 0x00, 0x01, 0x7A,  // TPM_CC_GetCapability
      0x00, 0x00, 0x00, 0x06,  // TPM_CAP_TPM_PROPERTIES
      0x00, 0x00, 0x01, 0x00,  // TPM_PT_FAMILY_INDICATOR
      0x00, 0x00, 0x00, 0x10,  // property count
  };
  const int fd = open("/dev/tpmrm0", O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  std::uint8_t response[1024];
  ssize_t got = -1;
  if (write(fd, kCommand, sizeof(kCommand)) == static_cast<ssize_t>(sizeof(kCommand))) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 2000) == 1) got = read(fd, response, sizeof(response));
  }
  close(fd);
  if (got > 0) ParseTpm2PropertiesResponse(response, static_cast<std::size_t>(got), tpm);
}

TpmFacts ReadTpm() {
  TpmFacts tpm;
  tpm.present =
      PathExists("/sys/class/tpm/tpm0") || PathExists("/dev/tpmrm0") || PathExists("/dev/tpm0");
  if (!tpm.present) return tpm;
  const std::string major = ReadSmallFile("/sys/class/tpm/tpm0/tpm_version_major");
  if (major == "2") tpm.spec_version = "2.0";
  // TPM 1.2 drivers publish "caps": "Manufacturer: 0x49465800", "TCG version: 1.2", ...
  const std::string caps = ReadSmallFile("/sys/class/tpm/tpm0/device/caps");
  const std::size_t manufacturer = caps.find("Manufacturer: 0x");
  if (manufacturer != std::string::npos) {
    tpm.manufacturer =
        static_cast<std::uint32_t>(std::strtoul(caps.c_str() + manufacturer + 16, nullptr, 16));
  }
  const std::size_t tcg = caps.find("TCG version: ");
  if (tcg != std::string::npos) {
    tpm.spec_version = caps.substr(tcg + 13, caps.find('\n', tcg) - (tcg + 13));
  }
  const std::size_t firmware = caps.find("Firmware version: ");
  if (firmware != std::string::npos) {
    tpm.firmware_version = caps.substr(firmware + 18, caps.find('\n', firmware) - (firmware + 18));
  }
  if (major == "2" || (major.empty() && caps.empty())) QueryTpm2(&tpm);
  return tpm;
}

SecureBootState ReadSecureBoot() {
  if (!PathExists("/sys/firmware/efi")) return SecureBootState::kNotSupported;
  // efivarfs: 4 attribute bytes, then the one-byte value.
  std::FILE* file =
      std::fopen("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", "rb");
  if (file == nullptr) return SecureBootState::kNotSupported;
  std::uint8_t bytes[5] = {};
  const std::size_t got = std::fread(bytes, 1, sizeof(bytes), file);
  std::fclose(file);
  if (got != sizeof(bytes)) return SecureBootState::kNotSupported;
  return bytes[4] == 1 ? SecureBootState::kEnabled : SecureBootState::kDisabled;
}

bool DirectoryHasEntries(const char* path) {
  DIR* dir = opendir(path);
  if (dir == nullptr) return false;
  bool any = false;
  while (dirent* entry = readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
      any = true;
      break;
    }
  }
  closedir(dir);
  return any;
}

std::vector<std::string> DirectoryNames(const char* path) {
  std::vector<std::string> names;
  DIR* dir = opendir(path);
  if (dir == nullptr) return names;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') names.emplace_back(entry->d_name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

#endif  // !_WIN32

std::string MachineIdDigest(const std::string& fallback) {
  std::string id = ReadSmallFile("/etc/machine-id");
  if (id.empty()) id = ReadSmallFile("/var/lib/dbus/machine-id");
  if (id.empty()) id = "host:" + fallback;  // no machine id: stable per host name at least
  return Sha256Hex(std::string(kIdSalt) + id);
}

class SystemHost : public DeviceHost {
 public:
  const HostIdentity& Identity() const override {
    if (!identity_) identity_ = ReadIdentity();
    return *identity_;
  }

  std::string HostName() const override {
#if defined(_WIN32)
    char name[256];
    DWORD size = sizeof(name);
    if (GetComputerNameExA(ComputerNameDnsHostname, name, &size)) return std::string(name, size);
    return std::string();
#else
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0) return std::string();
    return name;
#endif
  }

  std::int64_t Now() const override { return static_cast<std::int64_t>(std::time(nullptr)); }

  int UtcOffset(std::int64_t unix_seconds) const override {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
#if defined(_WIN32)
    std::tm local{};
    if (localtime_s(&local, &t) != 0) return 0;
    const std::time_t as_utc = _mkgmtime(&local);
    return as_utc == static_cast<std::time_t>(-1) ? 0 : static_cast<int>(as_utc - t);
#else
    std::tm local{};
    if (localtime_r(&t, &local) == nullptr) return 0;
    return static_cast<int>(local.tm_gmtoff);
#endif
  }

  std::int64_t BootTimeMs() const override {
#if defined(_WIN32)
    FILETIME now{};
    GetSystemTimeAsFileTime(&now);
    const std::int64_t ticks =
        (static_cast<std::int64_t>(now.dwHighDateTime) << 32) | now.dwLowDateTime;
    const std::int64_t now_ms = ticks / 10000 - 11644473600000LL;  // 1601 -> 1970
    return now_ms - static_cast<std::int64_t>(GetTickCount64());
#else
    // btime: whole seconds, the same value on every read (unlike the clock difference below).
    const std::string stat = ReadSmallFile("/proc/stat", 1 << 20);
    const std::size_t at = stat.find("\nbtime ");
    if (at != std::string::npos) {
      const long long seconds = std::strtoll(stat.c_str() + at + 7, nullptr, 10);
      if (seconds > 0) return static_cast<std::int64_t>(seconds) * 1000;
    }
#if defined(CLOCK_BOOTTIME)
    timespec real{}, boot{};
    if (clock_gettime(CLOCK_REALTIME, &real) == 0 && clock_gettime(CLOCK_BOOTTIME, &boot) == 0) {
      const auto ms = [](const timespec& t) {
        return static_cast<std::int64_t>(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
      };
      return ms(real) - ms(boot);
    }
#endif
    return 0;
#endif
  }

  std::uint64_t TotalRamBytes() const override {
#if defined(_WIN32)
    MEMORYSTATUSEX status{};
    status.dwLength = sizeof(status);
    return GlobalMemoryStatusEx(&status) ? status.ullTotalPhys : 0;
#else
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page_size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0) return 0;
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
#endif
  }

  bool Storage(std::uint64_t* total, std::uint64_t* available) const override {
#if defined(_WIN32)
    ULARGE_INTEGER free_to_caller, total_bytes, free_bytes;
    if (!GetDiskFreeSpaceExA(nullptr, &free_to_caller, &total_bytes, &free_bytes)) return false;
    *total = total_bytes.QuadPart;
    *available = free_to_caller.QuadPart;
    return true;
#else
    struct statvfs fs {};
    if (statvfs("/", &fs) != 0) return false;
    *total = static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize;
    *available = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    return true;
#endif
  }

  std::vector<NetInterface> Interfaces() const override;
  BatteryFacts Battery() const override;

 private:
  HostIdentity ReadIdentity() const;
  mutable std::optional<HostIdentity> identity_;  // the engine's mutex guards every call
};

HostIdentity SystemHost::ReadIdentity() const {
  HostIdentity id;
#if defined(_WIN32)
  SYSTEM_INFO info{};
  GetNativeSystemInfo(&info);
  switch (info.wProcessorArchitecture) {
    case PROCESSOR_ARCHITECTURE_AMD64:
      id.machine = "x86_64";
      break;
    case PROCESSOR_ARCHITECTURE_INTEL:
      id.machine = "i686";
      break;
    case 12:  // PROCESSOR_ARCHITECTURE_ARM64
      id.machine = "aarch64";
      break;
    case PROCESSOR_ARCHITECTURE_ARM:
      id.machine = "arm";
      break;
    default:
      break;
  }
  id.os_name = "Windows";
  id.os_pretty_name = "Windows";
  id.stable_id = MachineIdDigest(HostName());
  const char* lang = std::getenv("LANG");
  id.language = LanguageFromLocale(lang ? lang : "");
#else
  utsname uts{};
  if (uname(&uts) == 0) {
    id.kernel_release = uts.release;
    id.machine = uts.machine;
  }
  const std::map<std::string, std::string> os = ReadOsRelease();
  auto field = [&os](const char* key) {
    const auto it = os.find(key);
    return it == os.end() ? std::string() : it->second;
  };
  id.os_name = field("NAME");
  id.os_version_id = field("VERSION_ID");
  id.os_pretty_name = field("PRETTY_NAME");
  if (id.os_name.empty()) id.os_name = uts.sysname;
  if (id.os_pretty_name.empty()) id.os_pretty_name = id.os_name;
  id.sys_vendor = ReadSmallFile("/sys/class/dmi/id/sys_vendor");
  id.product_name = ReadSmallFile("/sys/class/dmi/id/product_name");
  id.product_version = ReadSmallFile("/sys/class/dmi/id/product_version");
  id.product_serial = ReadSmallFile("/sys/class/dmi/id/product_serial");  // root only, usually
  id.product_sku = ReadSmallFile("/sys/class/dmi/id/product_sku");
  id.bios_version = ReadSmallFile("/sys/class/dmi/id/bios_version");
  id.board_model = ReadSmallFile("/sys/firmware/devicetree/base/model");
  id.stable_id = MachineIdDigest(HostName());
  const char* locale = std::getenv("LC_ALL");
  if (locale == nullptr || *locale == '\0') locale = std::getenv("LC_MESSAGES");
  if (locale == nullptr || *locale == '\0') locale = std::getenv("LANG");
  id.language = LanguageFromLocale(locale ? locale : "");
  id.secure_boot = ReadSecureBoot();
  id.iommu = DirectoryHasEntries("/sys/class/iommu");
  id.tpm = ReadTpm();
#endif
  return id;
}

std::vector<NetInterface> SystemHost::Interfaces() const {
  std::vector<NetInterface> out;
#if defined(__linux__)
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  std::map<std::string, NetInterface> by_name;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_name == nullptr || (a->ifa_flags & IFF_LOOPBACK) != 0) continue;
    NetInterface& entry = by_name[a->ifa_name];
    entry.name = a->ifa_name;
    entry.connected = (a->ifa_flags & IFF_UP) != 0 && (a->ifa_flags & IFF_RUNNING) != 0;
    if (a->ifa_addr == nullptr) continue;
    const int family = a->ifa_addr->sa_family;
    if (family == AF_PACKET) {
      const auto* ll = reinterpret_cast<const sockaddr_ll*>(a->ifa_addr);
      if (ll->sll_halen != 6) continue;
      static constexpr char kHex[] = "0123456789ABCDEF";
      std::string mac;
      for (int i = 0; i < 6; ++i) {
        mac.push_back(kHex[ll->sll_addr[i] >> 4]);
        mac.push_back(kHex[ll->sll_addr[i] & 0xF]);
      }
      if (mac != "000000000000") entry.mac = mac;
    } else if (family == AF_INET && entry.ipv4.empty()) {
      char text[INET_ADDRSTRLEN] = {};
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
      if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) != nullptr) entry.ipv4 = text;
    } else if (family == AF_INET6) {
      char text[INET6_ADDRSTRLEN] = {};
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
      const bool link_local = IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr);
      if (inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)) == nullptr) continue;
      // Keep the first global address; a link-local one only until a global one shows up.
      const bool have_global = !entry.ipv6.empty() && entry.ipv6.rfind("fe80:", 0) != 0;
      if (entry.ipv6.empty() || (!have_global && !link_local)) entry.ipv6 = text;
    }
  }
  freeifaddrs(list);
  for (auto& [name, entry] : by_name) {
    if (entry.mac.empty()) continue;  // no hardware address: tunnels, etc.
    const std::string base = "/sys/class/net/" + name;
    if (PathExists((base + "/wireless").c_str()) || PathExists((base + "/phy80211").c_str())) {
      entry.type = 2;
    } else if (ReadSmallFile((base + "/type").c_str()) == "1") {  // ARPHRD_ETHER
      entry.type = 1;
    }
    out.push_back(entry);
  }
  // One entry per MAC (VLANs and bridges can share one): the first by name wins.
  std::sort(out.begin(), out.end(), [](const NetInterface& a, const NetInterface& b) {
    return a.mac != b.mac ? a.mac < b.mac : a.name < b.name;
  });
  out.erase(
      std::unique(out.begin(), out.end(),
                  [](const NetInterface& a, const NetInterface& b) { return a.mac == b.mac; }),
      out.end());
#endif
  return out;
}

BatteryFacts SystemHost::Battery() const {
  BatteryFacts battery;
#if defined(_WIN32)
  SYSTEM_POWER_STATUS status{};
  if (!GetSystemPowerStatus(&status) || (status.BatteryFlag & 128) != 0 ||
      status.BatteryFlag == 255) {
    return battery;
  }
  battery.present = true;
  battery.on_ac = status.ACLineStatus == 1;
  battery.charging = (status.BatteryFlag & 8) != 0;
  if (status.BatteryLifePercent <= 100) battery.percent = status.BatteryLifePercent;
  if (status.BatteryLifeTime != static_cast<DWORD>(-1))
    battery.seconds_left = status.BatteryLifeTime;
#elif defined(__linux__)
  bool mains_online = false;
  for (const std::string& name : DirectoryNames("/sys/class/power_supply")) {
    const std::string base = "/sys/class/power_supply/" + name;
    const std::string type = ReadSmallFile((base + "/type").c_str());
    if (type == "Mains" || type == "USB") {
      if (ReadSmallFile((base + "/online").c_str()) == "1") mains_online = true;
      continue;
    }
    if (type != "Battery" || battery.present) continue;
    if (ReadSmallFile((base + "/scope").c_str()) == "Device") continue;  // a mouse's battery
    battery.present = true;
    const std::string capacity = ReadSmallFile((base + "/capacity").c_str());
    if (!capacity.empty()) battery.percent = std::clamp(std::atoi(capacity.c_str()), 0, 100);
    const std::string status = ReadSmallFile((base + "/status").c_str());
    battery.charging = status == "Charging";
    const bool discharging = status == "Discharging";
    // energy_now/power_now (uWh, uW) or charge_now/current_now (uAh, uA).
    double now = std::atof(ReadSmallFile((base + "/energy_now").c_str()).c_str());
    double rate = std::atof(ReadSmallFile((base + "/power_now").c_str()).c_str());
    if (now <= 0 || rate <= 0) {
      now = std::atof(ReadSmallFile((base + "/charge_now").c_str()).c_str());
      rate = std::atof(ReadSmallFile((base + "/current_now").c_str()).c_str());
    }
    if (discharging && now > 0 && rate > 0) {
      battery.seconds_left = static_cast<std::int64_t>(now / rate * 3600.0);
    }
    battery.on_ac = !discharging;
  }
  if (battery.present && mains_online) battery.on_ac = true;
  if (battery.on_ac) battery.seconds_left = -1;
#endif
  return battery;
}

}  // namespace

std::unique_ptr<DeviceHost> NewSystemHost() { return std::make_unique<SystemHost>(); }

bool ParseTpm2PropertiesResponse(const std::uint8_t* data, std::size_t size, TpmFacts* out) {
  // tag(2) size(4) rc(4) moreData(1) capability(4) count(4) {property(4) value(4)}*
  if (size < 19 || BigEndian32(data + 6) != 0 || BigEndian32(data + 11) != 6) return false;
  const std::uint32_t count = BigEndian32(data + 15);
  if (count > (size - 19) / 8) return false;
  std::map<std::uint32_t, std::uint32_t> props;
  for (std::uint32_t i = 0; i < count; ++i) {
    props[BigEndian32(data + 19 + 8 * i)] = BigEndian32(data + 23 + 8 * i);
  }
  auto prop = [&props](std::uint32_t key) -> std::optional<std::uint32_t> {
    const auto it = props.find(key);
    if (it == props.end()) return std::nullopt;
    return it->second;
  };
  const auto family = prop(0x100), level = prop(0x101), revision = prop(0x102);
  if (family) {
    std::string text;
    for (int shift = 24; shift >= 0; shift -= 8) {
      const char c = static_cast<char>((*family >> shift) & 0xFF);
      if (c != '\0') text.push_back(c);
    }
    if (level && revision) {
      char buffer[64];
      std::snprintf(buffer, sizeof(buffer), ", %u, %u.%02u", static_cast<unsigned>(*level),
                    static_cast<unsigned>(*revision / 100), static_cast<unsigned>(*revision % 100));
      text += buffer;
    }
    out->spec_version = text;
  }
  if (const auto manufacturer = prop(0x105)) out->manufacturer = *manufacturer;
  const auto fw1 = prop(0x10B), fw2 = prop(0x10C);
  if (fw1 && fw2) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%u.%u.%u.%u", static_cast<unsigned>(*fw1 >> 16),
                  static_cast<unsigned>(*fw1 & 0xFFFF), static_cast<unsigned>(*fw2 >> 16),
                  static_cast<unsigned>(*fw2 & 0xFFFF));
    out->firmware_version = buffer;
  }
  return true;
}

std::string LanguageFromLocale(const std::string& locale) {
  std::string base = locale.substr(0, locale.find_first_of(".@"));
  if (base.empty() || base == "C" || base == "POSIX") return "en-US";
  for (char& c : base) {
    if (c == '_') c = '-';
  }
  // "en" alone stays "en"; anything that is not letters/digits/'-' falls back.
  for (char c : base) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return "en-US";
  }
  return base;
}

}  // namespace wdm::emulator
