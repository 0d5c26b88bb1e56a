// MdmLibrary over a shared library with the local MDM API ABI (the CSP emulator) on Linux/macOS:
// dlopen(path, RTLD_NOW | RTLD_LOCAL), UTF-16 char16_t strings, results freed with
// MdmEmulatorFree.
#include <dlfcn.h>

#include <cstdint>
#include <string>
#include <utility>

#include "emulator/emulator_abi.h"
#include "mdm/library.h"

namespace wdm::mdm {
namespace {

// The pointer types come from the emulator's header, so an ABI change there breaks this build
// instead of the process. The functions are never called directly: the library is dlopen()ed.
using RegisterFn = decltype(&RegisterDeviceWithLocalManagement);
using ApplyFn = decltype(&ApplyLocalManagementSyncML);
using FreeFn = decltype(&MdmEmulatorFree);
using AbiVersionFn = decltype(&MdmEmulatorAbiVersion);
static_assert(static_cast<std::uint32_t>(MDM_EMULATOR_E_NOT_REGISTERED) == kHresultNotRegistered,
              "the emulator's 'not registered' HRESULT is the one LibraryHandle retries on");

constexpr const char* kAdvice =
    "Set WINDOWS_IOT_DM_MDM_LIBRARY or pass libraryPath to the CSP emulator library (build it "
    "with `npm run build:native`).";

std::string DlErrorText() {
  const char* text = dlerror();
  return text != nullptr ? text : "unknown error";
}

class PosixLibrary final : public MdmLibrary {
 public:
  explicit PosixLibrary(std::string path) : path_(std::move(path)) {}
  ~PosixLibrary() override { Unload(); }

  bool Load(LoadError* error) override {
    if (handle_ != nullptr) return true;
    error->library = path_;
    if (path_.empty()) {
      error->message = std::string(
                           "No MDM library is configured: the local MDM API exists only on "
                           "Windows, and on this platform the addon needs the CSP emulator. ") +
                       kAdvice;
      return false;
    }
    dlerror();
    handle_ = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) {
      error->message =
          "Cannot load the MDM library '" + path_ + "': " + DlErrorText() + ". " + kAdvice;
      return false;
    }
    if (!Resolve("RegisterDeviceWithLocalManagement", &register_, error) ||
        !Resolve("ApplyLocalManagementSyncML", &apply_, error) ||
        !Resolve("MdmEmulatorFree", &free_, error) || !CheckAbiVersion(error)) {
      Unload();
      return false;
    }
    return true;
  }

  bool Register(bool* already_registered, std::uint32_t* hresult) override {
    std::int32_t already = 0;
    *hresult = static_cast<std::uint32_t>(register_(&already));
    *already_registered = already != 0;
    return (*hresult & 0x80000000u) == 0;
  }

  bool Apply(const std::u16string& request, std::u16string* response,
             std::uint32_t* hresult) override {
    char16_t* result = nullptr;
    *hresult = static_cast<std::uint32_t>(apply_(request.c_str(), &result));
    response->clear();
    if (result != nullptr) {
      response->assign(result);
      free_(result);
    }
    return (*hresult & 0x80000000u) == 0;
  }

 private:
  template <typename Fn>
  bool Resolve(const char* name, Fn* out, LoadError* error) {
    dlerror();
    void* symbol = dlsym(handle_, name);
    if (symbol == nullptr) {
      error->symbol = name;
      error->message = "The library '" + path_ + "' does not export " + name + " (" +
                       DlErrorText() + "), so it is not the CSP emulator library. " + kAdvice;
      return false;
    }
    *out = reinterpret_cast<Fn>(symbol);
    return true;
  }

  // MdmEmulatorAbiVersion is optional (another library with the same three exports may lack
  // it); when present it must match the header this addon was built with.
  bool CheckAbiVersion(LoadError* error) {
    void* symbol = dlsym(handle_, "MdmEmulatorAbiVersion");
    if (symbol == nullptr) return true;
    const std::int32_t version = reinterpret_cast<AbiVersionFn>(symbol)();
    if (version == MDM_EMULATOR_ABI_VERSION) return true;
    error->symbol = "MdmEmulatorAbiVersion";
    error->message = "The CSP emulator library '" + path_ + "' has ABI version " +
                     std::to_string(version) + ", but this addon was built for version " +
                     std::to_string(MDM_EMULATOR_ABI_VERSION) +
                     "; rebuild both with `npm run build:native`.";
    return false;
  }

  void Unload() {
    if (handle_ != nullptr) dlclose(handle_);
    handle_ = nullptr;
    register_ = nullptr;
    apply_ = nullptr;
    free_ = nullptr;
  }

  std::string path_;
  void* handle_ = nullptr;
  RegisterFn register_ = nullptr;
  ApplyFn apply_ = nullptr;
  FreeFn free_ = nullptr;
};

}  // namespace

std::unique_ptr<MdmLibrary> CreatePlatformLibrary(std::string path) {
  return std::make_unique<PosixLibrary>(std::move(path));
}

}  // namespace wdm::mdm
