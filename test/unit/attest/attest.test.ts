/**
 * The attestation service's parts without a hub: the local HAS's validation (digest, nonce,
 * correlation id, endpoint, freshness, malformed input) and its HTTP front; the SQLite store's
 * nonce rules; the remediation policy; `AttestService` over fakes (nonce → GetReport; report →
 * nonce check, twin endpoint, HAS, store, remediation; every refusal).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { D2CMessage, D2CSource } from '../../../lib/attest/d2c-source';
import { HttpHasClient } from '../../../lib/attest/has-client';
import { parseServiceConnectionString } from '../../../lib/attest/hub-endpoint';
import {
  HAS_ERRORS,
  LocalHas,
  VALIDATE_PATH,
  validateHealthCertificate,
} from '../../../lib/attest/local-has';
import { DEFAULT_POLICY, loadPolicy, matchingRules, parsePolicy } from '../../../lib/attest/policy';
import { ReportStore } from '../../../lib/attest/report-store';
import { AttestService, type MethodInvoker, type TwinReader } from '../../../lib/attest/service';
import { silentLogger } from '../../../lib/dm/logger';

const NONCE = '00112233445566778899aabbccddeeff';
const CORR = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';

/** A DHA-Data text as the emulator writes it (native/emulator/health_attestation.cc). */
function emulatedCert(over: Record<string, string> = {}, tamper?: (t: string) => string): string {
  const f: Record<string, string> = {
    Version: '1',
    DevId: 'EMU-1',
    Nonce: NONCE,
    CorrelationID: CORR,
    Issued: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    HASEndpoint: 'has.spserv.microsoft.com.',
    TpmPresent: 'true',
    AIKPresent: 'true',
    TpmVersion: '2.0',
    SecureBootState: '1',
    SecureBootEnabled: 'true',
    RestartCount: '2',
    ...over,
  };
  let text = 'EMULATED DHA-Data (windows-iot-dm CSP emulator; not a health certificate)\n';
  for (const [k, v] of Object.entries(f)) text += `${k}: ${v}\n`;
  text += `Digest: ${createHash('sha256').update(text).digest('hex')}\n`;
  return Buffer.from(tamper ? tamper(text) : text).toString('base64');
}

describe('attest: local HAS validation', () => {
  const req = (blob: string, extra: Record<string, string> = {}) => ({
    Nonce: NONCE,
    HealthCertificateBlob: blob,
    ...extra,
  });

  it('accepts a fresh certificate bound to the nonce and reports its properties', () => {
    const r = validateHealthCertificate(
      req(emulatedCert(), { CorrelationId: CORR, Endpoint: 'HAS.spserv.microsoft.com' }),
    );
    assert.equal(r.ErrorCode, 0, r.ErrorMessage);
    assert.equal(r.ProtocolVersion, 3);
    assert.deepEqual(r.HealthCertificateProperties, {
      Issued: r.HealthCertificateProperties!.Issued,
      AIKPresent: true,
      RestartCount: 2,
      SecureBootEnabled: true,
      TpmVersion: '2.0',
      DevId: 'EMU-1',
      CorrelationID: CORR,
    });
    const off = validateHealthCertificate(req(emulatedCert({ SecureBootEnabled: 'false' })));
    assert.equal(off.HealthCertificateProperties!.SecureBootEnabled, false);
  });

  it('refuses an edited text, another nonce, correlation id or endpoint, a stale or future issue time', () => {
    const code = (blob: string, extra: Record<string, string> = {}, now?: number) =>
      validateHealthCertificate(req(blob, extra), now === undefined ? {} : { now }).ErrorCode;
    assert.equal(
      code(
        emulatedCert({}, (t) => t.replace('SecureBootEnabled: true', 'SecureBootEnabled: fals')),
      ),
      HAS_ERRORS.digest,
    );
    assert.equal(code(emulatedCert({ Nonce: 'ffffffffffffffff' })), HAS_ERRORS.nonce);
    assert.equal(code(emulatedCert(), { CorrelationId: 'other' }), HAS_ERRORS.correlation);
    assert.equal(code(emulatedCert(), { Endpoint: 'has.contoso.com' }), HAS_ERRORS.endpoint);
    assert.equal(code(emulatedCert(), {}, Date.now() + 8 * 24 * 3600_000), HAS_ERRORS.stale);
    assert.equal(code(emulatedCert(), {}, Date.now() - 3600_000), HAS_ERRORS.stale);
    assert.equal(code('not base64!'), HAS_ERRORS.malformed);
    assert.equal(code(Buffer.from('hello').toString('base64')), HAS_ERRORS.malformed);
    assert.equal(code(emulatedCert({ SecureBootEnabled: 'maybe' })), HAS_ERRORS.malformed);
    const noDigest = Buffer.from('EMULATED DHA-Data x\nNonce: 00\n').toString('base64');
    assert.equal(code(noDigest), HAS_ERRORS.malformed);
  });

  it('HTTP: 200 report, 400 for a bad request, 404 elsewhere; HttpHasClient speaks it', async () => {
    const has = await LocalHas.start();
    try {
      assert.ok(has.url.endsWith(VALIDATE_PATH));
      const client = new HttpHasClient({ url: has.url });
      const ok = await client.validate('ignored', req(emulatedCert()));
      assert.equal(ok.ErrorCode, 0);
      const post = (body: string, url = has.url) =>
        fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
      assert.equal((await post('{')).status, 400);
      assert.equal(
        (await post(JSON.stringify({ Nonce: 'x', HealthCertificateBlob: 'y' }))).status,
        400,
      );
      assert.equal((await post('{}', has.url.replace(VALIDATE_PATH, '/other'))).status, 404);
      await assert.rejects(
        new HttpHasClient({ url: has.url.replace(VALIDATE_PATH, '/other') }).validate(
          'x',
          req('y'),
        ),
        /answered 404/,
      );
    } finally {
      await has.close();
    }
  });
});

