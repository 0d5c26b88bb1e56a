// Schema building from the facts table, and the instance tree (see node_tree.h).
#include "emulator/node_tree.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "emulator/value_check.h"

namespace wdm::emulator {
namespace {

constexpr const char* kDynamicSegment = "<x>";

struct FormatEntry {
  Format format;
  const char* name;
};
constexpr FormatEntry kFormats[] = {
    {Format::kChr, "chr"},   {Format::kInt, "int"},     {Format::kBool, "bool"},
    {Format::kB64, "b64"},   {Format::kXml, "xml"},     {Format::kNode, "node"},
    {Format::kNull, "null"}, {Format::kBin, "bin"},     {Format::kDate, "date"},
    {Format::kTime, "time"}, {Format::kFloat, "float"},
};

bool AccessFromText(std::string_view text, std::uint8_t* out) {
  static constexpr struct {
    const char* name;
    AccessBit bit;
  } kBits[] = {{"Add", kAccessAdd},   {"Copy", kAccessCopy}, {"Delete", kAccessDelete},
               {"Exec", kAccessExec}, {"Get", kAccessGet},   {"Replace", kAccessReplace}};
  *out = 0;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view word = text.substr(0, comma);
    bool known = false;
    for (const auto& entry : kBits) {
      if (word == entry.name) {
        *out |= entry.bit;
        known = true;
      }
    }
    if (!known) return false;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return false;  // trailing comma
  }
  return true;
}

bool OccurrenceFromText(std::string_view text, Occurrence* out) {
  static constexpr struct {
    const char* name;
    Occurrence value;
  } kValues[] = {{"One", Occurrence::kOne},
                 {"ZeroOrOne", Occurrence::kZeroOrOne},
                 {"ZeroOrMore", Occurrence::kZeroOrMore},
                 {"OneOrMore", Occurrence::kOneOrMore},
                 {"ZeroOrN", Occurrence::kZeroOrN},
                 {"OneOrN", Occurrence::kOneOrN}};
  for (const auto& entry : kValues) {
    if (text == entry.name) {
      *out = entry.value;
      return true;
    }
  }
  return false;
}

bool ScopeFromText(std::string_view text, Scope* out) {
  if (text == "Permanent") {
    *out = Scope::kPermanent;
  } else if (text == "Dynamic") {
    *out = Scope::kDynamic;
  } else {
    return false;
  }
  return true;
}

// Splits "./A/B" into {"A", "B"} ("." alone = root). Segments must be non-empty.
bool SplitTablePath(std::string_view path, Path* out) {
  out->clear();
  if (path == ".") return true;
  if (path.substr(0, 2) != "./" || path.size() == 2) return false;
  path.remove_prefix(2);
  for (;;) {
    const std::size_t slash = path.find('/');
    const std::string_view segment = path.substr(0, slash);
    if (segment.empty()) return false;
    out->emplace_back(segment);
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

SchemaNode* FindOrAddChild(SchemaNode* parent, const std::string& segment) {
  const std::string name = segment == kDynamicSegment ? std::string() : segment;
  for (auto& child : parent->children) {
    if (child->name == name) return child.get();
  }
  auto child = std::make_unique<SchemaNode>();
  child->name = name;
  if (name.empty()) child->scope = Scope::kDynamic;
  parent->children.push_back(std::move(child));
  return parent->children.back().get();
}

bool RowError(std::string* error, std::size_t row, const char* path, const std::string& what) {
  if (error != nullptr) {
    *error = "node table row " + std::to_string(row) + " (" + (path ? path : "null") + "): " + what;
  }
  return false;
}

}  // namespace

const char* FormatName(Format format) {
  for (const FormatEntry& entry : kFormats) {
    if (entry.format == format) return entry.name;
  }
  return "chr";
}

bool FormatFromName(std::string_view name, Format* out) {
  for (const FormatEntry& entry : kFormats) {
    if (name == entry.name) {
      *out = entry.format;
      return true;
    }
  }
  return false;
}

const SchemaNode* SchemaNode::Find(std::string_view segment) const {
  if (indexed) {
    const auto it = std::lower_bound(named_index.begin(), named_index.end(), segment,
                                     [](const std::pair<std::string_view, const SchemaNode*>& entry,
                                        std::string_view name) { return entry.first < name; });
    if (it != named_index.end() && it->first == segment) return it->second;
    return dynamic_child;
  }
  const SchemaNode* dynamic = nullptr;
  for (const auto& child : children) {
    if (child->is_dynamic()) {
      dynamic = child.get();
    } else if (child->name == segment) {
      return child.get();
    }
  }
  return dynamic;
}

std::string SchemaNode::StartValue() const {
  if (initial_value) return *initial_value;
  if (default_value) return *default_value;
  return std::string();
}

bool Schema::Build(const NodeFact* facts, std::size_t fact_count, const NodeValue* values,
                   std::size_t value_count, std::unique_ptr<Schema>* out, std::string* error) {
  std::unique_ptr<Schema> schema(new Schema());
  for (std::size_t row = 0; row < fact_count; ++row) {
    const NodeFact& fact = facts[row];
    Path path;
    if (fact.path == nullptr || !SplitTablePath(fact.path, &path) || path.empty()) {
      return RowError(error, row, fact.path, "path must look like ./A/B");
    }
    SchemaNode parsed;
    if (fact.format == nullptr || !FormatFromName(fact.format, &parsed.format)) {
      return RowError(error, row, fact.path, "unknown format");
    }
    if (fact.access == nullptr || !AccessFromText(fact.access, &parsed.access)) {
      return RowError(error, row, fact.path, "unknown access type");
    }
    if (fact.occurrence == nullptr || !OccurrenceFromText(fact.occurrence, &parsed.occurrence)) {
      return RowError(error, row, fact.path, "unknown occurrence");
    }
    if (fact.scope == nullptr || !ScopeFromText(fact.scope, &parsed.scope)) {
      return RowError(error, row, fact.path, "unknown scope");
    }
    if (fact.case_sense != nullptr && std::string_view(fact.case_sense) != "CS" &&
        std::string_view(fact.case_sense) != "CIS") {
      return RowError(error, row, fact.path, "unknown case sense");
    }
    SchemaNode* node = &schema->root_;
    for (const std::string& segment : path) node = FindOrAddChild(node, segment);
    if (!node->synthesized) return RowError(error, row, fact.path, "duplicate row");
    node->format = parsed.format;
    node->access = parsed.access;
    node->occurrence = parsed.occurrence;
    node->scope = parsed.scope;
    if (fact.default_value != nullptr) node->default_value = std::string(fact.default_value);
    if (fact.allowed != nullptr) node->allowed = fact.allowed;
    node->allowed_values = AllowedValues::Parse(fact.allowed, fact.list_delimiter, fact.format);
    if (fact.case_sense != nullptr) node->case_sense = fact.case_sense;
    if (fact.mime != nullptr) node->mime = fact.mime;
    node->synthesized = false;
  }
  for (std::size_t row = 0; row < value_count; ++row) {
    const NodeValue& value = values[row];
    Path path;
    if (value.path == nullptr || value.value == nullptr || !SplitTablePath(value.path, &path)) {
      return RowError(error, row, value.path, "value row needs a path like ./A/B and a value");
    }
    SchemaNode* node = &schema->root_;
    for (const std::string& segment : path) {
      SchemaNode* next = nullptr;
      for (auto& child : node->children) {
        if (!child->is_dynamic() && child->name == segment) next = child.get();
      }
      if (next == nullptr) return RowError(error, row, value.path, "value for an unknown node");
      node = next;
    }
    if (node->is_interior()) return RowError(error, row, value.path, "value for an interior node");
    if (!IsValidValue(node->format, value.value)) {
      return RowError(error, row, value.path, "value does not fit the node's format");
    }
    node->initial_value = std::string(value.value);
  }
  // Find's index (Resolve runs for every op; Policy/Config alone has hundreds of children).
  std::vector<SchemaNode*> pending{&schema->root_};
  while (!pending.empty()) {
    SchemaNode* node = pending.back();
    pending.pop_back();
    node->named_index.clear();
    node->dynamic_child = nullptr;
    for (const auto& child : node->children) {
      if (child->is_dynamic()) {
        node->dynamic_child = child.get();
      } else {
        node->named_index.emplace_back(child->name, child.get());
      }
      pending.push_back(child.get());
    }
    std::sort(node->named_index.begin(), node->named_index.end());
    node->indexed = true;
  }
  *out = std::move(schema);
  return true;
}

const SchemaNode* Schema::Resolve(const Path& path) const {
  const SchemaNode* node = &root_;
  for (const std::string& segment : path) {
    node = node->Find(segment);
    if (node == nullptr) return nullptr;
  }
  return node;
}

namespace {

std::uint64_t NextVersion() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

}  // namespace

void NodeTree::Reset() {
  nodes_.clear();
  Create(Path(), schema_->root(), std::string());
}

const Instance* NodeTree::Find(const Path& path) const {
  const auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

void NodeTree::Create(const Path& path, const SchemaNode& schema, std::string value) {
  version_ = NextVersion();
  shape_version_ = version_;
  nodes_[path] = Instance{&schema, std::move(value)};
  // The CSP-provided nodes below the new one (iterative: the work list holds pending parents).
  std::vector<std::pair<Path, const SchemaNode*>> pending{{path, &schema}};
  while (!pending.empty()) {
    auto [parent_path, parent] = std::move(pending.back());
    pending.pop_back();
    for (const auto& child : parent->children) {
      if (!child->provided_by_csp()) continue;
      Path child_path = parent_path;
      child_path.push_back(child->name);
      nodes_[child_path] = Instance{child.get(), child->StartValue()};
      pending.emplace_back(std::move(child_path), child.get());
    }
  }
}

void NodeTree::SetValue(const Path& path, std::string value) {
  const auto it = nodes_.find(path);
  if (it == nodes_.end()) return;
  version_ = NextVersion();
  it->second.value = std::move(value);
}

void NodeTree::SetValue(const Instance* node, std::string value) {
  version_ = NextVersion();
  const_cast<Instance*>(node)->value = std::move(value);  // one of nodes_' own values
}

namespace {

bool HasPrefix(const Path& path, const Path& prefix) {
  if (path.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (path[i] != prefix[i]) return false;
  }
  return true;
}

}  // namespace

void NodeTree::Erase(const Path& path) {
  version_ = NextVersion();
  shape_version_ = version_;
  auto it = nodes_.lower_bound(path);
  while (it != nodes_.end() && HasPrefix(it->first, path)) it = nodes_.erase(it);
}

std::vector<std::string> NodeTree::ChildNames(const Path& path) const {
  // Each child's subtree is skipped in one lookup: every path below [path..., name] sorts before
  // [path..., name + '\0'], and the next sibling does not (so a listing costs a lookup per child,
  // not a step per descendant: ./Device/Vendor/MSFT has thousands).
  std::vector<std::string> names;
  Path next = path;
  auto it = nodes_.upper_bound(path);
  while (it != nodes_.end() && HasPrefix(it->first, path)) {
    if (it->first.size() == path.size() + 1) {
      names.push_back(it->first.back());
    } else {  // cannot happen (an instance's parent exists); kept exact all the same
      ++it;
      continue;
    }
    next.resize(path.size());
    next.push_back(names.back());
    next.back().push_back('\0');
    it = nodes_.lower_bound(next);
  }
  return names;
}

std::vector<std::pair<Path, const Instance*>> NodeTree::Subtree(const Path& path) const {
  std::vector<std::pair<Path, const Instance*>> out;
  for (auto it = nodes_.lower_bound(path); it != nodes_.end() && HasPrefix(it->first, path); ++it) {
    out.emplace_back(it->first, &it->second);
  }
  return out;
}

}  // namespace wdm::emulator
