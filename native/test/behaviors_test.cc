// Tests of the emulator's device-backed behaviour (behaviors.h): host-derived DevDetail/DevInfo/
// DeviceStatus values over a FixedHost, Reboot/RemoteWipe events, schedule validation, the
// HealthAttestation state machine, and rollback of every effect inside a failed Atomic. The
// engine is driven in-process (EncodeOps -> Engine::HandleRequest -> DecodeOpResults); one
// check runs the real host (SystemHost) for plausibility.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "emulator/behaviors.h"
#include "emulator/device_host.h"
#include "emulator/device_info.h"
#include "emulator/diagnostic_log.h"
#include "emulator/engine.h"
#include "emulator/health_attestation.h"
#include "emulator/iso8601.h"
#include "emulator/reboot_wipe.h"
#include "emulator/seed.h"
#include "emulator/sha256.h"
#include "syncml/codec.h"
#include "test/test_ops.h"
#include "test/test_util.h"

namespace {

using wdm::emulator::BehaviorState;
using wdm::emulator::Engine;
using wdm::emulator::FixedHost;
using wdm::emulator::Schema;
using wdm::syncml::Op;
using wdm::syncml::OpResult;
using wdm::syncml::Verb;

const std::string kMs = "./DevDetail/Ext/Microsoft";
const std::string kStatus = "./Vendor/MSFT/DeviceStatus";
const std::string kReboot = "./Device/Vendor/MSFT/Reboot";
const std::string kSingle = kReboot + "/Schedule/Single";
const std::string kDaily = kReboot + "/Schedule/DailyRecurrent";
const std::string kWipe = "./Device/Vendor/MSFT/RemoteWipe";
const std::string kHa = "./Vendor/MSFT/HealthAttestation";
const std::string kEtw = "./Vendor/MSFT/DiagnosticLog/EtwLog/Collectors";
const std::string kChannel = "./Vendor/MSFT/DiagnosticLog/FileDownload/DMChannel";

using wdm::test::MakeOp;
Op Get(std::string uri) { return MakeOp(Verb::kGet, std::move(uri)); }
Op Exec(std::string uri, std::optional<std::string> data = std::nullopt) {
  return MakeOp(Verb::kExec, std::move(uri), data ? "chr" : "", std::move(data));
}
Op Replace(std::string uri, std::string format, std::string data) {
  return MakeOp(Verb::kReplace, std::move(uri), std::move(format), std::move(data));
}
Op Add(std::string uri, std::string format, std::string data) {
  return MakeOp(Verb::kAdd, std::move(uri), std::move(format), std::move(data));
}

const Schema& TheSchema() {
  static std::unique_ptr<Schema> schema;
  if (!schema) {
    std::string error;
    if (!CHECK(wdm::emulator::BuildSeedSchema(&schema, &error))) {
      std::fprintf(stderr, "  %s\n", error.c_str());
      std::abort();
    }
  }
  return *schema;
}

// An engine over a FixedHost the test can change.
struct Device {
  FixedHost* host;
  std::unique_ptr<Engine> engine;

  Device() {
    auto fixed = std::make_unique<FixedHost>();
    host = fixed.get();
    host->identity.kernel_release = "6.1.0-18-amd64";
    host->identity.machine = "x86_64";
    host->identity.os_name = "Debian GNU/Linux";
    host->identity.os_version_id = "12";
    host->identity.os_pretty_name = "Debian GNU/Linux 12 (bookworm)";
    host->identity.stable_id = wdm::emulator::Sha256Hex("test machine");
    host->identity.language = "de-CH";
    engine = std::make_unique<Engine>(TheSchema(), std::move(fixed));
  }

