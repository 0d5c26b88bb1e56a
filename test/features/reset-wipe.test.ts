/**
 * windows.startRemoteWipeAsync / windows.startFactoryResetAsync end to end over the CSP emulator
 * (its RemoteWipe Execs and RebootNow are recorded in its state `events`, never performed),
 * including a request the host refuses that waits (across a restart) and is carried out once.
 */
import assert from 'node:assert/strict';
import { createResetWipeHandlers } from '../../lib/features/reset-wipe';
import { MockSystem } from '../../lib/testing/mock-system';
import { DmEnv, readNode, waitFor, useDmEnv } from '../dm/helpers';
import { CountingCsp, emulatorCounts, invoke } from './reboot-e2e-helpers';

const STATUS = './Device/Vendor/MSFT/RemoteWipe/AutomaticRedeployment/Status';

type AnyObject = Record<string, unknown>;

describe('features: factory reset and remote wipe (end to end, emulator)', function () {
  this.timeout(30000);
  let env!: DmEnv;
  useDmEnv((e) => (env = e));

  it('remote wipe: pending, doWipe + RebootNow on the device once; a repeated id does nothing', async () => {
    const id = 'rw-ok';
    const csp = new CountingCsp();
    const client = await env.openDevice(id);
    await env.attach(client, {
      handlers: createResetWipeHandlers({ system: new MockSystem() }),
      csp,
      isRebootAllowed: () => true,
    });
    await env.waitForSubscriptions(id);
    const before = emulatorCounts();
    const r = await invoke(env, id, 'windows.startRemoteWipeAsync', {
      clearTPM: 'false',
      requestId: 'rw-e2e-1',
    });
    assert.equal(r.status, 200);
    assert.equal((r.payload.lastChange as AnyObject).state, 'pending');
    assert.equal(r.payload.requestId, 'rw-e2e-1');
    const after = emulatorCounts();
    assert.equal(after.wipes, before.wipes + 1);
    assert.equal(after.reboots, before.reboots + 1);
    // The emulator completes a wipe at the next reboot.
    assert.equal(await readNode(STATUS), 1);
    await waitFor(
      () => (env.section(id, 'remoteWipe') as AnyObject | undefined)?.response === 'started',
      8000,
      'remoteWipe started',
    );
    const again = await invoke(env, id, 'windows.startRemoteWipeAsync', { requestId: 'rw-e2e-1' });
    assert.equal(again.payload.repeated, true);
    assert.deepEqual(emulatorCounts(), after);
    assert.deepEqual(csp.execs, [
      './Device/Vendor/MSFT/RemoteWipe/doWipe',
      './Device/Vendor/MSFT/Reboot/RebootNow',
    ]);
  });

  it('factory reset: a recovery partition or clearTPM answers 501, a refusal 202 (waiting); nothing reaches the device', async () => {
    const id = 'fr-refused';
    const csp = new CountingCsp();
    let allowed = true;
    const client = await env.openDevice(id);
    await env.attach(client, {
      handlers: createResetWipeHandlers(),
      csp,
      isRebootAllowed: () => allowed,
    });
    await env.waitForSubscriptions(id);
    const before = emulatorCounts();
    const guid = await invoke(env, id, 'windows.startFactoryResetAsync', {
      recoveryPartitionGUID: 'a2b3c4d5-1111-2222-3333-444455556666',
    });
    assert.equal(guid.status, 501);
    assert.match(
      String((guid.payload.lastChange as AnyObject).errContext),
      /not reachable through any CSP/,
    );
    const tpm = await invoke(env, id, 'windows.startFactoryResetAsync', { clearTPM: true });
    assert.equal(tpm.status, 501);
    const bad = await invoke(env, id, 'windows.startFactoryResetAsync', { clearTPM: 'maybe' });
    assert.equal(bad.status, 400);
    allowed = false;
    const refused = await invoke(env, id, 'windows.startFactoryResetAsync', {});
    assert.equal(refused.status, 202);
    assert.equal(refused.payload.response, 'rejectedByApp');
    assert.equal(refused.payload.willRetry, true);
    await waitFor(
      () =>
        (env.section(id, 'factoryReset') as AnyObject | undefined)?.response === 'rejectedByApp',
      8000,
      'factoryReset rejected',
    );
    assert.equal(csp.execs.length, 0);
    assert.deepEqual(emulatorCounts(), before);
  });

  it('refused while the host refuses reboots, joined, kept across a restart; allowed: wiped exactly once', async () => {
    const id = 'fr-wait';
    const stateDir = env.stateDir();
    const system = new MockSystem(Date.now() - 3_600_000);
    let allowed = false;
    const csp = new CountingCsp();
    const client = await env.openDevice(id);
    const dm = await env.attach(client, {
      handlers: createResetWipeHandlers({ system, recheckMs: 20 }),
      csp,
      stateDir,
      isRebootAllowed: () => allowed,
    });
    await env.waitForSubscriptions(id);
    const before = emulatorCounts();
    const r = await invoke(env, id, 'windows.startFactoryResetAsync', { requestId: 'fr-w-1' });
    assert.equal(r.status, 202);
    assert.equal(r.payload.response, 'rejectedByApp');
    assert.equal(r.payload.willRetry, true);
    await waitFor(
      () => (env.section(id, 'factoryReset') as AnyObject | undefined)?.willRetry === true,
      8000,
      'factoryReset waiting',
    );
    // A second request while it waits joins it.
    const r2 = await invoke(env, id, 'windows.startFactoryResetAsync', { requestId: 'fr-w-2' });
    assert.equal(r2.status, 202);
    assert.equal(r2.payload.requestId, 'fr-w-1');
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(csp.execs.length, 0);
    assert.deepEqual(emulatorCounts(), before);

    // The client restarts while the request waits: it keeps waiting.
    await dm.detach(500);
    await client.close();
    const csp2 = new CountingCsp();
    const client2 = await env.openDevice(id);
    await env.attach(client2, {
      handlers: createResetWipeHandlers({ system, recheckMs: 20 }),
      csp: csp2,
      stateDir,
      isRebootAllowed: () => allowed,
    });
    await env.waitForSubscriptions(id);
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(csp2.execs.length, 0);
    assert.deepEqual(emulatorCounts(), before);

    allowed = true;
    await waitFor(
      () => (env.section(id, 'factoryReset') as AnyObject | undefined)?.response === 'started',
      8000,
      'factoryReset started',
    );
    await waitFor(() => emulatorCounts().wipes === before.wipes + 1, 8000, 'emulator wipe');
    // More rechecks, a report of every section and the joined id: still one.
    await new Promise((res) => setTimeout(res, 150));
    await invoke(env, id, 'windows.reportAllAsync');
    const again = await invoke(env, id, 'windows.startFactoryResetAsync', { requestId: 'fr-w-2' });
    assert.equal(again.payload.repeated, true);
    assert.equal(again.payload.requestId, 'fr-w-1');
    assert.deepEqual(emulatorCounts(), { wipes: before.wipes + 1, reboots: before.reboots + 1 });
    assert.deepEqual(csp.execs, []);
    assert.deepEqual(csp2.execs, [
      './Device/Vendor/MSFT/RemoteWipe/doWipe',
      './Device/Vendor/MSFT/Reboot/RebootNow',
    ]);
  });

  it('a restart after pending, before the wipe Exec answered, never wipes again', async () => {
    const id = 'rw-mid';
    const stateDir = env.stateDir();
    const csp = new CountingCsp();
    csp.hold = true;
    const client = await env.openDevice(id);
    const dm = await env.attach(client, {
      handlers: createResetWipeHandlers(),
      csp,
      stateDir,
      isRebootAllowed: () => true,
    });
    await env.waitForSubscriptions(id);
    const before = emulatorCounts();
    void invoke(env, id, 'windows.startRemoteWipeAsync', { requestId: 'rw-mid-1' }).catch(
      () => undefined,
    );
    await waitFor(() => csp.execs.length === 1, 8000, 'exec held');
    await env.waitForState(id, 'remoteWipe', 'pending');
    await dm.detach(500);
    await client.close();
    const csp2 = new CountingCsp();
    const client2 = await env.openDevice(id);
    await env.attach(client2, {
      handlers: createResetWipeHandlers(),
      csp: csp2,
      stateDir,
      isRebootAllowed: () => true,
    });
    await env.waitForSubscriptions(id);
    const s = await env.waitForState(id, 'remoteWipe', 'failed');
    assert.match(String((s.lastChange as AnyObject).errContext), /not run again/);
    const again = await invoke(env, id, 'windows.startRemoteWipeAsync', { requestId: 'rw-mid-1' });
    assert.equal(again.payload.repeated, true);
    assert.equal(csp2.execs.length, 0);
    assert.deepEqual(emulatorCounts(), before);
  });
});
