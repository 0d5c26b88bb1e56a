#!/usr/bin/env node
// Builds the native pieces from binding.gyp: the addon (build/Release/windows_iot_dm.node) and,
// except on Windows, the CSP emulator shared library (target mdm_emulator).
//
//   node scripts/build-native.mjs [--if-needed]
//
// --if-needed: do nothing when every output exists and is newer than binding.gyp and every file
// under native/ (native tests excluded).
//
// It runs the node-gyp from node_modules with an explicit --nodedir and never downloads:
//   1. the running Node's own headers (<prefix>/include/node with common.gypi and node_api.h,
//      where <prefix> is two levels above process.execPath), else
//   2. a nodedir assembled under build/nodedir from the node-api-headers package (Node-API
//      headers only, which is all the addon uses) plus a minimal common.gypi and a config.gypi
//      taken from process.config.
// npm_config_nodedir (e.g. from ~/.npmrc) is removed from node-gyp's environment on purpose.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const releaseDir = path.join(root, 'build', 'Release');
const addonPath = path.join(releaseDir, 'windows_iot_dm.node');
const wantEmulator = process.platform !== 'win32'; // mdm_emulator is type "none" on Windows
const rel = (p) => path.relative(process.cwd(), p) || '.';

function fail(message) {
  console.error(`build-native: ${message}`);
  process.exit(1);
}

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--if-needed');
if (unknown.length > 0)
  fail(`unknown argument(s) ${unknown.join(' ')}; usage: build-native.mjs [--if-needed]`);
const ifNeeded = args.includes('--if-needed');

const nodeGyp = path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
if (!fs.existsSync(nodeGyp)) {
  fail('node_modules/node-gyp is missing; run `npm ci` (or `npm install`) first.');
}

// The emulator library's file name depends on the gyp generator and platform.
function findEmulator() {
  const names = /^(lib)?mdm_emulator\.(so|dylib)$/;
  for (const dir of [
    releaseDir,
    path.join(releaseDir, 'lib.target'),
    path.join(releaseDir, 'obj.target'),
  ]) {
    let entries;
    try {
      entries = fs.readdirSync(dir);
    } catch {
      continue;
    }
    const hit = entries.find((name) => names.test(name));
    if (hit) return path.join(dir, hit);
  }
  return undefined;
}

function newestInput() {
  let newest = fs.statSync(path.join(root, 'binding.gyp')).mtimeMs;
  // Native tests (native/test/, *.test.*) are not inputs of binding.gyp.
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (full !== path.join(root, 'native', 'test')) walk(full);
      } else if (!entry.name.includes('.test.')) {
        newest = Math.max(newest, fs.statSync(full).mtimeMs);
      }
    }
  };
  walk(path.join(root, 'native'));
  return newest;
}

function report(prefix) {
  console.log(`${prefix}\n  addon:            ${rel(addonPath)}`);
  const emulator = findEmulator();
  if (emulator) {
    console.log(`  emulator library: ${rel(emulator)}`);
    console.log(`  (use it with WINDOWS_IOT_DM_MDM_LIBRARY=${emulator} or { libraryPath })`);
  }
}

if (ifNeeded) {
  const outputs = [addonPath, ...(wantEmulator ? [findEmulator()] : [])];
  if (outputs.every((p) => p && fs.existsSync(p))) {
    const oldest = Math.min(...outputs.map((p) => fs.statSync(p).mtimeMs));
    if (oldest > newestInput()) {
      report('build-native: up to date, nothing to do');
      process.exit(0);
    }
  }
}

// ---- headers ------------------------------------------------------------------------------------

function systemNodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const include = path.join(prefix, 'include', 'node');
  const ok = ['common.gypi', 'node_api.h'].every((f) => fs.existsSync(path.join(include, f)));
  return ok ? prefix : undefined;
}

// The parts of Node's common.gypi that matter for a Node-API addon: the Debug/Release
// configurations node-gyp builds, and the usual flags.
const MINIMAL_COMMON_GYPI = `# Written by scripts/build-native.mjs: no Node headers were found next to the running node,
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

function assembledNodeDir() {
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
  const nodeDir = path.join(root, 'build', 'nodedir');
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
  if (process.platform === 'win32') windowsImportLib(headersRoot, nodeDir);
  return nodeDir;
}

// node-gyp links addons on Windows against <nodedir>/<Configuration>/node.lib. Made from the
// node-api-headers .def files with lib.exe (needs a Visual Studio developer environment).
// Untested: written without a Windows machine.
function windowsImportLib(headersRoot, nodeDir) {
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

// ---- build --------------------------------------------------------------------------------------

const started = process.hrtime.bigint();
let nodeDir = systemNodeDir();
let commands = ['rebuild'];
if (nodeDir) {
  console.log(`build-native: Node headers from ${path.join(nodeDir, 'include', 'node')}`);
} else {
  // `rebuild` starts by deleting build/, which is where the assembled nodedir lives.
  fs.rmSync(path.join(root, 'build'), { recursive: true, force: true });
  nodeDir = assembledNodeDir();
  commands = ['configure', 'build'];
  console.log(
    `build-native: no headers next to ${process.execPath}; using node-api-headers in ${rel(nodeDir)}`,
  );
}

const env = { ...process.env };
for (const key of Object.keys(env)) if (key.toLowerCase() === 'npm_config_nodedir') delete env[key];

const gypArgs = [nodeGyp, ...commands, `--nodedir=${nodeDir}`, '--jobs', '2'];
console.log(`build-native: node ${[rel(nodeGyp), ...gypArgs.slice(1)].join(' ')}`);
const result = spawnSync(process.execPath, gypArgs, { cwd: root, env, stdio: 'inherit' });
if (result.error) fail(`could not run node-gyp: ${result.error.message}`);
if (result.status !== 0) {
  fail(
    `node-gyp failed (exit code ${result.status ?? result.signal}); the compiler output above says why.`,
  );
}
if (!fs.existsSync(addonPath)) fail(`node-gyp succeeded but ${rel(addonPath)} is missing.`);
if (wantEmulator && !findEmulator())
  fail(`node-gyp succeeded but the mdm_emulator library is missing from ${rel(releaseDir)}.`);

const seconds = Number(process.hrtime.bigint() - started) / 1e9;
report(`build-native: built in ${seconds.toFixed(1)} s`);
