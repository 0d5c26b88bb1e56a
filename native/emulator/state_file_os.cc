// The state file's operating-system calls (see state_file_os.h): POSIX, then Windows.
#include "emulator/state_file_os.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <fcntl.h>
#include <io.h>
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace wdm::emulator::os {

#if !defined(_WIN32)

namespace {

FileId IdOf(const struct stat& st) {
  FileId id;
  id.dev = static_cast<std::uint64_t>(st.st_dev);
  id.ino = static_cast<std::uint64_t>(st.st_ino);
  id.size = static_cast<std::uint64_t>(st.st_size);
#if defined(__APPLE__)
  id.mtime_ns =
      static_cast<std::int64_t>(st.st_mtimespec.tv_sec) * 1000000000 + st.st_mtimespec.tv_nsec;
#else
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
#endif
  return id;
}

}  // namespace

std::string GetEnv(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

bool IsAbsolute(const std::string& path) { return !path.empty() && path[0] == '/'; }

std::string DirectoryOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool MakeDirectories(const std::string& dir, std::string* error) {
  std::size_t pos = 0;
  while (pos <= dir.size()) {
    const std::size_t slash = dir.find('/', pos);
    const std::size_t end = slash == std::string::npos ? dir.size() : slash;
    const std::string prefix = dir.substr(0, end);
    pos = end + 1;
    if (prefix.empty() || prefix == ".") continue;
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      *error = "cannot create directory " + prefix + ": " + std::strerror(errno);
      return false;
    }
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = dir + " is not a directory";
    return false;
  }
  return true;
}

bool StatPath(const std::string& path, FileId* id) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return false;
  *id = IdOf(st);
  return true;
}

bool StatFd(int fd, FileId* id) {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  *id = IdOf(st);
  return true;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

int OpenRead(const std::string& path) { return open(path.c_str(), O_RDONLY | O_CLOEXEC); }

int OpenLockFile(const std::string& path) {
  return open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

int CreateTemp(std::string* path_template) { return mkostemp(path_template->data(), O_CLOEXEC); }

bool ReadAll(int fd, std::string* text, std::size_t limit) {
  text->clear();
  char buffer[65536];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return true;
    text->append(buffer, static_cast<std::size_t>(n));
    if (text->size() > limit) return true;  // the caller's parser reports the size
  }
}

bool WriteAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool Flush(int fd) { return fsync(fd) == 0; }
void Close(int fd) { close(fd); }
bool Unlink(const std::string& path) { return unlink(path.c_str()) == 0; }
bool Replace(const std::string& from, const std::string& to) {
  return rename(from.c_str(), to.c_str()) == 0;
}

bool FlushDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = fsync(fd) == 0;
  const int saved = errno;
  close(fd);
  errno = saved;
  return ok;
}

bool Lock(int fd) {
  while (flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return false;
  }
  return true;
}

void Unlock(int fd) { flock(fd, LOCK_UN); }
long ProcessId() { return static_cast<long>(getpid()); }

