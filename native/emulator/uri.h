// LocURI handling for the emulator: parsing into decoded segments and encoding node names.
#pragma once

#include <string>
#include <string_view>

#include "emulator/node_tree.h"

namespace wdm::emulator {

struct NodeUri {
  Path path;            // decoded segments, "./Vendor/..." already mapped to "./Device/Vendor/..."
  std::string written;  // the path part as the request wrote it (for Results LocURIs)
  bool has_query = false;
  std::string query;  // text after '?', e.g. "list=StructData"
};

// Parses "./A/B%2FC?query" (or "A/B", or "." for the root). Each segment is %-decoded on its
// own, so %2F is part of a name. Fails (the engine answers 400) for an empty URI, a leading '/',
// an empty, "." or ".." segment, a bad %-escape, or a segment that decodes to invalid UTF-8.
// Matching is case-sensitive.
bool ParseLocUri(std::string_view text, NodeUri* out);

// %-encodes a node name for a LocURI or a child list: every byte except A-Z a-z 0-9 - . _ ~
// (the same rule the TypeScript cspUri() uses).
std::string EncodeSegment(std::string_view name);

// "./" + encoded segments joined with '/' ("." for the root).
std::string FormatPath(const Path& path);

}  // namespace wdm::emulator
