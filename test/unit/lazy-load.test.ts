/**
 * Importing the package never loads native code; without any addon a CSP op rejects with
 * ERR_MDM_UNAVAILABLE and a TPM command with ERR_TPM_UNAVAILABLE, each with a message that
 * explains. Runs in a child process on a copy of the
 * package that has no build/ and no prebuilds/.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

describe('lazy load with no addon', function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'iotdm-noaddon-'));
    cpSync(join(ROOT, 'lib'), join(dir, 'lib'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('imports without throwing and rejects ops with ERR_MDM_UNAVAILABLE', () => {
    const script = `
      const m = require('./lib/index.ts');
      const nativeLoaded = () => Object.keys(require.cache).some((k) => k.endsWith('.node'));
      const out = { imported: typeof m.Csp === 'function', nativeAfterImport: nativeLoaded() };
      new m.Csp().get('./DevDetail/SwV').then(
        () => { out.result = 'resolved'; console.log(JSON.stringify(out)); },
        (e) => {
          Object.assign(out, { name: e.name, code: e.code, message: e.message, isIotDm: e instanceof m.IotDmError });
          console.log(JSON.stringify(out));
        });`;
    const env = { ...process.env };
    delete env.WINDOWS_IOT_DM_ADDON;
    const stdout = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
      cwd: dir,
      env,
      encoding: 'utf8',
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() as string);
    assert.equal(out.imported, true);
    assert.equal(out.nativeAfterImport, false);
    assert.equal(out.code, 'ERR_MDM_UNAVAILABLE');
    assert.equal(out.name, 'MdmUnavailableError');
    assert.equal(out.isIotDm, true);
    assert.match(
      out.message,
      /Could not load the windows-iot-dm native addon for the \w+-\w+ runtime/,
    );
    assert.match(out.message, /npm run build:native/);
    assert.match(out.message, /windows-iot-dm\/testing/);
  });

  it('creates the native TPM channel without loading native code; its calls reject with ERR_TPM_UNAVAILABLE', () => {
    const script = `
      const { AddonTpm, defaultNativeTpm } = require('./lib/native/addon-tpm.ts');
      const nativeLoaded = () => Object.keys(require.cache).some((k) => k.endsWith('.node'));
      const tpm = new AddonTpm();
      const out = { nativeAfterImport: nativeLoaded(), sameDefault: defaultNativeTpm() === defaultNativeTpm() };
      out.nativeAfterCreate = nativeLoaded();
      tpm.submit(Uint8Array.from([0x80, 1, 0, 0, 0, 12, 0, 0, 1, 0x7b, 0, 8])).then(
        () => { out.result = 'resolved'; console.log(JSON.stringify(out)); },
        (e) => {
          Object.assign(out, { name: e.name, code: e.code, message: e.message });
          console.log(JSON.stringify(out));
        });`;
    const env = { ...process.env };
    delete env.WINDOWS_IOT_DM_ADDON;
    const stdout = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
      cwd: dir,
      env,
      encoding: 'utf8',
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() as string);
    assert.equal(out.nativeAfterImport, false);
    assert.equal(out.nativeAfterCreate, false);
    assert.equal(out.sameDefault, true);
    assert.equal(out.code, 'ERR_TPM_UNAVAILABLE');
    assert.equal(out.name, 'TpmUnavailableError');
    assert.match(out.message, /native addon, which is unavailable/);
    assert.match(out.message, /npm run build:native/);
  });

  it('explains a bad WINDOWS_IOT_DM_ADDON path', () => {
    const script = `require('./lib/index.ts').defaultNativeMdm().apply([{verb:'get',uri:'./DevDetail/SwV'}]).catch((e) => console.log(JSON.stringify({code: e.code, message: e.message})));`;
    const stdout = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
      cwd: dir,
      env: { ...process.env, WINDOWS_IOT_DM_ADDON: join(dir, 'nope.node') },
      encoding: 'utf8',
    });
    const out = JSON.parse(stdout.trim());
    assert.equal(out.code, 'ERR_MDM_UNAVAILABLE');
    assert.match(out.message, /Check WINDOWS_IOT_DM_ADDON/);
  });
});
