#!/usr/bin/env bash
# Cross-compiles the addon for win32-x64 with mingw-w64 on Linux: a compile-and-link check of the
# Windows-only sources (native/mdm/library_win.cc, native/system/system_win.cc,
# native/tpm/tpm_win.cc) without a Windows machine. Not a release
# build (prebuilds come from MSVC); nothing here runs the result.
#
#   bash scripts/cross-win-x64.sh        ->  build/cross-win-x64/windows_iot_dm.node
#
# Needs: apt-get install --no-install-recommends g++-mingw-w64-x86-64-posix (the -posix variant:
# the win32 thread model lacks std::mutex, which node-addon-api and the addon use), and
# node_modules (node-addon-api, node-api-headers). The import library for NODE.EXE is made from
# node-api-headers' .def files. The source list and defines are read from binding.gyp.
set -euo pipefail
cd "$(dirname "$0")/.."

CXX=${CXX:-x86_64-w64-mingw32-g++-posix}
DLLTOOL=${DLLTOOL:-x86_64-w64-mingw32-dlltool}
OBJDUMP=${OBJDUMP:-x86_64-w64-mingw32-objdump}
for tool in "$CXX" "$DLLTOOL" "$OBJDUMP"; do
  command -v "$tool" >/dev/null || {
    echo "cross-win-x64: $tool not found; install g++-mingw-w64-x86-64-posix" >&2
    exit 1
  }
done

HEADERS=node_modules/node-api-headers
[ -f "$HEADERS/def/node_api.def" ] || { echo "cross-win-x64: run npm ci first" >&2; exit 1; }
NAA=$(node -p "require('node-addon-api').include_dir")
OUT=build/cross-win-x64
mkdir -p "$OUT"

# Sources and defines of target windows_iot_dm for OS=='win' (binding.gyp is plain JSON).
mapfile -t SOURCES < <(node -e '
  const gyp = JSON.parse(require("fs").readFileSync("binding.gyp", "utf8"));
  const t = gyp.targets.find((x) => x.target_name === "windows_iot_dm");
  const expand = (list) => list.flatMap((s) => {
    const m = /^<@\((\w+)\)$/.exec(s);
    return m ? gyp.variables[m[1]] : [s];
  });
  const win = (t.conditions || []).filter(([c]) => c === "OS==\x27win\x27").flatMap(([, v]) => v.sources || []);
  console.log(expand([...t.sources, ...win]).join("\n"));')
mapfile -t DEFINES < <(node -e '
  const gyp = JSON.parse(require("fs").readFileSync("binding.gyp", "utf8"));
  const t = gyp.targets.find((x) => x.target_name === "windows_iot_dm");
  const expand = (list) => list.flatMap((s) => {
    const m = /^<@\((\w+)\)$/.exec(s);
    return m ? gyp.variables[m[1]] : [s];
  });
  console.log(expand(t.defines || []).map((d) => "-D" + d).join("\n"));')

# Import library for the host executable (the .def files lack a final newline: awk 1).
{
  echo "LIBRARY NODE.EXE"
  echo "EXPORTS"
  awk 1 "$HEADERS/def/node_api.def" "$HEADERS/def/js_native_api.def" |
    grep -v -E '^(NAME|LIBRARY|EXPORTS)' | sed 's/[[:space:]]*$//' | grep -v '^$' | sort -u
} >"$OUT/node_all.def"
"$DLLTOOL" -d "$OUT/node_all.def" -l "$OUT/libnode_x64.a" -m i386:x86-64

"$CXX" -std=c++17 -O2 -Wall -Wextra -Wno-unused-parameter -shared \
  -o "$OUT/windows_iot_dm.node" "${SOURCES[@]}" \
  -Inative -I"$HEADERS/include" -I"$NAA" \
  "${DEFINES[@]}" -DBUILDING_NODE_EXTENSION -DNODE_GYP_MODULE_NAME=windows_iot_dm \
  -static -static-libgcc -static-libstdc++ -s "$OUT/libnode_x64.a"

echo "cross-win-x64: built $OUT/windows_iot_dm.node"
file "$OUT/windows_iot_dm.node" 2>/dev/null || true
echo "imports:"
"$OBJDUMP" -p "$OUT/windows_iot_dm.node" | sed -n 's/^[[:space:]]*DLL Name: /  /p'
# Both are loaded at run time from System32 (LoadLibraryExW + GetProcAddress): an import would
# make the addon fail to load on machines without them.
IMPORTS="$("$OBJDUMP" -p "$OUT/windows_iot_dm.node")"
for dll in mdmlocalmanagement tbs; do
  if grep -qi "DLL Name: $dll\.dll" <<<"$IMPORTS"; then
    echo "cross-win-x64: $dll.dll must be loaded at run time, not imported" >&2
    exit 1
  fi
done
