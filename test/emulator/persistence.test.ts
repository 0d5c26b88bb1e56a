/**
 * Persistence of the CSP emulator through the REAL addon, across processes: each step runs in a
 * fresh `node -r tsx/cjs` child with WINDOWS_IOT_DM_EMULATOR_STATE pointing at a temporary file.
 * Values and dynamic nodes set in one process are read back in the next; the built-in device
 * profile seeds the inventory; a corrupt state file is moved aside and reported; concurrent
 * writers leave a valid file holding every write; a broken profile stops the device.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CspOp } from '../../lib';
import { makeCertificate } from '../helpers/test-certificates';

const ROOT = resolve(__dirname, '../..');
const POLICY = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart';
const WIFI = './Device/Vendor/MSFT/WiFi/Profile';
const ROOT_CA = './Device/Vendor/MSFT/RootCATrustedCertificates/Root';

/** What a child reports per batch: the results, or the error the apply rejected with. */
type BatchOutcome =
  Array<{ status: number; data?: string }> | { error: string; hresult?: number; message: string };

interface ChildRun {
  outcomes: BatchOutcome[];
  stderr: string;
  code: number | null;
}

// Runs each batch as one AddonMdm.apply, in order, in a new process.
const CHILD = `
const { AddonMdm } = require(${JSON.stringify(join(ROOT, 'lib'))});
const batches = JSON.parse(process.env.WDM_TEST_BATCHES);
(async () => {
  const mdm = new AddonMdm();
  const out = [];
  for (const ops of batches) {
    try {
      out.push((await mdm.apply(ops)).map((r) => ({ status: r.status, data: r.data })));
    } catch (e) {
      out.push({ error: e.code, hresult: e.hresult, message: e.message });
    }
  }
  process.stdout.write(JSON.stringify(out));
})();
`;

function runChild(batches: CspOp[][], env: Record<string, string | undefined>): Promise<ChildRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, WDM_TEST_BATCHES: JSON.stringify(batches) };
  delete childEnv.WINDOWS_IOT_DM_EMULATOR_STATE;
  delete childEnv.WINDOWS_IOT_DM_EMULATOR_PROFILE;
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', CHILD], {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolvePromise({ outcomes: JSON.parse(stdout) as BatchOutcome[], stderr, code });
      } catch {
        reject(new Error(`child exited ${String(code)} without results; stderr: ${stderr}`));
      }
    });
  });
}

/** The results of a batch that must have been applied. */
function results(run: ChildRun, index = 0): Array<{ status: number; data?: string }> {
  const outcome = run.outcomes[index];
  assert.ok(Array.isArray(outcome), `batch ${index} failed: ${JSON.stringify(outcome)}`);
  return outcome;
}

interface StateFile {
  format: string;
  version: number;
  generation: number;
  nodes: Record<string, string>;
  deleted: string[];
  events: Record<string, unknown>;
}

function readState(file: string): StateFile {
  return JSON.parse(readFileSync(file, 'utf8')) as StateFile;
}

