#!/usr/bin/env bash
# libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer over the native parsers (docs/fuzzing.md).
#
#   scripts/fuzz.sh [--time SECONDS] [--jobs N] [--replay] [--seeds] [target...]  (npm run fuzz -- ...)
#
# Targets (native/fuzz/<target>.cc): syncml_response_fuzz, syncml_encode_fuzz,
# emulator_request_fuzz, tpm_response_fuzz; default all. Builds with clang++ into build/fuzz/ (objects reused between
# runs), replays test/fuzz/<target>/regressions/, then fuzzes each target for --time seconds
# (default 60) on a working copy of test/fuzz/<target>/corpus/ in build/fuzz/corpus/<target>/, so
# the committed corpora only grow deliberately (copy a new input there by hand). --jobs N: N
# targets at a time (each still fuzzes for the full --time; the test command uses 2). --replay: only
# replay the regressions and the committed corpus, no fuzzing. --seeds: rewrite the SyncML seeds
# in test/fuzz from real messages (native/fuzz/make_seeds.cc) and exit.
# Exit status: non-zero on any crash, leak, timeout, out-of-memory or build failure; the input
# that failed is in build/fuzz/artifacts/<target>/. Prints execs, execs/s, corpus size and time.
set -euo pipefail
cd "$(dirname "$0")/.."

TIME=60
JOBS=1
REPLAY_ONLY=0
SEEDS=0
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) TIME="$2"; shift 2 ;;
    --time=*) TIME="${1#--time=}"; shift ;;
    --jobs) JOBS="$2"; shift 2 ;;
    --jobs=*) JOBS="${1#--jobs=}"; shift ;;
    --replay) REPLAY_ONLY=1; shift ;;
    --seeds) SEEDS=1; shift ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
ALL=(syncml_response_fuzz syncml_encode_fuzz emulator_request_fuzz tpm_response_fuzz)
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")
for t in "${TARGETS[@]}"; do
  [ -f "native/fuzz/$t.cc" ] || { echo "fuzz: no target $t (have: ${ALL[*]})" >&2; exit 2; }
done
[[ "$TIME" =~ ^[0-9]+$ ]] || { echo "fuzz: --time needs whole seconds" >&2; exit 2; }
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: --jobs needs a positive count" >&2; exit 2; }

CXX="${FUZZ_CXX:-}"
if [ -z "$CXX" ]; then
  for c in clang++ clang++-14 clang++-15 clang++-16; do command -v "$c" >/dev/null && { CXX="$c"; break; }; done
fi
[ -n "$CXX" ] || { echo "fuzz: clang++ not found (apt-get install clang lld libclang-rt-14-dev)" >&2; exit 2; }

OUT=build/fuzz
mkdir -p "$OUT/obj"

CODEC="native/common/xml_escape.cc native/common/xml_reader.cc native/common/utf16.cc \
native/syncml/codec_common.cc native/syncml/codec_client.cc native/syncml/codec_device.cc"
EMULATOR="native/emulator/allowed_values.cc native/emulator/ddf_facts.cc native/emulator/engine.cc \
native/emulator/node_ops.cc native/emulator/node_tree.cc native/emulator/seed.cc \
native/emulator/uri.cc native/emulator/utf16_text.cc native/emulator/value_check.cc \
native/common/json.cc native/emulator/profile.cc native/emulator/state_store.cc \
native/emulator/apps.cc native/emulator/behaviors.cc native/emulator/device_host.cc \
native/emulator/device_info.cc native/emulator/health_attestation.cc native/emulator/iso8601.cc \
native/emulator/reboot_wipe.cc native/emulator/sha256.cc native/emulator/certificates.cc \
native/emulator/sha1.cc native/emulator/x509.cc native/emulator/diagnostic_log.cc \
native/emulator/system_state.cc native/system/time_zone.cc native/system/service.cc \
native/emulator/state_file_os.cc"
TPM="native/tpm/framing.cc native/emulator/device_host.cc native/emulator/sha256.cc"

