// Device-backed behaviour of the emulated CSPs: per-node hooks the verbs call (node_ops.cc),
// registered by canonical path pattern ("./Device/Vendor/MSFT/Reboot/RebootNow"; "<x>" matches
// any one segment, as in the schema).
//
//   get       Get of a leaf (direct or in a ?list=StructData listing): the value is computed
//             (host facts, clock, state) instead of read from the tree. A hook may answer 404
//             ("no such value now"); a listing then leaves that leaf out. With `overridable`,
//             the computed value is only the device's default: when the tree holds another
//             value than the schema's start value (set by the device profile or a Replace),
//             that value is answered and the hook is not called.
//   write     Add/Replace of a leaf, after the format check: 200 to store the (possibly
//             rewritten) data, else the status to answer (400 for a value the CSP refuses).
//   exec      Exec: 200 or the status to answer; on 200 the engine also logs the Exec.
//   children  An interior node whose dynamic children are a host inventory (network cards,
//             DiagnosticLog download files, installed apps): before a Get, Delete or Replace
//             that reaches it, the tree's instances under it are made to match; after the request
//             they are removed again, so they are never persisted. A pattern with "<x>" applies
//             to each existing instance it matches (a pattern's parent inventory is registered
//             first, so its instances exist by then). A hook may also name a named child the CSP
//             does not provide by itself (a category node such as AppManagement/nonStore): it is
//             there while the hook names it.
//   remove    Delete of the node: 200 to erase it from the tree, else the status to answer.
//
// Hooks never act on the host (no rename, reboot or wipe). Every effect is staged in the
// engine's persisted `events` object (state_store.h), which a failed Atomic rolls back with the
// tree: a hook sees it as a BehaviorState (loaded before the hook, saved after it), so it is
// saved to the state file with the tree and shared by every process. Get hooks may update it too
// (Get is refused inside an Atomic).
//
// The members of `events` owned here (others, such as "system" of system_state.h, are left
// alone):
//   "reboot":  {"count": 3, "last": "2026-01-01T03:00:00Z"}
//   "wipe":    {"count": 1, "status": 10, "lastError": 0}
//   "log":     [{"kind": "reboot"|"wipe", "command": "RebootNow", "uri": "./Device/...",
//               "time": "2026-...Z", "data": "..." (only when the Exec had Data)}, ...]
//              oldest first, the last BehaviorState::kMaxEvents
//   "healthAttestation": {"status": 3, "requests": 2, "correlationId": "GUID", "issued": <Unix s>}
//   "sequence": 5   (feeds deterministic "random" digits)
//   "apps":     installed packages, installations and MSI products (apps.h)
//   "diagnosticLog": {...}  ETW collectors and log downloads, see diagnostic_log.h
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/json.h"
#include "emulator/device_host.h"
#include "emulator/node_tree.h"

namespace wdm::emulator {

// A recorded reboot or wipe request (never performed).
struct DeviceEvent {
  std::string kind;     // "reboot" or "wipe"
  std::string command;  // the Exec node's name: "RebootNow", "doWipe", "doWipeProtected", ...
  std::string uri;      // canonical URI of the Exec
  std::string time;     // ISO 8601 UTC ("2026-01-01T03:00:00Z")
  std::optional<std::string> data;  // the Exec's Data, if any
};

// HealthAttestation (legacy DHA-Service flow), see health_attestation.h.
struct HealthAttestationState {
  int status = 0;              // HealthAttestation/Status: 0, 1 (requested), 3 (ready), errors
  std::int64_t requests = 0;   // VerifyHealth requests accepted so far
  std::string correlation_id;  // GUID of the last request; "" before the first
  std::int64_t issued = 0;     // Unix time the emulated certificate was issued; 0 = never
};

// Everything the hooks change, as a typed view of the `events` object (see above).
struct BehaviorState {
  static constexpr std::size_t kMaxEvents = 100;  // older events are dropped (counters stay)

  std::int64_t reboot_count = 0;
  std::string last_reboot_time;  // ISO 8601 UTC, "" before the first
  std::int64_t wipe_count = 0;
  int wipe_status = 0;              // RemoteWipe/AutomaticRedeployment/Status
  int wipe_last_error = 0;          // RemoteWipe/AutomaticRedeployment/LastError
  std::vector<DeviceEvent> events;  // oldest first
  HealthAttestationState health;
  std::int64_t sequence = 0;   // feeds deterministic "random" digits (%RAND:n%)
  json::Value diagnostic_log;  // events.diagnosticLog (diagnostic_log.h); null until first used
  // The key name the ConfigureTimeZone policy was written with during this hook: Save() puts
  // that zone's rules in events.system.timeZone (system_state.h), as Windows applies the policy.
  std::optional<std::string> configured_time_zone;
  // events.apps as it is (apps.h reads and writes it); null until something is recorded.
  json::Value apps;

