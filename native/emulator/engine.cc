// Command flow of the emulator engine: CmdID checks, Atomic, Sequence (see engine.h).
#include "emulator/engine.h"

#include <utility>

namespace wdm::emulator {
namespace {

using syncml::Command;
using syncml::Verb;

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

bool HasCmdId(const Command& cmd) { return cmd.cmd_id && !cmd.cmd_id->empty(); }
bool IsContainer(const Command& cmd) { return cmd.name == "Atomic" || cmd.name == "Sequence"; }

// One request's execution; accumulates the response entries.
class RequestRun {
 public:
  RequestRun(const Schema& schema, NodeTree* tree, std::vector<ExecRecord>* exec_log,
             json::Value* events, Behaviors* behaviors)
      : schema_(schema), tree_(tree), exec_log_(exec_log), events_(events), behaviors_(behaviors) {}

  // Runs `cmd`. Returns false only inside an Atomic when a command failed (the caller stops).
  bool Run(const Command& cmd, bool in_atomic);
  syncml::Response Take() { return std::move(response_); }

 private:
  std::size_t AddStatus(const Command& cmd, int code, const std::optional<std::string>& target_ref);
  // Answers `cmds` (and everything nested in them) with `code`, running nothing.
  void AnswerAll(const std::vector<Command>& cmds, std::size_t from, int code);
  // A failure at status entry `index`: stop an enclosing Atomic, otherwise carry on.
  bool Failed(std::size_t index, bool in_atomic) {
    if (!in_atomic) return true;
    failed_entry_ = index;
    return false;
  }
  bool RunVerb(const Command& cmd, Verb verb, bool in_atomic);
  bool RunSequence(const Command& cmd, bool in_atomic);
  bool RunAtomic(const Command& cmd, bool in_atomic);

