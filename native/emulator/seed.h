// The emulator's built-in device: a modest subset of Microsoft's DDF node facts (DevDetail,
// DevInfo, Reboot, Policy/Config/Update active hours, RootCATrustedCertificates for the device)
// and the values of its read-only nodes. A table generated from the full DDF set can replace
// SeedFacts() and go through the same Schema::Build.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "emulator/node_tree.h"

namespace wdm::emulator {

const NodeFact* SeedFacts(std::size_t* count);
const NodeValue* SeedValues(std::size_t* count);

// Schema::Build over the two seed tables.
bool BuildSeedSchema(std::unique_ptr<Schema>* out, std::string* error);

}  // namespace wdm::emulator
