// The emulated device's state file (see state_store.h). The operating-system calls are in
// state_file_os.h (POSIX and Windows).
#include "emulator/state_store.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <utility>
#include <vector>

#include "emulator/state_file_os.h"
#include "emulator/system_state.h"
#include "emulator/uri.h"
#include "emulator/value_check.h"

namespace wdm::emulator {
namespace {

constexpr std::size_t kMaxStateBytes = std::size_t{64} << 20;

int g_fault_step = 0;
int g_fault_errno = 0;

// True (with errno set) when the test hook asks `step` to fail; the fault is used up.
bool Faulted(int step) {
  if (g_fault_step != step) return false;
  errno = g_fault_errno;
  g_fault_step = 0;
  g_fault_errno = 0;
  return true;
}

void Report(const std::string& line) {
  std::fprintf(stderr, "windows-iot-dm emulator: %s\n", line.c_str());
  std::fflush(stderr);
}

std::string ErrnoText(int error_number) { return std::strerror(error_number); }

// "2026-11-26T09:20:00Z", or "20261126T092000Z" when `compact`.
std::string UtcNow(bool compact) {
  const std::time_t now = std::time(nullptr);
  const std::tm tm = os::GmTime(now);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

using os::DirectoryOf;
using os::MakeDirectories;

bool WriteAll(int fd, const std::string& text) {
  if (Faulted(2)) return false;
  return os::WriteAll(fd, text);
}

void FsyncDirectory(const std::string& dir, int* error_number) {
  *error_number = 0;
  if (Faulted(5) || !os::FlushDirectory(dir)) *error_number = errno;
}

// A canonical path of the state file: a valid LocURI without query whose FormatPath is itself.
bool ParseCanonical(const std::string& text, Path* path) {
  NodeUri uri;
  if (!ParseLocUri(text, &uri) || uri.has_query || uri.path.empty()) return false;
  if (FormatPath(uri.path) != text) return false;
  *path = std::move(uri.path);
  return true;
}

Path ParentOf(const Path& path) { return Path(path.begin(), path.end() - 1); }

}  // namespace

bool StatePathFromEnv(std::string* path, std::string* error) {
  const std::string state = os::GetEnv(kStateEnv);
  if (!state.empty()) {
    *path = state;
    return true;
  }
#if defined(_WIN32)
  const std::string local = os::GetEnv("LOCALAPPDATA");
  if (os::IsAbsolute(local)) {
    *path = local + "\\windows-iot-dm\\emulator-state.json";
    return true;
  }
  *error = std::string("no place for the state file: set ") + kStateEnv +
           " (a file path, or :memory:) or LOCALAPPDATA";
  return false;
#else
  const std::string xdg = os::GetEnv("XDG_STATE_HOME");
  if (os::IsAbsolute(xdg)) {  // the XDG spec ignores relative paths
    *path = xdg + "/windows-iot-dm/emulator-state.json";
    return true;
  }
  const std::string home = os::GetEnv("HOME");
  if (!home.empty()) {
    *path = home + "/.local/state/windows-iot-dm/emulator-state.json";
    return true;
  }
  *error = std::string("no place for the state file: set ") + kStateEnv +
           " (a file path, or :memory:), XDG_STATE_HOME or HOME";
  return false;
#endif
}

void SetStateWriteFaultForTest(int step, int error_number) {
  g_fault_step = step;
  g_fault_errno = error_number;
}

StateStore::StateStore(const Schema& schema, std::string path, Profile profile)
    : schema_(schema),
      path_(std::move(path)),
      memory_(path_ == kStateMemory),
      profile_(std::move(profile)),
      initial_(schema),
      scratch_(schema) {}

StateStore::~StateStore() {
  if (held_fd_ >= 0) os::Close(held_fd_);
  if (lock_fd_ >= 0) os::Close(lock_fd_);  // also releases a lock still held
}

void StateStore::Forget() {
  loaded_ = false;
  persisted_ = json::Value();
  if (held_fd_ >= 0) os::Close(held_fd_);
  held_fd_ = -1;
  file_id_ = FileId();
}

void StateStore::Seed(NodeTree* tree, json::Value* events) const {
  *tree = initial_;
  profile_.Apply(tree);
  *events = json::Value::Object();
  if (profile_.time_zone()) SaveTimeZone(*profile_.time_zone(), events);
}

// ---- locking ------------------------------------------------------------------------------------

std::int32_t StateStore::Lock() {
  if (lock_fd_ >= 0 && lock_pid_ != os::ProcessId()) {
    // Forked: the inherited descriptor shares the parent's lock; this process needs its own.
    os::Close(lock_fd_);
    lock_fd_ = -1;
  }
  if (lock_fd_ < 0) {
    std::string error;
    if (!MakeDirectories(DirectoryOf(path_), &error)) {
      Report("cannot create the state file's directory: " + error);
      return kHresultWriteFault;
    }
    const std::string lock_path = path_ + ".lock";
    lock_fd_ = os::OpenLockFile(lock_path);
    if (lock_fd_ < 0) {
      Report("cannot open the lock file " + lock_path + ": " + ErrnoText(errno));
      return kHresultLockViolation;
    }
    lock_pid_ = os::ProcessId();
  }
  if (!os::Lock(lock_fd_)) {
    Report("cannot lock " + path_ + ".lock: " + ErrnoText(errno));
    return kHresultLockViolation;
  }
  locked_ = true;
  return 0;
}

void StateStore::Unlock() {
  if (!locked_) return;
  os::Unlock(lock_fd_);
  locked_ = false;
}

// ---- documents ----------------------------------------------------------------------------------

bool StateStore::BuildDocument(const NodeTree& tree, const json::Value& events, json::Value* doc,
                               std::string* error) const {
  // The replay LoadDocument does, followed in path order in scratch_: the initial tree, plus each
  // recorded node that did not exist yet, created the way NodeTree::Create creates it (with the
  // nodes the CSP provides below it). A node of the current tree is recorded when the replay would
  // not have it, or not with its value; a node the replay would have that the current tree lacks
  // is recorded as deleted (only the top of a deleted subtree). scratch_ is restored at the end.
  std::vector<std::pair<std::string, std::string>> changed;
  json::Value deleted = json::Value::Array();
  const auto& current = tree.instances();
  const auto& replay = scratch_.instances();
  std::vector<Path> created;
  auto r = replay.begin();
  auto j = current.begin();
  while (r != replay.end() || j != current.end()) {
    if (r != replay.end() && j != current.end() && r->first == j->first) {
      if (r->second.value != j->second.value) {
        changed.emplace_back(FormatPath(j->first), j->second.value);
      }
      ++r;
      ++j;
    } else if (j == current.end() || (r != replay.end() && r->first < j->first)) {
      const Path& path = r->first;
      if (!path.empty() && current.count(ParentOf(path)) != 0) {
        deleted.Append(json::Value::String(FormatPath(path)));
      }
      ++r;
    } else {
      // New: the replay creates it, and the CSP-provided nodes below it, which sort right after
      // it (before r: the replay is ancestor-closed), so the walk resumes just after it.
      const Path& path = j->first;
      changed.emplace_back(FormatPath(path), j->second.value);
      scratch_.Create(path, *j->second.schema, j->second.value);
      created.push_back(path);
      r = replay.upper_bound(path);
      ++j;
    }
  }
  for (const Path& path : created) scratch_.Erase(path);  // back to the initial tree
  std::sort(changed.begin(), changed.end());  // then each Set appends (keys in byte order)
  json::Value nodes = json::Value::Object();
  for (auto& [path, value] : changed)
    nodes.Set(std::move(path), json::Value::String(std::move(value)));
  if (!events.is_object()) {
    *error = "the events are not a JSON object";
    return false;
  }
  *doc = json::Value::Object();
  doc->Set("format", json::Value::String(kStateFormat));
  doc->Set("version", json::Value::Int(1));
  doc->Set("nodes", std::move(nodes));
  doc->Set("deleted", std::move(deleted));
  doc->Set("events", events);
  return true;
}

bool StateStore::LoadDocument(const json::Value& doc, NodeTree* tree, json::Value* events,
                              std::string* reason) const {
  if (!doc.is_object()) {
    *reason = "the top level is not an object";
    return false;
  }
  static const char* const kKeys[] = {"created", "deleted", "events",  "format", "generation",
                                      "nodes",   "profile", "updated", "version"};
  for (const json::Value::Member& member : doc.members()) {
    bool known = false;
    for (const char* key : kKeys) known = known || member.first == key;
    if (!known) {
      *reason = "unknown member \"" + member.first + "\"";
      return false;
    }
  }
  const json::Value* format = doc.Find("format");
  if (format == nullptr || format->string_value() != kStateFormat) {
    *reason = std::string("\"format\" is not \"") + kStateFormat + "\"";
    return false;
  }
  const json::Value* version = doc.Find("version");
  if (version == nullptr || !version->is_int() || version->int_value() != 1) {
    *reason = "unsupported \"version\" (this library reads version 1)";
    return false;
  }
  const json::Value* generation = doc.Find("generation");
  if (generation == nullptr || !generation->is_int() || generation->int_value() < 0) {
    *reason = "\"generation\" is not a non-negative integer";
    return false;
  }
  for (const char* key : {"created", "updated", "profile"}) {
    const json::Value* value = doc.Find(key);
    if (value != nullptr && !value->is_string()) {
      *reason = std::string("\"") + key + "\" is not a string";
      return false;
    }
  }
  const json::Value* nodes = doc.Find("nodes");
  const json::Value* deleted = doc.Find("deleted");
  const json::Value* events_in = doc.Find("events");
  if (nodes == nullptr || !nodes->is_object()) {
    *reason = "\"nodes\" is not an object";
    return false;
  }
  if (deleted == nullptr || !deleted->is_array()) {
    *reason = "\"deleted\" is not an array";
    return false;
  }
  if (events_in == nullptr || !events_in->is_object()) {
    *reason = "\"events\" is not an object";
    return false;
  }

  // Replay (see BuildDocument): the recorded nodes in path order, created like NodeTree::Create
  // or given their value, then the deleted subtrees removed.
  std::map<Path, const std::string*> entries;  // parents before children
  for (const json::Value::Member& member : nodes->members()) {
    Path path;
    if (!ParseCanonical(member.first, &path)) {
      *reason = "node path " + member.first + " is not a canonical node path";
      return false;
    }
    if (!member.second.is_string()) {
      *reason = "node " + member.first + " does not hold a string";
      return false;
    }
    entries.emplace(std::move(path), &member.second.string_value());
  }
  NodeTree built = initial_;
  for (const auto& [path, value] : entries) {
    const std::string shown = FormatPath(path);
    const SchemaNode* node = schema_.Resolve(path);
    if (node == nullptr) {
      *reason = "node " + shown + " is not a node of the schema";
      return false;
    }
    if (built.Find(ParentOf(path)) == nullptr) {
      *reason = "node " + shown + " has no parent node";
      return false;
    }
    if (node->is_interior() ? !value->empty()
                            : !IsValidValue(node->format, *value) && *value != node->StartValue()) {
      *reason = "the value of node " + shown + " does not fit its format (" +
                FormatName(node->format) + ")";
      return false;
    }
    if (built.Find(path) != nullptr) {
      built.SetValue(path, *value);
    } else {
      built.Create(path, *node, *value);
    }
  }
  for (const json::Value& item : deleted->items()) {
    Path path;
    if (!item.is_string() || !ParseCanonical(item.string_value(), &path)) {
      *reason = "\"deleted\" holds something that is not a canonical node path";
      return false;
    }
    if (built.Find(path) == nullptr) {
      *reason = "deleted node " + item.string_value() + " does not exist";
      return false;
    }
    built.Erase(path);
  }
  *tree = std::move(built);
  *events = *events_in;
  return true;
}

std::string StateStore::MoveAside() {
  const std::string base = path_ + ".corrupt-" + UtcNow(true);
  std::string target = base;
  for (int n = 1; os::Exists(target); ++n) target = base + "-" + std::to_string(n);
  if (!os::Replace(path_, target)) return std::string();
  int error_number = 0;
  FsyncDirectory(DirectoryOf(path_), &error_number);
  return target;
}

// ---- writing ------------------------------------------------------------------------------------

std::int32_t StateStore::WriteDocument(json::Value doc, const NodeTree& tree, bool* landed) {
  *landed = false;
  const std::uint64_t generation = generation_ + 1;
  doc.Set("generation", json::Value::Int(static_cast<std::int64_t>(generation)));
  doc.Set("updated", json::Value::String(UtcNow(false)));
  std::string text;
  std::string error;
  json::WriteOptions options;
  options.pretty = true;
  if (!json::Write(doc, &text, &error, options)) {
    Report("cannot write the state file " + path_ + ": " + error);
    return kHresultWriteFault;
  }
  text.push_back('\n');

  const std::string dir = DirectoryOf(path_);
  std::string temp = path_ + ".tmp-XXXXXX";
  std::string step;
  int fd = -1;
  if (!MakeDirectories(dir, &error)) {
    Report("cannot write the state file " + path_ + ": " + error);
    return kHresultWriteFault;
  }
  if (Faulted(1) || (fd = os::CreateTemp(&temp)) < 0) {
    step = "cannot create a temporary file in " + dir;
  } else if (!WriteAll(fd, text)) {
    step = "cannot write " + temp;
  } else if (Faulted(3) || !os::Flush(fd)) {
    step = "cannot flush " + temp;
  } else if (Faulted(4) || !os::Replace(temp, path_)) {
    step = "cannot rename " + temp + " to " + path_;
  }
  if (!step.empty()) {
    const int error_number = errno;
    if (fd >= 0) {
      os::Close(fd);
      os::Unlink(temp);
    }
    Report("cannot write the state file " + path_ + ": " + step + ": " + ErrnoText(error_number) +
           "; the Apply fails (HRESULT 0x8007001D) and the device keeps the state on disk");
    return kHresultWriteFault;
  }
  // The new document is the state file now, whatever happens next.
  if (held_fd_ >= 0) os::Close(held_fd_);
  held_fd_ = -1;
  if (os::kPinOpenFile) {
    os::StatFd(fd, &file_id_);
    held_fd_ = fd;
  } else {  // Windows: the time stamps are final once closed; the file index survives the rename
    os::Close(fd);
    os::StatPath(path_, &file_id_);
  }
  persisted_ = std::move(doc);
  generation_ = generation;
  loaded_ = true;
  *landed = true;
  clean_version_ = tree.version();
  int error_number = 0;
  FsyncDirectory(dir, &error_number);
  if (error_number != 0) {
    Report("wrote the state file " + path_ + " but cannot flush its directory: " +
           ErrnoText(error_number) + "; the Apply fails (HRESULT 0x8007001D)");
    return kHresultWriteFault;
  }
  return 0;
}

// ---- transactions -------------------------------------------------------------------------------

std::int32_t StateStore::Refresh(NodeTree* tree, json::Value* events, bool create_if_missing) {
  os::FileId id;
  if (!os::StatPath(path_, &id)) {
    if (errno != ENOENT) {
      Report("cannot read the state file " + path_ + ": " + ErrnoText(errno));
      return kHresultReadFault;
    }
    Forget();
    if (!create_if_missing) return 0;
    Seed(tree, events);
    json::Value doc;
    std::string error;
    if (!BuildDocument(*tree, *events, &doc, &error)) return kHresultWriteFault;
    doc.Set("created", json::Value::String(UtcNow(false)));
    doc.Set("profile", json::Value::String(profile_.source()));
    bool landed = false;
    return WriteDocument(std::move(doc), *tree, &landed);  // not landed: still not loaded_
  }
  if (loaded_ && (held_fd_ >= 0 || !os::kPinOpenFile) && id == file_id_) {
    return 0;  // nobody replaced it
  }

  const int fd = os::OpenRead(path_);
  std::string text;
  if (fd < 0 || !os::ReadAll(fd, &text, kMaxStateBytes)) {
    Report("cannot read the state file " + path_ + ": " + ErrnoText(errno));
    if (fd >= 0) os::Close(fd);
    return kHresultReadFault;
  }
  os::FileId opened;
  os::StatFd(fd, &opened);
  json::Value doc;
  json::Error json_error;
  std::string reason;
  NodeTree loaded = initial_;
  json::Value loaded_events;
  if (!json::Parse(text, &doc, &json_error)) {
    reason = "not valid JSON: " + json_error.ToString();
  } else {
    LoadDocument(doc, &loaded, &loaded_events, &reason);
  }
  if (reason.empty()) {
    *tree = std::move(loaded);
    *events = std::move(loaded_events);
    if (held_fd_ >= 0) os::Close(held_fd_);
    held_fd_ = fd;
    if (!os::kPinOpenFile) {
      os::Close(fd);
      held_fd_ = -1;
    }
    file_id_ = opened;
    generation_ = static_cast<std::uint64_t>(doc.Find("generation")->int_value());
    persisted_ = std::move(doc);
    loaded_ = true;
    clean_version_ = tree->version();
    return 0;
  }
  os::Close(fd);

  // Corrupt: keep it (renamed), report it, start a new state from the profile.
  const std::string moved = MoveAside();
  if (moved.empty()) {
    Report("the state file " + path_ + " is corrupt (" + reason +
           ") and cannot be moved aside: " + ErrnoText(errno) + "; the device does not start");
    return kHresultReadFault;
  }
  Report("the state file " + path_ + " is corrupt (" + reason + "); moved it to " + moved +
         " and started a new state from the device profile");
  Forget();
  Seed(tree, events);
  json::Value recovered = json::Value::Object();
  recovered.Set("file", json::Value::String(moved));
  recovered.Set("reason", json::Value::String(reason));
  recovered.Set("at", json::Value::String(UtcNow(false)));
  events->Set("recovered", std::move(recovered));
  json::Value new_doc;
  std::string error;
  if (!BuildDocument(*tree, *events, &new_doc, &error)) return kHresultWriteFault;
  new_doc.Set("created", json::Value::String(UtcNow(false)));
  new_doc.Set("profile", json::Value::String(profile_.source()));
  bool landed = false;
  return WriteDocument(std::move(new_doc), *tree, &landed);
}

std::int32_t StateStore::Begin(NodeTree* tree, json::Value* events) {
  if (memory_) {
    if (!loaded_) {
      Seed(tree, events);
      loaded_ = true;
    }
    return 0;
  }
  const std::int32_t hr = Lock();
  if (hr != 0) return hr;
  const std::int32_t refreshed = Refresh(tree, events, true);
  if (refreshed != 0) Unlock();
  return refreshed;
}

std::int32_t StateStore::Commit(NodeTree* tree, json::Value* events) {
  if (memory_ || !locked_) return 0;
  std::int32_t hr = 0;
  bool rollback = true;
  const json::Value* persisted_events = persisted_.Find("events");
  const bool events_changed = persisted_events == nullptr || *persisted_events != *events;
  if (loaded_ && (tree->version() != clean_version_ || events_changed)) {
    json::Value doc;
    std::string error;
    if (!BuildDocument(*tree, *events, &doc, &error)) {
      Report("cannot write the state file " + path_ + ": " + error);
      hr = kHresultWriteFault;
    } else if (*doc.Find("nodes") == *persisted_.Find("nodes") &&
               *doc.Find("deleted") == *persisted_.Find("deleted") && !events_changed) {
      clean_version_ = tree->version();  // changed and changed back: nothing to write
    } else {
      for (const char* key : {"created", "profile"}) {
        if (const json::Value* value = persisted_.Find(key)) doc.Set(key, *value);
      }
      bool landed = false;
      hr = WriteDocument(std::move(doc), *tree, &landed);
      rollback = !landed;
    }
    if (hr != 0 && rollback) {
      // Roll the device back to the file (persisted_ is what it holds).
      std::string reason;
      if (LoadDocument(persisted_, tree, events, &reason)) {
        clean_version_ = tree->version();
      } else {
        Forget();  // cannot happen: persisted_ was read or written by this process
      }
    }
  }
  Unlock();
  return hr;
}

std::int32_t StateStore::Reset(NodeTree* tree, json::Value* events) {
  if (memory_) {
    Seed(tree, events);
    loaded_ = true;
    return 0;
  }
  std::int32_t hr = Lock();
  if (hr != 0) return hr;
  hr = Refresh(tree, events, false);
  if (hr == 0) {
    Seed(tree, events);
    json::Value doc;
    std::string error;
    BuildDocument(*tree, *events, &doc, &error);
    doc.Set("created", json::Value::String(UtcNow(false)));
    doc.Set("profile", json::Value::String(profile_.source()));
    bool landed = false;
    hr = WriteDocument(std::move(doc), *tree, &landed);
    if (!landed) {
      std::string reason;
      if (!loaded_ || !LoadDocument(persisted_, tree, events, &reason)) {
        Forget();  // the next Begin reads the file again
      } else {
        clean_version_ = tree->version();
      }
    }
  }
  Unlock();
  return hr;
}

}  // namespace wdm::emulator
