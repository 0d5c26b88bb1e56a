/**
 * deviceHealthAttestation over MockMdm + MockTwinLink: VerifyHealth (endpoint, bounded Status
 * poll, failure text), interval validation, the nonce-request schedule (once, every interval,
 * persisted across a restart, off), reportNow, getReport (nonce validation, D2C health report),
 * and every CSP op checked against the DDFs.
 */
import assert from 'node:assert/strict';
import type { JsonObject } from '../../../lib/dm/handler';
import {
  DHA_CERTIFICATE,
  DHA_CORRELATION_ID,
  DHA_NONCE,
  DHA_STATUS,
  GET_REPORT_METHOD,
  HAS_ENDPOINT,
  REPORT_NOW_METHOD,
  VERIFY_HEALTH,
  createHealthAttestationHandlers,
  parseDhaDesired,
} from '../../../lib/features/health-attestation';
import { ddfCheck, ddfCheckAvailable, ddfLines, featureHarness, type Harness } from './fixture';

const SECTION = 'deviceHealthAttestation';
const NONCE = '00112233445566778899aabbccddeeff';

describe('features: device health attestation (unit)', () => {
  let h: Harness;
  /** Status answers after each VerifyHealth (then 3). */
  let statuses: number[];
  beforeEach(() => {
    h = featureHarness();
    statuses = [1, 3];
    h.mock.setNode(HAS_ENDPOINT, { value: 'has.spserv.microsoft.com.' });
    h.mock.setNode(VERIFY_HEALTH, { format: 'null', access: ['exec'] });
    h.mock.setNode(DHA_NONCE, { value: '\\0' });
    h.mock.setNode(DHA_CERTIFICATE, { value: 'Q0VSVA==', access: ['get'] });
    h.mock.setNode(DHA_CORRELATION_ID, { value: 'c0ffee00-0000-4000-8000-000000000001' });
    h.mock.respond(DHA_STATUS, () => {
      const v = statuses.length > 0 ? (statuses.shift() as number) : 3;
      return { status: 200, data: String(v), format: 'int', items: [] };
    });
  });
  afterEach(async () => {
    await h.cleanup();
  });

  const handler = () => createHealthAttestationHandlers({ pollMs: 1, retryMs: 5 });

  it('validates the interval and endpoint', () => {
    assert.deepEqual(parseDhaDesired({ ReportIntervalInSeconds: '60' }), {
      endpoint: 'has.spserv.microsoft.com',
      interval: 60,
    });
    assert.deepEqual(
      parseDhaDesired({ Endpoint: 'has.contoso.com', ReportIntervalInSeconds: -1 }),
      {
        endpoint: 'has.contoso.com',
        interval: -1,
      },
    );
    assert.throws(
      () => parseDhaDesired({ ReportIntervalInSeconds: -2 }),
      /ReportIntervalInSeconds/,
    );
    assert.throws(() => parseDhaDesired({ ReportIntervalInSeconds: '99999999' }), /1-31536000/);
    assert.throws(
      () => parseDhaDesired({ Endpoint: 'https://x/y', ReportIntervalInSeconds: 0 }),
      /Endpoint must be a host name/,
    );
  });

  it('apply: HASEndpoint, VerifyHealth, Status polled until 3; reported; ops valid per DDF', async () => {
    const dm = await h.attach([handler()]);
    h.link.setDesired({ windows: { [SECTION]: { Endpoint: '', ReportIntervalInSeconds: -1 } } });
    await h.idle(dm);
    const sec = h.section(SECTION) as JsonObject;
    assert.equal((sec.lastChange as JsonObject).state, 'completed', JSON.stringify(sec));
    assert.equal(sec.status, 'VerifyHealth Success');
    assert.equal(sec.Endpoint, 'has.spserv.microsoft.com');
    assert.equal(sec.ReportIntervalInSeconds, -1);
    assert.match(String(sec.TimeStamp), /^\d{4}-\d\d-\d\dT/);
    const ops = h.mock.sentOps.map((op) => `${op.verb} ${op.uri}`);
    const idx = (s: string): number => ops.indexOf(s);
    assert.ok(
      idx(`replace ${HAS_ENDPOINT}`) >= 0 &&
        idx(`replace ${HAS_ENDPOINT}`) < idx(`exec ${VERIFY_HEALTH}`),
    );
    assert.equal(ops.filter((o) => o === `get ${DHA_STATUS}`).length, 2);
    assert.equal(h.link.events.length, 0, 'interval -1: no nonce request');
    if (ddfCheckAvailable()) {
      const r = ddfCheck(ddfLines(h.mock.sentOps));
      assert.deepEqual(r.invalid, [], r.raw);
    }
  });

  it('apply fails with the Status when VerifyHealth does not complete (bounded poll)', async () => {
    statuses = [1, 1, 1, 1, 1, 1, 1];
    const dm = await h.attach([createHealthAttestationHandlers({ pollMs: 1, pollAttempts: 3 })]);
    h.link.setDesired({ windows: { [SECTION]: { ReportIntervalInSeconds: 0 } } });
    await h.idle(dm);
    const sec = h.section(SECTION) as JsonObject;
    const lc = sec.lastChange as JsonObject;
    assert.equal(lc.state, 'failed');
    assert.equal(lc.errContext, 'VerifyHealth failed: 1');
    assert.equal(h.mock.sentOps.filter((o) => o.uri === DHA_STATUS).length, 3);
    assert.equal(h.link.events.length, 0);
    // An unreachable endpoint (Status 404).
    statuses = [404];
    h.link.setDesired({
      windows: { [SECTION]: { Endpoint: 'x.contoso.com', ReportIntervalInSeconds: 0 } },
    });
    await h.idle(dm);
    assert.equal(
      ((h.section(SECTION) as JsonObject).lastChange as JsonObject).errContext,
      'VerifyHealth failed: 404',
    );
  });

  it('a bad interval or endpoint fails the section (400) and touches nothing', async () => {
    const dm = await h.attach([handler()]);
    for (const bad of ['abc', '-7', 1.5, '99999999']) {
      h.link.setDesired({ windows: { [SECTION]: { ReportIntervalInSeconds: bad } } });
      await h.idle(dm);
      const lc = (h.section(SECTION) as JsonObject).lastChange as JsonObject;
      assert.equal(lc.state, 'failed', `interval ${JSON.stringify(bad)}`);
      assert.equal(lc.errCode, 400);
    }
    h.link.setDesired({ windows: { [SECTION]: { Endpoint: 'a b', ReportIntervalInSeconds: 1 } } });
    await h.idle(dm);
    assert.equal(((h.section(SECTION) as JsonObject).lastChange as JsonObject).state, 'failed');
    assert.equal(h.mock.sentOps.filter((o) => o.verb === 'exec').length, 0);
  });

  it('interval 0: one nonce request at start; interval n: every n seconds, kept across a restart', async () => {
    let dm = await h.attach([handler()]);
    h.link.setDesired({ windows: { [SECTION]: { ReportIntervalInSeconds: 0 } } });
    await h.idle(dm);
    await h.link.waitEvents(1);
    assert.deepEqual(h.link.events[0], { body: {}, properties: { MessageType: 'DHA-Nonce' } });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(h.link.events.length, 1, 'once');
    await h.idle(dm);
    assert.equal((h.section(SECTION) as JsonObject).status, 'Nonce requested');

    h.link.setDesired({ windows: { [SECTION]: { ReportIntervalInSeconds: '1' } } });
    await h.idle(dm);
    const t0 = Date.now();
    await h.link.waitEvents(2);
    await h.link.waitEvents(3);
    assert.ok(Date.now() - t0 >= 900, 'one second apart');
    // Restart right after a request: the next one comes one interval after that request (the
    // last request time is persisted), not at once on restart.
    const lastAt = Date.now();
    await dm.detach(50);
    h.clients.splice(0);
    const sent = h.link.events.length;
    dm = await h.attach([handler()]);
    await h.link.waitEvents(sent + 1);
    const gap = Date.now() - lastAt;
    assert.ok(gap >= 900, `not sent at once after the restart (${gap} ms)`);
    assert.ok(gap < 5000, `sent one interval after the last request (${gap} ms)`);
    assert.equal((h.section(SECTION) as JsonObject).ReportIntervalInSeconds, 1);
    // Off: no more requests.
    h.link.setDesired({ windows: { [SECTION]: { ReportIntervalInSeconds: -1 } } });
    await h.idle(dm);
    const count = h.link.events.length;
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(h.link.events.length, count);
  });

  it('reportNow sends a nonce request and answers succeeded', async () => {
    await h.attach([handler()]);
    const r = await h.link.invoke(REPORT_NOW_METHOD);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { response: 'succeeded', reason: '' });
    assert.deepEqual(h.link.events, [{ body: {}, properties: { MessageType: 'DHA-Nonce' } }]);
    // A transport failure is a failed method.
    h.link.failEvents.push(new Error('link down'));
    const failed = await h.link.invoke(REPORT_NOW_METHOD);
    assert.equal(failed.status, 500);
  });

  it('getReport: Nonce written, certificate and correlation id sent as DHA-HealthReport', async () => {
    const dm = await h.attach([handler()]);
    const r = await h.link.invoke(GET_REPORT_METHOD, { Nonce: NONCE });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { response: 'succeeded', reason: '' });
    assert.equal(h.mock.node(DHA_NONCE)?.value, NONCE);
    assert.deepEqual(h.link.events, [
      {
        body: {
          CorrelationId: 'c0ffee00-0000-4000-8000-000000000001',
          HealthCertificate: 'Q0VSVA==',
          Nonce: NONCE,
        },
        properties: { MessageType: 'DHA-HealthReport' },
      },
    ]);
    await h.idle(dm);
    assert.equal((h.section(SECTION) as JsonObject).status, 'Reported');
    if (ddfCheckAvailable()) {
      const c = ddfCheck(ddfLines(h.mock.sentOps));
      assert.deepEqual(c.invalid, [], c.raw);
    }
  });

  it('getReport: a bad nonce answers 400 and touches nothing; no certificate answers 500', async () => {
    await h.attach([handler()]);
    h.mock.calls.length = 0;
    for (const bad of [
      undefined,
      {},
      { Nonce: 'abc' },
      { Nonce: 'zz'.repeat(8) },
      { Nonce: 'a'.repeat(66) },
      { Nonce: 7 },
    ]) {
      const r = await h.link.invoke(GET_REPORT_METHOD, bad as never);
      assert.equal(r.status, 400, JSON.stringify(bad));
    }
    assert.equal(h.mock.sentOps.length, 0);
    assert.equal(h.link.events.length, 0);
    h.mock.respond(DHA_CERTIFICATE, 404);
    const r = await h.link.invoke(GET_REPORT_METHOD, { Nonce: NONCE });
    assert.equal(r.status, 500);
    assert.equal(h.link.events.length, 0);
  });
});
