// Writes the SyncML seed corpora (docs/fuzzing.md) from real messages: the requests the addon
// encodes for the built-in features' typical ops (EncodeOps, as the agent sends them) and the
// emulator's answers to them (Engine::HandleRequest over a FixedHost).
//
//   build/fuzz/make_seeds <repo>/test/fuzz       (scripts/fuzz.sh --seeds; rerun deliberately)
//
// emulator_request_fuzz/corpus/NN-<name>.xml: a request; syncml_response_fuzz/corpus/NN-<name>.bin:
// the control bytes of that fuzz target (op count, atomic flag, verbs) then the answer in UTF-8,
// and for a few the same answer in UTF-16LE (mode bit 4), as the addon receives it.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/utf16.h"
#include "emulator/device_host.h"
#include "emulator/engine.h"
#include "emulator/seed.h"
#include "syncml/codec.h"

namespace {

using wdm::syncml::Op;
using wdm::syncml::Verb;

Op MakeOp(Verb verb, std::string uri, std::string format = "", const char* data = nullptr) {
  Op op;
  op.verb = verb;
  op.uri = std::move(uri);
  op.format = std::move(format);
  if (data != nullptr) op.data = data;
  return op;
}

struct Case {
  const char* name;
  std::vector<Op> ops;
  bool atomic;
};

bool Write(const std::string& path, const std::string& bytes) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  return std::fclose(file) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <test/fuzz dir>\n");
    return 2;
  }
  const std::string root = argv[1];
  std::unique_ptr<wdm::emulator::Schema> schema;
  std::string error;
  if (!wdm::emulator::BuildSeedSchema(&schema, &error)) {
    std::fprintf(stderr, "make_seeds: %s\n", error.c_str());
    return 1;
  }
  auto host = std::make_unique<wdm::emulator::FixedHost>();
  host->identity.kernel_release = "6.1.0-18-amd64";
  host->identity.machine = "x86_64";
  wdm::emulator::Engine engine(*schema, std::move(host));

  const std::string reboot = "./Device/Vendor/MSFT/Reboot";
  const std::string policy = "./Device/Vendor/MSFT/Policy/Config";
  const std::vector<Case> cases = {
      {"devdetail",
       {MakeOp(Verb::kGet, "./DevDetail/SwV"), MakeOp(Verb::kGet, "./DevInfo/Man"),
        MakeOp(Verb::kGet, "./DevDetail/Ext/Microsoft/LocalTime")},
       false},
      {"list", {MakeOp(Verb::kGet, "./Vendor/MSFT/DeviceStatus?list=Struct")}, false},
      {"reboot-schedule",
       {MakeOp(Verb::kReplace, reboot + "/Schedule/Single", "chr", "2026-03-01T10:00:00Z"),
        MakeOp(Verb::kGet, reboot + "/Schedule/Single")},
       false},
      {"reboot-now", {MakeOp(Verb::kExec, reboot + "/RebootNow")}, false},
      {"telemetry-atomic",
       {MakeOp(Verb::kReplace, policy + "/System/AllowTelemetry", "int", "1"),
        MakeOp(Verb::kReplace, policy + "/TimeLanguageSettings/ConfigureTimeZone", "chr",
               "Pacific Standard Time")},
       true},
      {"escaped",
       {MakeOp(Verb::kReplace, policy + "/TimeLanguageSettings/ConfigureTimeZone", "chr",
               "<a href=\"x\">&amp;'\xe2\x82\xac\xf0\x9f\x98\x80</a>]]>")},
       false},
      {"wifi-add",
       {MakeOp(Verb::kAdd, "./Vendor/MSFT/WiFi/Profile/home/WlanXml", "chr",
               "<WLANProfile><name>home</name></WLANProfile>")},
       false},
      {"delete-missing", {MakeOp(Verb::kDelete, "./Vendor/MSFT/WiFi/Profile/none")}, false},
      {"unknown-node",
       {MakeOp(Verb::kGet, "./Vendor/MSFT/NoSuchCsp/Node"),
        MakeOp(Verb::kAdd, "./DevDetail/SwV", "chr", "x")},
       false},
      {"ha-verify",
       {MakeOp(Verb::kExec, "./Vendor/MSFT/HealthAttestation/VerifyHealth"),
        MakeOp(Verb::kGet, "./Vendor/MSFT/HealthAttestation/Status")},
       false},
      {"wipe-atomic-fail",
       {MakeOp(Verb::kExec, "./Device/Vendor/MSFT/RemoteWipe/doWipe"),
        MakeOp(Verb::kReplace, reboot + "/Schedule/Single", "chr", "not a date")},
       true},
  };
  int written = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    engine.Reset();
    const std::string request = wdm::syncml::EncodeOps(c.ops, c.atomic);
    const std::string response = engine.HandleRequest(request);
    char prefix[8];
    std::snprintf(prefix, sizeof prefix, "%02zu-", i);
    const std::string base = std::string(prefix) + c.name;
    std::string control(1, static_cast<char>(c.ops.size() | (c.atomic ? 8 : 0)));
    for (const Op& op : c.ops) control.push_back(static_cast<char>(op.verb));
    bool ok = Write(root + "/emulator_request_fuzz/corpus/" + base + ".xml", request) &&
              Write(root + "/syncml_response_fuzz/corpus/" + base + ".bin", control + response);
    if (i % 3 == 0) {
      std::u16string wide;
      wdm::text::Utf8ToUtf16(response, &wide, &error);
      std::string le;
      for (char16_t u : wide) {
        le.push_back(static_cast<char>(u & 0xFF));
        le.push_back(static_cast<char>(u >> 8));
      }
      control[0] = static_cast<char>(control[0] | 16);
      ok = ok && Write(root + "/syncml_response_fuzz/corpus/" + base + "-utf16.bin", control + le);
    }
    if (!ok) {
      std::fprintf(stderr, "make_seeds: cannot write %s\n", base.c_str());
      return 1;
    }
    written += 1;
  }
  std::printf("make_seeds: %d requests and their answers\n", written);
  return 0;
}