describe('CSP emulator persistence across processes (real addon)', function () {
  this.timeout(60000);
  let dir: string;
  let state: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wdm-persistence-'));
    state = join(dir, 'emulator-state.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back in a fresh process the values and dynamic nodes another process set', async () => {
    // The store takes only a DER certificate under its own SHA-1 (native/emulator/certificates.h).
    const cert = makeCertificate('Persistence Test');
    const thumb = cert.thumbprint;
    const encoded = cert.der.toString('base64');
    const first = await runChild(
      [
        [
          { verb: 'add', uri: POLICY, format: 'int', data: '9' },
          {
            verb: 'add',
            uri: `${WIFI}/Persist%20Test/WlanXml`,
            format: 'chr',
            data: '<WLANProfile/>',
          },
          {
            verb: 'add',
            uri: `${ROOT_CA}/${thumb}/EncodedCertificate`,
            format: 'b64',
            data: encoded,
          },
          { verb: 'delete', uri: `${WIFI}/Contoso-Guest` },
        ],
        [{ verb: 'replace', uri: POLICY, format: 'int', data: '10' }],
      ],
      { WINDOWS_IOT_DM_EMULATOR_STATE: state },
    );
    assert.deepEqual(
      results(first).map((r) => r.status),
      [200, 200, 200, 200],
    );
    assert.equal(results(first, 1)[0]?.status, 200);
    assert.equal(first.stderr, '');

    const second = await runChild(
      [
        [
          { verb: 'get', uri: POLICY },
          { verb: 'get', uri: `${WIFI}/Persist%20Test/WlanXml` },
          { verb: 'get', uri: `${ROOT_CA}/${thumb}/EncodedCertificate` },
          { verb: 'get', uri: WIFI },
          { verb: 'get', uri: `${WIFI}/Contoso-Guest` },
        ],
      ],
      { WINDOWS_IOT_DM_EMULATOR_STATE: state },
    );
    const got = results(second);
    assert.deepEqual(
      got.map((r) => r.status),
      [200, 200, 200, 200, 404],
    );
    assert.equal(got[0]?.data, '10');
    assert.equal(got[1]?.data, '<WLANProfile/>');
    assert.equal(got[2]?.data, encoded);
    assert.deepEqual(got[3]?.data?.split('/').sort(), ['Contoso%20Devices', 'Persist%20Test']);

    const file = readState(state);
    assert.equal(file.format, 'windows-iot-dm/emulator-state');
    assert.equal(file.version, 1);
    assert.equal(
      file.generation,
      3,
      'created, then one write per changing apply; gets write nothing',
    );
    assert.equal(file.nodes[POLICY], '10');
    assert.equal(file.nodes[`${WIFI}/Persist%20Test/WlanXml`], '<WLANProfile/>');
    assert.equal(file.nodes[`${WIFI}/Contoso-Guest/WlanXml`], undefined);
  });

  it('seeds a new device from the built-in profile: updates, apps, certificates, Wi-Fi', async () => {
    const run = await runChild(
      [
        [
          { verb: 'get', uri: './Vendor/MSFT/Update/InstalledUpdates' },
          { verb: 'get', uri: './Vendor/MSFT/Update/PendingRebootUpdates' },
          {
            verb: 'get',
            uri: './Device/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement/AppStore',
          },
          { verb: 'get', uri: ROOT_CA },
          { verb: 'get', uri: './Device/Vendor/MSFT/CertificateStore/MY/User' },
          { verb: 'get', uri: `${WIFI}/Contoso%20Devices/WlanXml` },
        ],
      ],
      { WINDOWS_IOT_DM_EMULATOR_STATE: state },
    );
    const got = results(run);
    assert.ok(
      got.every((r) => r.status === 200),
      JSON.stringify(got),
    );
    assert.equal(got[0]?.data?.split('/').length, 3);
    assert.equal(got[1]?.data?.split('/').length, 1);
    assert.ok(got[2]?.data?.split('/').includes('Microsoft.WindowsCalculator_8wekyb3d8bbwe'));
    assert.match(got[3]?.data ?? '', /^[0-9A-F]{40}$/);
    assert.match(got[4]?.data ?? '', /^[0-9A-F]{40}$/);
    assert.match(got[5]?.data ?? '', /^<\?xml version='1\.0'\?><WLANProfile /);
    assert.equal(readState(state).generation, 1);
  });

  it('moves a corrupt state file aside, says so in one stderr line and starts from the profile', async () => {
    writeFileSync(state, '{"format": "windows-iot-dm/emulator-state", "nodes": {');
    const run = await runChild([[{ verb: 'get', uri: `${WIFI}/Contoso%20Devices/WlanXml` }]], {
      WINDOWS_IOT_DM_EMULATOR_STATE: state,
    });
    assert.equal(results(run)[0]?.status, 200);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(
      lines[0] as string,
      /^windows-iot-dm emulator: the state file .*emulator-state\.json is corrupt \(not valid JSON: line 1, column 55 \(byte 54\): .*\); moved it to .*emulator-state\.json\.corrupt-\d{8}T\d{6}Z and started a new state from the device profile$/,
    );
    const moved = readdirSync(dir).filter((name) =>
      name.startsWith('emulator-state.json.corrupt-'),
    );
    assert.equal(moved.length, 1);
    assert.equal(
      readFileSync(join(dir, moved[0] as string), 'utf8'),
      '{"format": "windows-iot-dm/emulator-state", "nodes": {',
    );
    const recovered = readState(state).events.recovered as {
      file: string;
      reason: string;
      at: string;
    };
    assert.equal(recovered.file, join(dir, moved[0] as string));
    assert.match(recovered.reason, /^not valid JSON/);
    assert.match(recovered.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('keeps every write of two processes writing at the same time, and a valid file throughout', async () => {
    await runChild([[{ verb: 'get', uri: './DevDetail/SwV' }]], {
      WINDOWS_IOT_DM_EMULATOR_STATE: state,
    });
    const before = readState(state).generation;
    const perProcess = 25;
    const writer = (name: string) =>
      runChild(
        Array.from({ length: perProcess }, (_, i) => [
          { verb: 'add', uri: `${WIFI}/${name}-${i}/WlanXml`, format: 'chr', data: `${name} ${i}` },
        ]),
        { WINDOWS_IOT_DM_EMULATOR_STATE: state },
      );
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        const file = readState(state); // throws if a reader ever saw a partial file
        assert.equal(file.format, 'windows-iot-dm/emulator-state');
        reads++;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const runs = await Promise.all([writer('A'), writer('B')]);
    reading = false;
    await reader;
    assert.ok(reads > 0);
    for (const run of runs) {
      assert.equal(run.stderr, '');
      assert.ok(run.outcomes.every((o) => Array.isArray(o) && o[0]?.status === 200));
    }
    const file = readState(state);
    assert.equal(file.generation, before + 2 * perProcess);
    for (const name of ['A', 'B']) {
      for (let i = 0; i < perProcess; i++) {
        assert.equal(file.nodes[`${WIFI}/${name}-${i}/WlanXml`], `${name} ${i}`);
      }
    }
    const check = await runChild([[{ verb: 'get', uri: WIFI }]], {
      WINDOWS_IOT_DM_EMULATOR_STATE: state,
    });
    assert.equal(results(check)[0]?.data?.split('/').length, 2 * perProcess + 2);
  });

  it('refuses to start the device on a broken profile, with the reason on stderr', async () => {
    const profile = join(dir, 'profile.json');
    writeFileSync(
      profile,
      JSON.stringify({
        format: 'windows-iot-dm/emulator-profile',
        version: 1,
        nodes: { './Device/Vendor/MSFT/NoSuchCsp/Thing': 'x' },
      }),
    );
    const run = await runChild([[{ verb: 'get', uri: './DevDetail/SwV' }]], {
      WINDOWS_IOT_DM_EMULATOR_STATE: state,
      WINDOWS_IOT_DM_EMULATOR_PROFILE: profile,
    });
    const outcome = run.outcomes[0] as { error: string; hresult?: number; message: string };
    assert.equal(outcome.hresult, 0x8007064a, JSON.stringify(outcome));
    assert.match(
      run.stderr,
      /windows-iot-dm emulator: device profile .*profile\.json: nodes\["\.\/Device\/Vendor\/MSFT\/NoSuchCsp\/Thing"\] .*not a node of the schema; the emulated device does not start \(HRESULT 0x8007064A\)/,
    );
    assert.equal(existsSync(state), false, 'no state is written for a device that did not start');
  });

  it('uses $XDG_STATE_HOME/windows-iot-dm/emulator-state.json by default, and no file with :memory:', async () => {
    const xdg = join(dir, 'xdg');
    const set = await runChild([[{ verb: 'add', uri: POLICY, format: 'int', data: '7' }]], {
      XDG_STATE_HOME: xdg,
    });
    assert.equal(results(set)[0]?.status, 200);
    assert.equal(readState(join(xdg, 'windows-iot-dm', 'emulator-state.json')).nodes[POLICY], '7');

    const home = join(dir, 'home');
    const memory = await runChild(
      [[{ verb: 'add', uri: POLICY, format: 'int', data: '7' }], [{ verb: 'get', uri: POLICY }]],
      { WINDOWS_IOT_DM_EMULATOR_STATE: ':memory:', HOME: home, XDG_STATE_HOME: undefined },
    );
    assert.equal(results(memory, 1)[0]?.data, '7');
    assert.equal(existsSync(home), false);
  });
});
