// The few operating-system calls the state file needs (state_store.cc), for POSIX and Windows.
//
// Files are CRT-style int descriptors on both. Failures return false / -1 with errno set (on
// Windows, Win32 errors are mapped to the nearest errno: ENOENT, EACCES, EEXIST, EIO), so the
// caller reports them with one strerror text. Paths are UTF-8 (converted to UTF-16 on Windows).
//
// The platforms differ in two places the caller sees:
//  * kPinOpenFile: POSIX keeps the file last read or written open, so its inode cannot be reused
//    and (device, inode, size, mtime) identifies a version of the file. Windows does not: an
//    open file blocks another process's rename over it, and the volume serial + 64-bit file
//    index + size + last-write time (100 ns) identify the version instead.
//  * Locking: flock(LOCK_EX) on POSIX, LockFileEx on Windows (both released on close, and
//    per open file, so two StateStores in one process exclude each other too).
//  * Directory fsync: POSIX only (Windows has no such thing; the rename is MOVEFILE_WRITE_THROUGH).
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace wdm::emulator::os {

#if defined(_WIN32)
inline constexpr bool kPinOpenFile = false;
#else
inline constexpr bool kPinOpenFile = true;
#endif

// A version of a file: equal ids mean "not replaced or changed since".
struct FileId {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileId& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns;
  }
};

// The value of an environment variable as UTF-8 (Windows: the UTF-16 environment); "" when unset.
std::string GetEnv(const char* name);
// True for an absolute path ("/x" on POSIX; "C:\x", "C:/x" or "\\server\x" on Windows).
bool IsAbsolute(const std::string& path);
// The directory part of `path` ("." when none); '/' and, on Windows, '\' separate.
std::string DirectoryOf(const std::string& path);
// mkdir -p (mode 0700 for what it creates on POSIX); false with *error.
bool MakeDirectories(const std::string& dir, std::string* error);

bool StatPath(const std::string& path, FileId* id);  // errno ENOENT when there is no such file
bool StatFd(int fd, FileId* id);
bool Exists(const std::string& path);

int OpenRead(const std::string& path);       // read only, shared
int OpenLockFile(const std::string& path);   // read/write, created (0600) when missing
int CreateTemp(std::string* path_template);  // ends in "XXXXXX", replaced; exclusive create
bool ReadAll(int fd, std::string* text, std::size_t limit);  // stops after limit + 1 bytes
bool WriteAll(int fd, const std::string& text);
bool Flush(int fd);  // fsync / FlushFileBuffers
void Close(int fd);
bool Unlink(const std::string& path);
bool Replace(const std::string& from, const std::string& to);  // rename, replacing `to`
bool FlushDirectory(const std::string& dir);                   // true on Windows

bool Lock(int fd);  // exclusive, waits
void Unlock(int fd);
long ProcessId();

std::tm GmTime(std::time_t t);

}  // namespace wdm::emulator::os
