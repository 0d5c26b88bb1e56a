#!/usr/bin/env node
// `npm run prebuild` (package.json: "prebuild": "node scripts/prebuild.mjs"; the TypeScript build
// is "build:ts", so npm never runs this as a pre-script of "build"): builds prebuilds/<platform>-<arch>/ for the
// targets this machine can build, then prints a summary (file, size, architecture, highest
// GLIBC_ / GLIBCXX_ version).
//
//   node scripts/prebuild.mjs [--target linux-x64] [--target linux-arm64,win32-x64]
//                             [--glibc-max 2.28|none] [--keep-going] [--check]
//
//   --check       build nothing: summary and checks of what prebuilds/ holds (with --target:
//                 every named target must be there)
//
//   linux-x64     prebuildify --napi --strip with the host g++
//   linux-arm64   prebuildify --napi --strip --arch arm64 with aarch64-linux-gnu-g++
//                 (CC/CXX/LINK/AR set, PREBUILD_STRIP_BIN=aarch64-linux-gnu-strip)
//   win32-x64     scripts/cross/win32-x64.sh (mingw-w64); its build/cross/win32-x64/ files are
//                 copied to prebuilds/win32-x64/ (the addon under prebuildify's name, the emulator
//                 as emulator/mdmlocalmanagement.dll; the tbs.dll test double is never copied)
//   On Windows (CI): win32-x64 and win32-arm64 with prebuildify --napi --strip and MSVC.
//
// Each Linux target also ships its CSP emulator library as prebuilds/<target>/mdm_emulator.so
// (found there by lib/native/load.ts resolveMdmLibrary); it is for tests and the demo only.
// Linux builds link libstdc++ statically (libgcc stays shared) and pin the glibc symbols newer
// than the baseline (native/compat/glibc_compat.h, force-included, plus ld --wrap); the run fails when a Linux binary
// needs a GLIBC_ version above --glibc-max (default 2.28, $PREBUILD_GLIBC_MAX; "none" = no check).
// Without --target, targets whose tools are missing are skipped and named; a named target whose
// tools are missing is an error. Headers: scripts/lib/node-headers.mjs (never downloads).
// Builds run in build/prebuild/<target>/, so build/Release (the dev build) is left alone.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveNodeDir } from './lib/node-headers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rel = (p) => path.relative(process.cwd(), p) || '.';
const ADDON_FILE = 'windows-iot-dm.node'; // prebuildify names the file after package.json's name

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

const has = (tool) => spawnSync('sh', ['-c', `command -v "${tool}"`]).status === 0;

/** What each target needs and how it is built. */
const TARGETS = {
  'linux-x64': {
    platform: 'linux',
    arch: 'x64',
    tools: ['g++', 'make', 'strip'],
    env: {},
  },
  'linux-arm64': {
    platform: 'linux',
    arch: 'arm64',
    tools: ['aarch64-linux-gnu-g++', 'aarch64-linux-gnu-strip', 'make'],
    env: {
      CC: 'aarch64-linux-gnu-gcc',
      CXX: 'aarch64-linux-gnu-g++',
      LINK: 'aarch64-linux-gnu-g++',
      AR: 'aarch64-linux-gnu-ar',
      PREBUILD_STRIP_BIN: 'aarch64-linux-gnu-strip',
    },
  },
  'win32-x64': {
    platform: 'win32',
    arch: 'x64',
    tools: ['x86_64-w64-mingw32-g++-posix', 'x86_64-w64-mingw32-dlltool'],
    script: path.join(root, 'scripts', 'cross', 'win32-x64.sh'),
  },
  // Only on Windows (MSVC, .github/workflows/prebuild.yml); no emulator DLL there.
  'win32-arm64': {
    platform: 'win32',
    arch: 'arm64',
    tools: [],
  },
};
const onWindows = process.platform === 'win32';
// On Windows both Windows targets are native MSVC builds through prebuildify.
if (onWindows) {
  for (const t of ['win32-x64', 'win32-arm64'])
    Object.assign(TARGETS[t], { script: undefined, tools: [] });
}

