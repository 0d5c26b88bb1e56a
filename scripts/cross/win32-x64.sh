#!/usr/bin/env bash
# Cross-builds the Windows x64 binaries on Linux with mingw-w64 (posix thread model, static C++
# runtime, stripped) into build/cross/win32-x64/:
#   windows_iot_dm.node       the addon (target windows_iot_dm of binding.gyp, OS=='win' sources)
#   mdmlocalmanagement.dll    the CSP emulator library (target mdm_emulator) with the local MDM
#                             API's C ABI; for tests and the demo only, never shipped in place of
#                             Windows' own DLL (LocalAlloc'd results, undecorated exports)
#   tbs.dll                   TEST DOUBLE (native/test-doubles/tbs): TPM Base Services that
#                             forward to swtpm over TCP, for scripts/test-windows.sh under wine
# and checks them: the addon must not import mdmlocalmanagement.dll or tbs.dll (both are loaded
# at run time from System32), every NODE.EXE import must be one Node 20 exports (node-api-headers'
# .def files minus NODE20_MISSING), and no binary may need a MinGW runtime DLL.
#
#   bash scripts/cross/win32-x64.sh
#
# Needs: apt-get install --no-install-recommends g++-mingw-w64-x86-64-posix (the win32 thread
# model lacks std::mutex, which node-addon-api and the addon use), and node_modules
# (node-addon-api, node-api-headers). Objects are cached in build/cross/win32-x64/obj and rebuilt
# when a source or a header it includes changed (-MMD).
set -euo pipefail
cd "$(dirname "$0")/../.."

CXX=${CXX:-x86_64-w64-mingw32-g++-posix}
DLLTOOL=${DLLTOOL:-x86_64-w64-mingw32-dlltool}
OBJDUMP=${OBJDUMP:-x86_64-w64-mingw32-objdump}
for tool in "$CXX" "$DLLTOOL" "$OBJDUMP"; do
  command -v "$tool" >/dev/null || {
    echo "win32-x64: $tool not found; install: apt-get install --no-install-recommends g++-mingw-w64-x86-64-posix" >&2
    exit 1
  }
done

# Node-API functions in node-api-headers' .def files that Node 20 (20.20.2 win-x64 node.exe) does
# not export; an addon importing one would fail to load on Node 20. scripts/test-windows.sh
# checks the addon's imports against the real node.exe export table too.
NODE20_MISSING=(node_api_create_buffer_from_arraybuffer)

HEADERS=node_modules/node-api-headers
[ -f "$HEADERS/def/node_api.def" ] || { echo "win32-x64: node-api-headers missing: run npm ci first" >&2; exit 1; }
NAA=$(node -p "require('node-addon-api').include_dir")
OUT=build/cross/win32-x64
OBJ=$OUT/obj
mkdir -p "$OBJ"

# Sources and defines of a binding.gyp target for OS=='win' (binding.gyp is plain JSON).
gyp_list() { # $1 target, $2 sources|defines
  node -e '
    const [target, what] = process.argv.slice(1);
    const gyp = JSON.parse(require("fs").readFileSync("binding.gyp", "utf8"));
    const t = gyp.targets.find((x) => x.target_name === target);
    const expand = (list) => list.flatMap((s) => {
      const m = /^<@\((\w+)\)$/.exec(s);
      return m ? gyp.variables[m[1]] : [s];
    });
    const win = (t.conditions || []).filter(([c]) => c === "OS==\x27win\x27").flatMap(([, v]) => v[what] || []);
    const all = expand([...(t[what] || []), ...win]);
    const out = what === "sources" ? all.filter((s) => s.endsWith(".cc")) : all;
    if (out.length > 0) console.log(out.join("\n"));' "$1" "$2"
}

CXXFLAGS=(-std=c++17 -O2 -Wall -Wextra -Wno-unused-parameter -Inative)

# Compiles $1 to $OBJ/<name>.o unless the object is newer than the source and its headers.
compile() { # $1 source, $2 tag (object name prefix), rest: flags
  local src=$1 tag=$2
  shift 2
  local obj="$OBJ/$tag-$(echo "$src" | tr '/' '_' | sed 's/\.cc$//').o"
  local dep="${obj%.o}.d" stale=1
  if [ -f "$obj" ] && [ -f "$dep" ]; then
    stale=0
    for f in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$dep"); do
      if [ "$f" -nt "$obj" ]; then stale=1; break; fi
    done
  fi
  if [ "$stale" = 1 ]; then
    "$CXX" "${CXXFLAGS[@]}" "$@" -MMD -MF "$dep" -c "$src" -o "$obj"
  fi
  echo "$obj"
}

LINK=(-shared -static -static-libgcc -static-libstdc++ -s)

