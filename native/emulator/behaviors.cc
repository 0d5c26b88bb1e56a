// The behaviour registry (see behaviors.h).
#include "emulator/behaviors.h"

#include "emulator/system_state.h"

#include <algorithm>

namespace wdm::emulator {
namespace {

constexpr const char* kAnySegment = "<x>";

// "./A/B" -> {"A", "B"}; "." -> {}.
Path SplitPattern(std::string_view pattern) {
  Path out;
  if (pattern.substr(0, 2) == "./") pattern.remove_prefix(2);
  if (pattern == ".") return out;
  while (!pattern.empty()) {
    const std::size_t slash = pattern.find('/');
    out.emplace_back(pattern.substr(0, slash));
    if (slash == std::string_view::npos) break;
    pattern.remove_prefix(slash + 1);
  }
  return out;
}

bool SameEvent(const DeviceEvent& a, const DeviceEvent& b) {
  return a.kind == b.kind && a.command == b.command && a.uri == b.uri && a.time == b.time &&
         a.data == b.data;
}

bool SameState(const BehaviorState& a, const BehaviorState& b) {
  return a.reboot_count == b.reboot_count && a.last_reboot_time == b.last_reboot_time &&
         a.wipe_count == b.wipe_count && a.wipe_status == b.wipe_status &&
         a.wipe_last_error == b.wipe_last_error && a.health.status == b.health.status &&
         a.health.requests == b.health.requests &&
         a.health.correlation_id == b.health.correlation_id && a.health.issued == b.health.issued &&
         a.sequence == b.sequence && a.configured_time_zone == b.configured_time_zone &&
         a.apps == b.apps && a.diagnostic_log == b.diagnostic_log &&
         a.events.size() == b.events.size() &&
         std::equal(a.events.begin(), a.events.end(), b.events.begin(), SameEvent);
}

// One of the two paths is a prefix of the other.
bool Related(const Path& a, const Path& b) {
  const std::size_t n = std::min(a.size(), b.size());
  return std::equal(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), b.begin());
}

}  // namespace

void BehaviorState::Record(DeviceEvent event) {
  events.push_back(std::move(event));
  if (events.size() > kMaxEvents) {
    events.erase(events.begin(),
                 events.begin() + static_cast<std::ptrdiff_t>(events.size() - kMaxEvents));
  }
}

namespace {

std::int64_t IntMember(const json::Value* object, std::string_view key) {
  const json::Value* value = object == nullptr ? nullptr : object->Find(key);
  return value == nullptr ? 0 : value->int_value();
}

std::string StringMember(const json::Value* object, std::string_view key) {
  const json::Value* value = object == nullptr ? nullptr : object->Find(key);
  return value == nullptr || !value->is_string() ? std::string() : value->string_value();
}

int SmallInt(std::int64_t value) {
  return value < -2147483647 || value > 2147483647 ? 0 : static_cast<int>(value);
}

}  // namespace

BehaviorState BehaviorState::Load(const json::Value& events) {
  BehaviorState state;
  const json::Value* reboot = events.Find("reboot");
  state.reboot_count = IntMember(reboot, "count");
  state.last_reboot_time = StringMember(reboot, "last");
  const json::Value* wipe = events.Find("wipe");
  state.wipe_count = IntMember(wipe, "count");
  state.wipe_status = SmallInt(IntMember(wipe, "status"));
  state.wipe_last_error = SmallInt(IntMember(wipe, "lastError"));
  if (const json::Value* log = events.Find("log")) {
    for (const json::Value& item : log->items()) {
      DeviceEvent event;
      event.kind = StringMember(&item, "kind");
      event.command = StringMember(&item, "command");
      event.uri = StringMember(&item, "uri");
      event.time = StringMember(&item, "time");
      const json::Value* data = item.Find("data");
      if (data != nullptr && data->is_string()) event.data = data->string_value();
      state.events.push_back(std::move(event));
    }
  }
  const json::Value* health = events.Find("healthAttestation");
  state.health.status = SmallInt(IntMember(health, "status"));
  state.health.requests = IntMember(health, "requests");
  state.health.correlation_id = StringMember(health, "correlationId");
  state.health.issued = IntMember(health, "issued");
  const json::Value* sequence = events.Find("sequence");
  state.sequence = sequence == nullptr ? 0 : sequence->int_value();
  if (const json::Value* apps = events.Find("apps")) state.apps = *apps;
  const json::Value* diagnostic_log = events.Find("diagnosticLog");
  if (diagnostic_log != nullptr && diagnostic_log->is_object())
    state.diagnostic_log = *diagnostic_log;
  return state;
}

