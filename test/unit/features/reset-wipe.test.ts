/**
 * windows.startFactoryResetAsync / windows.startRemoteWipeAsync over MockMdm + MockTwinLink +
 * MockSystem: pending before acting, doWipe + RebootNow, refusals (clearTPM, recovery partition),
 * a host refusal waiting and carried out once when allowed (rechecks, reports, joined requests,
 * restarts), request ids answered from the record, and restarts mid-request never acting twice.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../../../lib/dm/handler';
import { createResetWipeHandlers } from '../../../lib/features/reset-wipe';
import { DO_WIPE, DO_WIPE_PPD, FeatureHarness, REBOOT_NOW, until } from './reboot-fixture';

const RESET = 'windows.startFactoryResetAsync';
const WIPE = 'windows.startRemoteWipeAsync';

describe('features: factory reset and remote wipe (unit)', () => {
  let h: FeatureHarness;
  beforeEach(() => {
    h = new FeatureHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  const handlers = (o: Parameters<typeof createResetWipeHandlers>[0] = {}) =>
    createResetWipeHandlers({ system: h.system, ...o });

  for (const [method, section] of [
    [WIPE, 'remoteWipe'],
    [RESET, 'factoryReset'],
  ] as const) {
    it(`${method}: pending is reported before doWipe, then doWipe and RebootNow, once`, async () => {
      await h.attach(handlers());
      let pendingSeen = false;
      h.mock.respond(DO_WIPE, () => {
        pendingSeen = h.lastChange(section).state === 'pending';
        return 200;
      });
      const r = await h.link.invoke(method, { clearTPM: false });
      assert.equal(r.status, 200);
      const body = r.body as JsonObject;
      assert.equal((body.lastChange as JsonObject).state, 'pending');
      assert.equal(body.response, 'started');
      assert.match(String(body.requestId), /^[0-9a-f-]{36}$/);
      await h.idle();
      assert.ok(pendingSeen, 'pending reported before the wipe Exec');
      assert.deepEqual(
        h.mock.sentOps.filter((op) => op.verb === 'exec').map((op) => op.uri),
        [DO_WIPE, REBOOT_NOW],
      );
      assert.equal(h.events.length, 1);
      assert.equal(h.section(section).requestId, body.requestId);
      // The same id again: the recorded answer, nothing done.
      const again = await h.link.invoke(method, { requestId: body.requestId as string });
      assert.equal((again.body as JsonObject).repeated, true);
      assert.equal(h.mock.sentOps.filter((op) => op.verb === 'exec').length, 2);
      // Another request while this one is under way: 409.
      const other = await h.link.invoke(method, {});
      assert.equal(other.status, 409);
      // After the reset the device boots: completed.
      await h.detach();
      h.system.reboot(Date.now() + 1000);
      await h.attach(handlers());
      await h.idle();
      assert.equal(h.lastChange(section).state, 'completed');
      assert.equal(h.mock.sentOps.filter((op) => op.verb === 'exec').length, 2);
    });
  }

  it('a boot time in whole seconds, in the second of the request, completes it (no 409 forever)', async () => {
    // The CSP emulator records the RebootNow second: the boot time is at or before the
    // millisecond the request was carried out. It must still count as the reset it asked for,
    // else the request stays "started" and every later request answers 409 for ever.
    await h.attach(handlers());
    const r = await h.link.invoke(RESET, { requestId: 'same-second' });
    assert.equal((r.body as JsonObject).response, 'started');
    await h.idle();
    await h.detach();
    const state = JSON.parse(readFileSync(path.join(h.stateDir, 'dm-state.json'), 'utf8')) as {
      handlers: { factoryReset: { requests: Array<{ id: string; execAt: number }> } };
    };
    const rec = state.handlers.factoryReset.requests.find((x) => x.id === 'same-second')!;
    assert.ok(rec.execAt > 0);
    h.system.reboot(Math.floor(rec.execAt / 1000) * 1000);
    await h.attach(handlers());
    await h.idle();
    assert.equal(h.lastChange('factoryReset').state, 'completed');
    const next = await h.link.invoke(RESET, { requestId: 'next-one' });
    assert.equal(next.status, 200);
    assert.equal((next.body as JsonObject).response, 'started');
    assert.equal(h.mock.sentOps.filter((op) => op.verb === 'exec').length, 4);
  });

  it('the persistProvisionedData option uses doWipePersistProvisionedData', async () => {
    await h.attach(handlers({ wipe: 'persistProvisionedData' }));
    const r = await h.link.invoke(WIPE, { clearTPM: 'false', requestId: 'ppd-1' });
    assert.equal(r.status, 200);
    assert.equal(h.execs(DO_WIPE_PPD), 1);
    assert.equal(h.execs(DO_WIPE), 0);
    assert.throws(() => createResetWipeHandlers({ wipe: 'some' as never }), /wipe must be/);
  });

  it('refused by the host: 202 rejectedByApp (willRetry), no Exec; once allowed exactly one doWipe + RebootNow', async () => {
    h.allowed = false;
    await h.attach(handlers({ recheckMs: 10 }));
    const r = await h.link.invoke(WIPE, { requestId: 'no-1' });
    assert.equal(r.status, 202);
    const body = r.body as JsonObject;
    assert.equal(body.response, 'rejectedByApp');
    assert.equal(body.willRetry, true);
    assert.equal(body.requestId, 'no-1');
    assert.equal((body.lastChange as JsonObject).state, 'pending');
    await h.idle();
    assert.equal(h.section('remoteWipe').response, 'rejectedByApp');
    assert.equal(h.section('remoteWipe').willRetry, true);
    assert.equal(h.section('remoteWipe').requestId, 'no-1');
    assert.equal(h.lastChange('remoteWipe').state, 'pending');
    // Refused again on every recheck and report: nothing done, nothing new written or reported.
    const patches = (): number =>
      h.link.reportedPatches.filter(
        (p) => (p.windows as JsonObject | undefined)?.remoteWipe !== undefined,
      ).length;
    const before = patches();
    await new Promise((res) => setTimeout(res, 60));
    await h.idle();
    assert.equal(patches(), before);
    assert.equal(h.execs(), 0);
    assert.equal(h.events.length, 0);
    // Allowed: pending is reported before the wipe Exec, then both Execs, once.
    let pendingSeen = false;
    h.mock.respond(DO_WIPE, () => {
      pendingSeen = h.lastChange('remoteWipe').state === 'pending';
      return 200;
    });
    h.allowed = true;
    await until(() => h.execs(REBOOT_NOW) === 1, 3000, 'one RebootNow');
    await h.idle();
    await until(() => h.section('remoteWipe').response === 'started', 3000, 'started');
    assert.ok(pendingSeen, 'pending reported before the wipe Exec');
    assert.equal(h.section('remoteWipe').willRetry, false);
    // More rechecks, a report and the same id: still one.
    await new Promise((res) => setTimeout(res, 60));
    await h.dm!.reportNow();
    const again = await h.link.invoke(WIPE, { requestId: 'no-1' });
    assert.equal((again.body as JsonObject).repeated, true);
    assert.equal((again.body as JsonObject).response, 'started');
    // (A responder answers DO_WIPE, so the Execs sent are counted, not the performed ones.)
    assert.deepEqual(
      h.mock.sentOps.filter((op) => op.verb === 'exec').map((op) => op.uri),
      [DO_WIPE, REBOOT_NOW],
    );
    assert.equal(h.events.length, 1);
  });

  it('requests while one waits join it (ids become aliases); a report carries it out, once', async () => {
    h.allowed = false;
    // No timer tick during the test: only the report asks the host again.
    await h.attach(handlers({ recheckMs: 600_000 }));
    const r1 = await h.link.invoke(RESET, { requestId: 'fr-1' });
    assert.equal(r1.status, 202);
    const r2 = await h.link.invoke(RESET, { requestId: 'fr-2' });
    assert.equal(r2.status, 202);
    assert.equal((r2.body as JsonObject).requestId, 'fr-1');
    const r3 = await h.link.invoke(RESET, {});
    assert.equal((r3.body as JsonObject).requestId, 'fr-1');
    // An alias answers the waiting request.
    const alias = await h.link.invoke(RESET, { requestId: 'fr-2' });
    assert.equal((alias.body as JsonObject).repeated, true);
    assert.equal((alias.body as JsonObject).requestId, 'fr-1');
    assert.equal(h.execs(), 0);
    h.allowed = true;
    await h.dm!.reportNow('factoryReset');
    await h.idle();
    assert.equal(h.execs(DO_WIPE), 1);
    assert.equal(h.execs(REBOOT_NOW), 1);
    assert.equal(h.section('factoryReset').response, 'started');
    assert.equal(h.section('factoryReset').requestId, 'fr-1');
    const joined = await h.link.invoke(RESET, { requestId: 'fr-2' });
    assert.equal((joined.body as JsonObject).repeated, true);
    assert.equal((joined.body as JsonObject).response, 'started');
    // A new request now finds the reset under way: 409, nothing done.
    const busy = await h.link.invoke(RESET, { requestId: 'fr-3' });
    assert.equal(busy.status, 409);
    await h.dm!.reportNow();
    assert.equal(h.execs(), 2);
    assert.equal(h.events.length, 1);
  });

  it('a restart while waiting keeps waiting (stop clears the timer); allowed later: exactly one wipe', async () => {
    h.allowed = false;
    await h.attach(handlers({ recheckMs: 10 }));
    const r = await h.link.invoke(RESET, { requestId: 'fr-wait' });
    assert.equal(r.status, 202);
    await h.idle();
    await h.detach();
    // Detached: no timer asks the host any more.
    h.allowed = true;
    await new Promise((res) => setTimeout(res, 60));
    assert.equal(h.execs(), 0);
    h.allowed = false;
    await h.attach(handlers({ recheckMs: 10 }));
    await h.idle();
    assert.equal(h.section('factoryReset').response, 'rejectedByApp');
    assert.equal(h.section('factoryReset').willRetry, true);
    await new Promise((res) => setTimeout(res, 60));
    assert.equal(h.execs(), 0);
    h.allowed = true;
    await until(() => h.execs(REBOOT_NOW) === 1, 3000, 'one RebootNow');
    await h.idle();
    await new Promise((res) => setTimeout(res, 60));
    assert.equal(h.execs(DO_WIPE), 1);
    // The device resets and boots: completed, never run again.
    await h.detach();
    h.system.reboot(Date.now() + 1000);
    await h.attach(handlers({ recheckMs: 10 }));
    await h.idle();
    await new Promise((res) => setTimeout(res, 60));
    assert.equal(h.lastChange('factoryReset').state, 'completed');
    assert.equal(h.execs(DO_WIPE), 1);
    assert.equal(h.execs(REBOOT_NOW), 1);
    const again = await h.link.invoke(RESET, { requestId: 'fr-wait' });
    assert.equal((again.body as JsonObject).repeated, true);
  });

  it('a host hook that throws counts as a refusal; recheckMs must be positive', async () => {
    await h.attach(handlers({ recheckMs: 600_000 }), {
      isRebootAllowed: () => {
        throw new Error('hook broke');
      },
    });
    const r = await h.link.invoke(WIPE, {});
    assert.equal(r.status, 202);
    assert.equal((r.body as JsonObject).response, 'rejectedByApp');
    assert.equal(h.execs(), 0);
    assert.throws(() => createResetWipeHandlers({ recheckMs: 0 }), /recheckMs/);
  });

  it('clearTPM (true or "true") and a recovery partition answer 501 with the reason; nothing done', async () => {
    await h.attach(handlers());
    for (const [method, payload] of [
      [WIPE, { clearTPM: true }],
      [RESET, { clearTPM: 'true' }],
      [RESET, { recoveryPartitionGUID: '{5C3E3A0E-8F6A-4D6B-9E3F-0E1B2C3D4E5F}' }],
    ] as const) {
      const r = await h.link.invoke(method, payload);
      assert.equal(r.status, 501, JSON.stringify(payload));
      assert.match(
        String(((r.body as JsonObject).lastChange as JsonObject).errContext),
        /TPM|recovery partition/,
      );
    }
    await h.idle();
    assert.equal(h.lastChange('factoryReset').errCode, 501);
    assert.equal(h.execs(), 0);
    assert.equal(h.events.length, 0);
  });

  it('bad payloads answer 400: wrong types, unknown keys, an empty or malformed id, a bad GUID', async () => {
    await h.attach(handlers());
    for (const [method, payload] of [
      [WIPE, { clearTPM: 'yes' }],
      [WIPE, { clearTPM: 1 }],
      [WIPE, { wipeAll: true }],
      [WIPE, { requestId: '' }],
      [RESET, { requestId: 'a b' }],
      [RESET, { recoveryPartitionGUID: 'not-a-guid' }],
      [RESET, { recoveryPartitionGUID: 7 }],
    ] as const) {
      const r = await h.link.invoke(method, payload as never);
      assert.equal(r.status, 400, JSON.stringify(payload));
    }
    assert.equal(h.execs(), 0);
  });

  it('a restart after pending, before the wipe Exec answered: interrupted, never run again', async () => {
    await h.attach(handlers());
    h.mock.holdExec = true;
    void h.link.invoke(RESET, { requestId: 'mid-reset' });
    await until(() => h.mock.held === 1, 3000, 'exec held');
    await h.idle();
    assert.equal(h.lastChange('factoryReset').state, 'pending');
    await h.detach();
    h.mock.holdExec = false;
    await h.attach(handlers());
    await h.idle();
    assert.equal(h.lastChange('factoryReset').state, 'failed');
    assert.match(String(h.lastChange('factoryReset').errContext), /not run again/);
    const again = await h.link.invoke(RESET, { requestId: 'mid-reset' });
    assert.equal((again.body as JsonObject).repeated, true);
    assert.equal(h.execs(), 0);
    // A new request may run now.
    const fresh = await h.link.invoke(RESET, { requestId: 'after' });
    assert.equal(fresh.status, 200);
    assert.equal(h.execs(DO_WIPE), 1);
  });

  it('pending (wipe Exec unanswered) and a boot in that same second: interrupted, not completed', async () => {
    // Whole-second boot times: a reboot from elsewhere in the request's second must not pass
    // for a reset whose wipe may never have been sent.
    await h.attach(handlers());
    h.mock.holdExec = true;
    void h.link.invoke(RESET, { requestId: 'pending-same-second' });
    await until(() => h.mock.held === 1, 3000, 'exec held');
    await h.idle();
    await h.detach();
    const state = JSON.parse(readFileSync(path.join(h.stateDir, 'dm-state.json'), 'utf8')) as {
      handlers: { factoryReset: { requests: Array<{ id: string; execAt: number }> } };
    };
    const rec = state.handlers.factoryReset.requests.find((x) => x.id === 'pending-same-second')!;
    h.system.reboot(Math.floor(rec.execAt / 1000) * 1000);
    h.mock.holdExec = false;
    await h.attach(handlers());
    await h.idle();
    assert.equal(h.lastChange('factoryReset').state, 'failed');
    assert.match(String(h.lastChange('factoryReset').errContext), /not run again/);
  });

  it('a failing wipe Exec answers 500 with the CSP status; RebootNow is not sent', async () => {
    h.mock.respond(DO_WIPE, 500);
    await h.attach(handlers());
    const r = await h.link.invoke(WIPE, {});
    assert.equal(r.status, 500);
    assert.equal(((r.body as JsonObject).lastChange as JsonObject).errSubSystem, 'CSP');
    assert.equal(h.execs(REBOOT_NOW), 0);
  });
});
