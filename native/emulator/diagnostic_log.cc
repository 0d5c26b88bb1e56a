// DiagnosticLog (see diagnostic_log.h).
#include "emulator/diagnostic_log.h"

#include <cstdlib>
#include <vector>

#include "emulator/behaviors.h"
#include "emulator/health_attestation.h"
#include "emulator/iso8601.h"
#include "emulator/sha256.h"

namespace wdm::emulator {
namespace {

// Device/Vendor/MSFT/DiagnosticLog/EtwLog/Collectors/<c>/... and
// Device/Vendor/MSFT/DiagnosticLog/FileDownload/DMChannel/<c>/...: the collector is segment 6.
constexpr std::size_t kCollectorSegment = 6;
const char* const kCollectors = "./Device/Vendor/MSFT/DiagnosticLog/EtwLog/Collectors";
const char* const kChannel = "./Device/Vendor/MSFT/DiagnosticLog/FileDownload/DMChannel";

std::string CollectorOf(const HookContext& ctx) {
  return ctx.path.size() > kCollectorSegment ? ctx.path[kCollectorSegment] : std::string();
}

// events.diagnosticLog.<group>.<name>, created as an object when missing.
json::Value& Entry(HookContext& ctx, const char* group, const std::string& name) {
  json::Value& g = ctx.state.diagnostic_log.mutable_member(group);
  json::Value& e = g.mutable_member(name);
  if (!e.is_object()) e = json::Value::Object();
  return e;
}

const json::Value* FindEntry(const HookContext& ctx, const char* group, const std::string& name) {
  const json::Value* g = ctx.state.diagnostic_log.Find(group);
  const json::Value* e = g == nullptr ? nullptr : g->Find(name);
  return e != nullptr && e->is_object() ? e : nullptr;
}

std::int64_t IntOf(const json::Value* object, const char* key, std::int64_t fallback) {
  const json::Value* v = object == nullptr ? nullptr : object->Find(key);
  return v != nullptr && v->is_int() ? v->int_value() : fallback;
}

bool Running(const HookContext& ctx, const std::string& c) {
  const json::Value* e = FindEntry(ctx, "collectors", c);
  const json::Value* running = e == nullptr ? nullptr : e->Find("running");
  return running != nullptr && running->bool_value();
}

// "<GUID>:<level>:<keywords>:<state>;..." of the collector's providers in the tree now.
std::string ProvidersOf(const HookContext& ctx) {
  Path providers = ctx.path;
  providers.resize(kCollectorSegment + 1);
  providers.push_back("Providers");
  std::string out;
  for (const std::string& guid : ctx.tree.ChildNames(providers)) {
    Path p = providers;
    p.push_back(guid);
    auto leaf = [&](const char* name) {
      Path l = p;
      l.push_back(name);
      const Instance* node = ctx.tree.Find(l);
      return node == nullptr ? std::string() : node->value;
    };
    out += guid + ":" + leaf("TraceLevel") + ":" + leaf("Keywords") + ":" + leaf("State") + ";";
  }
  return out;
}

int TraceControl(HookContext& ctx, const std::optional<std::string>& data) {
  const std::string c = CollectorOf(ctx);
  if (!data || (*data != "START" && *data != "STOP")) return 400;
  const bool start = *data == "START";
  const std::int64_t now = ctx.host.Now();
  if (start != Running(ctx, c)) {
    json::Value& e = Entry(ctx, "collectors", c);
    e.Set("running", json::Value::Bool(start));
    if (start) {
      e.Set("started", json::Value::Int(now));
      e.Set("runs", json::Value::Int(IntOf(&e, "runs", 0) + 1));
    } else {
      e.Set("stopped", json::Value::Int(now));
      e.Set("providers", json::Value::String(ProvidersOf(ctx)));
      // A new log: its download starts at the first block.
      Entry(ctx, "download", c).Set("blockIndex", json::Value::Int(0));
    }
  }
  json::Value& controls = ctx.state.diagnostic_log.mutable_member("controls");
  if (!controls.is_array()) controls = json::Value::Array();
  json::Value item = json::Value::Object();
  item.Set("collector", json::Value::String(c));
  item.Set("command", json::Value::String(*data));
  item.Set("time", json::Value::String(FormatIsoUtc(now)));
  controls.Append(std::move(item));
  std::vector<json::Value>& items = controls.mutable_items();
  if (items.size() > kMaxControls) {
    items.erase(items.begin(),
                items.begin() + static_cast<std::ptrdiff_t>(items.size() - kMaxControls));
  }
  return 200;
}

int TraceStatus(HookContext& ctx, std::string* value) {
  *value = Running(ctx, CollectorOf(ctx)) ? "1" : "0";
  return 200;
}

// The collector's last log; false when it has none (never stopped).
bool LogOf(const HookContext& ctx, const std::string& c, std::string* log) {
  const json::Value* e = FindEntry(ctx, "collectors", c);
  if (e == nullptr || IntOf(e, "stopped", 0) == 0) return false;
  const json::Value* providers = e->Find("providers");
  *log = EmulatedLog(
      c, providers != nullptr && providers->is_string() ? providers->string_value() : std::string(),
      IntOf(e, "started", 0), IntOf(e, "stopped", 0));
  return true;
}

std::vector<std::string> ChannelFiles(HookContext& ctx) {
  std::vector<std::string> out;
  const json::Value* collectors = ctx.state.diagnostic_log.Find("collectors");
  if (collectors == nullptr || !collectors->is_object()) return out;
  for (const auto& [name, e] : collectors->members()) {
    if (IntOf(&e, "stopped", 0) != 0) out.push_back(name);
  }
  return out;
}

std::int64_t BlockSize(const HookContext& ctx, const std::string& c) {
  return IntOf(FindEntry(ctx, "download", c), "blockSizeKB", kDefaultBlockSizeKB) * 1024;
}

std::int64_t BlockCount(const HookContext& ctx, const std::string& c, const std::string& log) {
  const std::int64_t size = BlockSize(ctx, c);
  return (static_cast<std::int64_t>(log.size()) + size - 1) / size;
}

int GetBlockSize(HookContext& ctx, std::string* value) {
  *value = std::to_string(BlockSize(ctx, CollectorOf(ctx)) / 1024);
  return 200;
}

int WriteBlockSize(HookContext& ctx, std::string* data) {
  const long kb = std::strtol(data->c_str(), nullptr, 10);  // int format checked already
  if (kb < 1 || kb > kMaxBlockSizeKB) return 400;
  json::Value& e = Entry(ctx, "download", CollectorOf(ctx));
  e.Set("blockSizeKB", json::Value::Int(kb));
  e.Set("blockIndex", json::Value::Int(0));  // blocks of another size: back to the first
  return 200;
}

int GetBlockIndex(HookContext& ctx, std::string* value) {
  *value = std::to_string(IntOf(FindEntry(ctx, "download", CollectorOf(ctx)), "blockIndex", 0));
  return 200;
}

int WriteBlockIndex(HookContext& ctx, std::string* data) {
  const std::string c = CollectorOf(ctx);
  std::string log;
  if (!LogOf(ctx, c, &log)) return 404;
  const long index = std::strtol(data->c_str(), nullptr, 10);
  if (index < 0 || index >= BlockCount(ctx, c, log)) return 400;
  Entry(ctx, "download", c).Set("blockIndex", json::Value::Int(index));
  return 200;
}

int GetBlockCount(HookContext& ctx, std::string* value) {
  const std::string c = CollectorOf(ctx);
  std::string log;
  if (!LogOf(ctx, c, &log)) return 404;
  *value = std::to_string(BlockCount(ctx, c, log));
  return 200;
}

int GetBlockData(HookContext& ctx, std::string* value) {
  const std::string c = CollectorOf(ctx);
  std::string log;
  if (!LogOf(ctx, c, &log)) return 404;
  const std::int64_t size = BlockSize(ctx, c);
  const std::int64_t index = IntOf(FindEntry(ctx, "download", c), "blockIndex", 0);
  if (index < 0 || index >= BlockCount(ctx, c, log)) return 404;
  *value = Base64Encode(
      log.substr(static_cast<std::size_t>(index * size), static_cast<std::size_t>(size)));
  return 200;
}

}  // namespace

std::string EmulatedLog(const std::string& collector, const std::string& providers,
                        std::int64_t started, std::int64_t stopped) {
  std::string text =
      "EMULATED ETL (windows-iot-dm CSP emulator; not a real ETW trace log)\n"
      "Collector: " +
      collector + "\n" + "Started: " + FormatIsoUtc(started) + "\n" +
      "Stopped: " + FormatIsoUtc(stopped) + "\n" + "Providers: " + providers + "\n";
  // A hash chain of event lines, so that the log spans several blocks and every byte depends on
  // the inputs above.
  std::string digest = Sha256Hex(text);
  for (int i = 0; i < 160; ++i) {
    text += "event " + std::to_string(i) + " " + digest + "\n";
    digest = Sha256Hex(digest);
  }
  text += "End: " + Sha256Hex(text) + "\n";
  return text;
}

void RegisterDiagnosticLogBehaviors(Behaviors* b) {
  const std::string collector = std::string(kCollectors) + "/<x>";
  NodeHooks control;
  control.exec = TraceControl;
  b->Register(collector + "/TraceControl", control);
  NodeHooks status;
  status.get = TraceStatus;
  b->Register(collector + "/TraceStatus", status);

  NodeHooks files;
  files.children = ChannelFiles;
  b->Register(kChannel, files);
  const std::string file = std::string(kChannel) + "/<x>";
  NodeHooks size;
  size.get = GetBlockSize;
  size.write = WriteBlockSize;
  b->Register(file + "/BlockSizeKB", size);
  NodeHooks index;
  index.get = GetBlockIndex;
  index.write = WriteBlockIndex;
  b->Register(file + "/BlockIndexToRead", index);
  NodeHooks count;
  count.get = GetBlockCount;
  b->Register(file + "/BlockCount", count);
  NodeHooks data;
  data.get = GetBlockData;
  b->Register(file + "/BlockData", data);
}

}  // namespace wdm::emulator
