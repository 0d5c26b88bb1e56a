// Profiling driver for the native hot path without Node: the addon's SyncMLWorker::Execute steps
// (EncodeOps -> UTF-16 -> ApplyLocalManagementSyncML of the CSP emulator -> UTF-8 ->
// DecodeOpResults), `messages` times, with `ops` Gets of ./DevDetail/SwV or Replaces of an Update
// policy per message. Built and run under callgrind by bench/native/profile.sh: instruction
// counts repeat whatever the machine's load (docs/benchmarks-native.md).
//
//   driver <ops per message> <messages> <0 = get | 1 = replace> [decode]
//
// With a fourth argument only DecodeOpResults runs, `messages` times on one answer.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/utf16.h"
#include "emulator/emulator_abi.h"
#include "syncml/codec.h"

namespace {

using wdm::syncml::Op;
using wdm::syncml::OpResult;
using wdm::syncml::Verb;

constexpr const char* kPolicy = "./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart";

// One round trip as the addon makes it; false (with a line on stderr) on any failure.
bool RoundTrip(const std::vector<Op>& ops, std::string* answer, std::vector<OpResult>* results) {
  std::u16string request;
  std::string error;
  if (!wdm::text::Utf8ToUtf16(wdm::syncml::EncodeOps(ops, false), &request, &error)) return false;
  char16_t* raw = nullptr;
  if (ApplyLocalManagementSyncML(request.c_str(), &raw) != 0) {
    std::fprintf(stderr, "apply failed\n");
    return false;
  }
  const std::u16string response(raw);
  MdmEmulatorFree(raw);
  if (!wdm::text::Utf16ToUtf8(response, answer, &error)) return false;
  if (results == nullptr) return true;
  if (!wdm::syncml::DecodeOpResults(*answer, ops, false, results, &error)) {
    std::fprintf(stderr, "decode: %s\n", error.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: driver <ops per message> <messages> <0|1> [decode]\n");
    return 2;
  }
  const int count = std::atoi(argv[1]);
  const int messages = std::atoi(argv[2]);
  const bool replace = std::atoi(argv[3]) == 1;
  setenv("WINDOWS_IOT_DM_EMULATOR_STATE", ":memory:", 1);
  int32_t already = 0;
  RegisterDeviceWithLocalManagement(&already);
  std::string answer;
  Op add;
  add.verb = Verb::kAdd;
  add.uri = kPolicy;
  add.format = "int";
  add.data = "8";
  if (!RoundTrip({add}, &answer, nullptr)) return 1;

  std::vector<Op> ops;
  for (int i = 0; i < count; ++i) {
    Op op;
    if (replace) {
      op.verb = Verb::kReplace;
      op.uri = kPolicy;
      op.format = "int";
      op.data = std::to_string(i % 24);
    } else {
      op.verb = Verb::kGet;
      op.uri = "./DevDetail/SwV";
    }
    ops.push_back(op);
  }
  std::size_t total = 0;
  std::vector<OpResult> results;
  if (argc > 4) {
    if (!RoundTrip(ops, &answer, nullptr)) return 1;
    for (int m = 0; m < messages; ++m) {
      std::string error;
      if (!wdm::syncml::DecodeOpResults(answer, ops, false, &results, &error)) return 1;
      total += results.size();
    }
  } else {
    for (int m = 0; m < messages; ++m) {
      if (!RoundTrip(ops, &answer, &results)) return 1;
      for (const OpResult& result : results) {
        if (result.status != 200) {
          std::fprintf(stderr, "status %d\n", result.status);
          return 1;
        }
      }
      total += results.size();
    }
  }
  std::printf("ok %zu results\n", total);
  return 0;
}