void BehaviorState::Save(json::Value* events) const {
  if (!events->is_object()) *events = json::Value::Object();
  json::Value reboot = json::Value::Object();
  reboot.Set("count", json::Value::Int(reboot_count));
  reboot.Set("last", json::Value::String(last_reboot_time));
  events->Set("reboot", std::move(reboot));
  json::Value wipe = json::Value::Object();
  wipe.Set("count", json::Value::Int(wipe_count));
  wipe.Set("status", json::Value::Int(wipe_status));
  wipe.Set("lastError", json::Value::Int(wipe_last_error));
  events->Set("wipe", std::move(wipe));
  json::Value log = json::Value::Array();
  for (const DeviceEvent& event : this->events) {
    json::Value item = json::Value::Object();
    item.Set("kind", json::Value::String(event.kind));
    item.Set("command", json::Value::String(event.command));
    item.Set("uri", json::Value::String(event.uri));
    item.Set("time", json::Value::String(event.time));
    if (event.data) item.Set("data", json::Value::String(*event.data));
    log.Append(std::move(item));
  }
  events->Set("log", std::move(log));
  json::Value health_value = json::Value::Object();
  health_value.Set("status", json::Value::Int(health.status));
  health_value.Set("requests", json::Value::Int(health.requests));
  health_value.Set("correlationId", json::Value::String(health.correlation_id));
  health_value.Set("issued", json::Value::Int(health.issued));
  events->Set("healthAttestation", std::move(health_value));
  events->Set("sequence", json::Value::Int(sequence));
  if (!apps.is_null()) events->Set("apps", apps);
  if (diagnostic_log.is_object()) events->Set("diagnosticLog", diagnostic_log);
  if (configured_time_zone) {
    sys::TimeZone tz;
    if (LookupTimeZone(*configured_time_zone, &tz)) SaveTimeZone(tz, events);
  }
}

Behaviors::Behaviors(std::unique_ptr<DeviceHost> host, json::Value* events)
    : host_(std::move(host)), events_(events) {}

void Behaviors::Register(std::string_view pattern, const NodeHooks& hooks) {
  Path path = SplitPattern(pattern);
  for (auto& [existing, existing_hooks] : hooks_) {
    if (existing == path) {
      existing_hooks = hooks;
      RebuildIndex();
      return;
    }
  }
  // The lookup index: by length, then by leaf name (or "<x>"), in registration order.
  if (by_size_.size() <= path.size()) by_size_.resize(path.size() + 1);
  Bucket& bucket = by_size_[path.size()];
  if (path.empty() || path.back() == kAnySegment) {
    bucket.any_leaf.push_back(hooks_.size());
  } else {
    bucket.by_leaf[path.back()].push_back(hooks_.size());
  }
  std::vector<bool> any(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) any[i] = path[i] == kAnySegment;
  wildcards_.push_back(std::move(any));
  hooks_.emplace_back(std::move(path), hooks);
  RebuildIndex();
}

void Behaviors::RebuildIndex() {
  inventories_.clear();
  for (std::size_t i = 0; i < hooks_.size(); ++i) {
    if (hooks_[i].second.children != nullptr) inventories_.push_back(i);
  }
}