  void Record(DeviceEvent event);
  // Reads the members owned here (missing or mistyped ones read as their defaults).
  static BehaviorState Load(const json::Value& events);
  // Writes the members owned here into `events` (an object afterwards), keeping the others.
  void Save(json::Value* events) const;
};

struct HookContext {
  const DeviceHost& host;
  BehaviorState& state;
  const NodeTree& tree;  // read-only: sibling values (e.g. HASEndpoint at VerifyHealth)
  const Path& path;      // decoded path of the addressed node
};

struct NodeHooks {
  int (*get)(HookContext& ctx, std::string* value) = nullptr;
  int (*write)(HookContext& ctx, std::string* data) = nullptr;
  int (*exec)(HookContext& ctx, const std::optional<std::string>& data) = nullptr;
  std::vector<std::string> (*children)(HookContext& ctx) = nullptr;
  int (*remove)(HookContext& ctx) = nullptr;
  bool overridable = false;  // see `get` above
};

class Behaviors {
 public:
  // `events`: the engine's persisted events object (outlives this).
  Behaviors(std::unique_ptr<DeviceHost> host, json::Value* events);

  // Adds hooks for a pattern ("./A/<x>/B"); a later registration for the same pattern wins.
  void Register(std::string_view pattern, const NodeHooks& hooks);
  const NodeHooks* Find(const Path& path) const;

  // The calls node_ops.cc makes. Each returns 200 when no hook applies.
  void SyncInventories(const Path& target, const Schema& schema, NodeTree* tree);
  // Removes the inventory instances again (the engine calls it after each request): they are
  // host facts, re-read by the next Get, and never part of the persisted device state.
  void DropInventories(NodeTree* tree) const;
  int Get(const Path& path, const NodeTree& tree, std::string* value);
  int Write(const Path& path, const NodeTree& tree, std::string* data);
  int Exec(const Path& path, const NodeTree& tree, const std::optional<std::string>& data);
  int Remove(const Path& path, const NodeTree& tree);
  // An Exec hook implements the node: the command exists as the CSP provides it, without an Add.
  bool HasExec(const Path& path) const;

  // The current state (a copy read from the events object).
  BehaviorState state() const { return BehaviorState::Load(*events_); }
  const DeviceHost& host() const { return *host_; }

 private:
  // Runs `call` on a HookContext whose state is loaded from and then saved to the events.
  template <typename Call>
  int WithContext(const NodeTree& tree, const Path& path, Call call);
  // The existing instances hooks_[index]'s pattern matches ("<x>" = each dynamic child present)
  // that are related to `target` (one of the two a prefix of the other).
  std::vector<Path> Expand(std::size_t index, const NodeTree& tree, const Path& target) const;
  void RebuildIndex();  // inventories_ from hooks_
  void SyncInventory(const Path& parent, const NodeHooks& hooks, const Schema& schema,
                     NodeTree* tree);

  std::unique_ptr<DeviceHost> host_;
  json::Value* events_;
  std::vector<std::pair<Path, NodeHooks>> hooks_;
  // Find's index: by_size_[n] holds the indices into hooks_ of the patterns with n segments, in
  // registration order, by leaf name (any_leaf: the leaf is "<x>"); wildcards_[i][k]: segment k
  // of hooks_[i]'s pattern is "<x>".
  struct Bucket {
    std::unordered_map<std::string, std::vector<std::size_t>> by_leaf;
    std::vector<std::size_t> any_leaf;
  };
  std::vector<Bucket> by_size_;
  std::vector<std::vector<bool>> wildcards_;
  std::vector<std::size_t> inventories_;  // indices into hooks_ of the `children` hooks, in order
  // NodeTree::shape_version() right after the last DropInventories (0 = none yet).
  mutable std::uint64_t swept_shape_ = 0;
  // Named nodes SyncInventory created for a hook (category nodes): DropInventories removes them.
  mutable std::vector<Path> shown_;
};

// Every device behaviour: DevDetail/DevInfo/DeviceStatus (device_info.cc), Reboot/RemoteWipe
// (reboot_wipe.cc), HealthAttestation (health_attestation.cc), DiagnosticLog (diagnostic_log.cc),
// certificate stores (certificates.cc), app management (apps.cc).
void RegisterDeviceBehaviors(Behaviors* behaviors);
void RegisterAppBehaviors(Behaviors* behaviors);
void RegisterDeviceInfoBehaviors(Behaviors* behaviors);
void RegisterRebootWipeBehaviors(Behaviors* behaviors);
void RegisterHealthAttestationBehaviors(Behaviors* behaviors);
void RegisterDiagnosticLogBehaviors(Behaviors* behaviors);
void RegisterCertificateBehaviors(Behaviors* behaviors);
// Policy/Config/TimeLanguageSettings/ConfigureTimeZone sets the emulated time zone (a key name of
// system_state.h's table; any other answers 400). Defined in system_state.cc.
void RegisterTimeZonePolicyBehaviors(Behaviors* behaviors);

}  // namespace wdm::emulator
