// The emulator's OMA-DM tree in two layers:
//  * Schema: one SchemaNode per DDF node, built from a facts table (NodeFact rows, the shape a
//    generator can emit from Microsoft's DDF files) plus a table of device values (NodeValue).
//    A DDF dynamic node (empty NodeName, "<x>" in the docs) is written "<x>" in a row's path and
//    matches any one segment that no named sibling matches.
//  * NodeTree: the node instances that currently exist, keyed by their decoded path segments.
//    A schema node is present from the start (and again under each new instance of its parent)
//    when it is named and either Permanent or not addable (no Add in its access set): those are
//    the nodes the CSP itself provides. Everything else exists only after an Add.
// Ancestors a row implies but no row defines (e.g. ./Device/Vendor/MSFT) are synthesized as
// Permanent interior nodes with Get access only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/allowed_values.h"

namespace wdm::emulator {

enum class Format { kChr, kInt, kBool, kB64, kXml, kNode, kNull, kBin, kDate, kTime, kFloat };
const char* FormatName(Format format);
bool FormatFromName(std::string_view name, Format* out);

// Bits of an access set (DDF AccessType).
enum AccessBit : std::uint8_t {
  kAccessAdd = 1,
  kAccessDelete = 2,
  kAccessExec = 4,
  kAccessGet = 8,
  kAccessReplace = 16,
  kAccessCopy = 32,
};

enum class Occurrence { kOne, kZeroOrOne, kZeroOrMore, kOneOrMore, kZeroOrN, kOneOrN };
enum class Scope { kPermanent, kDynamic };

// One DDF node, as a row of plain strings so that a generated table is just data.
struct NodeFact {
  const char* path;            // full URI, "<x>" for a dynamic segment: "./Device/Vendor/MSFT/X"
  const char* format;          // DFFormat: chr int bool b64 xml node null bin date time float
  const char* access;          // AccessType: comma-separated Add,Copy,Delete,Exec,Get,Replace or ""
  const char* occurrence;      // One ZeroOrOne ZeroOrMore OneOrMore ZeroOrN OneOrN
  const char* scope;           // Permanent or Dynamic
  const char* default_value;   // DefaultValue, or nullptr
  const char* allowed;         // MSFT:AllowedValues: "ValueType:" + values separated by \037
                               // ("Range:[0-23]", "ENUM:0\0371"), or nullptr; see allowed_values.h
  const char* mime;            // DFType MIME, or nullptr (leaves then report text/plain)
  const char* case_sense;      // CaseSense "CS" or "CIS", or nullptr (recorded, not used)
  const char* list_delimiter;  // MSFT:List Delimiter of the allowed values, or nullptr
};

// The value a present leaf of the emulated device holds initially (device facts, not DDF facts).
struct NodeValue {
  const char* path;  // a path without dynamic segments
  const char* value;
};

struct SchemaNode {
  std::string name;  // empty = dynamic node
  Format format = Format::kNode;
  std::uint8_t access = kAccessGet;
  Occurrence occurrence = Occurrence::kOne;
  Scope scope = Scope::kPermanent;
  std::optional<std::string> default_value;
  std::string allowed;           // the row's text
  AllowedValues allowed_values;  // parsed from it once; Add/Replace outside them answer 400
  std::string case_sense;
  std::string mime;
  std::optional<std::string> initial_value;
  bool synthesized = true;  // an implied ancestor no row defined (yet)
  std::vector<std::unique_ptr<SchemaNode>> children;
  // Find's index, set by Schema::Build once every row is in: the named children sorted by name
  // (views of their `name`), and the dynamic child (at most one). Unset: Find scans `children`.
  std::vector<std::pair<std::string_view, const SchemaNode*>> named_index;
  const SchemaNode* dynamic_child = nullptr;
  bool indexed = false;

  bool is_dynamic() const { return name.empty(); }
  bool is_interior() const { return format == Format::kNode; }
  bool allows(AccessBit bit) const { return (access & bit) != 0; }
  // Present without an Add (see the file comment).
  bool provided_by_csp() const {
    return !is_dynamic() && (scope == Scope::kPermanent || !allows(kAccessAdd));
  }
  // The child a URI segment addresses: the named child, else the dynamic child, else nullptr.
  const SchemaNode* Find(std::string_view segment) const;
  // The value a new instance starts with: initial value, else default value, else "".
  std::string StartValue() const;
};

using Path = std::vector<std::string>;  // decoded segments below "."; empty = the root

// The order of std::less<Path> (segment by segment, byte order, a prefix first) with one string
// comparison per segment instead of two: the instance map's lookups are on the hot path.
struct PathLess {
  bool operator()(const Path& a, const Path& b) const {
    const std::size_t n = a.size() < b.size() ? a.size() : b.size();
    for (std::size_t i = 0; i < n; ++i) {
      const int c = a[i].compare(b[i]);
      if (c != 0) return c < 0;
    }
    return a.size() < b.size();
  }
};

class Schema {
 public:
  // Builds the schema; false with `error` naming the row for an unknown format/access/scope/
  // occurrence/case sense, a malformed path, a duplicate row, or a value for a path that is not
  // a leaf of the table or does not fit its format. Rows may come in any order, and a row may
  // sit below a non-node row: the DDF has one (Defender/Health/DeviceControl is chr and has a
  // child State); such a node keeps its format and value and has children too.
  static bool Build(const NodeFact* facts, std::size_t fact_count, const NodeValue* values,
                    std::size_t value_count, std::unique_ptr<Schema>* out, std::string* error);

  const SchemaNode& root() const { return root_; }
  // The schema node a decoded path addresses, or nullptr.
  const SchemaNode* Resolve(const Path& path) const;

 private:
  Schema() = default;
  SchemaNode root_;
};

struct Instance {
  const SchemaNode* schema = nullptr;
  std::string value;
};

// The existing node instances. Copyable: the engine snapshots it for Atomic rollback.
class NodeTree {
 public:
  explicit NodeTree(const Schema& schema) : schema_(&schema) { Reset(); }

  // Back to the initial tree: the root and every node the CSPs provide.
  void Reset();
  const Instance* Find(const Path& path) const;
  // Adds an instance (its parent must exist) and the CSP-provided nodes below it.
  void Create(const Path& path, const SchemaNode& schema, std::string value);
  void SetValue(const Path& path, std::string value);
  // The same for an instance Find returned (no second lookup); `node` must be this tree's.
  void SetValue(const Instance* node, std::string value);
  // Removes the node and its subtree.
  void Erase(const Path& path);
  // Names of the direct children, in byte order.
  std::vector<std::string> ChildNames(const Path& path) const;
  // The node and all its descendants, parents first (pre-order, byte order).
  std::vector<std::pair<Path, const Instance*>> Subtree(const Path& path) const;
  // Every instance, in path order (the state store's diff walks it without copying paths).
  const std::map<Path, Instance, PathLess>& instances() const { return nodes_; }
  // A stamp that every change (Reset/Create/SetValue/Erase) replaces with a new value unique
  // in the process; copies keep it. Equal stamps = same content (the state store's dirty check).
  std::uint64_t version() const { return version_; }
  // The same for the set of paths only: replaced by Reset/Create/Erase, not by SetValue. Equal
  // stamps = the same instances exist (Behaviors::DropInventories skips a tree it already swept).
  std::uint64_t shape_version() const { return shape_version_; }

 private:
  const Schema* schema_;
  std::map<Path, Instance, PathLess> nodes_;  // lexicographic order keeps every subtree contiguous
  std::uint64_t version_ = 0;
  std::uint64_t shape_version_ = 0;
};

}  // namespace wdm::emulator