# ---- the addon --------------------------------------------------------------------------------
mapfile -t ADDON_SOURCES < <(gyp_list windows_iot_dm sources)
mapfile -t ADDON_DEFINES < <(gyp_list windows_iot_dm defines | sed 's/^/-D/')
{
  echo "LIBRARY NODE.EXE"
  echo "EXPORTS"
  # The .def files lack a final newline: awk 1.
  awk 1 "$HEADERS/def/node_api.def" "$HEADERS/def/js_native_api.def" |
    grep -v -E '^(NAME|LIBRARY|EXPORTS)' | sed 's/[[:space:]]*$//' | grep -v '^$' |
    grep -v -x -F -f <(printf '%s\n' "${NODE20_MISSING[@]}") | sort -u
} >"$OUT/node20.def"
"$DLLTOOL" -d "$OUT/node20.def" -l "$OUT/libnode20.a" -m i386:x86-64
ADDON_OBJS=()
for src in "${ADDON_SOURCES[@]}"; do
  obj=$(compile "$src" addon -I"$HEADERS/include" -I"$NAA" "${ADDON_DEFINES[@]}" \
    -DBUILDING_NODE_EXTENSION -DNODE_GYP_MODULE_NAME=windows_iot_dm) || exit 1
  ADDON_OBJS+=("$obj")
done
# An import outside node20.def is an undefined reference here: the link fails.
"$CXX" "${LINK[@]}" -o "$OUT/windows_iot_dm.node" "${ADDON_OBJS[@]}" "$OUT/libnode20.a" -ladvapi32

# ---- the CSP emulator as mdmlocalmanagement.dll ------------------------------------------------
mapfile -t EMU_SOURCES < <(gyp_list mdm_emulator sources)
mapfile -t EMU_DEFINES < <(gyp_list mdm_emulator defines | sed 's/^/-D/')
EMU_OBJS=()
for src in "${EMU_SOURCES[@]}"; do
  obj=$(compile "$src" emu ${EMU_DEFINES[@]+"${EMU_DEFINES[@]}"}) || exit 1
  EMU_OBJS+=("$obj")
done
"$CXX" "${LINK[@]}" -o "$OUT/mdmlocalmanagement.dll" "${EMU_OBJS[@]}"

# ---- the TBS test double -----------------------------------------------------------------------
"$CXX" "${CXXFLAGS[@]}" "${LINK[@]}" -o "$OUT/tbs.dll" native/test-doubles/tbs/tbs_swtpm.cc -lws2_32

# ---- checks ------------------------------------------------------------------------------------
fail() {
  echo "win32-x64: $*" >&2
  exit 1
}
# "DLL|symbol" lines for every import of $1.
imports() {
  "$OBJDUMP" -p "$1" | awk '
    /^[[:space:]]*DLL Name:/ { dll = toupper($3); print dll "|"; next }
    /^[[:space:]]*$/ { dll = "" }
    dll != "" && /^[[:space:]]*[0-9a-f]+[[:space:]]+[0-9]+[[:space:]]+[A-Za-z_]/ { print dll "|" $3 }'
}
exports() { "$OBJDUMP" -p "$1" | awk '/\[Ordinal\/Name Pointer\] Table/ { t = 1; next } t && /^[[:space:]]*\[/ { print $NF } t && /^$/ { t = 0 }'; }

ADDON_IMPORTS=$(imports "$OUT/windows_iot_dm.node")
for bin in windows_iot_dm.node mdmlocalmanagement.dll tbs.dll; do
  dlls=$(imports "$OUT/$bin" | sed -n 's/|$//p' | sort -u | tr '\n' ' ')
  echo "win32-x64: $bin ($(stat -c %s "$OUT/$bin") bytes) imports: $dlls"
  if grep -q -i -E 'LIBSTDC|LIBGCC|LIBWINPTHREAD' <<<"$dlls"; then
    fail "$bin needs a MinGW runtime DLL ($dlls): link statically"
  fi
done
if grep -q -E '^(MDMLOCALMANAGEMENT|TBS)\.DLL\|' <<<"$ADDON_IMPORTS"; then
  fail "the addon imports mdmlocalmanagement.dll or tbs.dll: both must be loaded at run time"
fi
mapfile -t NODE_IMPORTS < <(sed -n 's/^NODE\.EXE|\(.\+\)$/\1/p' <<<"$ADDON_IMPORTS" | sort -u)
ALLOWED=$(sed -n '3,$p' "$OUT/node20.def")
for symbol in "${NODE_IMPORTS[@]}"; do
  grep -q -x -F "$symbol" <<<"$ALLOWED" || fail "the addon imports $symbol, which Node 20 does not export"
done
echo "win32-x64: the addon imports ${#NODE_IMPORTS[@]} NODE.EXE symbols, all exported by Node 20:"
printf '%s\n' "${NODE_IMPORTS[@]}" | paste -sd' ' | fold -s -w 100 | sed 's/^/  /'
EMU_EXPORTS=$(exports "$OUT/mdmlocalmanagement.dll")
for symbol in RegisterDeviceWithLocalManagement ApplyLocalManagementSyncML \
  UnregisterDeviceWithLocalManagement MdmEmulatorFree MdmEmulatorReset; do
  grep -q -x -F "$symbol" <<<"$EMU_EXPORTS" || fail "mdmlocalmanagement.dll does not export $symbol"
done
TBS_EXPORTS=$(exports "$OUT/tbs.dll")
for symbol in Tbsi_GetDeviceInfo Tbsi_Context_Create Tbsip_Submit_Command Tbsip_Context_Close; do
  grep -q -x -F "$symbol" <<<"$TBS_EXPORTS" || fail "tbs.dll does not export $symbol"
done
echo "win32-x64: built $OUT/windows_iot_dm.node, $OUT/mdmlocalmanagement.dll, $OUT/tbs.dll (test double)"
