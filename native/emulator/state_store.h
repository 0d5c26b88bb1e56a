// Persistence of the emulated device: its node instances and a free-form "events" object, kept
// in a JSON state file shared by every process that loads the emulator library.
//
// Where: $WINDOWS_IOT_DM_EMULATOR_STATE, else $XDG_STATE_HOME/windows-iot-dm/emulator-state.json,
// else $HOME/.local/state/windows-iot-dm/emulator-state.json (missing directories are created
// with mode 0700). On Windows: %WINDOWS_IOT_DM_EMULATOR_STATE%, else
// %LOCALAPPDATA%\windows-iot-dm\emulator-state.json. WINDOWS_IOT_DM_EMULATOR_STATE=:memory: keeps
// the state in this process only (no file, no lock; for benchmarks and tests that need isolation).
//
// File format (pretty JSON, keys sorted, written by common/json.h):
//   {
//     "created": "2026-11-26T09:20:00Z",        when this device state was created
//     "deleted": ["./Device/Vendor/MSFT/X"],     nodes the replay below creates that no longer
//                                                exist (only the top of each deleted subtree)
//     "events": { ... },                         free-form; behaviours record facts here,
//                                                the system functions the emulated time zone
//                                                ("system", see system_state.h)
//     "format": "windows-iot-dm/emulator-state",
//     "generation": 7,                           +1 on every write
//     "nodes": { "./Device/Vendor/MSFT/...": "value", ... }
//                                                the node instances the replay would not create,
//                                                or not with that value (profile seeds, Adds,
//                                                Replaces); interior nodes hold ""
//     "profile": "(built-in default)",           the profile the state was created from
//     "updated": "2026-11-26T09:21:13Z",
//     "version": 1
//   }
// Paths are canonical LocURIs (FormatPath: ./Device/Vendor/..., segments %-encoded). Loading
// replays the document and rebuilds exactly the same instance map: the schema's initial tree;
// then each "nodes" entry in path order, given its value when the node exists, else created like
// an Add creates it (NodeTree::Create: with the nodes the CSP provides below it, at their
// defaults); then the "deleted" subtrees erased. So CSP-provided nodes at their defaults are not
// listed, even below new instances (Policy/Config's ~300 areas, a certificate's IssuedBy...).
//
// A transaction (one Apply): Begin takes an exclusive lock (flock; Windows LockFileEx) on
// "<state>.lock" (held until
// Commit), reloads the file if another process replaced it since this process last read or wrote
// it, and creates it from the profile when it does not exist. Commit writes only when the tree
// (NodeTree::version) or the events changed and the resulting document differs: a temporary
// file in the same directory, write, fsync, rename over the state file, fsync the directory.
// Change detection: this process keeps the file it last read/wrote open (so its inode cannot be
// reused) and compares device, inode, size and mtime with a stat of the path. Windows keeps
// nothing open and compares volume, file index, size and last-write time (state_file_os.h).
//
// A corrupt state file (not JSON, wrong format/version, a path or value that does not fit the
// schema) is renamed to "<state>.corrupt-<UTC yyyymmddThhmmssZ>", reported on stderr in one line,
// and a new state is created from the profile with events.recovered = {file, reason, at}.
#pragma once

#include <cstdint>
#include <string>

#include "common/json.h"
#include "emulator/node_tree.h"
#include "emulator/profile.h"
#include "emulator/state_file_os.h"

