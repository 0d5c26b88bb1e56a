/**
 * Device-backed behaviour of the CSP emulator through the REAL addon (native/emulator/
 * behaviors.h): DevDetail/DevInfo/DeviceStatus values that come from this host, RebootNow and
 * RemoteWipe recorded as events in the persisted state file (never performed), Reboot/Schedule
 * times validated as ISO 8601 with whole seconds, and the HealthAttestation sequence.
 *
 * The host-identity checks run in a fresh child process on its own state file, so that names
 * replaced by other tests in this process cannot leak in; the rest runs here, on the state file
 * of this mocha run (WINDOWS_IOT_DM_EMULATOR_STATE, see test/helpers/emulator-state.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { AddonMdm, Csp, CspError, CspTransactionError } from '../../lib';

const ROOT = resolve(__dirname, '../..');
const MS = './DevDetail/Ext/Microsoft';
const STATUS = './Device/Vendor/MSFT/DeviceStatus';
const REBOOT = './Device/Vendor/MSFT/Reboot';
const SINGLE = `${REBOOT}/Schedule/Single`;
const DAILY = `${REBOOT}/Schedule/DailyRecurrent`;
const WIPE = './Device/Vendor/MSFT/RemoteWipe';
const HA = './Device/Vendor/MSFT/HealthAttestation';
const GUID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

// Windows PROCESSOR_ARCHITECTURE for Node's process.arch.
const ARCHITECTURE: Record<string, number> = { x64: 9, arm64: 12, arm: 5, ia32: 0 };

const IDENTITY_URIS = [
  `${MS}/DeviceName`,
  `${MS}/DNSComputerName`,
  `${MS}/TotalRAM`,
  `${MS}/TotalStorage`,
  `${MS}/FreeStorage`,
  `${MS}/ProcessorArchitecture`,
  `${MS}/LocalTime`,
  `${MS}/OSPlatform`,
  './DevDetail/SwV',
  './DevInfo/DevId',
  `${MS}/SMBIOSSerialNumber`,
];

// Gets IDENTITY_URIS with a new AddonMdm in a new process on a new state file.
const CHILD = `
const { AddonMdm } = require(${JSON.stringify(join(ROOT, 'lib'))});
(async () => {
  const uris = JSON.parse(process.env.WDM_TEST_URIS);
  const results = await new AddonMdm().apply(uris.map((uri) => ({ verb: 'get', uri })));
  process.stdout.write(JSON.stringify(results.map((r) => ({ status: r.status, data: r.data }))));
})();
`;

function freshDeviceValues(stateFile: string): Promise<Map<string, string>> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WINDOWS_IOT_DM_EMULATOR_STATE: stateFile,
    WDM_TEST_URIS: JSON.stringify(IDENTITY_URIS),
  };
  delete env.WINDOWS_IOT_DM_EMULATOR_PROFILE;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', CHILD], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        const results = JSON.parse(stdout) as Array<{ status: number; data?: string }>;
        const values = new Map<string, string>();
        results.forEach((r, i) => {
          assert.equal(r.status, 200, `${IDENTITY_URIS[i]}: ${r.status}`);
          values.set(IDENTITY_URIS[i] as string, r.data ?? '');
        });
        resolvePromise(values);
      } catch (err) {
        reject(new Error(`child exited ${String(code)}: ${String(err)}; stderr: ${stderr}`));
      }
    });
  });
}

interface DeviceEvents {
  reboot?: { count: number; last: string };
  wipe?: { count: number; status: number; lastError: number };
  log?: Array<{ kind: string; command: string; uri: string; time: string; data?: string }>;
}

/** The behaviours' events in the state file of this process (state_store.h). */
function stateEvents(): DeviceEvents {
  const file = process.env.WINDOWS_IOT_DM_EMULATOR_STATE;
  assert.ok(file && file !== ':memory:', 'the tests run on a state file');
  if (!existsSync(file)) return {};
  return (JSON.parse(readFileSync(file, 'utf8')) as { events?: DeviceEvents }).events ?? {};
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (err) {
    if (err instanceof CspError) return err.status as number;
    throw err;
  }
}

