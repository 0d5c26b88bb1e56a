/**
 * Device Health Attestation end to end: local hub + real azure-iot-device SDK (MQTT) + addon +
 * CSP emulator on the device side; on the service side, in this process, `AttestService` reading
 * the hub's `GET /messages/events`, the real azure-iothub SDK (Registry, Client) pointed at the
 * hub by `trustServiceEndpoint`, the local HAS and a SQLite report store. The device's Secure
 * Boot state is set in the emulator's state file (DeviceStatus/SecureBootState, as a device
 * profile sets it).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as ServiceClient, Registry } from 'azure-iothub';
import { LocalHubD2CSource } from '../../lib/attest/d2c-source';
import { HttpHasClient } from '../../lib/attest/has-client';
import { parseServiceConnectionString, trustServiceEndpoint } from '../../lib/attest/hub-endpoint';
import { LocalHas } from '../../lib/attest/local-has';
import { DEFAULT_POLICY } from '../../lib/attest/policy';
import { ReportStore, type StoredReport } from '../../lib/attest/report-store';
import { AttestService } from '../../lib/attest/service';
import { silentLogger } from '../../lib/dm/logger';
import { createHealthAttestationHandlers } from '../../lib/features/health-attestation';
import { createResetWipeHandlers } from '../../lib/features/reset-wipe';
import { MockSystem } from '../../lib/testing/mock-system';
import { DmEnv, readNode, useDmEnv, waitFor } from '../dm/helpers';
import { emulatorCounts, invoke } from './reboot-e2e-helpers';

type AnyObject = Record<string, unknown>;
const SECURE_BOOT = './Device/Vendor/MSFT/DeviceStatus/SecureBootState';

/**
 * Sets (or with `undefined` removes) the SecureBootState value in the emulator's state file, as
 * a device profile would; written to a new file renamed over the old one, so the emulator
 * reloads it at its next operation. Only while no operation runs.
 */
async function setSecureBoot(value: '1' | '2' | undefined): Promise<void> {
  await readNode(SECURE_BOOT); // the state file exists after an operation
  const file = process.env.WINDOWS_IOT_DM_EMULATOR_STATE as string;
  assert.ok(existsSync(file), 'emulator state file');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Record<string, string> };
  if (value === undefined) delete doc.nodes[SECURE_BOOT];
  else doc.nodes[SECURE_BOOT] = value;
  writeFileSync(`${file}.dha-tmp`, JSON.stringify(doc, null, 2));
  renameSync(`${file}.dha-tmp`, file);
  if (value !== undefined) assert.equal(String(await readNode(SECURE_BOOT)), value);
}