describe('attest: report store and policy', () => {
  let dir: string;
  let store: ReportStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-attest-unit-'));
    store = new ReportStore(path.join(dir, 'a.db'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a nonce is good once, for its device, within its lifetime', () => {
    store.issueNonce('d1', NONCE.toUpperCase(), 1000);
    store.issueNonce('d1', 'aa'.repeat(8), 2000);
    assert.equal(store.latestOutstandingNonce('d1', 10_000, 3000), 'aa'.repeat(8));
    assert.equal(store.takeNonce('d2', NONCE, 10_000, 3000), 'otherDevice');
    assert.equal(store.takeNonce('d1', 'bb'.repeat(8), 10_000, 3000), 'unknown');
    assert.equal(store.takeNonce('d1', NONCE, 10, 3000), 'expired');
    assert.equal(store.takeNonce('d1', NONCE, 10_000, 3000), 'ok');
    assert.equal(store.takeNonce('d1', NONCE, 10_000, 3000), 'used');
    store.addReport({
      deviceId: 'd1',
      time: '2026-01-01T00:00:00Z',
      correlationId: CORR,
      nonce: NONCE,
      valid: true,
      secureBoot: null,
      report: { ErrorCode: 0 },
    });
    assert.deepEqual(store.reports('d1')[0], {
      deviceId: 'd1',
      time: '2026-01-01T00:00:00Z',
      correlationId: CORR,
      nonce: NONCE,
      valid: true,
      secureBoot: null,
      report: { ErrorCode: 0 },
    });
    assert.equal(store.reports('d2').length, 0);
    // The cursor of handled device messages.
    assert.equal(store.position(), 0);
    store.setPosition(41);
    store.setPosition(42);
    assert.equal(store.position(), 42);
  });

  it('policy: default rule, parsing with clear errors, matching', () => {
    assert.deepEqual(
      matchingRules(DEFAULT_POLICY, { valid: true, SecureBootEnabled: false }).map((r) => r.method),
      ['windows.startFactoryResetAsync'],
    );
    assert.deepEqual(matchingRules(DEFAULT_POLICY, { valid: false }), []);
    const p = parsePolicy({
      rules: [{ name: 'invalid', when: { valid: false }, method: 'windows.rebootNow' }],
    });
    assert.equal(matchingRules(p, { valid: false }).length, 1);
    for (const [bad, why] of [
      [{}, /rules/],
      [{ rules: [{ name: 'x', when: {}, method: 'windows.a' }] }, /at least one fact/],
      [{ rules: [{ name: 'x', when: { a: 1 }, method: 'reboot' }] }, /windows\.\* method/],
      [
        { rules: [{ name: 'x', when: { a: [1] }, method: 'windows.a' }] },
        /string, number or boolean/,
      ],
      [{ rules: [{ name: 'x', when: { a: 1 }, method: 'windows.a', extra: 1 }] }, /unknown member/],
    ] as const) {
      assert.throws(() => parsePolicy(bad), why);
    }
    const file = path.join(dir, 'p.json');
    writeFileSync(file, '{ nope');
    assert.throws(() => loadPolicy(file), /policy .*p\.json/);
  });

  it('parses service connection strings', () => {
    const e = parseServiceConnectionString(
      'HostName=localhost:8443;SharedAccessKeyName=service;SharedAccessKey=a2V5',
    );
    assert.deepEqual(
      { host: e.host, port: e.port, keyName: e.keyName },
      { host: 'localhost', port: 8443, keyName: 'service' },
    );
    assert.equal(
      parseServiceConnectionString(
        'HostName=h.azure-devices.net;SharedAccessKeyName=s;SharedAccessKey=k',
      ).port,
      443,
    );
    assert.throws(() => parseServiceConnectionString('HostName=x'), /needs HostName/);
  });
});