describe('CSP emulator device behaviour (real addon)', () => {
  const csp = new Csp(new AddonMdm());

  describe('host-derived values (fresh device in a child process)', () => {
    let dir: string;
    let values: Map<string, string>;
    before(async function () {
      this.timeout(60000);
      dir = mkdtempSync(join(os.tmpdir(), 'wdm-device-test-'));
      values = await freshDeviceValues(join(dir, 'state.json'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));
    const value = (uri: string) => values.get(uri) as string;

    it('DeviceName and DNSComputerName are the host name', () => {
      assert.equal(value(`${MS}/DeviceName`), os.hostname());
      assert.equal(value(`${MS}/DNSComputerName`), os.hostname());
    });

    it('TotalRAM is os.totalmem() in MB (+-1); storage is in MB', () => {
      const mb = Math.floor(os.totalmem() / (1024 * 1024));
      assert.ok(Math.abs(Number(value(`${MS}/TotalRAM`)) - mb) <= 1, value(`${MS}/TotalRAM`));
      const total = Number(value(`${MS}/TotalStorage`));
      const free = Number(value(`${MS}/FreeStorage`));
      assert.ok(Number.isInteger(total) && total > 0 && free >= 0 && free <= total);
    });

    it('ProcessorArchitecture is the Windows number for process.arch', function () {
      const expected = ARCHITECTURE[process.arch];
      if (expected === undefined) this.skip();
      assert.equal(Number(value(`${MS}/ProcessorArchitecture`)), expected);
    });

    it('SwV is the kernel release as Major.Minor.Build.QFE; LocalTime is now', () => {
      const swv = value('./DevDetail/SwV');
      assert.match(swv, /^\d+\.\d+\.\d+\.\d+$/);
      const release = (os.release().match(/\d+/g) ?? []).slice(0, 3).join('.');
      if (process.platform === 'linux') assert.ok(swv.startsWith(release), `${swv} vs ${release}`);
      const local = value(`${MS}/LocalTime`);
      assert.match(local, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/);
      assert.ok(Math.abs(Date.parse(local) - Date.now()) < 120000, local);
      assert.ok(value(`${MS}/OSPlatform`).length > 0);
    });

    it('DevId is a stable GUID that does not expose the machine id', async function () {
      this.timeout(60000);
      const devId = value('./DevInfo/DevId');
      assert.match(devId, GUID);
      if (existsSync('/etc/machine-id')) {
        const machineId = readFileSync('/etc/machine-id', 'utf8').trim().toUpperCase();
        assert.ok(!devId.replace(/-/g, '').includes(machineId.slice(0, 12)));
      }
      const again = await freshDeviceValues(join(dir, 'other-state.json'));
      assert.equal(again.get('./DevInfo/DevId'), devId);
      assert.equal(again.get(`${MS}/SMBIOSSerialNumber`), value(`${MS}/SMBIOSSerialNumber`));
    });
  });

  it('lists network cards by MAC with the addresses Node sees', async () => {
    const listed = (await csp.get(`${STATUS}/NetworkIdentifiers`)) as string[];
    const cards = new Map<string, Set<string>>();
    for (const addresses of Object.values(os.networkInterfaces())) {
      for (const a of addresses ?? []) {
        if (a.internal || a.mac === '00:00:00:00:00:00') continue;
        const mac = a.mac.replace(/:/g, '').toUpperCase();
        if (!cards.has(mac)) cards.set(mac, new Set());
        if (a.family === 'IPv4') cards.get(mac)?.add(a.address);
      }
    }
    for (const [mac, ipv4] of cards) {
      assert.ok(listed.includes(mac), `${mac} in ${listed.join('/')}`);
      const got = await csp.get(`${STATUS}/NetworkIdentifiers/${mac}/IPAddressV4`);
      if (ipv4.size > 0) assert.ok(ipv4.has(got as string), `${String(got)} in ${[...ipv4]}`);
      assert.equal(
        typeof (await csp.get(`${STATUS}/NetworkIdentifiers/${mac}/IsConnected`)),
        'boolean',
      );
    }
  });

  it('DeviceStatus answers in the DDF formats', async () => {
    assert.ok([0, 1, 2].includes((await csp.get(`${STATUS}/SecureBootState`)) as number));
    assert.equal(await csp.get(`${STATUS}/OS/Mode`), 0);
    const battery = (await csp.get(`${STATUS}/Battery/Status`)) as number;
    assert.ok(Number.isInteger(battery));
    const tpm = await csp.get(`${STATUS}/TPM/SpecificationVersion`);
    const ready = await csp.get(`${HA}/TpmReadyStatus`);
    assert.equal(ready, tpm === 'Not available' ? 0 : 1);
  });

  it('RebootNow increments the persisted reboot counter and never reboots', async () => {
    const before = stateEvents().reboot?.count ?? 0;
    assert.equal((await csp.exec(`${REBOOT}/RebootNow`)).status, 200);
    const events = stateEvents();
    assert.equal(events.reboot?.count, before + 1);
    assert.ok(Math.abs(Date.parse(events.reboot?.last ?? '') - Date.now()) < 120000);
    const last = events.log?.at(-1);
    assert.equal(last?.kind, 'reboot');
    assert.equal(last?.command, 'RebootNow');
    // Inside a failed Atomic the event is rolled back with everything else.
    const err = await csp
      .transaction((tx) => {
        tx.exec(`${REBOOT}/RebootNow`);
        tx.replace('./DevDetail/SwV', 'nope');
      })
      .then(
        () => assert.fail('transaction should fail'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof CspTransactionError);
    assert.deepEqual(
      err.results.map((r) => r.status),
      [216, 405],
    );
    assert.equal(stateEvents().reboot?.count, before + 1);
  });

  it('schedule times are ISO 8601 date-times with whole seconds (else 400)', async () => {
    await statusOf(csp.delete(SINGLE));
    await statusOf(csp.delete(DAILY));
    assert.equal(await statusOf(csp.add(SINGLE, '2026-01-01T03:00:00.5Z')), 400);
    assert.equal(await statusOf(csp.get(SINGLE)), 404, 'a refused Add leaves no node');
    assert.equal((await csp.add(SINGLE, '2026-01-01T03:00:00')).status, 200);
    for (const bad of [
      '2026-01-01T03:00:00.000',
      '2026-01-01T03:00:00,5',
      '2026-01-01',
      '2026-01-01 03:00:00',
      '2026-02-30T03:00:00',
      '2026-01-01T03:00:00+1:00',
      'tomorrow',
    ]) {
      assert.equal(await statusOf(csp.replace(SINGLE, bad)), 400, bad);
    }
    assert.equal(await csp.get(SINGLE), '2026-01-01T03:00:00');
    assert.equal((await csp.replace(SINGLE, '2026-07-01T03:00:00+02:00')).status, 200);
    assert.equal((await csp.replace(SINGLE, '2026-07-01T03:00:00Z')).status, 200);
    assert.equal((await csp.add(DAILY, '03:00:00')).status, 200);
    assert.equal(await statusOf(csp.replace(DAILY, '03:00:00.25')), 400);
    // A bad time fails an Atomic and rolls back the RebootNow before it.
    const before = stateEvents().reboot?.count ?? 0;
    const err = await csp
      .transaction((tx) => {
        tx.exec(`${REBOOT}/RebootNow`);
        tx.replace(SINGLE, '2026-08-01T03:00:00.9');
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof CspTransactionError);
    assert.equal(err.failed?.status, 400);
    assert.equal(stateEvents().reboot?.count, before);
    assert.equal(await csp.get(SINGLE), '2026-07-01T03:00:00Z');
    await csp.delete(SINGLE);
    await csp.delete(DAILY);
  });

  it('RemoteWipe is recorded with its command and data, and reported by the status nodes', async () => {
    const before = stateEvents().wipe?.count ?? 0;
    assert.equal((await csp.exec(`${WIPE}/doWipeProtected`, '1')).status, 200);
    const events = stateEvents();
    assert.equal(events.wipe?.count, before + 1);
    const last = events.log?.at(-1);
    assert.equal(last?.kind, 'wipe');
    assert.equal(last?.command, 'doWipeProtected');
    assert.equal(last?.data, '1');
    assert.equal(await csp.get(`${WIPE}/AutomaticRedeployment/Status`), 10);
    assert.equal(await csp.get(`${WIPE}/AutomaticRedeployment/LastError`), 0);
    await csp.exec(`${REBOOT}/RebootNow`);
    assert.equal(await csp.get(`${WIPE}/AutomaticRedeployment/Status`), 1);
  });

  it('HealthAttestation: VerifyHealth, Status 1 then 3, then an emulated certificate', async () => {
    await csp.replace(`${HA}/HASEndpoint`, 'has.spserv.microsoft.com.');
    assert.equal(await statusOf(csp.replace(`${HA}/Nonce`, 'not hex')), 400);
    assert.equal(await statusOf(csp.replace(`${HA}/Nonce`, 'abcd')), 400); // < 8 bytes
    const nonce = '0123456789ABCDEF0123456789ABCDEF';
    await csp.replace(`${HA}/Nonce`, nonce);
    await csp.exec(`${HA}/VerifyHealth`);
    const correlation = await csp.get(`${HA}/CorrelationID`);
    assert.match(correlation as string, GUID);
    assert.equal(await statusOf(csp.get(`${HA}/Certificate`)), 404, 'not ready before Status 3');
    assert.equal(await csp.get(`${HA}/Status`), 1);
    assert.equal(await csp.get(`${HA}/Status`), 3);
    assert.equal(await csp.get(`${HA}/Status`), 3);
    const certificate = (await csp.get(`${HA}/Certificate`)) as string;
    const text = Buffer.from(certificate, 'base64').toString('utf8');
    assert.ok(text.startsWith('EMULATED DHA-Data'), text);
    assert.ok(text.includes(`Nonce: ${nonce}\n`));
    assert.ok(text.includes(`CorrelationID: ${String(correlation)}\n`));
    assert.equal(await csp.get(`${HA}/Certificate`), certificate, 'deterministic');
    // A new request gets a new correlation id.
    await csp.exec(`${HA}/VerifyHealth`);
    assert.notEqual(await csp.get(`${HA}/CorrelationID`), correlation);
    // Without an endpoint the request fails at once.
    await csp.replace(`${HA}/HASEndpoint`, '');
    await csp.exec(`${HA}/VerifyHealth`);
    assert.equal(await csp.get(`${HA}/Status`), 404);
    assert.equal(await statusOf(csp.get(`${HA}/Certificate`)), 404);
    assert.equal(await statusOf(csp.replace(`${HA}/HASEndpoint`, 'https://has.example')), 400);
    await csp.replace(`${HA}/HASEndpoint`, 'has.spserv.microsoft.com.');
  });
});
