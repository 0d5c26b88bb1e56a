// MdmLibrary over the Windows local MDM API: mdmlocalmanagement.dll loaded from System32 only,
// exports resolved with GetProcAddress (no SDK header or import library needed), results freed
// with LocalFree. The libraryPath option is ignored here.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <cstdint>
#include <string>

#include "mdm/library.h"

namespace wdm::mdm {
namespace {

static_assert(sizeof(wchar_t) == sizeof(char16_t), "Windows wide strings are UTF-16");

// From mdmlocalmanagement.h (Windows SDK), which mingw-w64 does not ship.
using RegisterFn = HRESULT(WINAPI*)(BOOL* already_registered);
using ApplyFn = HRESULT(WINAPI*)(PCWSTR request, PWSTR* result);

constexpr const char* kDll = "mdmlocalmanagement.dll";
constexpr const char* kAdvice =
    "The local MDM API exists from Windows 10 version 1703 on, and only on IoT / embedded-mode "
    "editions (Windows 10/11 IoT Enterprise, IoT Core); other editions and older versions do not "
    "provide it.";

// "Windows error 126: The specified module could not be found"
std::string DescribeWin32Error(DWORD code) {
  std::string text = "Windows error " + std::to_string(code);
  wchar_t* buffer = nullptr;
  const DWORD length = FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, code, 0, reinterpret_cast<wchar_t*>(&buffer), 0, nullptr);
  if (length > 0 && buffer != nullptr) {
    const int bytes = WideCharToMultiByte(CP_UTF8, 0, buffer, static_cast<int>(length), nullptr, 0,
                                          nullptr, nullptr);
    std::string message(static_cast<std::size_t>(bytes > 0 ? bytes : 0), '\0');
    if (bytes > 0) {
      WideCharToMultiByte(CP_UTF8, 0, buffer, static_cast<int>(length), message.data(), bytes,
                          nullptr, nullptr);
    }
    while (!message.empty() && (message.back() == '\r' || message.back() == '\n' ||
                                message.back() == '.' || message.back() == ' ')) {
      message.pop_back();
    }
    if (!message.empty()) text += ": " + message;
  }
  if (buffer != nullptr) LocalFree(buffer);
  return text;
}

bool Succeeded(HRESULT hr, std::uint32_t* out) {
  *out = static_cast<std::uint32_t>(hr);
  return SUCCEEDED(hr);
}

class WindowsLibrary final : public MdmLibrary {
 public:
  ~WindowsLibrary() override { Unload(); }

  bool Load(LoadError* error) override {
    if (module_ != nullptr) return true;
    error->library = kDll;
    module_ = LoadLibraryExW(L"mdmlocalmanagement.dll", nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
    if (module_ == nullptr) {
      const DWORD code = GetLastError();
      error->os_error = code;
      error->message = std::string("Cannot load ") + kDll + " from System32 (" +
                       DescribeWin32Error(code) + "). " + kAdvice;
      return false;
    }
    if (!Resolve("RegisterDeviceWithLocalManagement", &register_, error) ||
        !Resolve("ApplyLocalManagementSyncML", &apply_, error)) {
      Unload();
      return false;
    }
    return true;
  }

  bool Register(bool* already_registered, std::uint32_t* hresult) override {
    BOOL already = FALSE;
    const bool ok = Succeeded(register_(&already), hresult);
    *already_registered = already != FALSE;
    return ok;
  }

  bool Apply(const std::u16string& request, std::u16string* response,
             std::uint32_t* hresult) override {
    PWSTR result = nullptr;
    const bool ok = Succeeded(apply_(reinterpret_cast<PCWSTR>(request.c_str()), &result), hresult);
    response->clear();
    if (result != nullptr) {
      response->assign(reinterpret_cast<const char16_t*>(result));
      LocalFree(result);
    }
    return ok;
  }

 private:
  template <typename Fn>
  bool Resolve(const char* name, Fn* out, LoadError* error) {
    const FARPROC proc = GetProcAddress(module_, name);
    if (proc == nullptr) {
      const DWORD code = GetLastError();
      error->symbol = name;
      error->os_error = code;
      error->message = std::string(kDll) + " does not export " + name + " (" +
                       DescribeWin32Error(code) + "). " + kAdvice;
      return false;
    }
    // Through void(*)(), the generic function pointer type, to keep -Wcast-function-type quiet.
    *out = reinterpret_cast<Fn>(reinterpret_cast<void (*)()>(proc));
    return true;
  }

  void Unload() {
    if (module_ != nullptr) FreeLibrary(module_);
    module_ = nullptr;
    register_ = nullptr;
    apply_ = nullptr;
  }

  HMODULE module_ = nullptr;
  RegisterFn register_ = nullptr;
  ApplyFn apply_ = nullptr;
};

}  // namespace

std::unique_ptr<MdmLibrary> CreatePlatformLibrary(std::string /*path*/) {
  return std::make_unique<WindowsLibrary>();
}

}  // namespace wdm::mdm