describe('attest: AttestService over fakes', () => {
  let dir: string;
  let store: ReportStore;
  let has: LocalHas;
  let calls: Array<{ deviceId: string; methodName: string; payload?: unknown }>;
  let desired: unknown;
  let service: AttestService;
  let seq = 0;

  const source: D2CSource = { start: () => undefined, close: async () => undefined };
  const registry: TwinReader = {
    getTwin: async () => ({ responseBody: { properties: { desired } } }),
  };
  const client: MethodInvoker = {
    invokeDeviceMethod: async (deviceId, params) => {
      calls.push({ deviceId, methodName: params.methodName, payload: params.payload });
      return { result: { status: 200, payload: {} } };
    },
  };
  const msg = (deviceId: string, type: string, body: unknown): D2CMessage => ({
    seq: ++seq,
    deviceId,
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    properties: { MessageType: type },
    enqueuedTime: new Date().toISOString(),
  });

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-attest-svc-'));
    store = new ReportStore(path.join(dir, 'a.db'));
    has = await LocalHas.start();
    calls = [];
    desired = {
      windows: { deviceHealthAttestation: { Endpoint: '', ReportIntervalInSeconds: 0 } },
    };
    service = new AttestService({
      source,
      registry,
      client,
      has: new HttpHasClient({ url: has.url }),
      store,
      policy: DEFAULT_POLICY,
      logger: silentLogger(),
    });
  });
  afterEach(async () => {
    await has.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function nonceFor(deviceId: string): Promise<string> {
    await service.handle(msg(deviceId, 'DHA-Nonce', {}));
    const call = calls.at(-1)!;
    assert.equal(call.methodName, 'windows.deviceHealthAttestationGetReport');
    const nonce = (call.payload as { Nonce: string }).Nonce;
    assert.match(nonce, /^[0-9a-f]{32}$/);
    return nonce;
  }

  it('nonce request → GetReport with a fresh nonce; report → stored, secure boot off → factory reset', async () => {
    const rejected: unknown[] = [];
    service.on('rejected', (r) => rejected.push(r));
    const nonce = await nonceFor('d1');
    assert.notEqual(await nonceFor('d9'), nonce);
    const blob = emulatedCert({ Nonce: nonce, SecureBootEnabled: 'false', SecureBootState: '2' });
    await service.handle(
      msg('d1', 'DHA-HealthReport', { CorrelationId: CORR, HealthCertificate: blob }),
    );
    assert.deepEqual(rejected, []);
    const [r] = store.reports('d1');
    assert.equal(r?.valid, true);
    assert.equal(r?.secureBoot, false);
    assert.deepEqual(calls.at(-1), {
      deviceId: 'd1',
      methodName: 'windows.startFactoryResetAsync',
      payload: { clearTPM: false },
    });
  });

  it('start() resumes after the last message handled, and records each one', async () => {
    let after = -1;
    let deliver: ((m: D2CMessage) => Promise<void>) | undefined;
    const recording = new AttestService({
      source: {
        start: (on, a) => {
          deliver = on;
          after = a ?? -1;
        },
        close: async () => undefined,
      },
      registry,
      client,
      has: new HttpHasClient({ url: has.url }),
      store,
      policy: DEFAULT_POLICY,
      logger: silentLogger(),
    });
    store.setPosition(7);
    recording.start();
    assert.equal(after, 7);
    const m = msg('d1', 'DHA-Nonce', {});
    await deliver!(m);
    assert.equal(store.position(), m.seq);
    assert.equal(calls.length, 1);
  });

  it('refuses reports without a good nonce, malformed bodies, endpoint mismatches (stored invalid, no remediation)', async () => {
    const rejected: Array<{ reason: string }> = [];
    service.on('rejected', (r: { reason: string }) => rejected.push(r));
    await service.handle(msg('d1', 'DHA-HealthReport', 'not json'));
    await service.handle(msg('d1', 'DHA-HealthReport', { CorrelationId: CORR }));
    await service.handle(
      msg('d1', 'DHA-HealthReport', { CorrelationId: CORR, HealthCertificate: emulatedCert() }),
    );
    const nonce = await nonceFor('d1');
    await service.handle(
      msg('d2', 'DHA-HealthReport', {
        CorrelationId: CORR,
        HealthCertificate: emulatedCert({ Nonce: nonce }),
        Nonce: nonce,
      }),
    );
    assert.deepEqual(
      rejected.map((r) => r.reason),
      [
        'the health report is not JSON',
        'the health report lacks HealthCertificate/CorrelationId',
        'no nonce outstanding for this device',
        'nonce otherDevice',
      ],
    );
    // The twin says another endpoint than the device attested against: stored as invalid.
    desired = {
      windows: {
        deviceHealthAttestation: {
          applyProperties: { Endpoint: 'has.contoso.com', ReportIntervalInSeconds: 0 },
        },
      },
    };
    const before = calls.length;
    await service.handle(
      msg('d1', 'DHA-HealthReport', {
        CorrelationId: CORR,
        HealthCertificate: emulatedCert({ Nonce: nonce, SecureBootEnabled: 'false' }),
        Nonce: nonce,
      }),
    );
    const [r] = store.reports('d1');
    assert.equal(r?.valid, false);
    assert.equal((r?.report as { ErrorCode: number }).ErrorCode, HAS_ERRORS.endpoint);
    assert.equal(calls.length, before, 'no remediation for an invalid report');
  });
});
