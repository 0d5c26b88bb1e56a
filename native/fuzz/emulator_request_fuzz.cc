// libFuzzer target: the CSP emulator's request side, end to end in-process: codec_device.cc
// ParseRequest, then Engine::HandleRequest on a device reset to its initial tree (node_tree,
// node_ops, value checks and the device-backed behaviours over a FixedHost, so nothing of the
// real machine is read), then EncodeResponse. Built by scripts/fuzz.sh with
// -fsanitize=fuzzer,address,undefined.
//
// Checks besides "no crash, no leak, no UB": the answer is always a <SyncML> document; when the
// request is valid UTF-8 (exports.cc only ever passes UTF-8 converted from the caller's UTF-16)
// the answer is valid UTF-8 too, so it converts back to UTF-16 for the caller.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/utf16.h"
#include "emulator/device_host.h"
#include "emulator/engine.h"
#include "emulator/seed.h"
#include "syncml/codec.h"

namespace {

using wdm::emulator::Engine;
using wdm::emulator::FixedHost;
using wdm::emulator::Schema;

void Expect(bool ok) {
  if (!ok) std::abort();
}

Engine& TheEngine() {
  static std::unique_ptr<Schema> schema;
  static std::unique_ptr<Engine> engine;
  if (!engine) {
    std::string error;
    if (!wdm::emulator::BuildSeedSchema(&schema, &error)) {
      std::fprintf(stderr, "emulator_request_fuzz: %s\n", error.c_str());
      std::abort();
    }
    auto host = std::make_unique<FixedHost>();
    host->identity.kernel_release = "6.1.0-18-amd64";
    host->identity.machine = "x86_64";
    host->identity.os_name = "Debian GNU/Linux";
    host->identity.stable_id = "fuzz";
    engine = std::make_unique<Engine>(*schema, std::move(host));
  }
  return *engine;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view request(reinterpret_cast<const char*>(data), size);

  // The parser alone (what a caller of the codec sees).
  std::vector<wdm::syncml::Command> commands;
  std::string error;
  if (!wdm::syncml::ParseRequest(request, &commands, &error)) Expect(!error.empty());

  // The whole device, from its initial state.
  // Back to the initial state, unless the previous input left it untouched (most do: a full
  // Reset rebuilds thousands of CSP-provided nodes and would cost ~10 ms per input).
  Engine& engine = TheEngine();
  static std::uint64_t pristine = 0;
  if (pristine == 0 || engine.tree().version() != pristine || !engine.exec_log().empty() ||
      !(engine.events() == wdm::json::Value::Object())) {
    engine.Reset();
    pristine = engine.tree().version();
  }
  const std::string response = engine.HandleRequest(request);
  Expect(response.rfind("<SyncML", 0) == 0);
  std::u16string wide;
  if (wdm::text::Utf8ToUtf16(request, &wide, &error)) {
    Expect(wdm::text::Utf8ToUtf16(response, &wide, &error));
  }
  return 0;
}
