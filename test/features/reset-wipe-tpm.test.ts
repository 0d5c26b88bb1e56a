/**
 * `clearTPM` of windows.startRemoteWipeAsync / windows.startFactoryResetAsync with the `tpm`
 * option: the TPM is cleared before the wipe, once (a repeated id or a restart never clears
 * again), a TPM failure fails the request with its rc name and nothing is wiped; against a fake
 * and against swtpm (LimpetTpm: a slot stored before the request is gone after it).
 */
import assert from 'node:assert/strict';
import { TpmError } from '../../lib/errors';
import { createResetWipeHandlers } from '../../lib/features/reset-wipe';
import { MockSystem } from '../../lib/testing/mock-system';
import { LimpetTpm } from '../../lib/tpm/limpet';
import { TcpTpm } from '../../lib/tpm/tcp-transport';
import { DmEnv, waitFor, useDmEnv } from '../dm/helpers';
import { startSwtpm } from '../tpm/swtpm';
import { CountingCsp, emulatorCounts, invoke } from './reboot-e2e-helpers';

type AnyObject = Record<string, unknown>;
const WIPE = './Device/Vendor/MSFT/RemoteWipe/doWipe';
const REBOOT = './Device/Vendor/MSFT/Reboot/RebootNow';

/** A `clear()` that records its calls (and the Execs seen before it) and can fail or hang. */
class FakeTpm {
  calls = 0;
  execsAtClear: string[][] = [];
  fail: Error | undefined;
  hang = false;
  constructor(private readonly csp?: CountingCsp) {}
  clear(): Promise<void> {
    this.calls += 1;
    this.execsAtClear.push([...(this.csp?.execs ?? [])]);
    if (this.hang) return new Promise<void>(() => undefined);
    return this.fail ? Promise.reject(this.fail) : Promise.resolve();
  }
}

