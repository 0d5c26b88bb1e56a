// Seed tables of the emulator (see seed.h). The facts are the table generated from Microsoft's
// DDF files (ddf_facts.h); the values describe an imaginary emulated device.
#include "emulator/seed.h"

#include "emulator/ddf_facts.h"

namespace wdm::emulator {
namespace {

#define DEVDETAIL "./DevDetail"

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

}  // namespace

const NodeFact* SeedFacts(std::size_t* count) { return DdfFacts(count); }

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