namespace wdm::emulator {

inline constexpr const char* kStateEnv = "WINDOWS_IOT_DM_EMULATOR_STATE";
inline constexpr const char* kStateMemory = ":memory:";
inline constexpr const char* kStateFormat = "windows-iot-dm/emulator-state";

// HRESULTs of the persistence layer (see emulator_abi.h).
inline constexpr std::int32_t kHresultWriteFault = static_cast<std::int32_t>(0x8007001Du);
inline constexpr std::int32_t kHresultReadFault = static_cast<std::int32_t>(0x8007001Eu);
inline constexpr std::int32_t kHresultLockViolation = static_cast<std::int32_t>(0x80070021u);
inline constexpr std::int32_t kHresultBadConfiguration = static_cast<std::int32_t>(0x8007064Au);

// The state file path from the environment (see above); false when neither
// WINDOWS_IOT_DM_EMULATOR_STATE, XDG_STATE_HOME nor HOME (Windows: LOCALAPPDATA) is usable.
bool StatePathFromEnv(std::string* path, std::string* error);

// Test hook: make the next write fail at `step` with `error_number` (0 = no fault). Steps:
// 1 create the temporary file, 2 write, 3 fsync, 4 rename, 5 fsync the directory.
void SetStateWriteFaultForTest(int step, int error_number);

class StateStore {
 public:
  // `path` is a file path or kStateMemory. `profile` must be parsed against `schema`.
  StateStore(const Schema& schema, std::string path, Profile profile);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Starts a transaction on the device state held in *tree / *events (the engine's): locks,
  // then loads, reloads or creates the state as needed. S_OK, or a failure HRESULT (nothing
  // locked then): kHresultLockViolation, kHresultReadFault, kHresultWriteFault (a new state could
  // not be written).
  std::int32_t Begin(NodeTree* tree, json::Value* events);
  // Ends the transaction: writes the state when it changed, unlocks. On a write failure the
  // state is rolled back to what the file holds and kHresultWriteFault is returned.
  std::int32_t Commit(NodeTree* tree, json::Value* events);
  // The profile's initial state, empty events, written (one locked transaction).
  std::int32_t Reset(NodeTree* tree, json::Value* events);

  const std::string& path() const { return path_; }
  bool in_memory() const { return memory_; }
  std::uint64_t generation() const { return generation_; }

 private:
  using FileId = os::FileId;

  std::int32_t Lock();
  void Unlock();
  // Brings *tree/*events up to date with the file (the lock is held). `create_if_missing`:
  // create the state from the profile when there is no file.
  std::int32_t Refresh(NodeTree* tree, json::Value* events, bool create_if_missing);
  // The profile's initial state into *tree/*events.
  void Seed(NodeTree* tree, json::Value* events) const;
  // The document for the current state (generation/updated/created/profile not set).
  bool BuildDocument(const NodeTree& tree, const json::Value& events, json::Value* doc,
                     std::string* error) const;
  // A document's nodes/deleted/events into *tree/*events; false with *reason when it does not fit.
  bool LoadDocument(const json::Value& doc, NodeTree* tree, json::Value* events,
                    std::string* reason) const;
  // Writes `doc` (with the next generation) to the file. *landed: the file holds `doc` now (it
  // then is persisted_, and `tree` is clean), even if a later step (directory fsync) failed.
  std::int32_t WriteDocument(json::Value doc, const NodeTree& tree, bool* landed);
  // Moves a corrupt file aside; returns the new name ("" if it could not be moved).
  std::string MoveAside();
  void Forget();  // drops what this process knew about the file

  const Schema& schema_;
  const std::string path_;
  const bool memory_;
  const Profile profile_;
  const NodeTree initial_;    // the schema's initial tree (no profile)
  mutable NodeTree scratch_;  // the initial tree too; BuildDocument expands new nodes in it

  bool loaded_ = false;           // persisted_ and the caller's tree match the file
  json::Value persisted_;         // the document last read or written
  std::uint64_t generation_ = 0;  // the highest generation this process read or wrote
  std::uint64_t clean_version_ = 0;
  int held_fd_ = -1;  // the file last read or written, kept open (pins the inode)
  FileId file_id_;
  int lock_fd_ = -1;
  long lock_pid_ = 0;  // process that opened lock_fd_ (reopened after fork)
  bool locked_ = false;
};

}  // namespace wdm::emulator