std::tm GmTime(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

#else  // _WIN32

namespace {

std::wstring Wide(const std::string& utf8) {
  if (utf8.empty()) return std::wstring();
  const int n =
      MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(static_cast<std::size_t>(n > 0 ? n : 0), L'\0');
  if (n > 0) {
    MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
  }
  return out;
}

std::string Utf8(const wchar_t* wide) {
  const int n = WideCharToMultiByte(CP_UTF8, 0, wide, -1, nullptr, 0, nullptr, nullptr);
  if (n <= 1) return std::string();
  std::string out(static_cast<std::size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide, -1, out.data(), n, nullptr, nullptr);
  out.resize(static_cast<std::size_t>(n - 1));
  return out;
}

// errno from GetLastError() (the cases the caller distinguishes, else EIO).
void SetErrnoFromWin32() {
  switch (GetLastError()) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
      errno = ENOENT;
      break;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
      errno = EACCES;
      break;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
      errno = EEXIST;
      break;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
      errno = ENOSPC;
      break;
    default:
      errno = EIO;
  }
}

bool IsSeparator(char c) { return c == '/' || c == '\\'; }

HANDLE HandleOf(int fd) { return reinterpret_cast<HANDLE>(_get_osfhandle(fd)); }

// Opened with every share mode, so that other processes can read, lock and rename over it.
int Open(const std::string& path, DWORD access, DWORD disposition, int crt_flags) {
  const HANDLE handle = CreateFileW(Wide(path).c_str(), access,
                                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                                    disposition, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (handle == INVALID_HANDLE_VALUE) {
    SetErrnoFromWin32();
    return -1;
  }
  const int fd = _open_osfhandle(reinterpret_cast<intptr_t>(handle), crt_flags | _O_BINARY);
  if (fd < 0) {
    CloseHandle(handle);
    errno = EMFILE;
  }
  return fd;
}

bool IdOfHandle(HANDLE handle, FileId* id) {
  BY_HANDLE_FILE_INFORMATION info;
  if (!GetFileInformationByHandle(handle, &info)) {
    SetErrnoFromWin32();
    return false;
  }
  id->dev = info.dwVolumeSerialNumber;
  id->ino = (std::uint64_t{info.nFileIndexHigh} << 32) | info.nFileIndexLow;
  id->size = (std::uint64_t{info.nFileSizeHigh} << 32) | info.nFileSizeLow;
  const std::uint64_t ticks = (std::uint64_t{info.ftLastWriteTime.dwHighDateTime} << 32) |
                              info.ftLastWriteTime.dwLowDateTime;
  id->mtime_ns = static_cast<std::int64_t>(ticks) * 100;
  return true;
}

}  // namespace

std::string GetEnv(const char* name) {
  const std::wstring wide_name = Wide(name);
  const wchar_t* value = _wgetenv(wide_name.c_str());
  return value != nullptr ? Utf8(value) : std::string();
}

bool IsAbsolute(const std::string& path) {
  if (path.size() >= 2 && IsSeparator(path[0]) && IsSeparator(path[1])) return true;  // UNC
  return path.size() >= 3 && path[1] == ':' && IsSeparator(path[2]);
}

std::string DirectoryOf(const std::string& path) {
  const std::size_t slash = path.find_last_of("/\\");
  if (slash == std::string::npos) return ".";
  if (slash == 0 || (slash == 2 && path[1] == ':')) return path.substr(0, slash + 1);
  return path.substr(0, slash);
}

bool MakeDirectories(const std::string& dir, std::string* error) {
  std::size_t pos = 0;
  while (pos <= dir.size()) {
    const std::size_t slash = dir.find_first_of("/\\", pos);
    const std::size_t end = slash == std::string::npos ? dir.size() : slash;
    const std::string prefix = dir.substr(0, end);
    pos = end + 1;
    // Skip "", ".", a drive ("C:") and the parts of a UNC prefix.
    if (prefix.empty() || prefix == "." || (prefix.size() == 2 && prefix[1] == ':')) continue;
    if (prefix.size() >= 2 && IsSeparator(prefix[0]) && IsSeparator(prefix[1]) &&
        prefix.find_first_of("/\\", prefix.find_first_not_of("/\\")) == std::string::npos) {
      continue;
    }
    if (!CreateDirectoryW(Wide(prefix).c_str(), nullptr) &&
        GetLastError() != ERROR_ALREADY_EXISTS && GetLastError() != ERROR_ACCESS_DENIED) {
      SetErrnoFromWin32();
      *error = "cannot create directory " + prefix + ": " + std::strerror(errno);
      return false;
    }
  }
  const DWORD attributes = GetFileAttributesW(Wide(dir).c_str());
  if (attributes == INVALID_FILE_ATTRIBUTES || (attributes & FILE_ATTRIBUTE_DIRECTORY) == 0) {
    *error = dir + " is not a directory";
    return false;
  }
  return true;
}

bool StatPath(const std::string& path, FileId* id) {
  // No access rights needed for the attributes; every share mode so nobody is blocked.
  const HANDLE handle =
      CreateFileW(Wide(path).c_str(), 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                  nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (handle == INVALID_HANDLE_VALUE) {
    SetErrnoFromWin32();
    return false;
  }
  const bool ok = IdOfHandle(handle, id);
  CloseHandle(handle);
  return ok;
}

bool StatFd(int fd, FileId* id) { return IdOfHandle(HandleOf(fd), id); }

bool Exists(const std::string& path) {
  return GetFileAttributesW(Wide(path).c_str()) != INVALID_FILE_ATTRIBUTES;
}

int OpenRead(const std::string& path) { return Open(path, GENERIC_READ, OPEN_EXISTING, _O_RDONLY); }

int OpenLockFile(const std::string& path) {
  return Open(path, GENERIC_READ | GENERIC_WRITE, OPEN_ALWAYS, _O_RDWR);
}

int CreateTemp(std::string* path_template) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  const std::size_t at = path_template->size() - 6;
  std::uint64_t seed = (static_cast<std::uint64_t>(GetCurrentProcessId()) << 32) ^
                       GetTickCount64() ^ reinterpret_cast<std::uintptr_t>(path_template);
  for (int attempt = 0; attempt < 100; ++attempt) {
    LARGE_INTEGER counter;
    QueryPerformanceCounter(&counter);
    std::uint64_t x =
        seed ^ static_cast<std::uint64_t>(counter.QuadPart) ^ (attempt * 0x9E3779B97F4A7C15ull);
    for (std::size_t i = 0; i < 6; ++i) {
      (*path_template)[at + i] = kChars[x % 36];
      x /= 36;
    }
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    const int fd = Open(*path_template, GENERIC_READ | GENERIC_WRITE, CREATE_NEW, _O_RDWR);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

bool ReadAll(int fd, std::string* text, std::size_t limit) {
  text->clear();
  char buffer[65536];
  for (;;) {
    const int n = _read(fd, buffer, sizeof(buffer));
    if (n < 0) return false;
    if (n == 0) return true;
    text->append(buffer, static_cast<std::size_t>(n));
    if (text->size() > limit) return true;
  }
}

bool WriteAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const std::size_t chunk = std::min<std::size_t>(text.size() - done, 1u << 30);
    const int n = _write(fd, text.data() + done, static_cast<unsigned>(chunk));
    if (n < 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool Flush(int fd) {
  if (FlushFileBuffers(HandleOf(fd))) return true;
  SetErrnoFromWin32();
  return false;
}

void Close(int fd) { _close(fd); }

bool Unlink(const std::string& path) {
  if (DeleteFileW(Wide(path).c_str())) return true;
  SetErrnoFromWin32();
  return false;
}

bool Replace(const std::string& from, const std::string& to) {
  if (MoveFileExW(Wide(from).c_str(), Wide(to).c_str(),
                  MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    return true;
  }
  SetErrnoFromWin32();
  return false;
}

bool FlushDirectory(const std::string& /*dir*/) { return true; }

bool Lock(int fd) {
  OVERLAPPED at{};
  if (LockFileEx(HandleOf(fd), LOCKFILE_EXCLUSIVE_LOCK, 0, MAXDWORD, MAXDWORD, &at)) return true;
  SetErrnoFromWin32();
  return false;
}

void Unlock(int fd) {
  OVERLAPPED at{};
  UnlockFileEx(HandleOf(fd), 0, MAXDWORD, MAXDWORD, &at);
}

long ProcessId() { return static_cast<long>(GetCurrentProcessId()); }

std::tm GmTime(std::time_t t) {
  std::tm tm{};
  gmtime_s(&tm, &t);
  return tm;
}

#endif

}  // namespace wdm::emulator::os
