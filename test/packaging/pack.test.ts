/**
 * Packaging (issue 11): `npm pack` ships the prebuilds, no tests/fixtures/DDF data/build output,
 * no install script; the tarball installed into an empty folder loads its prebuild with no
 * compiler and no network; publint passes.
 *
 * How "installed" is done, and why: the tarball is unpacked into <tmp>/node_modules/windows-iot-dm
 * (what npm does with a tarball dependency), then `npm rebuild windows-iot-dm --offline
 * --ignore-scripts=false --foreground-scripts` runs the package's install lifecycle as npm would
 * (preinstall/install/postinstall, and the implicit `node-gyp rebuild` npm adds for a binding.gyp
 * without `"gypfile": false`) with PATH limited to node's folder and CC/CXX=false: any script or
 * compile would show in its output or fail. Dependencies come from the repo's node_modules through
 * NODE_PATH. A full `npm install <tgz> --offline` cannot be used here: better-sqlite3's own install
 * script downloads its binary, so it fails offline for reasons that are not this package's.
 *
 * Needs prebuilds/<this platform>-<arch>: made with `node scripts/prebuild.mjs --target ...` when
 * missing (minutes; the test is ~30 s when they exist). Other targets are named when absent.
 * tsc runs directly and `npm pack --ignore-scripts` skips prepack (which is the same tsc), so the
 * test controls every step and its timing.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const RUNTIME = `${process.platform}-${process.arch}`;
const ALL_TARGETS = ['linux-x64', 'linux-arm64', 'win32-x64', 'win32-arm64'];
const NPM_ENV = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' };

interface PackEntry {
  path: string;
  size: number;
}

describe('packaging: npm pack, install without compiler or network', function () {
  this.timeout(15 * 60 * 1000); // only when the host prebuild must be made first
  let work: string;
  let tarball: string;
  let files: string[];
  let manifest: Record<string, unknown>;

  before(() => {
    if (!existsSync(join(ROOT, 'prebuilds', RUNTIME, 'windows-iot-dm.node'))) {
      execFileSync(process.execPath, ['scripts/prebuild.mjs', '--target', RUNTIME], {
        cwd: ROOT,
        stdio: 'inherit',
      });
    }
    const missing = ALL_TARGETS.filter(
      (t) => !existsSync(join(ROOT, 'prebuilds', t, 'windows-iot-dm.node')),
    );
    if (missing.length > 0) console.log(`      (not in this tarball: ${missing.join(', ')})`);
    work = mkdtempSync(join(tmpdir(), 'iotdm-pack-'));
    // What prepack does (`npm run build:ts` = tsc), run directly.
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: ROOT,
        stdio: 'inherit',
      },
    );
    const out = execFileSync(
      'npm',
      ['pack', '--json', '--ignore-scripts', '--pack-destination', work],
      {
        cwd: ROOT,
        env: NPM_ENV,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const [info] = JSON.parse(out.slice(out.indexOf('['))) as [
      { filename: string; files: PackEntry[] },
    ];
    tarball = join(work, info.filename);
    files = info.files.map((f) => f.path);
    manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the code and this host prebuild', () => {
    for (const f of [
      'package.json',
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/lib/testing/index.js',
      `prebuilds/${RUNTIME}/windows-iot-dm.node`,
      'prebuilds/README.md',
    ]) {
      assert.ok(files.includes(f), `${f} missing from the tarball`);
    }
    if (process.platform !== 'win32') {
      assert.ok(files.includes(`prebuilds/${RUNTIME}/mdm_emulator.so`));
    }
  });

  it('ships no tests, fixtures, DDF data, native sources or build output', () => {
    const forbidden = [
      /^test\//,
      /(^|\/)fixtures?\//,
      /^data\//,
      /ddf/i,
      /^native\//,
      /^build\//,
      /^\.github\//,
      /^bench\//,
      /^examples\//,
      /^scripts\//,
      /^node_modules\//,
      /\.test\.[cm]?[jt]s$/,
      /\.tsbuildinfo$/,
      /(^|\/)tbs\.dll$/i,
      /^dist\/(test|bench|scripts|examples)\//,
    ];
    const shipped = files.filter((f) => forbidden.some((re) => re.test(f)));
    assert.deepEqual(shipped, [], `unexpected files in the tarball: ${shipped.join(', ')}`);
  });

  it('declares no install script and no implicit node-gyp build', () => {
    const scripts = (manifest.scripts ?? {}) as Record<string, string>;
    for (const s of ['preinstall', 'install', 'postinstall']) {
      assert.equal(scripts[s], undefined, `package.json has a "${s}" script`);
    }
    // npm adds "install": "node-gyp rebuild" for a shipped binding.gyp unless gypfile is false.
    assert.ok(!files.includes('binding.gyp') || manifest.gypfile === false);
  });

  it('installs offline with no compiler: require works and loads the prebuild, not build/', () => {
    const consumer = join(work, 'consumer');
    const pkgDir = join(consumer, 'node_modules', 'windows-iot-dm');
    mkdirSync(pkgDir, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1']);
    assert.equal(existsSync(join(pkgDir, 'build')), false);

    // PATH: a folder holding only `node` (node's own folder may be /usr/bin, next to g++).
    const bin = join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const noCompiler: NodeJS.ProcessEnv = {
      ...NPM_ENV,
      PATH: bin,
      CC: 'false',
      CXX: 'false',
      NODE_PATH: join(ROOT, 'node_modules'),
      WINDOWS_IOT_DM_EMULATOR_STATE: ':memory:',
    };
    for (const key of ['WINDOWS_IOT_DM_ADDON', 'WINDOWS_IOT_DM_MDM_LIBRARY'])
      delete noCompiler[key];
    for (const tool of ['cc', 'gcc', 'g++', 'c++', 'make', 'python3']) {
      const found = spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env: noCompiler });
      assert.notEqual(found.status, 0, `${tool} is on the test's PATH`);
    }

    const npmCli = join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'bin',
      'npm-cli.js',
    );
    const rebuild = spawnSync(
      process.execPath,
      [
        npmCli,
        'rebuild',
        'windows-iot-dm',
        '--offline',
        '--ignore-scripts=false',
        '--foreground-scripts',
      ],
      { cwd: consumer, env: noCompiler, encoding: 'utf8' },
    );
    assert.equal(rebuild.status, 0, rebuild.stderr);
    assert.doesNotMatch(
      rebuild.stdout + rebuild.stderr,
      /> windows-iot-dm@[^\n]*\b(pre|post)?install\b|node-gyp/,
    );

    const script = `
      const m = require('windows-iot-dm');
      new m.Csp().get('./DevDetail/SwV').then((swv) => {
        const natives = Object.keys(require.cache).filter((k) => k.endsWith('.node'));
        console.log(JSON.stringify({ swv, natives }));
      }, (e) => { console.error(e.message); process.exit(1); });`;
    const run = spawnSync(process.execPath, ['-e', script], {
      cwd: consumer,
      env: noCompiler,
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split('\n').pop() as string) as {
      swv: string;
      natives: string[];
    };
    assert.equal(typeof out.swv, 'string');
    assert.deepEqual(out.natives, [join(pkgDir, 'prebuilds', RUNTIME, 'windows-iot-dm.node')]);
    assert.deepEqual(readdirSync(pkgDir).includes('build'), false);
  });

  it('passes publint', () => {
    const publint = join(ROOT, 'node_modules', 'publint', 'src', 'cli.js');
    const r = spawnSync(process.execPath, [publint, 'run', tarball, '--strict'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  });
});
