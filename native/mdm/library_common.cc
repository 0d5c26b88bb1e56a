// LibraryHandle: the platform-independent call sequence around the local MDM API (lazy load,
// register once, re-register and retry once on "not registered") and the process-wide mutex.
#include <mutex>
#include <utility>

#include "mdm/library.h"

namespace wdm::mdm {
namespace {

// The one deliberate mutable static of the addon. Every environment (main thread and each
// worker_thread) has its own LibraryHandles, but mdmlocalmanagement.dll (and the emulator) keep
// process-wide state and are not re-entrant, so all calls in the process take turns here.
// Never destroyed: at process exit a pool thread may still be inside a call holding it.
std::mutex& ProcessMdmMutex() {
  static std::mutex* const mutex = new std::mutex();
  return *mutex;
}

}  // namespace

LibraryHandle::LibraryHandle(std::unique_ptr<MdmLibrary> library) : library_(std::move(library)) {}

LibraryHandle::~LibraryHandle() {
  // Unloading also touches the library; keep it out of any call in another environment.
  std::lock_guard<std::mutex> lock(ProcessMdmMutex());
  library_.reset();
}

CallOutcome LibraryHandle::ApplySyncML(const std::u16string& request) {
  std::lock_guard<std::mutex> lock(ProcessMdmMutex());
  CallOutcome outcome;

  if (!library_->Load(&outcome.load_error)) {
    outcome.kind = CallOutcome::Kind::kUnavailable;
    return outcome;
  }

  auto register_device = [&]() {
    bool already = false;
    if (!library_->Register(&already, &outcome.hresult)) {
      outcome.kind = CallOutcome::Kind::kHresult;
      outcome.api = "RegisterDeviceWithLocalManagement";
      return false;
    }
    registered_ = true;
    return true;
  };

  bool registered_now = false;
  if (!registered_) {
    if (!register_device()) return outcome;
    registered_now = true;
  }

  if (library_->Apply(request, &outcome.response, &outcome.hresult)) return outcome;

  if (outcome.hresult == kHresultNotRegistered && !registered_now) {
    // Someone unregistered the device behind our back: register again, retry this apply once.
    registered_ = false;
    if (!register_device()) return outcome;
    outcome.response.clear();
    if (library_->Apply(request, &outcome.response, &outcome.hresult)) return outcome;
  }
  if (outcome.hresult == kHresultNotRegistered) registered_ = false;
  outcome.kind = CallOutcome::Kind::kHresult;
  outcome.api = "ApplyLocalManagementSyncML";
  return outcome;
}

}  // namespace wdm::mdm