describe('features: factory reset / remote wipe with clearTPM', function () {
  this.timeout(30000);
  let env!: DmEnv;
  useDmEnv((e) => (env = e));

  it('clears the TPM before the wipe, once (a repeated id does not clear again)', async () => {
    const id = 'rw-tpm-ok';
    const csp = new CountingCsp();
    const tpm = new FakeTpm(csp);
    const client = await env.openDevice(id);
    await env.attach(client, {
      handlers: createResetWipeHandlers({ system: new MockSystem(), tpm }),
      csp,
      isRebootAllowed: () => true,
    });
    await env.waitForSubscriptions(id);
    const before = emulatorCounts();
    const r = await invoke(env, id, 'windows.startRemoteWipeAsync', {
      clearTPM: 'true',
      requestId: 'rw-tpm-1',
    });
    assert.equal(r.status, 200, JSON.stringify(r.payload));
    assert.equal(tpm.calls, 1);
    assert.deepEqual(tpm.execsAtClear, [[]], 'cleared before any Exec');
    assert.deepEqual(csp.execs, [WIPE, REBOOT]);
    assert.equal(emulatorCounts().wipes, before.wipes + 1);
    const again = await invoke(env, id, 'windows.startRemoteWipeAsync', {
      clearTPM: true,
      requestId: 'rw-tpm-1',
    });
    assert.equal(again.payload.repeated, true);
    assert.equal(tpm.calls, 1);
    assert.equal(csp.execs.length, 2);
  });

  it('clearTPM false or absent with a TPM: not cleared', async () => {
    const id = 'fr-tpm-no';
    const csp = new CountingCsp();
    const tpm = new FakeTpm(csp);
    const client = await env.openDevice(id);
    await env.attach(client, {
      handlers: createResetWipeHandlers({ system: new MockSystem(), tpm }),
      csp,
      isRebootAllowed: () => true,
    });
    await env.waitForSubscriptions(id);
    const r = await invoke(env, id, 'windows.startFactoryResetAsync', { clearTPM: 'false' });
    assert.equal(r.status, 200);
    assert.equal(tpm.calls, 0);
    assert.deepEqual(csp.execs, [WIPE, REBOOT]);
  });

  it('a TPM failure fails the request with its rc name and nothing is wiped', async () => {
    const id = 'fr-tpm-fail';
    const csp = new CountingCsp();
    const tpm = new FakeTpm(csp);
    tpm.fail = new TpmError(
      'TPM2_Clear',
      0x120,
      'TPM_RC_DISABLED',
      'TPM2_Clear is disabled on this TPM (disableClear is set); it was not cleared',
    );
    const client = await env.openDevice(id);
    await env.attach(client, {
      handlers: createResetWipeHandlers({ system: new MockSystem(), tpm }),
      csp,
      isRebootAllowed: () => true,
    });
    await env.waitForSubscriptions(id);
    const before = emulatorCounts();
    const r = await invoke(env, id, 'windows.startFactoryResetAsync', {
      clearTPM: true,
      requestId: 'fr-tpm-f1',
    });
    assert.equal(r.status, 500);
    const change = r.payload.lastChange as AnyObject;
    assert.equal(change.state, 'failed');
    assert.equal(change.errSubSystem, 'TPM');
    assert.match(String(change.errContext), /TPM_RC_DISABLED.*not wiped/);
    assert.equal(tpm.calls, 1);
    assert.deepEqual(csp.execs, []);
    assert.deepEqual(emulatorCounts(), before);
    const s = await env.waitForState(id, 'factoryReset', 'failed');
    assert.match(String((s.lastChange as AnyObject).errContext), /TPM_RC_DISABLED/);
    // A new request (the TPM fixed) goes ahead.
    tpm.fail = undefined;
    const r2 = await invoke(env, id, 'windows.startFactoryResetAsync', { clearTPM: true });
    assert.equal(r2.status, 200);
    assert.equal(tpm.calls, 2);
    assert.deepEqual(csp.execs, [WIPE, REBOOT]);
  });

  it('a restart while the TPM was being cleared never clears nor wipes again', async () => {
    const id = 'rw-tpm-mid';
    const stateDir = env.stateDir();
    const csp = new CountingCsp();
    const tpm = new FakeTpm(csp);
    tpm.hang = true;
    const client = await env.openDevice(id);
    const dm = await env.attach(client, {
      handlers: createResetWipeHandlers({ tpm }),
      csp,
      stateDir,
      isRebootAllowed: () => true,
    });
    await env.waitForSubscriptions(id);
    void invoke(env, id, 'windows.startRemoteWipeAsync', {
      clearTPM: true,
      requestId: 'rw-tpm-m1',
    }).catch(() => undefined);
    await waitFor(() => tpm.calls === 1, 8000, 'clear called');
    const pending = await env.waitForState(id, 'remoteWipe', 'pending');
    assert.equal(pending.response, 'clearingTpm');
    await dm.detach(500);
    await client.close();

    const csp2 = new CountingCsp();
    const tpm2 = new FakeTpm(csp2);
    const client2 = await env.openDevice(id);
    await env.attach(client2, {
      handlers: createResetWipeHandlers({ tpm: tpm2 }),
      csp: csp2,
      stateDir,
      isRebootAllowed: () => true,
    });
    await env.waitForSubscriptions(id);
    const s = await env.waitForState(id, 'remoteWipe', 'failed');
    assert.match(String((s.lastChange as AnyObject).errContext), /while clearing the TPM/);
    const again = await invoke(env, id, 'windows.startRemoteWipeAsync', {
      clearTPM: true,
      requestId: 'rw-tpm-m1',
    });
    assert.equal(again.payload.repeated, true);
    assert.equal(tpm2.calls, 0);
    assert.deepEqual([...csp.execs, ...csp2.execs], []);
  });

  it('against swtpm: a slot stored before the request is gone after it', async () => {
    const sim = await startSwtpm();
    const native = new TcpTpm({ host: sim.host, port: sim.port });
    try {
      const tpm = new LimpetTpm(native);
      await tpm.storeUri(0, 'hub.example.net/wiped-device');
      assert.equal(await tpm.readUri(0), 'hub.example.net/wiped-device');
      const id = 'rw-swtpm';
      const csp = new CountingCsp();
      const client = await env.openDevice(id);
      await env.attach(client, {
        handlers: createResetWipeHandlers({ system: new MockSystem(), tpm }),
        csp,
        isRebootAllowed: () => true,
      });
      await env.waitForSubscriptions(id);
      const r = await invoke(env, id, 'windows.startRemoteWipeAsync', { clearTPM: 'true' });
      assert.equal(r.status, 200, JSON.stringify(r.payload));
      assert.equal(await tpm.readUri(0), undefined);
      assert.deepEqual(csp.execs, [WIPE, REBOOT]);
    } finally {
      await native.close();
      await sim.stop();
    }
  });
});