  std::vector<OpResult> Run(const std::vector<Op>& ops, bool atomic = false) {
    const std::string response = engine->HandleRequest(wdm::syncml::EncodeOps(ops, atomic));
    std::vector<OpResult> results;
    std::string error;
    if (!CHECK(wdm::syncml::DecodeOpResults(response, ops, atomic, &results, &error))) {
      std::fprintf(stderr, "  decode error: %s\n  response: %s\n", error.c_str(), response.c_str());
      results.resize(ops.size());
    }
    return results;
  }
  int Status(const Op& op) { return Run({op})[0].status; }
  std::string Value(const std::string& uri) {
    const OpResult r = Run({Get(uri)})[0];
    if (r.status != 200) return "<status " + std::to_string(r.status) + ">";
    if (r.items.size() != 1) return "<" + std::to_string(r.items.size()) + " items>";
    return r.items[0].data.value_or("<no data>");
  }
  BehaviorState State() { return engine->behaviors().state(); }
};

std::string Base64Decode(const std::string& text) {
  auto index = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const int v = index(c);
    if (v < 0) continue;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  return out;
}

// ---- pure helpers
// ------------------------------------------------------------------------------

void TestIso8601() {
  using wdm::emulator::IsIsoDateTime;
  for (const char* ok : {"2026-01-01T03:00:00", "2026-01-01T03:00:00Z", "2024-02-29T23:59:59+14:00",
                         "2026-12-31T00:00:00-05:30", "1999-06-30T12:00:00+00:00"}) {
    if (!CHECK(IsIsoDateTime(ok))) std::fprintf(stderr, "  should accept %s\n", ok);
  }
  for (const char* bad : {"",
                          "2026-01-01",
                          "2026-01-01T03:00:00.5",
                          "2026-01-01T03:00:00.000Z",
                          "2026-01-01T03:00:00,5",
                          "2026-01-01T03:00",
                          "2026-01-01 03:00:00",
                          "2026-01-01t03:00:00",
                          "2026-01-01T03:00:00z",
                          "2025-02-29T03:00:00",
                          "2026-13-01T03:00:00",
                          "2026-00-10T03:00:00",
                          "2026-04-31T03:00:00",
                          "2026-01-01T24:00:00",
                          "2026-01-01T23:60:00",
                          "2026-01-01T23:59:60",
                          "2026-01-01T03:00:00+15:00",
                          "2026-01-01T03:00:00+0100",
                          "2026-01-01T03:00:00+01",
                          "2026-01-01T03:00:00Z ",
                          " 2026-01-01T03:00:00",
                          "26-01-01T03:00:00",
                          "03:00:00",
                          "2026-1-01T03:00:00",
                          "２０２６-01-01T03:00:00",
                          "2026-01-01T03:00:00+01:60"}) {
    if (!CHECK(!IsIsoDateTime(bad))) std::fprintf(stderr, "  should refuse '%s'\n", bad);
  }
  CHECK(IsIsoDateTime("03:00:00", true));
  CHECK(IsIsoDateTime("03:00:00Z", true));
  CHECK(IsIsoDateTime("2026-01-01T03:00:00", true));
  CHECK(!IsIsoDateTime("03:00:00.5", true));
  CHECK(!IsIsoDateTime("3:00:00", true));
  CHECK_EQ(wdm::emulator::FormatIsoUtc(0), std::string("1970-01-01T00:00:00Z"));
  CHECK_EQ(wdm::emulator::FormatIsoUtc(1767236400), std::string("2026-01-01T03:00:00Z"));
  CHECK_EQ(wdm::emulator::FormatIsoUtc(951782400), std::string("2000-02-29T00:00:00Z"));
  CHECK_EQ(wdm::emulator::FormatIsoLocal(1767236400, 3600),
           std::string("2026-01-01T04:00:00+01:00"));
  CHECK_EQ(wdm::emulator::FormatIsoLocal(1767236400, -(5 * 3600 + 1800)),
           std::string("2025-12-31T21:30:00-05:30"));
  CHECK_EQ(wdm::emulator::FormatIsoLocal(1767236400, 0), std::string("2026-01-01T03:00:00Z"));
}

void TestSha256AndIds() {
  using wdm::emulator::Sha256Hex;
  CHECK_EQ(Sha256Hex(""),
           std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  CHECK_EQ(Sha256Hex("abc"),
           std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  CHECK_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
           std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
  CHECK_EQ(Sha256Hex(std::string(1000, 'a')).substr(0, 16), std::string("41edece42d63e8d9"));
  const std::string guid = wdm::emulator::DigestToGuid(wdm::emulator::Sha256("x"));
  CHECK_EQ(guid.size(), std::size_t{36});
  CHECK(guid[8] == '-' && guid[13] == '-' && guid[18] == '-' && guid[23] == '-');
  CHECK_EQ(guid[14], '5');
  CHECK(guid[19] == '8' || guid[19] == '9' || guid[19] == 'A' || guid[19] == 'B');
  CHECK_EQ(wdm::emulator::Base64Encode(""), std::string(""));
  CHECK_EQ(wdm::emulator::Base64Encode("f"), std::string("Zg=="));
  CHECK_EQ(wdm::emulator::Base64Encode("fo"), std::string("Zm8="));
  CHECK_EQ(wdm::emulator::Base64Encode("foobar"), std::string("Zm9vYmFy"));
  CHECK_EQ(Base64Decode(wdm::emulator::Base64Encode(std::string("\0\xff\x10z", 4))),
           std::string("\0\xff\x10z", 4));
}

void TestHostMappings() {
  using wdm::emulator::ProcessorArchitecture;
  CHECK_EQ(wdm::emulator::WindowsStyleVersion("6.1.0-18-amd64"), std::string("6.1.0.18"));
  CHECK_EQ(wdm::emulator::WindowsStyleVersion("5.15.0-1034-azure"), std::string("5.15.0.1034"));
  CHECK_EQ(wdm::emulator::WindowsStyleVersion("6.8.0"), std::string("6.8.0.0"));
  CHECK_EQ(wdm::emulator::WindowsStyleVersion(""), std::string("0.0.0.0"));
  CHECK_EQ(wdm::emulator::WindowsStyleVersion("10.0.26100.1742"), std::string("10.0.26100.1742"));
  CHECK_EQ(ProcessorArchitecture("x86_64"), 9);
  CHECK_EQ(ProcessorArchitecture("aarch64"), 12);
  CHECK_EQ(ProcessorArchitecture("arm64"), 12);
  CHECK_EQ(ProcessorArchitecture("armv7l"), 5);
  CHECK_EQ(ProcessorArchitecture("i686"), 0);
  CHECK_EQ(ProcessorArchitecture("ia64"), 6);
  CHECK_EQ(ProcessorArchitecture("riscv64"), 0xFFFF);
  CHECK_EQ(wdm::emulator::ProcessorType("x86_64"), 8664);
  CHECK_EQ(wdm::emulator::ProcessorType("aarch64"), 0);
  CHECK_EQ(wdm::emulator::LanguageFromLocale("en_US.UTF-8"), std::string("en-US"));
  CHECK_EQ(wdm::emulator::LanguageFromLocale("de_CH.utf8@euro"), std::string("de-CH"));
  CHECK_EQ(wdm::emulator::LanguageFromLocale("C.UTF-8"), std::string("en-US"));
  CHECK_EQ(wdm::emulator::LanguageFromLocale("POSIX"), std::string("en-US"));
  CHECK_EQ(wdm::emulator::LanguageFromLocale(""), std::string("en-US"));
  CHECK_EQ(wdm::emulator::LanguageFromLocale("fr"), std::string("fr"));
  wdm::emulator::BatteryFacts battery;
  CHECK_EQ(wdm::emulator::BatteryFlag(battery), 128);
  battery.present = true;
  CHECK_EQ(wdm::emulator::BatteryFlag(battery), 255);
  battery.percent = 80;
  CHECK_EQ(wdm::emulator::BatteryFlag(battery), 1);
  battery.charging = true;
  CHECK_EQ(wdm::emulator::BatteryFlag(battery), 9);
  battery.charging = false;
  battery.percent = 50;
  CHECK_EQ(wdm::emulator::BatteryFlag(battery), 0);
  battery.percent = 20;
  CHECK_EQ(wdm::emulator::BatteryFlag(battery), 2);
  battery.percent = 3;
  CHECK_EQ(wdm::emulator::BatteryFlag(battery), 4);
}

void TestTpmParse() {
  // TPM2_GetCapability response: IFX firmware 7.85 / 4555.0, family "2.0", level 0, rev 138.
  const std::uint8_t response[] = {
      0x80, 0x01, 0x00, 0x00, 0x00, 0x3B, 0x00, 0x00, 0x00, 0x00,  // tag, size, rc
      0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x05,        // more, cap, count 5
      0x00, 0x00, 0x01, 0x00, 0x32, 0x2E, 0x30, 0x00,              // FAMILY "2.0"
      0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00,              // LEVEL 0
      0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x8A,              // REVISION 138
      0x00, 0x00, 0x01, 0x05, 0x49, 0x46, 0x58, 0x00,              // MANUFACTURER "IFX"
      0x00, 0x00, 0x01, 0x0B, 0x00, 0x07, 0x00, 0x55,              // FIRMWARE_VERSION_1
  };
  wdm::emulator::TpmFacts tpm;
  CHECK(wdm::emulator::ParseTpm2PropertiesResponse(response, sizeof(response), &tpm));
  CHECK_EQ(tpm.spec_version, std::string("2.0, 0, 1.38"));
  CHECK(tpm.manufacturer == std::optional<std::uint32_t>(0x49465800u));
  CHECK_EQ(tpm.firmware_version, std::string(""));  // FIRMWARE_VERSION_2 missing
  wdm::emulator::TpmFacts failed;
  std::uint8_t error[sizeof(response)];
  std::copy(response, response + sizeof(response), error);
  error[9] = 0x01;  // rc != 0
  CHECK(!wdm::emulator::ParseTpm2PropertiesResponse(error, sizeof(error), &failed));
  CHECK(!wdm::emulator::ParseTpm2PropertiesResponse(response, 18, &failed));
  error[9] = 0x00;
  error[18] = 0x20;  // count beyond the data
  CHECK(!wdm::emulator::ParseTpm2PropertiesResponse(error, sizeof(error), &failed));
}

void TestDnsNameAndNonce() {
  std::int64_t sequence = 0;
  std::string out;
  using wdm::emulator::ExpandDnsComputerName;
  CHECK(ExpandDnsComputerName("iot-gw", "S1", &sequence, &out) && out == "iot-gw");
  CHECK(ExpandDnsComputerName("Foo%SERIAL%", "EMU-ABC", &sequence, &out) && out == "FooEMU-ABC");
  CHECK_EQ(sequence, 0);
  CHECK(ExpandDnsComputerName("Test%RAND:6%", "S1", &sequence, &out));
  CHECK(out.size() == 10 && out.substr(0, 4) == "Test");
  for (std::size_t i = 4; i < out.size(); ++i) CHECK(out[i] >= '0' && out[i] <= '9');
  CHECK_EQ(sequence, 1);
  const std::string first = out;
  CHECK(ExpandDnsComputerName("Test%RAND:6%", "S1", &sequence, &out) && out != first);
  CHECK(ExpandDnsComputerName("A%RAND:2%%SERIAL%", "S1", &sequence, &out) && out.size() == 3);
  for (const char* bad : {"", "-x", "x-", "has space", "12345", "a.b", "x%RAND:0%", "x%RAND:%",
                          "x%RAND:99%", "x%RAND:3", "\xC3\xA9t\xC3\xA9",
                          "a234567890123456789012345678901234567890123456789012345678901234"}) {
    if (!CHECK(!ExpandDnsComputerName(bad, "S1", &sequence, &out))) {
      std::fprintf(stderr, "  should refuse '%s'\n", bad);
    }
  }
  using wdm::emulator::IsValidNonce;
  CHECK(IsValidNonce("0123456789abcdef"));
  CHECK(IsValidNonce(std::string(64, 'F')));
  CHECK(!IsValidNonce("0123456789abcde"));     // 15 digits
  CHECK(!IsValidNonce("0123456789abcd"));      // 7 bytes
  CHECK(!IsValidNonce(std::string(66, 'a')));  // 33 bytes
  CHECK(!IsValidNonce("0123456789abcdeg"));
  CHECK(!IsValidNonce("\\0"));
  using wdm::emulator::IsValidEndpoint;
  CHECK(IsValidEndpoint(""));
  CHECK(IsValidEndpoint("has.spserv.microsoft.com."));
  CHECK(IsValidEndpoint("dha.contoso.local"));
  CHECK(!IsValidEndpoint("https://has.contoso.com"));
  CHECK(!IsValidEndpoint("has contoso"));
  CHECK(!IsValidEndpoint(".x"));
  CHECK(!IsValidEndpoint("a..b"));
}

// ---- through the engine
// ------------------------------------------------------------------------

void TestDevDetailFromHost() {
  Device d;
  d.host->identity.sys_vendor = "Contoso";
  d.host->identity.product_name = "Gateway 9";
  d.host->identity.bios_version = "1.16.2";
  d.host->host_name = "gw-01.contoso.local";
  d.host->utc_offset = 3600;
  d.host->total_ram = (8192ull << 20) + 12345;
  d.host->storage_total = 100ull << 30;
  d.host->storage_available = (40ull << 30) + 1;
  CHECK_EQ(d.Value("./DevDetail/SwV"), std::string("6.1.0.18"));
  CHECK_EQ(d.Value("./DevDetail/OEM"), std::string("Contoso"));
  CHECK_EQ(d.Value("./DevDetail/DevTyp"), std::string("Gateway 9"));
  CHECK_EQ(d.Value("./DevDetail/FwV"), std::string("1.16.2"));
  CHECK_EQ(d.Value("./DevDetail/HwV"), std::string("1.16.2"));
  CHECK_EQ(d.Value(kMs + "/ProcessorArchitecture"), std::string("9"));
  CHECK_EQ(d.Value(kMs + "/ProcessorType"), std::string("8664"));
  CHECK_EQ(d.Value(kMs + "/OSPlatform"), std::string("Debian GNU/Linux 12 (bookworm)"));
  CHECK_EQ(d.Value(kMs + "/LocalTime"), std::string("2026-01-01T04:00:00+01:00"));
  d.host->now += 61;
  CHECK_EQ(d.Value(kMs + "/LocalTime"), std::string("2026-01-01T04:01:01+01:00"));
  CHECK_EQ(d.Value(kMs + "/DeviceName"), std::string("gw-01.contoso.local"));
  CHECK_EQ(d.Value(kMs + "/DNSComputerName"), std::string("gw-01.contoso.local"));
  CHECK_EQ(d.Value(kMs + "/TotalRAM"), std::string("8192"));
  CHECK_EQ(d.Value(kMs + "/TotalStorage"), std::string("102400"));
  CHECK_EQ(d.Value(kMs + "/FreeStorage"), std::string("40960"));
  // Formats as the DDF has them.
  const OpResult ram = d.Run({Get(kMs + "/TotalRAM")})[0];
  CHECK(ram.items.size() == 1 && ram.items[0].format == std::optional<std::string>("int"));
  // Serial: DMI when readable, else a stable id derived from the machine id.
  const std::string derived = d.Value(kMs + "/SMBIOSSerialNumber");
  CHECK_EQ(derived.substr(0, 4), std::string("EMU-"));
  CHECK_EQ(derived.size(), std::size_t{16});
  CHECK_EQ(derived, wdm::emulator::SmbiosSerial(d.host->identity));
  d.host->identity.product_serial = "To be filled by O.E.M.";
  CHECK_EQ(d.Value(kMs + "/SMBIOSSerialNumber"), derived);
  d.host->identity.product_serial = "PF3ABCDE";
  CHECK_EQ(d.Value(kMs + "/SMBIOSSerialNumber"), std::string("PF3ABCDE"));
  // No DMI: "Unknown", the device-tree model for the type.
  d.host->identity.sys_vendor.clear();
  d.host->identity.product_name.clear();
  d.host->identity.bios_version.clear();
  d.host->identity.board_model = "Raspberry Pi 4 Model B Rev 1.4";
  d.host->identity.machine = "aarch64";
  CHECK_EQ(d.Value("./DevDetail/OEM"), std::string("Unknown"));
  CHECK_EQ(d.Value("./DevDetail/FwV"), std::string("Unknown"));
  CHECK_EQ(d.Value("./DevDetail/DevTyp"), std::string("Raspberry Pi 4 Model B Rev 1.4"));
  CHECK_EQ(d.Value("./DevInfo/Mod"), std::string("Raspberry Pi 4 Model B Rev 1.4"));
  CHECK_EQ(d.Value("./DevInfo/Man"), std::string("Unknown"));
  CHECK_EQ(d.Value(kMs + "/ProcessorArchitecture"), std::string("12"));
  // No cellular radio: 404, as the DDF says.
  CHECK_EQ(d.Status(Get(kMs + "/MobileID")), 404);
  // A listing carries the computed values too.
  const OpResult list = d.Run({Get("./DevDetail?list=StructData")})[0];
  bool saw_swv = false;
  for (const auto& item : list.items) {
    if (item.uri == "./DevDetail/SwV")
      saw_swv = item.data == std::optional<std::string>("6.1.0.18");
    CHECK(item.uri != "./DevDetail/Ext/Microsoft/MobileID");  // no value now: left out
  }
  CHECK(saw_swv);
}

void TestDevInfo() {
  Device d;
  const std::string id = d.Value("./DevInfo/DevId");
  CHECK_EQ(id.size(), std::size_t{36});
  CHECK_EQ(id, wdm::emulator::DeviceId(d.host->identity));
  CHECK(id.find(d.host->identity.stable_id.substr(0, 8)) == std::string::npos);
  Device other;
  CHECK_EQ(other.Value("./DevInfo/DevId"), id);  // stable for the same machine
  other.host->identity.stable_id = wdm::emulator::Sha256Hex("another machine");
  CHECK(other.Value("./DevInfo/DevId") != id);
  CHECK_EQ(d.Value("./DevInfo/Lang"), std::string("de-CH"));
  CHECK_EQ(d.Value("./DevInfo/Man"), std::string("Unknown"));
  CHECK_EQ(d.Value("./DevInfo/Mod"), std::string("Unknown"));
}

void TestNamesArePendingAndHostUntouched() {
  Device d;
  d.host->host_name = "edge7";
  CHECK_EQ(d.Status(Replace(kMs + "/DeviceName", "chr", "Lobby Kiosk")), 200);
  CHECK_EQ(d.Value(kMs + "/DeviceName"), std::string("Lobby Kiosk"));
  CHECK_EQ(d.host->HostName(), std::string("edge7"));
  CHECK_EQ(d.Status(Replace(kMs + "/DNSComputerName", "chr", "kiosk-%SERIAL%")), 200);
  CHECK_EQ(d.Value(kMs + "/DNSComputerName"),
           "kiosk-" + wdm::emulator::SmbiosSerial(d.host->identity));
  CHECK_EQ(d.Status(Replace(kMs + "/DNSComputerName", "chr", "Gw%RAND:4%")), 200);
  const std::string random = d.Value(kMs + "/DNSComputerName");
  CHECK(random.size() == 6 && random.substr(0, 2) == "Gw");
  CHECK_EQ(d.Status(Replace(kMs + "/DNSComputerName", "chr", "not a name")), 400);
  CHECK_EQ(d.Status(Replace(kMs + "/DNSComputerName", "chr", "1234")), 400);
  CHECK_EQ(d.Value(kMs + "/DNSComputerName"), random);  // a refused Replace changes nothing
  CHECK_EQ(d.host->HostName(), std::string("edge7"));
  // The macros' counter is state: it rolls back with a failed Atomic.
  const std::int64_t sequence = d.State().sequence;
  const std::vector<OpResult> r = d.Run({Replace(kMs + "/DNSComputerName", "chr", "a%RAND:3%"),
                                         Replace("./DevDetail/SwV", "chr", "x")},
                                        true);
  CHECK(r[0].status == 216 && r[1].status == 405);
  CHECK_EQ(d.State().sequence, sequence);
  CHECK_EQ(d.Value(kMs + "/DNSComputerName"), random);
}

void TestProfileValuesWin() {
  Device d;
  d.host->identity.sys_vendor = "HostVendor";
  CHECK_EQ(d.Value("./DevInfo/Man"), std::string("HostVendor"));
  // A value the device profile put in the node (not the schema's start value) wins.
  wdm::emulator::Path man{"DevInfo", "Man"};
  d.engine->mutable_tree()->SetValue(man, "Contoso");
  CHECK_EQ(d.Value("./DevInfo/Man"), std::string("Contoso"));
  d.engine->mutable_tree()->SetValue(man, d.engine->tree().Find(man)->schema->StartValue());
  CHECK_EQ(d.Value("./DevInfo/Man"), std::string("HostVendor"));
  // LocalTime is always the clock.
  wdm::emulator::Path time{"DevDetail", "Ext", "Microsoft", "LocalTime"};
  d.engine->mutable_tree()->SetValue(time, "1999-01-01T00:00:00Z");
  CHECK_EQ(d.Value(kMs + "/LocalTime"), std::string("2026-01-01T03:00:00Z"));
}

void TestDeviceStatus() {
  Device d;
  CHECK_EQ(d.Value(kStatus + "/SecureBootState"), std::string("0"));
  d.host->identity.secure_boot = wdm::emulator::SecureBootState::kEnabled;
  CHECK_EQ(d.Value(kStatus + "/SecureBootState"), std::string("1"));
  CHECK_EQ(d.Value(kStatus + "/OS/Edition"), std::string("Debian GNU/Linux 12"));
  CHECK_EQ(d.Value(kStatus + "/OS/Mode"), std::string("0"));
  CHECK_EQ(d.Value(kStatus + "/DomainName"), std::string(""));
  d.host->host_name = "gw.corp.contoso.com";
  CHECK_EQ(d.Value(kStatus + "/DomainName"), std::string("corp.contoso.com"));
  // Battery: none, then a discharging one.
  CHECK_EQ(d.Value(kStatus + "/Battery/Status"), std::string("128"));
  CHECK_EQ(d.Value(kStatus + "/Battery/EstimatedChargeRemaining"), std::string("-1"));
  CHECK_EQ(d.Value(kStatus + "/Battery/EstimatedRuntime"), std::string("-1"));
  d.host->battery.present = true;
  d.host->battery.percent = 50;
  d.host->battery.on_ac = false;
  d.host->battery.seconds_left = 5400;
  CHECK_EQ(d.Value(kStatus + "/Battery/Status"), std::string("0"));
  CHECK_EQ(d.Value(kStatus + "/Battery/EstimatedChargeRemaining"), std::string("50"));
  CHECK_EQ(d.Value(kStatus + "/Battery/EstimatedRuntime"), std::string("5400"));
  // TPM: the DDF default "Not available" without one.
  for (const char* leaf :
       {"SpecificationVersion", "ManufacturerId", "ManufacturerIdTxt", "ManufacturerVersion"}) {
    CHECK_EQ(d.Value(kStatus + "/TPM/" + leaf), std::string("Not available"));
  }
  CHECK_EQ(d.Value(kHa + "/TpmReadyStatus"), std::string("0"));
  d.host->identity.tpm.present = true;
  d.host->identity.tpm.spec_version = "2.0, 0, 1.59";
  d.host->identity.tpm.manufacturer = 0x49465800u;
  d.host->identity.tpm.firmware_version = "7.85.4555.0";
  CHECK_EQ(d.Value(kStatus + "/TPM/SpecificationVersion"), std::string("2.0, 0, 1.59"));
  CHECK_EQ(d.Value(kStatus + "/TPM/ManufacturerId"), std::string("1229346816"));
  CHECK_EQ(d.Value(kStatus + "/TPM/ManufacturerIdTxt"), std::string("IFX"));
  CHECK_EQ(d.Value(kStatus + "/TPM/ManufacturerVersion"), std::string("7.85.4555.0"));
  CHECK_EQ(d.Value(kHa + "/TpmReadyStatus"), std::string("1"));
  // Device Guard / DMA.
  CHECK_EQ(d.Value(kStatus + "/DeviceGuard/VirtualizationBasedSecurityHwReq"), std::string("8"));
  CHECK_EQ(d.Value(kStatus + "/DeviceGuard/VirtualizationBasedSecurityStatus"), std::string("4"));
  CHECK_EQ(d.Value(kStatus + "/DMA/BootDMAProtectionStatus"), std::string("2"));
  // No cellular radio: no instances.
  CHECK_EQ(d.Value(kStatus + "/CellularIdentities"), std::string(""));
}

void TestNetworkIdentifiers() {
  Device d;
  CHECK_EQ(d.Value(kStatus + "/NetworkIdentifiers"), std::string(""));
  wdm::emulator::NetInterface eth;
  eth.name = "eth0";
  eth.mac = "0A1B2C3D4E5F";
  eth.ipv4 = "192.0.2.10";
  eth.ipv6 = "2001:db8::10";
  eth.connected = true;
  eth.type = 1;
  wdm::emulator::NetInterface wlan;
  wlan.name = "wlan0";
  wlan.mac = "001122334455";
  wlan.type = 2;
  d.host->interfaces = {eth, wlan};
  CHECK_EQ(d.Value(kStatus + "/NetworkIdentifiers"), std::string("001122334455/0A1B2C3D4E5F"));
  const std::string card = kStatus + "/NetworkIdentifiers/0A1B2C3D4E5F";
  CHECK_EQ(d.Value(card), std::string("IPAddressV4/IPAddressV6/IsConnected/Type"));
  CHECK_EQ(d.Value(card + "/IPAddressV4"), std::string("192.0.2.10"));
  CHECK_EQ(d.Value(card + "/IPAddressV6"), std::string("2001:db8::10"));
  CHECK_EQ(d.Value(card + "/IsConnected"), std::string("true"));
  CHECK_EQ(d.Value(card + "/Type"), std::string("1"));
  CHECK_EQ(d.Value(kStatus + "/NetworkIdentifiers/001122334455/Type"), std::string("2"));
  CHECK_EQ(d.Value(kStatus + "/NetworkIdentifiers/001122334455/IsConnected"), std::string("false"));
  const OpResult list = d.Run({Get(kStatus + "/NetworkIdentifiers?list=StructData")})[0];
  CHECK_EQ(list.items.size(), std::size_t{11});
  // Host inventory, not device state: gone from the tree (and the state file) after the request.
  const wdm::emulator::Path cards{"Device", "Vendor", "MSFT", "DeviceStatus", "NetworkIdentifiers"};
  CHECK(d.engine->tree().ChildNames(cards).empty());
  // A card that goes away disappears; Get-only inventory refuses writes.
  d.host->interfaces = {wlan};
  CHECK_EQ(d.Status(Get(card + "/IPAddressV4")), 404);
  CHECK_EQ(d.Value(kStatus + "/NetworkIdentifiers"), std::string("001122334455"));
  CHECK_EQ(d.Status(MakeOp(Verb::kDelete, kStatus + "/NetworkIdentifiers/001122334455")), 405);
  CHECK_EQ(d.Status(Replace(kStatus + "/NetworkIdentifiers/001122334455/Type", "int", "1")), 405);
}

void TestRebootNow() {
  Device d;
  CHECK_EQ(d.State().reboot_count, 0);
  CHECK_EQ(d.Status(Exec(kReboot + "/RebootNow")), 200);
  CHECK_EQ(d.State().reboot_count, 1);
  CHECK_EQ(d.State().last_reboot_time, std::string("2026-01-01T03:00:00Z"));
  d.host->now += 3600;
  CHECK_EQ(d.Status(Exec("./Vendor/MSFT/Reboot/RebootNow", std::string("why"))), 200);
  const BehaviorState state = d.State();
  CHECK_EQ(state.reboot_count, 2);
  CHECK_EQ(state.last_reboot_time, std::string("2026-01-01T04:00:00Z"));
  if (CHECK_EQ(state.events.size(), std::size_t{2})) {
    CHECK_EQ(state.events[1].kind, std::string("reboot"));
    CHECK_EQ(state.events[1].command, std::string("RebootNow"));
    CHECK_EQ(state.events[1].uri, std::string("./Device/Vendor/MSFT/Reboot/RebootNow"));
    CHECK(state.events[1].data == std::optional<std::string>("why"));
    CHECK(!state.events[0].data);
  }
  CHECK_EQ(d.engine->exec_log().size(), std::size_t{2});
  // The persisted events object (state_store.h) holds the same.
  const wdm::json::Value& events = d.engine->events();
  const wdm::json::Value* reboot = events.Find("reboot");
  CHECK(reboot != nullptr && reboot->Find("count") != nullptr &&
        reboot->Find("count")->int_value() == 2);
  std::string text, error;
  CHECK(wdm::json::Write(events, &text, &error));
  CHECK(text.find("\"last\":\"2026-01-01T04:00:00Z\"") != std::string::npos);
  // Foreign members of the events object are kept.
  d.engine->mutable_events()->Set("recovered", wdm::json::Value::String("x"));
  CHECK_EQ(d.Status(Exec(kReboot + "/RebootNow")), 200);
  CHECK(d.engine->events().Find("recovered") != nullptr);
  CHECK_EQ(d.State().reboot_count, 3);
  // The log keeps the last kMaxEvents; the counter keeps counting.
  std::vector<Op> many(BehaviorState::kMaxEvents + 5, Exec(kReboot + "/RebootNow"));
  d.Run(many);
  CHECK_EQ(d.State().reboot_count, static_cast<std::int64_t>(3 + many.size()));
  CHECK_EQ(d.State().events.size(), BehaviorState::kMaxEvents);
  // Members of the wrong type read as defaults (a hand-edited state file).
  wdm::json::Value odd = wdm::json::Value::Object();
  odd.Set("reboot", wdm::json::Value::String("x"));
  odd.Set("log", wdm::json::Value::Int(3));
  odd.Set("healthAttestation", wdm::json::Value::Array());
  const BehaviorState defaults = BehaviorState::Load(odd);
  CHECK(defaults.reboot_count == 0 && defaults.events.empty() && defaults.health.status == 0);
  // Reset clears it.
  d.engine->Reset();
  CHECK_EQ(d.State().reboot_count, 0);
}

void TestSchedules() {
  Device d;
  CHECK_EQ(d.Status(Add(kSingle, "chr", "2026-01-01T03:00:00.5")), 400);
  CHECK_EQ(d.Status(Get(kSingle)), 404);  // a refused Add leaves no node
  for (const char* bad : {"2026-01-01T03:00:00.000Z", "tomorrow", "2026-01-01", "03:00:00",
                          "2026-02-30T03:00:00", "2026-01-01T03:00:00+25:00"}) {
    if (!CHECK_EQ(d.Status(Add(kSingle, "chr", bad)), 400)) std::fprintf(stderr, "  %s\n", bad);
  }
  CHECK_EQ(d.Status(Add(kSingle, "chr", "2026-01-01T03:00:00")), 200);
  CHECK_EQ(d.Value(kSingle), std::string("2026-01-01T03:00:00"));
  CHECK_EQ(d.Status(Replace(kSingle, "chr", "2026-06-01T03:00:00.25Z")), 400);
  CHECK_EQ(d.Value(kSingle), std::string("2026-01-01T03:00:00"));
  CHECK_EQ(d.Status(Replace(kSingle, "chr", "2026-06-01T03:00:00Z")), 200);
  CHECK_EQ(d.Status(Replace(kSingle, "chr", "2026-06-01T03:00:00-08:00")), 200);
  CHECK_EQ(d.Status(Replace(kSingle, "chr", "")), 200);  // clears the schedule
  CHECK_EQ(d.Value(kSingle), std::string(""));
  CHECK_EQ(d.Status(Add("./Vendor/MSFT/Reboot/Schedule/DailyRecurrent", "chr", "03:00:00")), 200);
  CHECK_EQ(d.Status(Replace(kDaily, "chr", "2026-01-01T03:00:00Z")), 200);
  CHECK_EQ(d.Status(Replace(kDaily, "chr", "03:00:00.5")), 400);
  CHECK_EQ(d.Status(Replace(kDaily, "chr", "3 am")), 400);
  CHECK_EQ(d.Value(kDaily), std::string("2026-01-01T03:00:00Z"));
  // The format check comes first: a non-chr Meta/Format is still 415.
  CHECK_EQ(d.Status(Replace(kDaily, "int", "5")), 415);
}

void TestRemoteWipe() {
  Device d;
  CHECK_EQ(d.Value(kWipe + "/AutomaticRedeployment/Status"), std::string("0"));
  CHECK_EQ(d.Status(Exec(kWipe + "/doWipe", std::string("1"))), 200);
  CHECK_EQ(d.Value(kWipe + "/AutomaticRedeployment/Status"), std::string("10"));
  CHECK_EQ(d.Value(kWipe + "/AutomaticRedeployment/LastError"), std::string("0"));
  d.host->now += 10;
  for (const char* node :
       {"doWipeProtected", "doWipePersistProvisionedData", "doWipePersistUserData",
        "AutomaticRedeployment/doAutomaticRedeployment"}) {
    CHECK_EQ(d.Status(Exec(kWipe + "/" + node)), 200);
  }
  BehaviorState state = d.State();
  CHECK_EQ(state.wipe_count, 5);
  if (CHECK_EQ(state.events.size(), std::size_t{5})) {
    CHECK_EQ(state.events[0].kind, std::string("wipe"));
    CHECK_EQ(state.events[0].command, std::string("doWipe"));
    CHECK(state.events[0].data == std::optional<std::string>("1"));
    CHECK_EQ(state.events[0].time, std::string("2026-01-01T03:00:00Z"));
    CHECK_EQ(state.events[4].command, std::string("doAutomaticRedeployment"));
    CHECK_EQ(state.events[4].time, std::string("2026-01-01T03:00:10Z"));
  }
  // The emulated reset completes with the next (emulated) reboot.
  CHECK_EQ(d.Status(Exec(kReboot + "/RebootNow")), 200);
  CHECK_EQ(d.Value(kWipe + "/AutomaticRedeployment/Status"), std::string("1"));
  CHECK_EQ(d.Status(Get(kWipe + "/doWipe")), 405);  // Exec-only node
}

void TestAtomicRollsBackEffects() {
  Device d;
  CHECK_EQ(d.Status(Add(kSingle, "chr", "2026-01-01T03:00:00")), 200);
  const std::string before = [&] {
    std::string text, error;
    wdm::json::Write(d.engine->events(), &text, &error);
    return text;
  }();
  // Effects of Exec commands before the failing one are undone.
  std::vector<OpResult> r =
      d.Run({Exec(kReboot + "/RebootNow"), Exec(kWipe + "/doWipe"), Exec(kHa + "/VerifyHealth"),
             Replace(kSingle, "chr", "2026-02-01T03:00:00.5")},
            true);
  CHECK(r[0].status == 216 && r[1].status == 216 && r[2].status == 216 && r[3].status == 400);
  BehaviorState state = d.State();
  CHECK_EQ(state.reboot_count, 0);
  CHECK_EQ(state.wipe_count, 0);
  CHECK(state.events.empty());
  CHECK_EQ(state.health.status, 0);
  CHECK_EQ(d.Value(kSingle), std::string("2026-01-01T03:00:00"));
  CHECK_EQ(d.Value(kWipe + "/AutomaticRedeployment/Status"), std::string("0"));
  CHECK(d.engine->exec_log().empty());
  std::string after, error;
  wdm::json::Write(d.engine->events(), &after, &error);
  CHECK_EQ(after, before);
  // A schedule failing first: nothing runs after it either.
  r = d.Run({Add(kDaily, "chr", "03:00:00.1"), Exec(kReboot + "/RebootNow")}, true);
  CHECK(r[0].status == 400 && r[1].status == 216);
  CHECK_EQ(d.State().reboot_count, 0);
  // All succeed: committed.
  r = d.Run({Exec(kReboot + "/RebootNow"), Replace(kSingle, "chr", "2026-02-01T03:00:00Z"),
             Exec(kWipe + "/doWipe")},
            true);
  CHECK(r[0].status == 200 && r[1].status == 200 && r[2].status == 200);
  state = d.State();
  CHECK_EQ(state.reboot_count, 1);
  CHECK_EQ(state.wipe_count, 1);
  CHECK_EQ(state.events.size(), std::size_t{2});
}

void TestHealthAttestation() {
  Device d;
  CHECK_EQ(d.Value(kHa + "/Status"), std::string("0"));
  CHECK_EQ(d.Status(Get(kHa + "/Certificate")), 404);
  CHECK_EQ(d.Status(Get(kHa + "/CorrelationID")), 404);
  CHECK_EQ(d.Value(kHa + "/HASEndpoint"), std::string("has.spserv.microsoft.com."));
  CHECK_EQ(d.Value(kHa + "/Nonce"), std::string("\\0"));
  CHECK_EQ(d.Value(kHa + "/MaxSupportedProtocolVersion"), std::string("3"));
  CHECK_EQ(d.Value(kHa + "/CurrentProtocolVersion"), std::string("3"));
  CHECK_EQ(d.Status(Replace(kHa + "/PreferredMaxProtocolVersion", "int", "2")), 200);
  CHECK_EQ(d.Value(kHa + "/CurrentProtocolVersion"), std::string("2"));
  CHECK_EQ(d.Status(Replace(kHa + "/PreferredMaxProtocolVersion", "int", "0")), 400);
  // Nonce per DDF: hex, 8-32 bytes.
  CHECK_EQ(d.Status(Replace(kHa + "/Nonce", "chr", "abc")), 400);
  CHECK_EQ(d.Status(Replace(kHa + "/Nonce", "chr", "0123456789abcdefg")), 400);
  CHECK_EQ(d.Status(Replace(kHa + "/Nonce", "chr", std::string(66, 'a'))), 400);
  CHECK_EQ(d.Status(Replace(kHa + "/Nonce", "chr", "00112233445566778899AABBCCDDEEFF")), 200);
  CHECK_EQ(d.Status(Replace(kHa + "/HASEndpoint", "chr", "https://has.contoso.com/x")), 400);
  CHECK_EQ(d.Status(Replace(kHa + "/HASEndpoint", "chr", "has.contoso.com")), 200);
  CHECK_EQ(d.Status(Replace(kHa + "/ForceRetrieve", "bool", "yes")), 415);
  CHECK_EQ(d.Status(Get(kHa + "/VerifyHealth")), 405);

  // The sequence: Exec -> first Get of Status 1 -> later Gets 3.
  CHECK_EQ(d.Status(Exec(kHa + "/VerifyHealth")), 200);
  CHECK_EQ(d.Status(Get(kHa + "/Certificate")), 404);  // not ready yet
  const std::string correlation = d.Value(kHa + "/CorrelationID");
  CHECK_EQ(correlation.size(), std::size_t{36});
  CHECK_EQ(d.Value(kHa + "/Status"), std::string("1"));
  CHECK_EQ(d.Value(kHa + "/Status"), std::string("3"));
  CHECK_EQ(d.Value(kHa + "/Status"), std::string("3"));
  const OpResult cert = d.Run({Get(kHa + "/Certificate")})[0];
  CHECK_EQ(cert.status, 200);
  std::string blob;
  if (CHECK_EQ(cert.items.size(), std::size_t{1})) {
    CHECK(cert.items[0].format == std::optional<std::string>("chr"));
    blob = cert.items[0].data.value_or("");
  }
  const std::string text = Base64Decode(blob);
  CHECK_EQ(text.rfind("EMULATED DHA-Data", 0), std::size_t{0});
  CHECK(text.find("Nonce: 00112233445566778899AABBCCDDEEFF\n") != std::string::npos);
  CHECK(text.find("DevId: " + wdm::emulator::DeviceId(d.host->identity)) != std::string::npos);
  CHECK(text.find("CorrelationID: " + correlation) != std::string::npos);
  CHECK(text.find("Issued: 2026-01-01T03:00:00Z") != std::string::npos);
  CHECK(text.find("HASEndpoint: has.contoso.com\n") != std::string::npos);
  CHECK_EQ(d.Value(kHa + "/Certificate"), blob);  // deterministic
  // What a verifier decides remediation on: Secure Boot, from the host or the profile's value.
  CHECK(text.find("SecureBootState: 0\nSecureBootEnabled: false\n") != std::string::npos);
  CHECK(text.find("AIKPresent: false\n") != std::string::npos);
  CHECK(text.find("RestartCount: 0\n") != std::string::npos);
  {
    // The digest covers every line before it.
    const std::size_t at = text.find("Digest: ");
    CHECK(at != std::string::npos &&
          text.substr(at) == "Digest: " + wdm::emulator::Sha256Hex(text.substr(0, at)) + "\n");
  }
  d.host->identity.secure_boot = wdm::emulator::SecureBootState::kEnabled;
  CHECK(Base64Decode(d.Value(kHa + "/Certificate")).find("SecureBootEnabled: true\n") !=
        std::string::npos);
  const wdm::emulator::Path secure_boot{"Device", "Vendor", "MSFT", "DeviceStatus",
                                        "SecureBootState"};
  d.engine->mutable_tree()->SetValue(secure_boot, "2");  // as a device profile sets it
  CHECK(Base64Decode(d.Value(kHa + "/Certificate"))
            .find("SecureBootState: 2\nSecureBootEnabled: false\n") != std::string::npos);
  d.engine->mutable_tree()->SetValue(secure_boot,
                                     d.engine->tree().Find(secure_boot)->schema->StartValue());
  d.host->identity.secure_boot = wdm::emulator::SecureBootState::kNotSupported;
  CHECK_EQ(d.Value(kHa + "/Certificate"), blob);
  CHECK_EQ(d.Status(Replace(kHa + "/Nonce", "chr", "ffffffffffffffff")), 200);
  CHECK(d.Value(kHa + "/Certificate") != blob);  // bound to the nonce

  // A new request: new correlation id, cached certificate time unless ForceRetrieve.
  d.host->now += 600;
  CHECK_EQ(d.Status(Exec(kHa + "/VerifyHealth")), 200);
  CHECK(d.Value(kHa + "/CorrelationID") != correlation);
  CHECK_EQ(d.Value(kHa + "/Status"), std::string("1"));
  CHECK(Base64Decode(d.Value(kHa + "/Certificate")).find("Issued: 2026-01-01T03:00:00Z") !=
        std::string::npos);
  CHECK_EQ(d.Status(Replace(kHa + "/ForceRetrieve", "bool", "true")), 200);
  CHECK_EQ(d.Status(Exec(kHa + "/VerifyHealth")), 200);
  CHECK_EQ(d.Value(kHa + "/Status"), std::string("1"));
  CHECK_EQ(d.Value(kHa + "/Status"), std::string("3"));
  CHECK(Base64Decode(d.Value(kHa + "/Certificate")).find("Issued: 2026-01-01T03:10:00Z") !=
        std::string::npos);
  CHECK_EQ(d.State().health.requests, 3);

  // No endpoint: the request fails at once (Status 404), no certificate.
  CHECK_EQ(d.Status(Replace(kHa + "/HASEndpoint", "chr", "")), 200);
  CHECK_EQ(d.Status(Exec(kHa + "/VerifyHealth")), 200);
  CHECK_EQ(d.Value(kHa + "/Status"), std::string("404"));
  CHECK_EQ(d.Value(kHa + "/Status"), std::string("404"));
  CHECK_EQ(d.Status(Get(kHa + "/Certificate")), 404);

  // The machine's state is persisted in the events object.
  const wdm::json::Value* health = d.engine->events().Find("healthAttestation");
  CHECK(health != nullptr && health->Find("status") != nullptr &&
        health->Find("status")->int_value() == 404);
  // And a listing of the CSP does not leak a certificate that is not ready.
  const OpResult list = d.Run({Get(kHa + "?list=StructData")})[0];
  for (const auto& item : list.items) CHECK(item.uri != kHa + "/Certificate");
}

void TestDiagnosticLog() {
  Device d;
  const std::string c = kEtw + "/AzureDM";
  const std::string ch = kChannel + "/AzureDM";
  const std::string guid = "D198EE7D-C5F1-4F5F-95BE-A2EE6FA45897";
  CHECK_EQ(d.Status(MakeOp(Verb::kAdd, c)), 200);
  CHECK_EQ(d.Status(MakeOp(Verb::kAdd, c + "/Providers/" + guid)), 200);
  CHECK_EQ(d.Status(Replace(c + "/Providers/" + guid + "/TraceLevel", "int", "4")), 200);
  CHECK_EQ(d.Value(c + "/TraceStatus"), std::string("0"));
  CHECK_EQ(d.Status(Exec(c + "/TraceControl", std::string("PAUSE"))), 400);
  CHECK_EQ(d.Status(Exec(c + "/TraceControl")), 400);
  CHECK_EQ(d.Status(Get(ch + "/BlockCount")), 404);  // no log before a stop
  // A START inside a failed Atomic leaves no trace.
  std::vector<OpResult> r = d.Run(
      {Exec(c + "/TraceControl", std::string("START")), Add(kDaily, "chr", "03:00:00.1")}, true);
  CHECK(r[0].status == 216 && r[1].status == 400);
  CHECK_EQ(d.Value(c + "/TraceStatus"), std::string("0"));
  CHECK(d.engine->events().Find("diagnosticLog") == nullptr);

  CHECK_EQ(d.Status(Exec(c + "/TraceControl", std::string("START"))), 200);
  CHECK_EQ(d.Value(c + "/TraceStatus"), std::string("1"));
  d.host->now += 90;
  CHECK_EQ(d.Status(Exec(c + "/TraceControl", std::string("STOP"))), 200);
  CHECK_EQ(d.Status(Exec(c + "/TraceControl", std::string("STOP"))), 200);  // no change
  CHECK_EQ(d.Value(c + "/TraceStatus"), std::string("0"));
  CHECK_EQ(d.Value(kChannel), std::string("AzureDM"));

  const std::string expected =
      wdm::emulator::EmulatedLog("AzureDM", guid + ":4:\"0\":true;", 1767236400, 1767236490);
  CHECK_EQ(expected.rfind("EMULATED ETL", 0), std::size_t{0});
  CHECK(expected.find("Started: 2026-01-01T03:00:00Z\nStopped: 2026-01-01T03:01:30Z\n") !=
        std::string::npos);
  const std::size_t blocks = (expected.size() + 4095) / 4096;
  CHECK(blocks >= 2);
  CHECK_EQ(d.Value(ch + "/BlockSizeKB"), std::string("4"));
  CHECK_EQ(d.Value(ch + "/BlockCount"), std::to_string(blocks));
  std::string log;
  for (std::size_t i = 0; i < blocks; ++i) {
    r = d.Run(
        {Replace(ch + "/BlockIndexToRead", "int", std::to_string(i)), Get(ch + "/BlockData")});
    CHECK(r[0].status == 200 && r[1].status == 200);
    if (r[1].items.size() == 1) log += Base64Decode(r[1].items[0].data.value_or(""));
  }
  CHECK(log == expected);
  CHECK_EQ(d.Status(Replace(ch + "/BlockIndexToRead", "int", std::to_string(blocks))), 400);
  CHECK_EQ(d.Status(Replace(ch + "/BlockSizeKB", "int", "17")), 400);  // DDF: 1-16
  CHECK_EQ(d.Status(Replace(ch + "/BlockSizeKB", "int", "16")), 200);
  CHECK_EQ(d.Value(ch + "/BlockIndexToRead"), std::string("0"));
  CHECK_EQ(d.Value(ch + "/BlockCount"), std::string("1"));
  CHECK(Base64Decode(d.Value(ch + "/BlockData")) == expected);

  // Persisted in events.diagnosticLog: the session and both accepted controls (not the refused).
  const wdm::json::Value* diag = d.engine->events().Find("diagnosticLog");
  const wdm::json::Value* controls = diag == nullptr ? nullptr : diag->Find("controls");
  CHECK(controls != nullptr && controls->items().size() == 3);
  const wdm::json::Value* collectors = diag == nullptr ? nullptr : diag->Find("collectors");
  const wdm::json::Value* entry = collectors == nullptr ? nullptr : collectors->Find("AzureDM");
  CHECK(entry != nullptr && entry->Find("runs") != nullptr &&
        entry->Find("runs")->int_value() == 1);
}

void TestSystemHostIsPlausible() {
  std::unique_ptr<wdm::emulator::DeviceHost> host = wdm::emulator::NewSystemHost();
  const wdm::emulator::HostIdentity& id = host->Identity();
  CHECK(!id.machine.empty());
  CHECK_EQ(id.stable_id.size(), std::size_t{64});
  CHECK(host->TotalRamBytes() > (16ull << 20));
  std::uint64_t total = 0, available = 0;
  CHECK(host->Storage(&total, &available) && total >= available && total > 0);
  CHECK(!host->HostName().empty());
  const std::int64_t now = host->Now();
  CHECK(now > 1700000000);
  const int offset = host->UtcOffset(now);
  CHECK(offset >= -14 * 3600 && offset <= 14 * 3600);
  for (const auto& card : host->Interfaces()) {
    CHECK_EQ(card.mac.size(), std::size_t{12});
    CHECK(card.type >= 0 && card.type <= 2);
  }
  const wdm::emulator::BatteryFacts battery = host->Battery();
  CHECK(battery.percent >= -1 && battery.percent <= 100);
  // Identity is read once: the same object every time.
  CHECK(&host->Identity() == &id);
}

}  // namespace

int main() {
  RUN(TestIso8601);
  RUN(TestSha256AndIds);
  RUN(TestHostMappings);
  RUN(TestTpmParse);
  RUN(TestDnsNameAndNonce);
  RUN(TestDevDetailFromHost);
  RUN(TestDevInfo);
  RUN(TestNamesArePendingAndHostUntouched);
  RUN(TestProfileValuesWin);
  RUN(TestDeviceStatus);
  RUN(TestNetworkIdentifiers);
  RUN(TestRebootNow);
  RUN(TestSchedules);
  RUN(TestRemoteWipe);
  RUN(TestAtomicRollsBackEffects);
  RUN(TestHealthAttestation);
  RUN(TestDiagnosticLog);
  RUN(TestSystemHostIsPlausible);
  return wdm::test::Finish("behaviors_test");
}