  const Schema& schema_;
  NodeTree* tree_;
  std::vector<ExecRecord>* exec_log_;
  json::Value* events_;
  Behaviors* behaviors_;
  syncml::Response response_;
  int next_cmd_id_ = 2;
  std::size_t failed_entry_ = kNone;
};

std::size_t RequestRun::AddStatus(const Command& cmd, int code,
                                  const std::optional<std::string>& target_ref) {
  syncml::Response::Entry entry;
  entry.status.cmd_id = std::to_string(next_cmd_id_++);
  entry.status.cmd_ref = HasCmdId(cmd) ? *cmd.cmd_id : std::string();
  entry.status.cmd = cmd.name;
  if (target_ref) entry.status.target_refs.push_back(*target_ref);
  entry.status.code = code;
  response_.entries.push_back(std::move(entry));
  return response_.entries.size() - 1;
}

void RequestRun::AnswerAll(const std::vector<Command>& cmds, std::size_t from, int code) {
  for (std::size_t i = from; i < cmds.size(); ++i) {
    const Command& cmd = cmds[i];
    if (cmd.items.size() > 1) {
      for (const syncml::Item& item : cmd.items) AddStatus(cmd, code, item.target);
    } else {
      AddStatus(cmd, code, std::nullopt);
    }
    if (IsContainer(cmd)) AnswerAll(cmd.children, 0, code);
  }
}

bool RequestRun::Run(const Command& cmd, bool in_atomic) {
  if (cmd.name == "Atomic") return RunAtomic(cmd, in_atomic);
  if (cmd.name == "Sequence") return RunSequence(cmd, in_atomic);
  Verb verb;
  if (VerbFromName(cmd.name, &verb)) return RunVerb(cmd, verb, in_atomic);
  return Failed(AddStatus(cmd, 400, std::nullopt), in_atomic);
}

bool RequestRun::RunVerb(const Command& cmd, Verb verb, bool in_atomic) {
  if (!HasCmdId(cmd) || cmd.items.empty()) {
    return Failed(AddStatus(cmd, 400, std::nullopt), in_atomic);
  }
  if (in_atomic && verb == Verb::kGet) return Failed(AddStatus(cmd, 500, std::nullopt), in_atomic);
  const bool several = cmd.items.size() > 1;
  for (std::size_t i = 0; i < cmd.items.size(); ++i) {
    const syncml::Item& item = cmd.items[i];
    std::vector<syncml::ResultItem> results;
    const int code =
        ApplyItem(verb, item, cmd.meta, schema_, tree_, exec_log_, &results, behaviors_);
    const std::optional<std::string> ref = several ? item.target : std::nullopt;
    const std::size_t index = AddStatus(cmd, code, ref);
    if (verb == Verb::kGet && code == 200) {
      syncml::Response::Entry entry;
      entry.is_results = true;
      entry.results.cmd_id = std::to_string(next_cmd_id_++);
      entry.results.cmd_ref = *cmd.cmd_id;
      entry.results.items = std::move(results);
      response_.entries.push_back(std::move(entry));
    }
    if (code >= 300 && in_atomic) {
      for (std::size_t j = i + 1; j < cmd.items.size(); ++j)
        AddStatus(cmd, 216, cmd.items[j].target);
      return Failed(index, in_atomic);
    }
  }
  return true;
}

bool RequestRun::RunSequence(const Command& cmd, bool in_atomic) {
  if (!HasCmdId(cmd)) {
    const std::size_t index = AddStatus(cmd, 400, std::nullopt);
    AnswerAll(cmd.children, 0, 215);
    return Failed(index, in_atomic);
  }
  AddStatus(cmd, 200, std::nullopt);
  for (std::size_t i = 0; i < cmd.children.size(); ++i) {
    if (!Run(cmd.children[i], in_atomic)) {
      AnswerAll(cmd.children, i + 1, 216);
      return false;
    }
  }
  return true;
}

bool RequestRun::RunAtomic(const Command& cmd, bool in_atomic) {
  if (in_atomic) {  // nested Atomic: not supported
    const std::size_t index = AddStatus(cmd, 500, std::nullopt);
    AnswerAll(cmd.children, 0, 216);
    return Failed(index, in_atomic);
  }
  if (!HasCmdId(cmd)) {
    AddStatus(cmd, 400, std::nullopt);
    AnswerAll(cmd.children, 0, 215);
    return true;
  }
  const std::size_t atomic_entry = AddStatus(cmd, 200, std::nullopt);
  const NodeTree snapshot = *tree_;
  const json::Value events_snapshot = *events_;
  const std::size_t exec_log_size = exec_log_->size();
  failed_entry_ = kNone;
  bool failed = false;
  for (std::size_t i = 0; i < cmd.children.size() && !failed; ++i) {
    if (!Run(cmd.children[i], true)) {
      AnswerAll(cmd.children, i + 1, 216);
      failed = true;
    }
  }
  if (!failed) return true;
  *tree_ = snapshot;
  *events_ = events_snapshot;
  exec_log_->resize(exec_log_size);
  for (std::size_t i = atomic_entry + 1; i < response_.entries.size(); ++i) {
    syncml::Response::Entry& entry = response_.entries[i];
    if (!entry.is_results && i != failed_entry_) entry.status.code = 216;
  }
  response_.entries[atomic_entry].status.code = 507;
  return true;
}

}  // namespace

Engine::Engine(const Schema& schema, std::unique_ptr<DeviceHost> host)
    : schema_(schema),
      tree_(schema),
      behaviors_(host ? std::move(host) : NewSystemHost(), &events_) {
  RegisterDeviceBehaviors(&behaviors_);
}

void Engine::Reset() {
  tree_.Reset();
  exec_log_.clear();
  events_ = json::Value::Object();
}

syncml::Response Engine::Execute(const std::vector<Command>& commands) {
  RequestRun run(schema_, &tree_, &exec_log_, &events_, &behaviors_);
  for (const Command& cmd : commands) run.Run(cmd, false);
  behaviors_.DropInventories(&tree_);  // host inventories are not device state
  return run.Take();
}

std::string Engine::MalformedResponse() {
  syncml::Response response;
  syncml::Response::Entry entry;
  entry.status.cmd_id = "1";
  entry.status.cmd_ref = "0";
  entry.status.cmd = "SyncHdr";
  entry.status.code = 400;
  response.entries.push_back(std::move(entry));
  return syncml::EncodeResponse(response);
}

std::string Engine::HandleRequest(std::string_view request) {
  std::vector<Command> commands;
  std::string error;
  if (!syncml::ParseRequest(request, &commands, &error)) return MalformedResponse();
  return syncml::EncodeResponse(Execute(commands));
}

}  // namespace wdm::emulator