# One generated Makefile: objects are compiled once with -fsanitize=fuzzer-no-link and rebuilt
# when a source or a header it includes changes (-MMD); each target links its own list.
FLAGS="-std=c++17 -g -O1 -fno-exceptions -fno-omit-frame-pointer -Inative -pthread \
-fsanitize=address,undefined -fno-sanitize-recover=all"
{
  echo "CXX := $CXX"
  echo "FLAGS := $FLAGS"
  echo "OBJ := $OUT/obj"
  # lld links the large emulator targets faster; the system linker works too.
  if command -v ld.lld >/dev/null; then echo "LD := -fuse-ld=lld"; else echo "LD :="; fi
  echo "o = \$(addprefix \$(OBJ)/,\$(subst /,_,\$(1:.cc=.o)))"
  for src in $CODEC $EMULATOR $TPM native/fuzz/*.cc; do echo "$src"; done | sort -u | while read -r src; do
    o="$OUT/obj/${src//\//_}"; o="${o%.cc}.o"
    printf '%s: %s\n\t$(CXX) $(FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<\n' "$o" "$src"
  done
  for t in "${ALL[@]}"; do
    case "$t" in
      syncml_response_fuzz | syncml_encode_fuzz) deps="$CODEC" ;;
      emulator_request_fuzz) deps="$CODEC $EMULATOR" ;;
      tpm_response_fuzz) deps="$TPM" ;;
    esac
    deps="native/fuzz/$t.cc $(echo $deps | tr ' ' '\n' | sort -u | tr '\n' ' ')"
    printf '%s/%s: $(call o,%s)\n\t$(CXX) $(FLAGS) -fsanitize=fuzzer $(LD) -o $@ $^\n' \
      "$OUT" "$t" "$deps"
  done
  printf '%s/make_seeds: $(call o,native/fuzz/make_seeds.cc %s)\n\t$(CXX) $(FLAGS) -fsanitize=fuzzer-no-link $(LD) -o $@ $^\n' \
    "$OUT" "$(echo $CODEC $EMULATOR | tr ' ' '\n' | sort -u | tr '\n' ' ')"
  echo "-include \$(wildcard \$(OBJ)/*.d)"
} >"$OUT/Makefile"
if [ "$SEEDS" = 1 ]; then
  make --no-print-directory -s -j"$(nproc)" -f "$OUT/Makefile" "$OUT/make_seeds"
  mkdir -p test/fuzz/emulator_request_fuzz/corpus test/fuzz/syncml_response_fuzz/corpus
  WINDOWS_IOT_DM_EMULATOR_STATE=:memory: ASAN_OPTIONS=detect_leaks=0 "$OUT/make_seeds" test/fuzz
  exit 0
fi
BINS=()
for t in "${TARGETS[@]}"; do BINS+=("$OUT/$t"); done
echo "fuzz: building ${TARGETS[*]} with $CXX in $OUT"
make --no-print-directory -s -j"$(nproc)" -f "$OUT/Makefile" "${BINS[@]}"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export WINDOWS_IOT_DM_EMULATOR_STATE=:memory:

# One target: replay, then fuzz; its summary line goes to $OUT/$t.summary, its exit status is
# the function's (targets run --jobs at a time, each for the full --time).
run_target() {
  local t="$1" bin dict art dir corpus log start rc took execs rate rss files line
  bin="$OUT/$t"
  dict=()
  [ -f "test/fuzz/$t/dict" ] && dict=("-dict=test/fuzz/$t/dict")
  art="$OUT/artifacts/$t"
  mkdir -p "$art"
  # 1. The inputs that once failed, and the committed corpus, each run once.
  for dir in "test/fuzz/$t/regressions" "test/fuzz/$t/corpus"; do
    [ -d "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ] || continue
    if ! "$bin" -runs=0 -artifact_prefix="$art/" "$dir"/* >"$OUT/$t.replay.log" 2>&1; then
      echo "fuzz: $t FAILED replaying $dir (log: $OUT/$t.replay.log)" >&2
      tail -n 40 "$OUT/$t.replay.log" >&2
      return 1
    fi
    echo "fuzz: $t replayed $(ls -A "$dir" | wc -l) inputs of $dir"
  done
  [ "$REPLAY_ONLY" = 1 ] && return 0
  # 2. Fuzzing on a working copy of the corpus.
  corpus="$OUT/corpus/$t"
  mkdir -p "$corpus"
  [ -d "test/fuzz/$t/corpus" ] && cp -n "test/fuzz/$t/corpus/"* "$corpus/" 2>/dev/null || true
  log="$OUT/$t.log"
  start=$(date +%s)
  set +e
  "$bin" -max_total_time="$TIME" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n1)
  files=$(find "$corpus" -type f | wc -l)
  line=$(printf '%-22s %s  execs %s  execs/s %s  corpus %s files  peak RSS %s MB  %ss' "$t" \
    "$([ $rc = 0 ] && echo ok || echo FAILED)" "${execs:-?}" "${rate:-?}" "$files" "${rss:-?}" "$took")
  echo "$line" >"$OUT/$t.summary"
  echo "fuzz: $line"
  if [ $rc != 0 ]; then
    echo "fuzz: $t failed (exit $rc); input kept in $art/, log $log:" >&2
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written|deadly signal' "$log" | head -n 20 >&2 || true
    return 1
  fi
  return 0
}

status=0
summary=()
pids=()
for t in "${TARGETS[@]}"; do
  rm -f "$OUT/$t.summary"
  run_target "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$JOBS" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for t in "${TARGETS[@]}"; do
  [ -f "$OUT/$t.summary" ] && summary+=("$(cat "$OUT/$t.summary")")
done
if [ ${#summary[@]} -gt 0 ]; then
  echo "fuzz: summary"
  printf '  %s\n' "${summary[@]}"
fi
exit $status
