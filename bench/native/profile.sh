#!/usr/bin/env bash
# Instruction counts of the native hot path (bench/native/driver.cc under valgrind's callgrind):
# instructions per SyncML message and per op, Get and Replace, 1/10/100 ops per message. Counts
# repeat whatever the machine's load, so two builds compare exactly (docs/benchmarks-native.md).
#
#   bench/native/profile.sh [src-root] [out-dir]     (defaults: this checkout, a temp dir)
#
# The sources are compiled once into out-dir (-O2 -g, like the Release build's optimisation but
# with line tables), so `callgrind_annotate out-dir/callgrind.*` can show where the time goes.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "${1:-$HERE/../..}" && pwd)"  # the native/ sources measured (an old checkout works too)
OUT="${2:-$(mktemp -d "${TMPDIR:-/tmp}/wdm-native-profile.XXXXXX")}"
command -v valgrind >/dev/null || { echo "profile.sh: valgrind is not installed" >&2; exit 2; }
CXX="${CXX:-g++}"
FLAGS=(-std=c++17 -O2 -g -fno-exceptions -I"$ROOT/native" -pthread)
SOURCES=(common/xml_escape.cc common/xml_reader.cc syncml/codec_common.cc syncml/codec_client.cc
  syncml/codec_device.cc common/utf16.cc common/json.cc system/time_zone.cc system/service.cc)
for f in exports allowed_values ddf_facts engine node_ops node_tree seed uri utf16_text \
  value_check profile state_store state_file_os apps behaviors device_host device_info \
  health_attestation iso8601 reboot_wipe sha256 certificates sha1 x509 diagnostic_log system_state; do
  SOURCES+=("emulator/$f.cc")
done
mkdir -p "$OUT/obj"
pids=()
objs=()
for src in "${SOURCES[@]}"; do
  obj="$OUT/obj/${src//\//_}.o"
  objs+=("$obj")
  "$CXX" "${FLAGS[@]}" -c -o "$obj" "$ROOT/native/$src" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$(nproc)" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
"$CXX" "${FLAGS[@]}" -o "$OUT/driver" "$HERE/driver.cc" "${objs[@]}"

count() {  # instructions of one driver run
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.$1.$2.$3" "$OUT/driver" "$@" 2>&1 |
    awk '/refs:/ { gsub(",", "", $NF); print $NF }'
}
base=$(count 1 0 0)
echo "| verb | ops/message | instructions per message | per op |"
echo "| --- | --- | --- | --- |"
for verb in 0 1; do
  for n in 1 10 100; do
    messages=$((n == 1 ? 1000 : (n == 10 ? 300 : 50)))
    total=$(count "$n" "$messages" "$verb")
    per=$(((total - base) / messages))
    echo "| $([ "$verb" = 0 ] && echo get || echo replace) | $n | $per | $((per / n)) |"
  done
done
echo "(callgrind files in $OUT)"
