// Force-included (-include) into every translation unit of the Linux prebuilds by
// scripts/prebuild.mjs, never by the dev build (build-native.mjs). It keeps the binaries'
// glibc requirement at the baseline (2.28, Node 20's own) when built with a newer glibc:
//   dlopen/dlsym/dlclose/dlerror  pinned to the pre-2.34 versions (libdl's; glibc >= 2.34 keeps
//                                 them in libc.so.6 as compat symbols)
//   stat64/fstat64/lstat64 (2.33) the linker's --wrap sends them here, to __xstat64 & co.
//   __libc_single_threaded (2.32) a hidden local 0 ("maybe threaded"): libstdc++ then always
//                                 uses atomic reference counts, which is always correct
//   pthread_once/key/rwlock (2.34) referenced by the static libstdc++: --wrap sends them to the
//                                 pre-2.34 versions (libpthread's before 2.34)
//   arc4random (2.36)             std::random_device in the static libstdc++: --wrap sends it to
//                                 getrandom (2.25)
// The --wrap list lives in prebuild.mjs (WRAPPED); each name there needs its __wrap_ here.
// libgcc stays shared (libgcc_s.so.1): the static libgcc_eh unwinder needs _dl_find_object (2.35).
// prebuild.mjs measures the result (readelf) and fails above the baseline.
#ifndef WINDOWS_IOT_DM_GLIBC_COMPAT_H_
#define WINDOWS_IOT_DM_GLIBC_COMPAT_H_

#include <features.h>

#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__))

#if defined(__x86_64__)
#define IOTDM_GLIBC_BASE "GLIBC_2.2.5"
#define IOTDM_STAT_VER 1  // _STAT_VER_LINUX on x86_64
#else
#define IOTDM_GLIBC_BASE "GLIBC_2.17"
#define IOTDM_STAT_VER 0  // _STAT_VER_LINUX on the generic ABI
#endif

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

__asm__(".symver dlopen,dlopen@" IOTDM_GLIBC_BASE);
__asm__(".symver dlsym,dlsym@" IOTDM_GLIBC_BASE);
__asm__(".symver dlclose,dlclose@" IOTDM_GLIBC_BASE);
__asm__(".symver dlerror,dlerror@" IOTDM_GLIBC_BASE);

struct stat64;
int __xstat64(int ver, const char* path, struct stat64* buf);
int __lxstat64(int ver, const char* path, struct stat64* buf);
int __fxstat64(int ver, int fd, struct stat64* buf);
__asm__(".symver __xstat64,__xstat64@" IOTDM_GLIBC_BASE);
__asm__(".symver __lxstat64,__lxstat64@" IOTDM_GLIBC_BASE);
__asm__(".symver __fxstat64,__fxstat64@" IOTDM_GLIBC_BASE);

__attribute__((weak, visibility("hidden"))) int __wrap_stat64(const char* path,
                                                              struct stat64* buf) {
  return __xstat64(IOTDM_STAT_VER, path, buf);
}
__attribute__((weak, visibility("hidden"))) int __wrap_lstat64(const char* path,
                                                               struct stat64* buf) {
  return __lxstat64(IOTDM_STAT_VER, path, buf);
}
__attribute__((weak, visibility("hidden"))) int __wrap_fstat64(int fd, struct stat64* buf) {
  return __fxstat64(IOTDM_STAT_VER, fd, buf);
}

__attribute__((weak, visibility("hidden"))) char __libc_single_threaded = 0;

// A hidden weak __wrap_<name> calling <name> at the baseline version (a versioned reference,
// which --wrap leaves alone).
#define IOTDM_PIN(ret, name, params, args)                               \
  ret iotdm_old_##name params;                                           \
  __asm__(".symver iotdm_old_" #name "," #name "@" IOTDM_GLIBC_BASE);    \
  __attribute__((weak, visibility("hidden"))) ret __wrap_##name params { \
    return iotdm_old_##name args;                                        \
  }

IOTDM_PIN(int, pthread_once, (pthread_once_t * once, void (*init)(void)), (once, init))
IOTDM_PIN(int, pthread_key_create, (pthread_key_t * key, void (*dtor)(void*)), (key, dtor))
IOTDM_PIN(int, __pthread_key_create, (pthread_key_t * key, void (*dtor)(void*)), (key, dtor))
IOTDM_PIN(int, pthread_key_delete, (pthread_key_t key), (key))
IOTDM_PIN(void*, pthread_getspecific, (pthread_key_t key), (key))
IOTDM_PIN(int, pthread_setspecific, (pthread_key_t key, const void* value), (key, value))
IOTDM_PIN(int, pthread_rwlock_rdlock, (pthread_rwlock_t * lock), (lock))
IOTDM_PIN(int, pthread_rwlock_wrlock, (pthread_rwlock_t * lock), (lock))
IOTDM_PIN(int, pthread_rwlock_unlock, (pthread_rwlock_t * lock), (lock))

__attribute__((weak, visibility("hidden"))) uint32_t __wrap_arc4random(void) {
  uint32_t value = 0;
  for (;;) {
    ssize_t n = getrandom(&value, sizeof value, 0);
    if (n == (ssize_t)sizeof value) return value;
    if (n < 0 && errno != EINTR) abort();
  }
}

#ifdef __cplusplus
}
#endif

#endif  // __GLIBC__ && (x86_64 || aarch64)
#endif  // WINDOWS_IOT_DM_GLIBC_COMPAT_H_