// ---- arguments ----------------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = {
    targets: [],
    glibcMax: process.env.PREBUILD_GLIBC_MAX || '2.28',
    keepGoing: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--target' || a.startsWith('--target=')) opts.targets.push(...value().split(','));
    else if (a === '--glibc-max' || a.startsWith('--glibc-max=')) opts.glibcMax = value();
    else if (a === '--keep-going') opts.keepGoing = true;
    else if (a === '--check') opts.checkOnly = true;
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0]);
      process.exit(0);
    } else fail(`unknown argument ${a} (see --help)`);
  }
  for (const t of opts.targets) {
    if (!TARGETS[t]) fail(`unknown target ${t}; known: ${Object.keys(TARGETS).join(', ')}`);
  }
  if (opts.glibcMax !== 'none' && !/^\d+\.\d+$/.test(opts.glibcMax))
    fail(`--glibc-max must look like 2.28 or be "none", not ${opts.glibcMax}`);
  return opts;
}

// ---- building -----------------------------------------------------------------------------------

function run(cmd, args, options) {
  console.log(`prebuild: ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (r.error) throw new Error(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} failed (exit ${r.status ?? r.signal})`);
}

/** A staging folder for one target: binding.gyp and a package.json naming the package. */
function stage(name) {
  const dir = path.join(root, 'build', 'prebuild', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  // A junction on Windows: needs no symlink privilege.
  fs.symlinkSync(path.join(root, 'native'), path.join(dir, 'native'), 'junction');
  const { name: pkgName } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name: pkgName })}\n`);
  return dir;
}

let nodeDirCache;
function nodeDir() {
  nodeDirCache ??= resolveNodeDir(root, path.join(root, 'build', 'prebuild', 'nodedir'), fail);
  return nodeDirCache.nodeDir;
}

// Symbols above the glibc baseline that the static libstdc++ (or stat()) references: the linker
// sends them to native/compat/glibc_compat.h's __wrap_* functions.
const WRAPPED = [
  'stat64',
  'fstat64',
  'lstat64',
  'pthread_once',
  'pthread_key_create',
  '__pthread_key_create',
  'pthread_key_delete',
  'pthread_getspecific',
  'pthread_setspecific',
  'pthread_rwlock_rdlock',
  'pthread_rwlock_wrlock',
  'pthread_rwlock_unlock',
  'arc4random',
];
const WRAP = WRAPPED.map((s) => `-Wl,--wrap=${s}`).join(' ');

/** prebuildify --napi --strip for one target in its staging folder (Linux, or MSVC on Windows). */
function buildWithPrebuildify(name, target) {
  const dir = stage(name);
  const out = path.join(root, 'prebuilds', name);
  fs.rmSync(out, { recursive: true, force: true });
  const env = { ...process.env, npm_config_jobs: process.env.npm_config_jobs ?? '2' };
  for (const key of Object.keys(env))
    if (key.toLowerCase() === 'npm_config_nodedir') delete env[key];
  if (target.platform === 'linux') {
    const compat = path.join(root, 'native', 'compat', 'glibc_compat.h');
    Object.assign(env, target.env, {
      npm_config_nodedir: nodeDir(),
      // Static libstdc++ (no GLIBCXX_ requirement); libgcc stays shared (see glibc_compat.h).
      LDFLAGS: `${env.LDFLAGS ?? ''} -static-libstdc++ ${WRAP}`.trim(),
      CFLAGS: `${env.CFLAGS ?? ''} -include ${compat}`.trim(),
      CXXFLAGS: `${env.CXXFLAGS ?? ''} -include ${compat}`.trim(),
    });
  }
  // On Windows (MSVC, CI only) node-gyp fetches the running Node's headers and node.lib itself.
  const prebuildify = path.join(root, 'node_modules', 'prebuildify', 'bin.js');
  if (!fs.existsSync(prebuildify))
    throw new Error('node_modules/prebuildify is missing; run npm ci');
  const args = ['--napi', '--strip', '--platform', target.platform, '--arch', target.arch];
  run(process.execPath, [prebuildify, ...args, '--out', root, dir], { cwd: dir, env });
  if (target.platform !== 'linux') return;
  // prebuildify copies shared libraries from build/Release itself; gyp's make generator may
  // leave the emulator under lib.target/ instead, so look there too.
  const emulator = path.join(out, 'mdm_emulator.so');
  if (!fs.existsSync(emulator)) {
    const built = ['', 'lib.target', 'obj.target']
      .map((d) => path.join(dir, 'build', 'Release', d, 'mdm_emulator.so'))
      .find((p) => fs.existsSync(p));
    if (!built) throw new Error(`mdm_emulator.so was not built in ${rel(dir)}`);
    fs.copyFileSync(built, emulator);
    run(target.env.PREBUILD_STRIP_BIN ?? 'strip', ['--strip-all', emulator]);
  }
}

/** win32-x64 on Linux: the mingw-w64 cross build of scripts/cross/win32-x64.sh. */
function buildWindowsCross(name, target) {
  if (!fs.existsSync(target.script)) {
    throw new Error(
      `${rel(target.script)} does not exist on this branch (it comes from the Windows cross build)`,
    );
  }
  run('bash', [target.script], { cwd: root });
  const from = path.join(root, 'build', 'cross', name);
  const out = path.join(root, 'prebuilds', name);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'emulator'), { recursive: true });
  fs.copyFileSync(path.join(from, 'windows_iot_dm.node'), path.join(out, ADDON_FILE));
  // For tests and the demo only: the addon itself loads mdmlocalmanagement.dll from System32.
  fs.copyFileSync(
    path.join(from, 'mdmlocalmanagement.dll'),
    path.join(out, 'emulator', 'mdmlocalmanagement.dll'),
  );
}

// ---- checking -----------------------------------------------------------------------------------

function capture(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return r.status === 0 ? r.stdout : undefined;
}

/** "ELF x64", "PE arm64", ... from the file's own header (ELF e_machine, PE Machine). */
function binaryKind(file) {
  const b = fs.readFileSync(file);
  const machines = { 0x3e: 'x64', 0xb7: 'arm64', 0x8664: 'x64', 0xaa64: 'arm64' };
  if (b.length > 20 && b.toString('latin1', 0, 4) === '\x7fELF') {
    return `ELF ${machines[b.readUInt16LE(18)] ?? `machine 0x${b.readUInt16LE(18).toString(16)}`}`;
  }
  if (b.length > 64 && b.toString('latin1', 0, 2) === 'MZ') {
    const pe = b.readUInt32LE(0x3c);
    if (b.length > pe + 6 && b.toString('latin1', pe, pe + 4) === 'PE\0\0') {
      const m = b.readUInt16LE(pe + 4);
      return `PE ${machines[m] ?? `machine 0x${m.toString(16)}`}`;
    }
  }
  return 'not an ELF or PE file';
}

/** Compares dotted versions numerically: 2.28 < 2.34, 3.4.9 < 3.4.29. */
function compareVersions(a, b) {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  }
  return 0;
}
const maxVersion = (versions) =>
  versions.reduce(
    (best, v) => (best === undefined || compareVersions(v, best) > 0 ? v : best),
    undefined,
  );

/** Highest GLIBC_x.y and GLIBCXX_x.y.z a shared object needs, from its dynamic symbols. */
export function symbolVersions(file) {
  // readelf reads ELF of any architecture (the host objdump does not know aarch64).
  const text = capture('readelf', ['--dyn-syms', '--wide', file]) ?? '';
  const undefinedRefs = text.split('\n').filter((l) => /\bUND\b/.test(l));
  const pick = (re) => undefinedRefs.flatMap((l) => [...l.matchAll(re)].map((m) => m[1]));
  const glibc = pick(/@GLIBC_(\d+(?:\.\d+)+)/g);
  const newest = maxVersion(glibc);
  return {
    glibc: newest,
    glibcxx: maxVersion(pick(/@GLIBCXX_(\d+(?:\.\d+)+)/g)),
    newestSymbols: newest
      ? undefinedRefs.flatMap(
          (l) => l.match(new RegExp(`\\S+@GLIBC_${newest.replace('.', '\\.')}\\b`)) ?? [],
        )
      : [],
  };
}

function summarize(names, opts) {
  const rows = [];
  const problems = [];
  for (const name of names) {
    const dir = path.join(root, 'prebuilds', name);
    const files = fs.existsSync(dir)
      ? fs.readdirSync(dir, { recursive: true }).filter((f) => /\.(node|so|dll)$/.test(f))
      : [];
    if (files.length === 0) problems.push(`${name}: no binaries in ${rel(dir)}`);
    for (const f of files.sort()) {
      const full = path.join(dir, f);
      const found = binaryKind(full);
      const want = `${TARGETS[name].platform === 'win32' ? 'PE' : 'ELF'} ${TARGETS[name].arch}`;
      const archOk = found === want;
      if (!archOk) problems.push(`${name}/${f}: ${found}, expected ${want}`);
      // `file` (where installed) as a second opinion for the table.
      const desc = (capture('file', ['-b', full]) ?? found).trim();
      const row = {
        file: `prebuilds/${name}/${f}`,
        size: `${(fs.statSync(full).size / 1024).toFixed(0)} KiB`,
        arch: `${archOk ? 'ok' : 'WRONG'}: ${desc.split(',').slice(0, 2).join(',')}`,
        glibc: '-',
        glibcxx: '-',
      };
      if (TARGETS[name].platform === 'linux') {
        const v = symbolVersions(full);
        row.glibc = v.glibc ?? 'none';
        row.glibcxx = v.glibcxx ?? 'none';
        if (opts.glibcMax !== 'none' && v.glibc && compareVersions(v.glibc, opts.glibcMax) > 0) {
          problems.push(
            `${row.file} needs GLIBC_${v.glibc} (${v.newestSymbols.join(', ')}), above the baseline ${opts.glibcMax}`,
          );
        }
      }
      rows.push(row);
    }
  }
  const cols = ['file', 'size', 'arch', 'glibc', 'glibcxx'];
  const head = {
    file: 'file',
    size: 'size',
    arch: 'architecture (header check: file)',
    glibc: 'GLIBC max',
    glibcxx: 'GLIBCXX max',
  };
  const width = Object.fromEntries(
    cols.map((c) => [c, Math.max(...[head, ...rows].map((r) => r[c].length))]),
  );
  const line = (r) => cols.map((c) => r[c].padEnd(width[c])).join('  ');
  console.log(`\n${line(head)}\n${cols.map((c) => '-'.repeat(width[c])).join('  ')}`);
  for (const r of rows) console.log(line(r));
  return problems;
}

// ---- main ---------------------------------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2));
const explicit = opts.targets.length > 0;
// Without --target: what this host can build (Windows targets on Windows, the rest elsewhere;
// win32-x64 is a cross build on Linux).
const wanted = explicit
  ? [...new Set(opts.targets)]
  : Object.keys(TARGETS).filter((t) =>
      onWindows ? TARGETS[t].platform === 'win32' : t !== 'win32-arm64',
    );
if (!onWindows && !opts.checkOnly && wanted.includes('win32-arm64'))
  fail('win32-arm64 builds only on Windows (MSVC): see .github/workflows/prebuild.yml');
const built = [];
const skipped = [];
const failed = [];
const timings = [];
for (const name of wanted) {
  const target = TARGETS[name];
  if (opts.checkOnly) {
    // Named targets must all be there (the CI check of the full set); others are listed.
    if (fs.existsSync(path.join(root, 'prebuilds', name))) built.push(name);
    else if (explicit) failed.push(name);
    else skipped.push(`${name}: not in prebuilds/`);
    continue;
  }
  const missing = target.tools.filter((t) => !has(t));
  if (target.script && !fs.existsSync(target.script)) missing.push(rel(target.script));
  if (missing.length > 0) {
    const why = `${name}: missing ${missing.join(', ')}`;
    if (explicit) fail(`cannot build ${why}`);
    console.warn(`prebuild: skipping ${why}`);
    skipped.push(why);
    continue;
  }
  const started = process.hrtime.bigint();
  try {
    if (target.script) buildWindowsCross(name, target);
    else buildWithPrebuildify(name, target);
    built.push(name);
  } catch (err) {
    console.error(`prebuild: ${name} failed: ${err.message}`);
    failed.push(name);
    if (!opts.keepGoing) break;
  }
  timings.push(`${name} ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`);
}

const problems = built.length > 0 ? summarize(built, opts) : [];
const verb = opts.checkOnly ? 'checked' : 'built';
const took = timings.length > 0 ? ` (${timings.join(', ')})` : '';
console.log(`\nprebuild: ${verb} ${built.join(', ') || 'nothing'}${took}`);
if (skipped.length > 0) console.log(`prebuild: skipped ${skipped.join('; ')}`);
if (opts.glibcMax !== 'none') console.log(`prebuild: glibc baseline ${opts.glibcMax}`);
for (const p of problems) console.error(`prebuild: ${p}`);
if (failed.length > 0) console.error(`prebuild: failed or missing: ${failed.join(', ')}`);
if (failed.length > 0 || problems.length > 0 || built.length === 0) process.exit(1);
