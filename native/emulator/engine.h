// The emulator's command engine: runs a parsed SyncML request against the node tree and builds
// the response. Not thread-safe; exports.cc serializes every call with one mutex.
//
// Command rules:
//  * Statuses and Results are numbered from CmdID 2 (1 is the SyncHdr status) with MsgRef 1.
//  * A command without a (non-empty) CmdID: 400 with a blank CmdRef, nothing executed.
//  * Anything but Get/Add/Replace/Delete/Exec/Atomic/Sequence: 400.
//  * A verb command needs at least one Item (else 400); each Item gets its own Status, with a
//    TargetRef when the command has several Items; see node_ops.h for the per-item codes.
//  * Sequence: its Status (200) first, then its commands in order, each with its own status.
//  * Atomic: its Status first, then its commands. The first command that fails stops it: the
//    tree, exec log and events (where behaviours stage their effects: reboot/wipe records,
//    HealthAttestation) are rolled back, the Atomic gets 507, the failing command keeps its code
//    and every other command inside (done, skipped, nested) gets 216. A Get inside an Atomic
//    fails with 500; a nested Atomic fails with 500 (its commands 216). All succeed -> 200.
//  * Device-backed values and effects: behaviors.h (hooks called by node_ops.cc).
//  * An Atomic/Sequence without CmdID: 400 and its commands are not run (each answered 215).
//  * A request that is not well formed (ParseRequest fails): one SyncHdr Status (CmdRef 0,
//    Cmd SyncHdr) with 400 and no other entries.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "emulator/behaviors.h"
#include "emulator/node_ops.h"
#include "emulator/node_tree.h"
#include "syncml/codec.h"

namespace wdm::emulator {

class Engine {
 public:
  // `host`: the machine behind the device-backed values (behaviors.h); null = the real one.
  explicit Engine(const Schema& schema, std::unique_ptr<DeviceHost> host = nullptr);

  // Back to the initial tree; clears the exec log and the events.
  void Reset();
  // Runs one request (UTF-8 XML) and returns the response document (UTF-8 XML).
  std::string HandleRequest(std::string_view request);
  // Runs parsed commands.
  syncml::Response Execute(const std::vector<syncml::Command>& commands);
  // The answer to a message that is not well formed: only a SyncHdr status 400.
  static std::string MalformedResponse();

  const std::vector<ExecRecord>& exec_log() const { return exec_log_; }
  // Drops the exec log entries after the first `size` (an Apply whose state was not saved).
  void TruncateExecLog(std::size_t size) {
    if (size < exec_log_.size()) exec_log_.resize(size);
  }
  const NodeTree& tree() const { return tree_; }
  // The persisted device state (state_store.h loads and saves both): the tree, and the events,
  // a free-form JSON object behaviours record facts in (reboot count, wipes, ...). A failed
  // Atomic rolls both back.
  NodeTree* mutable_tree() { return &tree_; }
  const json::Value& events() const { return events_; }
  json::Value* mutable_events() { return &events_; }
  Behaviors& behaviors() { return behaviors_; }

 private:
  const Schema& schema_;
  NodeTree tree_;
  std::vector<ExecRecord> exec_log_;
  json::Value events_ = json::Value::Object();
  Behaviors behaviors_;  // device-backed values and effects; its state lives in events_
};

}  // namespace wdm::emulator
