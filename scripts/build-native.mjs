#!/usr/bin/env node
// Builds the native pieces from binding.gyp: the addon (build/Release/windows_iot_dm.node) and,
// except on Windows, the CSP emulator shared library (target mdm_emulator).
//
//   node scripts/build-native.mjs [--if-needed]
//
// --if-needed: do nothing when every output exists and is newer than binding.gyp and every file
// under native/ (native tests excluded).
//
// It runs the node-gyp from node_modules with an explicit --nodedir and never downloads
// (scripts/lib/node-headers.mjs, shared with scripts/prebuild.mjs):
//   1. the running Node's own headers (<prefix>/include/node with common.gypi and node_api.h,
//      where <prefix> is two levels above process.execPath), else
//   2. a nodedir assembled under build/nodedir from the node-api-headers package (Node-API
//      headers only, which is all the addon uses) plus a minimal common.gypi and a config.gypi
//      taken from process.config.
// npm_config_nodedir (e.g. from ~/.npmrc) is removed from node-gyp's environment on purpose.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembledNodeDir, systemNodeDir } from './lib/node-headers.mjs';

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
  // Native tests (native/test/, *.test.*) are not inputs of binding.gyp, nor is native/compat/
  // (force-included by scripts/prebuild.mjs only).
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!['test', 'compat'].some((d) => full === path.join(root, 'native', d))) walk(full);
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

// ---- build --------------------------------------------------------------------------------------

const started = process.hrtime.bigint();
let nodeDir = systemNodeDir();
let commands = ['rebuild'];
if (nodeDir) {
  console.log(`build-native: Node headers from ${path.join(nodeDir, 'include', 'node')}`);
} else {
  // `rebuild` starts by deleting build/, which is where the assembled nodedir lives.
  fs.rmSync(path.join(root, 'build'), { recursive: true, force: true });
  nodeDir = assembledNodeDir(root, path.join(root, 'build', 'nodedir'), fail);
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
