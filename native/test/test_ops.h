// Building SyncML ops for the standalone native test programs.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "syncml/codec.h"

namespace wdm::test {

inline syncml::Op MakeOp(syncml::Verb verb, std::string uri, std::string format = "",
                         std::optional<std::string> data = std::nullopt) {
  syncml::Op op;
  op.verb = verb;
  op.uri = std::move(uri);
  op.format = std::move(format);
  op.data = std::move(data);
  return op;
}

}  // namespace wdm::test
