// Seed tables of the emulator (see seed.h). Facts are looked up in Microsoft's DDF files
// (DevDetail, DevInfo, Reboot, Policy + Update area, RootCATrustedCertificates); the values
// describe an imaginary emulated device.
#include "emulator/seed.h"

namespace wdm::emulator {
namespace {

constexpr const char* kChr = "chr";
constexpr const char* kInt = "int";
constexpr const char* kNode = "node";
constexpr const char* kGet = "Get";
constexpr const char* kOne = "One";
constexpr const char* kPerm = "Permanent";
constexpr const char* kDyn = "Dynamic";

#define DEVDETAIL "./DevDetail"
#define REBOOT "./Device/Vendor/MSFT/Reboot"
#define POLICY "./Device/Vendor/MSFT/Policy"
#define ROOTCA "./Device/Vendor/MSFT/RootCATrustedCertificates"

// path, format, access, occurrence, scope, default, allowed, mime
constexpr NodeFact kFacts[] = {
    {DEVDETAIL, kNode, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/URI", kNode, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/URI/MaxDepth", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/URI/MaxTotLen", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/URI/MaxSegLen", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/DevTyp", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/OEM", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/FwV", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/SwV", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/HwV", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/LrgObj", "bool", kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/Ext", kNode, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/Ext/Microsoft", kNode, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/Ext/Microsoft/ProcessorArchitecture", kInt, kGet, kOne, kPerm, nullptr, nullptr,
     nullptr},
    {DEVDETAIL "/Ext/Microsoft/OSPlatform", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/Ext/Microsoft/LocalTime", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/Ext/Microsoft/DeviceName", kChr, "Get,Replace", kOne, kPerm, nullptr,
     "None:", nullptr},
    {DEVDETAIL "/Ext/Microsoft/DNSComputerName", kChr, "Get,Replace", kOne, kPerm, nullptr,
     "None:", nullptr},
    {DEVDETAIL "/Ext/Microsoft/TotalStorage", kInt, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/Ext/Microsoft/FreeStorage", kInt, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/Ext/Microsoft/TotalRAM", kInt, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {DEVDETAIL "/Ext/Microsoft/SMBIOSSerialNumber", kChr, kGet, kOne, kPerm, nullptr, nullptr,
     nullptr},

    {"./DevInfo", kNode, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {"./DevInfo/DevId", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {"./DevInfo/Man", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {"./DevInfo/Mod", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {"./DevInfo/DmV", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {"./DevInfo/Lang", kChr, kGet, kOne, kPerm, nullptr, nullptr, nullptr},

    {REBOOT, kNode, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {REBOOT "/RebootNow", "null", "Exec,Get", kOne, kPerm, nullptr, nullptr, nullptr},
    {REBOOT "/Schedule", kNode, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {REBOOT "/Schedule/Single", kChr, "Add,Delete,Get,Replace", kOne, kDyn, nullptr,
     "None:", nullptr},
    {REBOOT "/Schedule/DailyRecurrent", kChr, "Add,Delete,Get,Replace", kOne, kDyn, nullptr,
     "None:", nullptr},

    {POLICY, kNode, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {POLICY "/Config", kNode, "Add,Delete,Get", "ZeroOrOne", kDyn, nullptr, nullptr, nullptr},
    {POLICY "/Config/Update", kNode, kGet, kOne, kPerm, nullptr, nullptr,
     "com.microsoft/11/MDM/Policy"},
    {POLICY "/Config/Update/ActiveHoursEnd", kInt, "Add,Delete,Get,Replace", "ZeroOrOne", kDyn,
     "17", "Range:[0-23]", "text/plain"},
    {POLICY "/Config/Update/ActiveHoursMaxRange", kInt, "Add,Delete,Get,Replace", "ZeroOrOne", kDyn,
     "18", "Range:[8-18]", "text/plain"},
    {POLICY "/Config/Update/ActiveHoursStart", kInt, "Add,Delete,Get,Replace", "ZeroOrOne", kDyn,
     "8", "Range:[0-23]", "text/plain"},

    {ROOTCA, kNode, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {ROOTCA "/Root", kNode, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {ROOTCA "/Root/<x>", kNode, "Delete,Get", "ZeroOrMore", kDyn, nullptr, nullptr, nullptr},
    {ROOTCA "/Root/<x>/EncodedCertificate", "b64", "Add,Get,Replace", kOne, kDyn, nullptr,
     "None:", nullptr},
    {ROOTCA "/Root/<x>/IssuedBy", kChr, kGet, kOne, kDyn, nullptr, nullptr, nullptr},
    {ROOTCA "/Root/<x>/IssuedTo", kChr, kGet, kOne, kDyn, nullptr, nullptr, nullptr},
    {ROOTCA "/Root/<x>/ValidFrom", kChr, kGet, kOne, kDyn, nullptr, nullptr, nullptr},
    {ROOTCA "/Root/<x>/ValidTo", kChr, kGet, kOne, kDyn, nullptr, nullptr, nullptr},
    {ROOTCA "/Root/<x>/TemplateName", kChr, kGet, kOne, kDyn, nullptr, nullptr, nullptr},
    {ROOTCA "/CA", kNode, kGet, kOne, kPerm, nullptr, nullptr, nullptr},
    {ROOTCA "/CA/<x>", kNode, "Delete,Get", "ZeroOrMore", kDyn, nullptr, nullptr, nullptr},
    {ROOTCA "/CA/<x>/EncodedCertificate", "b64", "Add,Get,Replace", kOne, kDyn, nullptr,
     "None:", nullptr},
    {ROOTCA "/CA/<x>/IssuedBy", kChr, kGet, kOne, kDyn, nullptr, nullptr, nullptr},
    {ROOTCA "/CA/<x>/IssuedTo", kChr, kGet, kOne, kDyn, nullptr, nullptr, nullptr},
};

constexpr NodeValue kValues[] = {
    {DEVDETAIL "/URI/MaxDepth", "32"},
    {DEVDETAIL "/URI/MaxTotLen", "4096"},
    {DEVDETAIL "/URI/MaxSegLen", "255"},
    {DEVDETAIL "/DevTyp", "CSP Emulator"},
    {DEVDETAIL "/OEM", "windows-iot-dm"},
    {DEVDETAIL "/FwV", "1.0.0"},
    {DEVDETAIL "/SwV", "10.0.19044.1288"},
    {DEVDETAIL "/HwV", "1.0"},
    {DEVDETAIL "/LrgObj", "true"},
    {DEVDETAIL "/Ext/Microsoft/ProcessorArchitecture", "9"},
    {DEVDETAIL "/Ext/Microsoft/OSPlatform", "Windows 10 IoT Enterprise"},
    {DEVDETAIL "/Ext/Microsoft/LocalTime", "2024-01-01T00:00:00.0000000+00:00"},
    {DEVDETAIL "/Ext/Microsoft/DeviceName", "EMULATOR"},
    {DEVDETAIL "/Ext/Microsoft/DNSComputerName", "EMULATOR"},
    {DEVDETAIL "/Ext/Microsoft/TotalStorage", "65536"},
    {DEVDETAIL "/Ext/Microsoft/FreeStorage", "32768"},
    {DEVDETAIL "/Ext/Microsoft/TotalRAM", "4096"},
    {DEVDETAIL "/Ext/Microsoft/SMBIOSSerialNumber", "EMU-0001"},
    {"./DevInfo/DevId", "00000000-0000-4000-8000-000000000001"},
    {"./DevInfo/Man", "windows-iot-dm"},
    {"./DevInfo/Mod", "CSP Emulator"},
    {"./DevInfo/DmV", "1.3"},
    {"./DevInfo/Lang", "en-US"},
};

#undef DEVDETAIL
#undef REBOOT
#undef POLICY
#undef ROOTCA

}  // namespace

const NodeFact* SeedFacts(std::size_t* count) {
  *count = sizeof(kFacts) / sizeof(kFacts[0]);
  return kFacts;
}

const NodeValue* SeedValues(std::size_t* count) {
  *count = sizeof(kValues) / sizeof(kValues[0]);
  return kValues;
}

bool BuildSeedSchema(std::unique_ptr<Schema>* out, std::string* error) {
  std::size_t fact_count = 0;
  std::size_t value_count = 0;
  const NodeFact* facts = SeedFacts(&fact_count);
  const NodeValue* values = SeedValues(&value_count);
  return Schema::Build(facts, fact_count, values, value_count, out, error);
}

}  // namespace wdm::emulator
