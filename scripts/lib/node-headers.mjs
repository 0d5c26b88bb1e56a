// Node headers for node-gyp without downloading anything, shared by scripts/build-native.mjs and
// scripts/prebuild.mjs:
//   systemNodeDir()          the running Node's own headers (<prefix>/include/node with common.gypi
//                            and node_api.h, <prefix> two levels above process.execPath), else
//   assembledNodeDir(...)    a nodedir assembled from the node-api-headers package (Node-API headers
//                            only, all the addon uses) plus a minimal common.gypi and a config.gypi
//                            taken from process.config.
//   resolveNodeDir(...)      the first that works: { nodeDir, assembled }.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export function systemNodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const include = path.join(prefix, 'include', 'node');
  const ok = ['common.gypi', 'node_api.h'].every((f) => fs.existsSync(path.join(include, f)));
  return ok ? prefix : undefined;
}

// The parts of Node's common.gypi that matter for a Node-API addon: the Debug/Release
// configurations node-gyp builds, and the usual flags.
const MINIMAL_COMMON_GYPI = `# Written by scripts/lib/node-headers.mjs: no Node headers were found next to the running node,
# so this nodedir holds only the node-api-headers package (all the addon needs).
{
  'variables': {
    'visibility%': 'hidden',
    'target_arch%': 'x64',
    'host_arch%': 'x64',
    'library%': 'static_library',
    'node_shared%': 'false',
    'node_shared_openssl%': 'false',
    'node_module_version%': '',
    'clang%': 0,
  },
  'target_defaults': {
    'default_configuration': 'Release',
    'configurations': {
      'Debug': {
        'defines': [ 'DEBUG', '_DEBUG' ],
        'cflags': [ '-g', '-O0' ],
        'msvs_settings': { 'VCCLCompilerTool': { 'Optimization': 0, 'RuntimeLibrary': 1 } },
        'xcode_settings': { 'GCC_OPTIMIZATION_LEVEL': '0' },
      },
      'Release': {
        'cflags': [ '-O3' ],
        'msvs_settings': { 'VCCLCompilerTool': { 'Optimization': 3, 'RuntimeLibrary': 0 } },
        'xcode_settings': { 'GCC_OPTIMIZATION_LEVEL': '3' },
      },
    },
    'cflags': [ '-Wall', '-Wextra', '-Wno-unused-parameter' ],
    'cflags_cc': [ '-fno-rtti', '-fno-exceptions', '-std=gnu++17' ],
    'conditions': [
      [ 'OS in "linux freebsd openbsd solaris android"', {
        'cflags': [ '-pthread' ],
        'ldflags': [ '-pthread', '-rdynamic' ],
      }],
      [ 'OS=="mac"', {
        'xcode_settings': {
          'MACOSX_DEPLOYMENT_TARGET': '11.0',
          'GCC_ENABLE_CPP_EXCEPTIONS': 'NO',
          'GCC_ENABLE_CPP_RTTI': 'NO',
        },
      }],
      [ 'OS=="win"', {
        'defines': [ 'WIN32', '_WIN32_WINNT=0x0601', 'NOMINMAX', 'WIN32_LEAN_AND_MEAN' ],
      }],
    ],
  },
}
`;

/**
 * Writes a nodedir into `nodeDir` from the node-api-headers package installed for `root`.
 * `fail(message)` is called (and must not return) when the package is missing or node.lib cannot
 * be made.
 */
export function assembledNodeDir(root, nodeDir, fail) {
  const require = createRequire(path.join(root, 'package.json'));
  let headersRoot;
  try {
    headersRoot = path.dirname(require.resolve('node-api-headers/package.json'));
  } catch {
    fail(
      `no Node headers next to ${process.execPath} (expected ${path.join(path.dirname(process.execPath), '..', 'include', 'node')}) ` +
        'and the node-api-headers package is not installed; run `npm ci` first.',
    );
  }
  const include = path.join(nodeDir, 'include', 'node');
  fs.mkdirSync(include, { recursive: true });
  const headers = fs.readdirSync(path.join(headersRoot, 'include')).filter((f) => f.endsWith('.h'));
  for (const header of headers)
    fs.copyFileSync(path.join(headersRoot, 'include', header), path.join(include, header));
  fs.writeFileSync(path.join(include, 'common.gypi'), MINIMAL_COMMON_GYPI);
  fs.writeFileSync(
    path.join(include, 'config.gypi'),
    `${JSON.stringify(process.config, null, 2)}\n`,
  );
  if (process.platform === 'win32') windowsImportLib(headersRoot, nodeDir, fail);
  return nodeDir;
}

// node-gyp links addons on Windows against <nodedir>/<Configuration>/node.lib. Made from the
// node-api-headers .def files with lib.exe (needs a Visual Studio developer environment).
// Untested: written without a Windows machine.
function windowsImportLib(headersRoot, nodeDir, fail) {
  const def = path.join(nodeDir, 'node.def');
  const names = new Set();
  for (const f of ['node_api.def', 'js_native_api.def']) {
    for (const line of fs.readFileSync(path.join(headersRoot, 'def', f), 'utf8').split(/\r?\n/)) {
      const name = line.trim();
      if (name && !/^(NAME|LIBRARY|EXPORTS)\b/.test(name)) names.add(name);
    }
  }
  fs.writeFileSync(def, `NAME NODE.EXE\nEXPORTS\n${[...names].sort().join('\n')}\n`);
  const machine = { x64: 'X64', arm64: 'ARM64', ia32: 'X86' }[process.arch] ?? 'X64';
  for (const config of ['Release', 'Debug']) {
    fs.mkdirSync(path.join(nodeDir, config), { recursive: true });
    const out = path.join(nodeDir, config, 'node.lib');
    const r = spawnSync(
      'lib.exe',
      ['/nologo', `/def:${def}`, `/out:${out}`, `/machine:${machine}`],
      {
        stdio: 'inherit',
      },
    );
    if (r.status !== 0) {
      fail(
        'no Node headers next to node.exe, and making node.lib needs lib.exe: run this from a ' +
          'Visual Studio Developer Command Prompt, or install Node with its headers.',
      );
    }
  }
}

/** The system headers when present, else a nodedir assembled in `assembleInto`. */
export function resolveNodeDir(root, assembleInto, fail) {
  const system = systemNodeDir();
  if (system) return { nodeDir: system, assembled: false };
  return { nodeDir: assembledNodeDir(root, assembleInto, fail), assembled: true };
}
