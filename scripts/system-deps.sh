#!/usr/bin/env bash
# The Debian packages the tests and the demo use, installed when missing: g++/make/python3 (the
# native build), swtpm + swtpm-tools + tpm2-tools (a real TPM 2.0 simulator and the tools the TPM
# tests compare with), chromium (the dashboard's browser tests), clang + lld + libclang-rt (the
# libFuzzer targets), mingw-w64 + wine (the Windows x64 build run under wine). Installs only as root with
# apt-get; otherwise it prints the command and leaves the choice to you (the suites that need a
# missing tool then fail or skip, saying which).
set -euo pipefail

need=()
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v python3 >/dev/null || need+=(python3)
command -v swtpm >/dev/null || need+=(swtpm)
command -v swtpm_setup >/dev/null || need+=(swtpm-tools)
command -v tpm2_readpublic >/dev/null || need+=(tpm2-tools)
command -v chromium >/dev/null || need+=(chromium)
# libFuzzer + ASan/UBSan (scripts/fuzz.sh): clang, lld and clang's runtime libraries.
command -v clang++ >/dev/null || need+=(clang)
command -v ld.lld >/dev/null || need+=(lld)
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
  need+=(libclang-rt-14-dev)
# The Windows x64 build and its run under wine (scripts/test-windows.sh): mingw-w64 (posix
# threads) and 64-bit wine.
command -v x86_64-w64-mingw32-g++-posix >/dev/null || need+=(g++-mingw-w64-x86-64-posix)
command -v x86_64-w64-mingw32-dlltool >/dev/null || need+=(binutils-mingw-w64-x86-64)
command -v wine >/dev/null || need+=(wine wine64)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "system-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
else
  echo "system-deps: missing ${need[*]}; install with:" >&2
  echo "  sudo apt-get install --no-install-recommends ${need[*]}" >&2
fi