const NodeHooks* Behaviors::Find(const Path& path) const {
  // The first registered pattern that matches (as a scan of hooks_ in order would find), among
  // the patterns of the path's length only; segments compared from the leaf, the most selective.
  if (path.size() >= by_size_.size()) return nullptr;
  const Bucket& bucket = by_size_[path.size()];
  static const std::vector<std::size_t> kNone;
  const std::vector<std::size_t>* named = &kNone;
  if (!path.empty()) {
    const auto it = bucket.by_leaf.find(path.back());
    if (it != bucket.by_leaf.end()) named = &it->second;
  }
  const std::vector<std::size_t>& any_leaf = bucket.any_leaf;
  auto matches = [&](std::size_t index) {
    const Path& pattern = hooks_[index].first;
    const std::vector<bool>& any = wildcards_[index];
    for (std::size_t i = path.size(); i-- > 0;) {
      if (!any[i] && pattern[i] != path[i]) return false;
    }
    return true;
  };
  // Both candidate lists are in registration order: merge them, the first match wins.
  std::size_t a = 0, b = 0;
  while (a < named->size() || b < any_leaf.size()) {
    const bool take_named =
        b >= any_leaf.size() || (a < named->size() && (*named)[a] < any_leaf[b]);
    const std::size_t index = take_named ? (*named)[a++] : any_leaf[b++];
    if (matches(index)) return &hooks_[index].second;
  }
  return nullptr;
}

template <typename Call>
int Behaviors::WithContext(const NodeTree& tree, const Path& path, Call call) {
  BehaviorState state = BehaviorState::Load(*events_);
  const BehaviorState before = state;
  HookContext ctx{*host_, state, tree, path};
  const int code = call(ctx);
  // Saved only when it changed, so that a Get leaves a fresh events object untouched.
  if (!SameState(state, before)) state.Save(events_);
  return code;
}

void Behaviors::SyncInventories(const Path& target, const Schema& schema, NodeTree* tree) {
  for (const std::size_t index : inventories_) {
    const auto& [pattern, hooks] = hooks_[index];
    for (const Path& parent : Expand(index, *tree, target)) {
      if (Related(parent, target)) SyncInventory(parent, hooks, schema, tree);
    }
  }
}

std::vector<Path> Behaviors::Expand(std::size_t index, const NodeTree& tree,
                                    const Path& target) const {
  const Path& pattern = hooks_[index].first;
  const std::vector<bool>& any = wildcards_[index];
  // Only instances related to `target` (one a prefix of the other) are wanted, so their first
  // min(pattern, target) segments are target's: a pattern that names another segment there has
  // none, and "<x>" there stands for target's segment only (this keeps a Get from walking every
  // inventory of the device; the result is the related subset of the full expansion, in order).
  const std::size_t fixed = std::min(pattern.size(), target.size());
  for (std::size_t i = 0; i < fixed; ++i) {
    if (!any[i] && pattern[i] != target[i]) return {};
  }
  std::vector<Path> out{Path()};
  for (std::size_t depth = 0; depth < pattern.size(); ++depth) {
    const std::string& segment = pattern[depth];
    std::vector<Path> next;
    for (const Path& prefix : out) {
      if (!any[depth] || depth < fixed) {
        Path p = prefix;
        p.push_back(!any[depth] ? segment : target[depth]);
        if (any[depth]) {
          const Instance* node = tree.Find(p);
          if (node == nullptr || !node->schema->is_dynamic()) continue;
        }
        next.push_back(std::move(p));
        continue;
      }
      for (const std::string& name : tree.ChildNames(prefix)) {
        Path p = prefix;
        p.push_back(name);
        const Instance* node = tree.Find(p);
        if (node != nullptr && node->schema->is_dynamic()) next.push_back(std::move(p));
      }
    }
    out = std::move(next);
  }
  std::vector<Path> present;
  for (Path& p : out) {
    if (tree.Find(p) != nullptr) present.push_back(std::move(p));
  }
  return present;
}

