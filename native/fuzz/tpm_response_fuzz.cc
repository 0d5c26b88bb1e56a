// libFuzzer target: the native TPM response handling (tpm/framing.cc: ParseResponseHeader,
// CheckResponse, CheckCommand, CommandLabel) and the emulator's TPM2_GetCapability properties
// parser (device_host.cc ParseTpm2PropertiesResponse). Built by scripts/fuzz.sh with
// -fsanitize=fuzzer,address,undefined.
//
// The TPM structures themselves are unmarshaled in TypeScript (lib/tpm/marshal.ts, structures.ts,
// commands/*): libFuzzer cannot reach them; test/unit/tpm/unmarshal-property.test.ts covers them
// with fast-check over random and mutated bytes instead.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "emulator/device_host.h"
#include "tpm/framing.h"

namespace {

void Expect(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace tpm = wdm::tpm;
  std::string error;
  if (size >= tpm::kHeaderSize) {
    std::size_t announced = 0;
    if (tpm::ParseResponseHeader(data, &announced, &error)) {
      Expect(announced >= tpm::kHeaderSize && announced <= tpm::kMaxResponseSize);
    } else {
      Expect(!error.empty());
    }
  }
  error.clear();
  if (tpm::CheckResponse(data, size, &error)) {
    Expect(size >= tpm::kHeaderSize && size <= tpm::kMaxResponseSize);
    Expect(tpm::ReadU32(data + 2) == size);
  } else {
    Expect(!error.empty());
  }
  error.clear();
  if (tpm::CheckCommand(data, size, &error)) {
    Expect(tpm::CommandLabel(data).rfind("TPM_CC 0x", 0) == 0);
  } else {
    Expect(!error.empty());
  }
  wdm::emulator::TpmFacts facts;
  wdm::emulator::ParseTpm2PropertiesResponse(data, size, &facts);
  return 0;
}
