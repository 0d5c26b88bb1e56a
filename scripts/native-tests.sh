#!/usr/bin/env bash
# Builds and runs the standalone native tests (codec, CSP emulator and its system functions, TPM
# framing and the POSIX TPM channel, the fuzz targets' seeds and regressions) with
# AddressSanitizer and UndefinedBehaviorSanitizer, compiling the sources directly (no node-gyp, no
# Node headers).
#
#   scripts/native-tests.sh            build into $NATIVE_TEST_OUT (default: a temp dir) and run
#
# If build/Release/mdm_emulator.so exists it also checks that the library exports the ABI.
set -euo pipefail
cd "$(dirname "$0")/.."

CXX="${CXX:-g++}"
OUT="${NATIVE_TEST_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/wdm-native-tests.XXXXXX")}"
mkdir -p "$OUT"
FLAGS=(-std=c++17 -g -O1 -Wall -Wextra -Werror -fno-exceptions -fno-omit-frame-pointer
  -fsanitize=address,undefined -fno-sanitize-recover=all -Inative -pthread)

CODEC=(native/common/xml_escape.cc native/common/xml_reader.cc native/syncml/codec_common.cc
  native/syncml/codec_client.cc native/syncml/codec_device.cc)
EMULATOR=(native/emulator/exports.cc native/emulator/allowed_values.cc native/emulator/ddf_facts.cc
  native/emulator/engine.cc native/emulator/node_ops.cc
  native/emulator/node_tree.cc native/emulator/seed.cc native/emulator/uri.cc
  native/emulator/utf16_text.cc native/emulator/value_check.cc)
EMULATOR+=(native/common/json.cc native/emulator/profile.cc native/emulator/state_store.cc
  native/emulator/state_file_os.cc)
EMULATOR+=(native/emulator/apps.cc native/emulator/behaviors.cc native/emulator/device_host.cc
  native/emulator/device_info.cc native/emulator/health_attestation.cc native/emulator/iso8601.cc
  native/emulator/reboot_wipe.cc native/emulator/sha256.cc native/emulator/certificates.cc
  native/emulator/sha1.cc native/emulator/x509.cc)
EMULATOR+=(native/emulator/diagnostic_log.cc)
EMULATOR+=(native/emulator/system_state.cc native/system/time_zone.cc native/system/service.cc)

TPM=(native/tpm/framing.cc native/tpm/tpm_posix.cc)
# The libFuzzer targets (native/fuzz/, docs/fuzzing.md) linked with a plain main() instead of
# libFuzzer: they replay their committed seeds and crash regressions under ASan/UBSan here.
FUZZ_TARGETS=(syncml_response_fuzz syncml_encode_fuzz emulator_request_fuzz tpm_response_fuzz)
FUZZ_SOURCES=(native/fuzz/replay_main.cc native/common/utf16.cc native/emulator/device_host.cc
  native/emulator/sha256.cc)
for t in "${FUZZ_TARGETS[@]}"; do FUZZ_SOURCES+=("native/fuzz/$t.cc"); done

echo "native-tests: building in $OUT"
# Each source is compiled once (in parallel, one job per core) and linked into every test binary
# that needs it.
mkdir -p "$OUT/obj"
obj() { local o="${1//\//_}"; echo "$OUT/obj/${o%.cc}.o"; }
SOURCES=(native/test/codec_test.cc native/test/emulator_test.cc native/test/json_test.cc
  native/test/state_test.cc native/test/behaviors_test.cc native/test/system_test.cc
  native/test/certificates_test.cc
  native/test/apps_test.cc
  native/test/tpm_test.cc native/test/peer_test.cc native/peer/peer_credentials.cc
  "${CODEC[@]}" "${EMULATOR[@]}" "${TPM[@]}" "${FUZZ_SOURCES[@]}")
