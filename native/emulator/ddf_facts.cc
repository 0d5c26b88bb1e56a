// The generated DDF facts table (see ddf_facts.h). Regenerate with `npm run gen:ddf`.
#include "emulator/ddf_facts.h"

namespace wdm::emulator {
namespace {

constexpr NodeFact kDdfFacts[] = {
#include "emulator/generated/ddf_facts.inc"
};

}  // namespace

const NodeFact* DdfFacts(std::size_t* count) {
  *count = sizeof(kDdfFacts) / sizeof(kDdfFacts[0]);
  return kDdfFacts;
}

}  // namespace wdm::emulator