void Behaviors::SyncInventory(const Path& parent, const NodeHooks& hooks, const Schema& schema,
                              NodeTree* tree) {
  std::vector<std::string> names;
  WithContext(*tree, parent, [&](HookContext& ctx) {
    names = hooks.children(ctx);
    return 200;
  });
  for (const std::string& name : tree->ChildNames(parent)) {
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    Path gone = parent;
    gone.push_back(name);
    const Instance* node = tree->Find(gone);
    if (node != nullptr && !node->schema->is_dynamic()) continue;  // a named sibling
    tree->Erase(gone);
  }
  for (const std::string& name : names) {
    Path child = parent;
    child.push_back(name);
    if (name.empty() || tree->Find(child) != nullptr) continue;
    const SchemaNode* node = schema.Resolve(child);
    // An instance, or a named node the CSP does not provide by itself (a category node such as
    // AppManagement/nonStore, which the device shows while it has entries).
    if (node == nullptr || (!node->is_dynamic() && node->provided_by_csp())) continue;
    tree->Create(child, *node, node->StartValue());
    if (!node->is_dynamic()) shown_.push_back(child);
  }
}

void Behaviors::DropInventories(NodeTree* tree) const {
  // The same instances as right after the last sweep: there is nothing to drop again (a sweep of
  // a swept tree erases nothing). Gets and Replaces leave the shape alone.
  if (shown_.empty() && swept_shape_ != 0 && tree->shape_version() == swept_shape_) return;
  for (const std::size_t index : inventories_) {
    const Path& pattern = hooks_[index].first;
    if (tree->Find(pattern) == nullptr) continue;
    for (const std::string& name : tree->ChildNames(pattern)) {
      Path child = pattern;
      child.push_back(name);
      const Instance* node = tree->Find(child);
      if (node != nullptr && !node->schema->is_dynamic()) continue;  // a named node stays
      tree->Erase(child);
    }
  }
  for (const Path& path : shown_) {
    if (tree->Find(path) != nullptr) tree->Erase(path);
  }
  shown_.clear();
  swept_shape_ = tree->shape_version();
}

int Behaviors::Get(const Path& path, const NodeTree& tree, std::string* value) {
  const NodeHooks* hooks = Find(path);
  if (hooks == nullptr || hooks->get == nullptr) return 200;
  if (hooks->overridable) {
    const Instance* node = tree.Find(path);
    if (node != nullptr && node->value != node->schema->StartValue()) return 200;  // *value kept
  }
  return WithContext(tree, path, [&](HookContext& ctx) { return hooks->get(ctx, value); });
}

int Behaviors::Write(const Path& path, const NodeTree& tree, std::string* data) {
  const NodeHooks* hooks = Find(path);
  if (hooks == nullptr || hooks->write == nullptr) return 200;
  return WithContext(tree, path, [&](HookContext& ctx) { return hooks->write(ctx, data); });
}

int Behaviors::Remove(const Path& path, const NodeTree& tree) {
  const NodeHooks* hooks = Find(path);
  if (hooks == nullptr || hooks->remove == nullptr) return 200;
  return WithContext(tree, path, [&](HookContext& ctx) { return hooks->remove(ctx); });
}

bool Behaviors::HasExec(const Path& path) const {
  const NodeHooks* hooks = Find(path);
  return hooks != nullptr && hooks->exec != nullptr;
}

int Behaviors::Exec(const Path& path, const NodeTree& tree,
                    const std::optional<std::string>& data) {
  const NodeHooks* hooks = Find(path);
  if (hooks == nullptr || hooks->exec == nullptr) return 200;
  return WithContext(tree, path, [&](HookContext& ctx) { return hooks->exec(ctx, data); });
}

void RegisterDeviceBehaviors(Behaviors* behaviors) {
  RegisterDeviceInfoBehaviors(behaviors);
  RegisterRebootWipeBehaviors(behaviors);
  RegisterHealthAttestationBehaviors(behaviors);
  RegisterDiagnosticLogBehaviors(behaviors);
  RegisterCertificateBehaviors(behaviors);
  RegisterTimeZonePolicyBehaviors(behaviors);
  RegisterAppBehaviors(behaviors);
}

}  // namespace wdm::emulator