compile_all() {
  local pids=() src
  for src in $(printf '%s\n' "${SOURCES[@]}" | sort -u); do
    "$CXX" "${FLAGS[@]}" -c -o "$(obj "$src")" "$src" &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$(nproc)" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}
compile_all
objs() { local s; for s in "$@"; do obj "$s"; done; }
link() { local name="$1"; shift; "$CXX" "${FLAGS[@]}" -o "$OUT/$name" $(objs "$@"); }
link codec_test native/test/codec_test.cc "${CODEC[@]}"
link json_test native/test/json_test.cc native/common/json.cc
link emulator_test native/test/emulator_test.cc "${CODEC[@]}" "${EMULATOR[@]}"
link state_test native/test/state_test.cc "${CODEC[@]}" "${EMULATOR[@]}"
link behaviors_test native/test/behaviors_test.cc "${CODEC[@]}" "${EMULATOR[@]}"
link system_test native/test/system_test.cc "${CODEC[@]}" "${EMULATOR[@]}"
link certificates_test native/test/certificates_test.cc "${CODEC[@]}" "${EMULATOR[@]}"
link apps_test native/test/apps_test.cc "${CODEC[@]}" "${EMULATOR[@]}"
link tpm_test native/test/tpm_test.cc "${TPM[@]}"
link peer_test native/test/peer_test.cc native/peer/peer_credentials.cc
REPLAY=(native/fuzz/replay_main.cc native/common/utf16.cc)
link syncml_response_fuzz native/fuzz/syncml_response_fuzz.cc "${REPLAY[@]}" "${CODEC[@]}"
link syncml_encode_fuzz native/fuzz/syncml_encode_fuzz.cc "${REPLAY[@]}" "${CODEC[@]}"
link emulator_request_fuzz native/fuzz/emulator_request_fuzz.cc "${REPLAY[@]}" "${CODEC[@]}" \
  "${EMULATOR[@]}"
link tpm_response_fuzz native/fuzz/tpm_response_fuzz.cc native/fuzz/replay_main.cc \
  native/tpm/framing.cc native/emulator/device_host.cc native/emulator/sha256.cc

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
"$OUT/codec_test"
"$OUT/json_test"
"$OUT/tpm_test"
"$OUT/peer_test"
# The emulator keeps its state in a file ($WINDOWS_IOT_DM_EMULATOR_STATE): never the user's own.
# emulator_test runs on an empty device profile (its expectations predate the default profile's
# inventory); state_test sets up its own files and profiles.
STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wdm-native-state.XXXXXX")"
printf '{"format": "windows-iot-dm/emulator-profile", "version": 1}\n' >"$STATE_DIR/empty.json"
WINDOWS_IOT_DM_EMULATOR_STATE="$STATE_DIR/emulator-state.json" \
  WINDOWS_IOT_DM_EMULATOR_PROFILE="$STATE_DIR/empty.json" "$OUT/emulator_test"
WINDOWS_IOT_DM_TEST_TMP="$STATE_DIR" "$OUT/state_test"
# behaviors_test drives engines in-process over a fixed host (no state file).
WINDOWS_IOT_DM_EMULATOR_STATE=:memory: "$OUT/behaviors_test"
WINDOWS_IOT_DM_EMULATOR_STATE=:memory: "$OUT/certificates_test"
WINDOWS_IOT_DM_EMULATOR_STATE=:memory: "$OUT/apps_test"
# system_test drives the MdmEmulatorSystem* functions over its own state file.
WINDOWS_IOT_DM_EMULATOR_STATE="$STATE_DIR/system-state.json" "$OUT/system_test"
rm -rf "$STATE_DIR"
for t in "${FUZZ_TARGETS[@]}"; do
  WINDOWS_IOT_DM_EMULATOR_STATE=:memory: "$OUT/$t" "test/fuzz/$t/corpus" "test/fuzz/$t/regressions"
done

SO=build/Release/mdm_emulator.so
if [ -f "$SO" ]; then
  missing=0
  # nm's output is read once: `nm | grep -q` fails under pipefail when grep exits early and nm
  # gets SIGPIPE (a symbol table larger than the pipe buffer).
  exports="$(nm -D --defined-only "$SO")"
  for sym in RegisterDeviceWithLocalManagement ApplyLocalManagementSyncML \
    UnregisterDeviceWithLocalManagement MdmEmulatorFree MdmEmulatorReset MdmEmulatorAbiVersion \
    MdmEmulatorExecCount MdmEmulatorExecLog MdmEmulatorSystemGetTimeZone \
    MdmEmulatorSystemSetTimeZone MdmEmulatorSystemBootTime MdmEmulatorSystemAppLifecycle; do
    if ! grep -qw "T $sym" <<<"$exports"; then
      echo "native-tests: $SO does not export $sym" >&2
      missing=1
    fi
  done
  extra=$(awk '$2 == "T" {print $3}' <<<"$exports" |
    grep -v -E '^(RegisterDeviceWithLocalManagement|ApplyLocalManagementSyncML|UnregisterDeviceWithLocalManagement|MdmEmulator[A-Za-z]+|_init|_fini)$' || true)
  if [ -n "$extra" ]; then
    echo "native-tests: $SO exports more than the ABI:" >&2
    echo "$extra" >&2
    missing=1
  fi
  [ "$missing" = 0 ] && echo "native-tests: $SO exports exactly the emulator ABI"
  exit "$missing"
else
  echo "native-tests: $SO not built; skipped the export check"
fi
