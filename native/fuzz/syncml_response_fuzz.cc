// libFuzzer target: the addon's decoding of a device's SyncML answer (codec_client.cc
// DecodeOpResults, both overloads) and the UTF-16 -> UTF-8 conversion it runs first
// (common/utf16.cc). Built by scripts/fuzz.sh with -fsanitize=fuzzer,address,undefined.
//
// Input layout: byte 0 = op count (low 3 bits, 0..7) + atomic flag (bit 3) + mode (bit 4:
// the rest is UTF-16LE instead of UTF-8); the next `count` bytes pick each op's verb; the rest is
// the response document. Besides "no crash, no leak, no UB" the target checks the decoder's
// contract: success means exactly one result per op, statuses in 100..599, Results only on Gets.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/utf16.h"
#include "syncml/codec.h"

namespace {

using wdm::syncml::Op;
using wdm::syncml::OpResult;
using wdm::syncml::Verb;

constexpr Verb kVerbs[] = {Verb::kGet, Verb::kAdd, Verb::kReplace, Verb::kDelete, Verb::kExec};

void Expect(bool ok) {
  if (!ok) std::abort();  // a broken contract is a finding, like a crash
}

void CheckDecoded(const std::vector<Op>& ops, const std::vector<OpResult>& results) {
  Expect(results.size() == ops.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    Expect(results[i].status >= 100 && results[i].status <= 599);
    if (ops[i].verb != Verb::kGet) Expect(results[i].items.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t control = data[0];
  const std::size_t count = control & 7u;
  const bool atomic = (control & 8u) != 0;
  const bool utf16 = (control & 16u) != 0;
  if (size < 1 + count) return 0;
  std::vector<Op> ops(count);
  for (std::size_t i = 0; i < count; ++i) {
    ops[i].verb = kVerbs[data[1 + i] % 5];
    ops[i].uri = "./Vendor/MSFT/Fuzz/" + std::to_string(i);
  }
  const auto* body = reinterpret_cast<const char*>(data + 1 + count);
  const std::size_t body_size = size - 1 - count;

  std::string text;
  if (utf16) {
    std::u16string wide(body_size / 2, u'\0');
    for (std::size_t i = 0; i < wide.size(); ++i) {
      wide[i] = static_cast<char16_t>(static_cast<std::uint8_t>(body[2 * i]) |
                                      (static_cast<std::uint8_t>(body[2 * i + 1]) << 8));
    }
    std::string error;
    if (!wdm::text::Utf16ToUtf8(wide, &text, &error)) return 0;
    // Round trip: what decoded from UTF-16 encodes back to the same code units.
    std::u16string back;
    Expect(wdm::text::Utf8ToUtf16(text, &back, &error));
    Expect(back == wide);
  } else {
    text.assign(body, body_size);
  }

  std::vector<OpResult> by_ops;
  std::string error;
  if (wdm::syncml::DecodeOpResults(text, ops, atomic, &by_ops, &error)) {
    CheckDecoded(ops, by_ops);
  } else {
    Expect(!error.empty());
  }
  std::vector<OpResult> by_count;
  error.clear();
  if (wdm::syncml::DecodeOpResults(text, count, atomic, &by_count, &error)) {
    Expect(by_count.size() == count);
  } else {
    Expect(!error.empty());
  }
  return 0;
}
