/**
 * Windows x64 under wine (scripts/test-windows.sh): the emulator DLL's state file on Windows
 * (native/emulator/state_file_os.cc): the default location %LOCALAPPDATA%\windows-iot-dm\
 * emulator-state.json, and a value written by one node.exe process read back by the next (file
 * replaced with MoveFileExW, LockFileEx on "<state>.lock", change detection by file index).
 * Child processes write to files, never pipes (wine's node.exe cannot write to a pipe).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const LIB = resolve(__dirname, '../../lib');
const POLICY = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart';

/** Runs `code` in a new node.exe with `env` (and the Csp of lib/ as `csp`); its output. */
function child(code: string, env: NodeJS.ProcessEnv, dir: string): string {
  const outPath = join(dir, `child-${Date.now()}-${Math.random()}.txt`);
  const out = openSync(outPath, 'w');
  const script = `const { AddonMdm, Csp } = require(${JSON.stringify(LIB)});
const csp = new Csp(new AddonMdm());
(async () => { ${code} })().catch((e) => { console.log('ERROR ' + e.message); process.exitCode = 1; });`;
  const result = spawnSync(process.execPath, ['-e', script], { env, stdio: ['ignore', out, out] });
  closeSync(out);
  const text = readFileSync(outPath, 'utf8');
  assert.equal(result.status, 0, text);
  return text.trim();
}

describe('win32 under wine: the emulator state file', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wdm-wine-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to %LOCALAPPDATA%\\windows-iot-dm\\emulator-state.json', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, LOCALAPPDATA: dir };
    delete env.WINDOWS_IOT_DM_EMULATOR_STATE;
    assert.equal(
      child(`console.log((await csp.getResult('./DevDetail/SwV')).status);`, env, dir),
      '200',
    );
    const state = join(dir, 'windows-iot-dm', 'emulator-state.json');
    assert.ok(existsSync(state), `${state} exists`);
    assert.equal(JSON.parse(readFileSync(state, 'utf8')).format, 'windows-iot-dm/emulator-state');
  });

  it('keeps a value across processes', () => {
    const env = { ...process.env, WINDOWS_IOT_DM_EMULATOR_STATE: join(dir, 'state.json') };
    child(
      `await csp.delete(${JSON.stringify(POLICY)}).catch(() => {});\nawait csp.add(${JSON.stringify(POLICY)}, 13);`,
      env,
      dir,
    );
    assert.equal(child(`console.log(await csp.get(${JSON.stringify(POLICY)}));`, env, dir), '13');
    child(`await csp.replace(${JSON.stringify(POLICY)}, 9);`, env, dir);
    assert.equal(child(`console.log(await csp.get(${JSON.stringify(POLICY)}));`, env, dir), '9');
  });
});
