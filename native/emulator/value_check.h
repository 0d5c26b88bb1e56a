// Whether a SyncML data value fits a node format (the emulator answers 415 when it does not).
#pragma once

#include <string_view>

#include "emulator/node_tree.h"

namespace wdm::emulator {

// chr: anything. int: optional '-' and decimal digits, within -2^31 .. 2^32-1 (Windows CSPs use
// both signed and unsigned 32-bit integers). bool: "true" or "false". b64: standard alphabet with
// correct '=' padding, whitespace allowed between characters. xml: a well-formed fragment (or a
// document when it starts with "<?xml"). null: empty. node: never (interior nodes take no value).
// bin, date, time, float: not checked yet (accepted).
bool IsValidValue(Format format, std::string_view value);

}  // namespace wdm::emulator
