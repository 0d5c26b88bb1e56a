// The local MDM API as the addon sees it: an abstract loaded library (one implementation per
// platform: library_win.cc over mdmlocalmanagement.dll, library_posix.cc over the CSP emulator
// shared library) and LibraryHandle, the thread-safe wrapper holding the shared call logic
// (library_common.cc). No Node-API here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace wdm::mdm {

// HRESULT that makes LibraryHandle register the device again and retry the apply once.
// 0x80070490 = HRESULT_FROM_WIN32(ERROR_NOT_FOUND). This is the CSP emulator's convention for
// "device not registered"; what real Windows returns in that state is NOT verified.
constexpr std::uint32_t kHresultNotRegistered = 0x80070490u;

// Why the library (or one of its symbols) is unavailable. `message` is complete and tells the
// user what to do; the other fields are for programs.
struct LoadError {
  std::string library;                   // the path or DLL name that was tried ("" = none set)
  std::string symbol;                    // the missing export; empty if the library itself failed
  std::optional<std::int64_t> os_error;  // GetLastError() on Windows; none on POSIX
  std::string message;
};

// One loaded copy of the API. Not thread-safe, not re-entrant: only LibraryHandle calls it, under
// the process-wide MDM mutex.
class MdmLibrary {
 public:
  virtual ~MdmLibrary() = default;
  // Loads the library and resolves every symbol. Returns true at once if already loaded; after a
  // failure everything is released so that a later call tries again.
  virtual bool Load(LoadError* error) = 0;
  // RegisterDeviceWithLocalManagement. Returns SUCCEEDED(*hresult).
  virtual bool Register(bool* already_registered, std::uint32_t* hresult) = 0;
  // ApplyLocalManagementSyncML. `request` is NUL-free; the library's result string (if any) is
  // copied into `response` and freed with the library's own allocator, also on failure.
  // Returns SUCCEEDED(*hresult).
  virtual bool Apply(const std::u16string& request, std::u16string* response,
                     std::uint32_t* hresult) = 0;
};

// The platform implementation. `path` is the shared library to load on POSIX (empty = none
// configured: Load() fails with an explanation); on Windows it is ignored and
// mdmlocalmanagement.dll is loaded from System32.
std::unique_ptr<MdmLibrary> CreatePlatformLibrary(std::string path);

struct CallOutcome {
  enum class Kind { kOk, kUnavailable, kHresult };
  Kind kind = Kind::kOk;
  std::u16string response;    // kOk: the library's answer ("" if it returned none)
  LoadError load_error;       // kUnavailable
  std::uint32_t hresult = 0;  // kHresult
  const char* api = "";       // kHresult: the API function that failed
};

// The library plus its registration state. ApplySyncML may be called from any thread: every call
// into any MdmLibrary in the process holds one process-wide mutex (worker_threads can load the
// addon too, and the API is not re-entrant). That mutex is the addon's only mutable static.
class LibraryHandle {
 public:
  explicit LibraryHandle(std::unique_ptr<MdmLibrary> library);
  ~LibraryHandle();
  LibraryHandle(const LibraryHandle&) = delete;
  LibraryHandle& operator=(const LibraryHandle&) = delete;

  // Loads the library if needed, registers the device once (lazily), applies `request`. If the
  // apply reports kHresultNotRegistered, registers again and retries that apply once.
  CallOutcome ApplySyncML(const std::u16string& request);

 private:
  std::unique_ptr<MdmLibrary> library_;
  bool registered_ = false;  // guarded by the process-wide mutex
};

}  // namespace wdm::mdm
