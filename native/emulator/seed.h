// The emulator's built-in device: the node facts generated from Microsoft's DDF files
// (SeedFacts() = DdfFacts(), see ddf_facts.h) and the values of its read-only nodes.
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
