/**
 * Load failures explain themselves (lib/native/load.ts explainLoadFailure): the folders looked in
 * and what they hold, platform/arch/libc, the prebuilds the package ships, what to do. Real
 * failures: node-gyp-build on a temporary package root, require() of a missing or non-ELF file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MdmUnavailableError } from '../../lib/errors';
import { explainLoadFailure, loadAddon, runtimeLibc } from '../../lib/native/load';

const RUNTIME = `${process.platform}-${process.arch}`;
const OTHER = process.arch === 'arm64' ? `${process.platform}-x64` : `${process.platform}-arm64`;

/** node-gyp-build's own error for `root`. */
function nodeGypBuildError(root: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as { resolve: (dir: string) => string };
  try {
    return `resolved ${nodeGypBuild.resolve(root)}`;
  } catch (err) {
    return err;
  }
}

describe('native load failures explain themselves', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'iotdm-loadfail-'));
    writeFileSync(join(root, 'package.json'), '{"name":"windows-iot-dm"}\n');
    mkdirSync(join(root, 'prebuilds', OTHER), { recursive: true });
    writeFileSync(join(root, 'prebuilds', OTHER, 'windows-iot-dm.node'), '');
    writeFileSync(join(root, 'prebuilds', 'README.md'), 'doc\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('no prebuild for this runtime: names the folders, the runtime, what ships and what to do', () => {
    const err = nodeGypBuildError(root);
    assert.ok(err instanceof Error, String(err));
    const message = explainLoadFailure(err, undefined, root);
    assert.match(message, new RegExp(`for the ${RUNTIME} runtime \\(Node ${process.version}`));
    assert.match(message, /Reason: No native build was found for platform=/);
    assert.ok(message.includes(`${join(root, 'build', 'Release')}: (missing)`), message);
    assert.ok(message.includes(`${join(root, 'prebuilds', RUNTIME)}: (missing)`), message);
    assert.ok(message.includes(`Prebuilds in this package: ${OTHER}.`), message);
    assert.match(message, new RegExp(`No prebuilt binary ships for ${RUNTIME}`));
    assert.match(message, /npm run build:native/);
    assert.match(message, /WINDOWS_IOT_DM_ADDON/);
    if (process.platform === 'linux') {
      assert.match(runtimeLibc() ?? '', /^(glibc \d+\.\d+|musl)$/);
      assert.ok(message.includes(`, ${runtimeLibc()})`), message);
    }
  });

  it('a prebuild folder without a loadable .node: lists its files and says to reinstall', () => {
    mkdirSync(join(root, 'prebuilds', RUNTIME));
    writeFileSync(join(root, 'prebuilds', RUNTIME, 'mdm_emulator.so'), '');
    const err = nodeGypBuildError(root);
    assert.ok(err instanceof Error, String(err));
    const message = explainLoadFailure(err, undefined, root);
    assert.ok(message.includes(`${join(root, 'prebuilds', RUNTIME)}: mdm_emulator.so`), message);
    assert.ok(
      message.includes(`Prebuilds in this package: ${[RUNTIME, OTHER].sort().join(', ')}.`),
    );
    assert.match(message, new RegExp(`prebuilds/${RUNTIME} is there but has no loadable`));
  });

  it('a missing explicit addon path: MdmUnavailableError naming the file', () => {
    const missing = join(root, 'nowhere', 'windows_iot_dm.node');
    assert.throws(
      () => loadAddon(missing),
      (err: unknown) => {
        assert.ok(err instanceof MdmUnavailableError);
        assert.equal(err.code, 'ERR_MDM_UNAVAILABLE');
        assert.ok(err.message.includes(`Looked for: ${missing}`), err.message);
        assert.match(err.message, new RegExp(`${RUNTIME} runtime`));
        assert.match(err.message, /Check WINDOWS_IOT_DM_ADDON \/ addonPath/);
        return true;
      },
    );
  });

  it('a file that is not a shared object for this platform: says so', function () {
    if (process.platform === 'win32') this.skip(); // the message differs on Windows
    const bogus = join(root, 'bogus.node');
    writeFileSync(bogus, 'not an ELF file\n'.repeat(32));
    assert.throws(
      () => loadAddon(bogus),
      (err: unknown) => {
        assert.ok(err instanceof MdmUnavailableError);
        assert.match(err.message, /Reason: .*invalid ELF header/);
        assert.match(err.message, /for another platform or architecture/);
        return true;
      },
    );
  });
});