describe('features: device health attestation (end to end, emulator + attest service)', function () {
  this.timeout(40000);
  let env!: DmEnv;
  useDmEnv((e) => (env = e));

  let dir: string;
  let has: LocalHas;
  let store: ReportStore;
  let service: AttestService;
  let serviceClient: ServiceClient;
  const reports: StoredReport[] = [];
  const remediations: AnyObject[] = [];
  const rejected: AnyObject[] = [];
  const nonces: Array<[string, string]> = [];

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-dha-'));
    has = await LocalHas.start();
    store = new ReportStore(path.join(dir, 'attest.db'));
    const endpoint = parseServiceConnectionString(env.hub.connectionString, env.hub.tls.caCertPem);
    serviceClient = trustServiceEndpoint(
      ServiceClient.fromConnectionString(env.hub.connectionString),
      endpoint,
    );
    service = new AttestService({
      source: new LocalHubD2CSource({ endpoint, logger: silentLogger(), waitMs: 2000 }),
      registry: trustServiceEndpoint(
        Registry.fromConnectionString(env.hub.connectionString),
        endpoint,
      ),
      client: serviceClient,
      has: new HttpHasClient({ url: has.url }),
      store,
      policy: DEFAULT_POLICY,
      logger: silentLogger(),
    });
    reports.length = 0;
    remediations.length = 0;
    rejected.length = 0;
    nonces.length = 0;
    service.on('report', (r: StoredReport) => reports.push(r));
    service.on('remediation', (r: AnyObject) => remediations.push(r));
    service.on('rejected', (r: AnyObject) => rejected.push(r));
    service.on('nonce', (id: string, n: string) => nonces.push([id, n]));
    const last = env.hub.core.store.listD2C({ afterSeq: 0, limit: 100_000 }).at(-1)?.seq ?? 0;
    service.start(last);
  });
  afterEach(async () => {
    await service.close();
    await serviceClient.close().catch(() => undefined);
    await has.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
    await setSecureBoot(undefined);
  });

  async function device(id: string): Promise<void> {
    const client = await env.openDevice(id);
    await env.attach(client, {
      handlers: [
        createHealthAttestationHandlers({ pollMs: 10 }),
        ...createResetWipeHandlers({ system: new MockSystem() }),
      ],
      isRebootAllowed: () => true,
    });
    await env.waitForSubscriptions(id);
  }

  it('VerifyHealth reported; reportNow → nonce → GetReport → validated report stored; secure boot on: no remediation', async () => {
    await setSecureBoot('1');
    const id = 'dha-ok';
    await device(id);
    env.setWindows(id, {
      deviceHealthAttestation: { Endpoint: 'has.contoso.test', ReportIntervalInSeconds: '-1' },
    });
    const sec = await env.waitForState(id, 'deviceHealthAttestation', 'completed');
    assert.equal(sec.status, 'VerifyHealth Success');
    assert.equal(sec.Endpoint, 'has.contoso.test');
    assert.equal(sec.ReportIntervalInSeconds, -1);
    const wipes = emulatorCounts().wipes;

    const r = await invoke(env, id, 'windows.deviceHealthAttestationReportNow');
    assert.equal(r.status, 200, JSON.stringify(r.payload));
    assert.deepEqual(r.payload, { response: 'succeeded', reason: '' });
    await waitFor(() => reports.length === 1, 15000, 'health report stored');
    const report = reports[0] as StoredReport;
    assert.equal(report.deviceId, id);
    assert.equal(report.valid, true, JSON.stringify(report.report));
    assert.equal(report.secureBoot, true);
    assert.deepEqual(nonces, [[id, report.nonce]]);
    assert.match(report.correlationId, /^[0-9a-f-]{36}$/i);
    const props = (report.report as AnyObject).HealthCertificateProperties as AnyObject;
    assert.equal(props.SecureBootEnabled, true);
    assert.equal(props.CorrelationID, report.correlationId);
    // In SQLite.
    const stored = store.reports(id);
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.nonce, report.nonce);
    // The device reported the step; nothing was remediated.
    await waitFor(
      () => env.section(id, 'deviceHealthAttestation')?.status === 'Reported',
      8000,
      'status Reported',
    );
    assert.deepEqual(remediations, []);
    assert.equal(emulatorCounts().wipes, wipes);

    // The same report again (a replay) is refused: the nonce was used.
    const msg = env.hub.core.store
      .listD2C({ deviceId: id, afterSeq: 0, limit: 1000 })
      .filter((m) => m.properties.MessageType === 'DHA-HealthReport')
      .at(-1);
    assert.ok(msg);
    await service.handle({ ...msg, body: msg.body });
    assert.deepEqual(rejected.at(-1), { deviceId: id, reason: 'nonce used' });
    assert.equal(store.reports(id).length, 1);
  });

  it('secure boot off, interval 0: the nonce request at start leads to a stored report and a factory reset', async () => {
    await setSecureBoot('2');
    const id = 'dha-sb-off';
    await device(id);
    const wipes = emulatorCounts().wipes;
    env.setWindows(id, { deviceHealthAttestation: { Endpoint: '', ReportIntervalInSeconds: 0 } });
    await env.waitForState(id, 'deviceHealthAttestation', 'completed');
    await waitFor(() => remediations.length === 1, 20000, 'remediation');
    const report = reports[0] as StoredReport;
    assert.equal(report.valid, true, JSON.stringify(report.report));
    assert.equal(report.secureBoot, false);
    assert.deepEqual(remediations[0], {
      deviceId: id,
      rule: 'secure-boot-off',
      method: 'windows.startFactoryResetAsync',
      status: 200,
    });
    assert.equal(store.reports(id)[0]?.secureBoot, false);
    // The device carried out the reset (emulator: doWipe recorded) and reported it.
    assert.equal(emulatorCounts().wipes, wipes + 1);
    await waitFor(
      () => (env.section(id, 'factoryReset') as AnyObject | undefined)?.response === 'started',
      8000,
      'factoryReset started',
    );
  });

  it('every interval: each scheduled nonce request gets its own nonce and stored report; -1 stops it', async () => {
    await setSecureBoot('1');
    const id = 'dha-every';
    await device(id);
    env.setWindows(id, { deviceHealthAttestation: { Endpoint: '', ReportIntervalInSeconds: '1' } });
    await env.waitForState(id, 'deviceHealthAttestation', 'completed');
    await waitFor(() => store.reports(id).length >= 2, 15000, 'two scheduled reports');
    const stored = store.reports(id);
    assert.ok(stored.every((r) => r.valid && r.secureBoot === true));
    assert.notEqual(stored[0]?.nonce, stored[1]?.nonce);
    env.setWindows(id, { deviceHealthAttestation: { Endpoint: '', ReportIntervalInSeconds: -1 } });
    await waitFor(
      () => env.section(id, 'deviceHealthAttestation')?.ReportIntervalInSeconds === -1,
      8000,
      'schedule off',
    );
    await new Promise((r) => setTimeout(r, 500)); // a request sent just before reaches the service
    const count = nonces.length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(nonces.length, count, 'no request after -1');
    assert.deepEqual(remediations, []);
  });

  it('a bad interval fails the section (400); a bad nonce answers 400', async () => {
    const id = 'dha-bad';
    await device(id);
    env.setWindows(id, { deviceHealthAttestation: { ReportIntervalInSeconds: 'soon' } });
    const sec = await env.waitForState(id, 'deviceHealthAttestation', 'failed');
    assert.equal((sec.lastChange as AnyObject).errCode, 400);
    const bad = await invoke(env, id, 'windows.deviceHealthAttestationGetReport', { Nonce: 'xyz' });
    assert.equal(bad.status, 400);
  });
});
