/**
 * The reboot features end to end: local hub, real device and service SDKs, the real addon over
 * the CSP emulator (whose RebootNow is recorded in its state `events`), MockSystem for the boot
 * time. Restarts are a new device client + DM client over the same state folder.
 */
import assert from 'node:assert/strict';
import type { Client as DeviceClient } from 'azure-iot-device';
import type { DeviceManagementClient } from '../../lib/dm/client';
import { createRebootHandlers } from '../../lib/features/reboot';
import { MockSystem } from '../../lib/testing/mock-system';
import { DmEnv, leafHandler, readNode, unique, waitFor, useDmEnv } from '../dm/helpers';
import { CountingCsp, emulatorCounts, invoke } from './reboot-e2e-helpers';

const SINGLE = './Device/Vendor/MSFT/Reboot/Schedule/Single';
const DAILY = './Device/Vendor/MSFT/Reboot/Schedule/DailyRecurrent';
const REBOOT_NOW = './Device/Vendor/MSFT/Reboot/RebootNow';

type AnyObject = Record<string, unknown>;

describe('features: reboot (end to end, emulator)', function () {
  this.timeout(30000);
  let env!: DmEnv;
  useDmEnv((e) => (env = e));

  interface Device {
    client: DeviceClient;
    dm: DeviceManagementClient;
  }

  async function start(
    id: string,
    o: {
      system: MockSystem;
      csp: CountingCsp;
      stateDir: string;
      allowed: () => boolean;
      recheckMs?: number;
    },
  ): Promise<Device> {
    const client = await env.openDevice(id);
    const dm = await env.attach(client, {
      handlers: [
        ...createRebootHandlers({ system: o.system, recheckMs: o.recheckMs ?? 25 }),
        leafHandler('leaf'),
      ],
      csp: o.csp,
      stateDir: o.stateDir,
      isRebootAllowed: o.allowed,
    });
    await env.waitForSubscriptions(id);
    return { client, dm };
  }

  async function stop(d: Device): Promise<void> {
    await d.dm.detach(500);
    await d.client.close();
  }

  it('applies both schedules with whole seconds, reads them back; bad input fails while another section applies', async () => {
    const id = 'rb-apply';
    const system = new MockSystem(Date.parse('2026-01-01T00:00:00Z'));
    await start(id, {
      system,
      csp: new CountingCsp(),
      stateDir: env.stateDir(),
      allowed: () => true,
    });
    const url = `https://contoso.example/${unique('rb')}.png`;
    env.setWindows(id, {
      rebootInfo: {
        singleRebootTime: '2031-03-04T05:06:07.891Z',
        dailyRebootTime: '2031-03-04T03:00:00.5+02:00',
      },
      leaf: { url },
    });
    const r = await env.waitForState(id, 'rebootInfo', 'completed');
    assert.equal(await readNode(SINGLE), '2031-03-04T05:06:07Z');
    assert.equal(await readNode(DAILY), '2031-03-04T01:00:00Z');
    assert.equal(r.singleRebootTime, '2031-03-04T05:06:07Z');
    assert.equal(r.dailyRebootTime, '2031-03-04T01:00:00Z');
    assert.equal(r.lastBootTime, '2026-01-01T00:00:00Z');
    await env.waitForState(id, 'leaf', 'completed');

    // Bad input: reported failed (400 + path) while the other section of the update applies.
    const url2 = `https://contoso.example/${unique('rb')}.png`;
    env.setWindows(id, { rebootInfo: { singleRebootTime: 42 as never }, leaf: { url: url2 } });
    const failed = await env.waitForState(id, 'rebootInfo', 'failed');
    const lc = failed.lastChange as AnyObject;
    assert.equal(lc.errCode, 400);
    assert.match(String(lc.errContext), /singleRebootTime: expected a string/);
    await waitFor(
      () => (env.section(id, 'leaf') as AnyObject | undefined)?.url === url2,
      8000,
      'leaf',
    );
    assert.equal(await readNode(SINGLE), '2031-03-04T05:06:07Z');

    env.setWindows(id, { rebootInfo: { singleRebootTime: '2031-02-29T00:00:00Z' } });
    await waitFor(
      () =>
        /not a valid calendar time/.test(
          String(((env.section(id, 'rebootInfo') as AnyObject).lastChange as AnyObject).errContext),
        ),
      8000,
      'calendar error',
    );

    // "" clears (Delete): the node is gone and reads back as "".
    env.setWindows(id, { rebootInfo: { singleRebootTime: '', dailyRebootTime: '' } });
    await waitFor(
      () => {
        const s = env.section(id, 'rebootInfo') as AnyObject;
        return (s.lastChange as AnyObject).state === 'completed' && s.singleRebootTime === '';
      },
      8000,
      'cleared',
    );
    assert.equal(await readNode(SINGLE), undefined);
    assert.equal(await readNode(DAILY), undefined);
  });

  it('refused, then allowed: reported rejectedByApp, then exactly one RebootNow; completed after the restart', async () => {
    const id = 'rb-once';
    const system = new MockSystem(Date.now() - 3_600_000);
    const stateDir = env.stateDir();
    const csp = new CountingCsp();
    let allowed = false;
    const d = await start(id, { system, csp, stateDir, allowed: () => allowed });
    const before = emulatorCounts().reboots;

    const r = await invoke(env, id, 'windows.rebootAsync', { requestId: 'e2e-once-1' });
    assert.equal(r.status, 202);
    assert.equal(r.payload.response, 'rejectedByApp');
    await waitFor(
      () => (env.section(id, 'rebootCmd') as AnyObject | undefined)?.response === 'rejectedByApp',
      8000,
      'rebootCmd rejected',
    );
    assert.equal((env.section(id, 'rebootInfo') as AnyObject).lastRebootCmdStatus, 'rejectedByApp');
    // Asked again every recheckMs while refused: nothing sent.
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(csp.execs.length, 0);

    allowed = true;
    await waitFor(
      () => (env.section(id, 'rebootInfo') as AnyObject).lastRebootCmdStatus === 'pending',
      8000,
      'pending',
    );
    await waitFor(() => emulatorCounts().reboots === before + 1, 8000, 'emulator reboot');
    await new Promise((res) => setTimeout(res, 150));
    assert.deepEqual(csp.execs, [REBOOT_NOW]);
    assert.equal(emulatorCounts().reboots, before + 1);
    const again = await invoke(env, id, 'windows.rebootAsync', { requestId: 'e2e-once-1' });
    assert.equal(again.payload.repeated, true);
    assert.equal(csp.execs.length, 1);

    // The device reboots; the client starts again over the same state.
    await stop(d);
    system.reboot(Date.now() + 1000);
    const csp2 = new CountingCsp();
    await start(id, { system, csp: csp2, stateDir, allowed: () => true });
    await waitFor(
      () =>
        (env.section(id, 'rebootInfo') as AnyObject | undefined)?.lastRebootCmdStatus ===
        'completed',
      8000,
      'completed',
    );
    const cmd = await env.waitForState(id, 'rebootCmd', 'completed');
    assert.equal(cmd.requestId, 'e2e-once-1');
    assert.equal(csp2.execs.length, 0);
    assert.equal(emulatorCounts().reboots, before + 1);
  });

  it('a restart while RebootNow is in flight does not send it again', async () => {
    const id = 'rb-mid';
    const system = new MockSystem(Date.now() - 3_600_000);
    const stateDir = env.stateDir();
    const csp = new CountingCsp();
    csp.hold = true;
    const d = await start(id, { system, csp, stateDir, allowed: () => true });
    const before = emulatorCounts().reboots;
    void invoke(env, id, 'windows.rebootAsync', { requestId: 'e2e-mid' }).catch(() => undefined);
    await waitFor(() => csp.execs.length === 1, 8000, 'exec held');
    await env.waitForState(id, 'rebootCmd', 'pending');
    await stop(d);
    const csp2 = new CountingCsp();
    await start(id, { system, csp: csp2, stateDir, allowed: () => true });
    const cmd = await env.waitForState(id, 'rebootCmd', 'failed');
    assert.match(String((cmd.lastChange as AnyObject).errContext), /not sent again/);
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(csp2.execs.length, 0);
    assert.equal(emulatorCounts().reboots, before);
  });

  it('a single time refused by the host is held, then written to the device once allowed', async () => {
    const id = 'rb-single';
    let allowed = false;
    await start(id, {
      system: new MockSystem(),
      csp: new CountingCsp(),
      stateDir: env.stateDir(),
      allowed: () => allowed,
    });
    env.setWindows(id, { rebootInfo: { singleRebootTime: '2098-07-08T09:10:11.999Z' } });
    const r = await env.waitForState(id, 'rebootInfo', 'completed');
    assert.equal(r.singleRebootStatus, 'rejectedByApp');
    assert.equal(await readNode(SINGLE), undefined);
    allowed = true;
    await waitFor(
      () => (env.section(id, 'rebootInfo') as AnyObject).singleRebootStatus === 'scheduled',
      8000,
      'scheduled',
    );
    assert.equal(await readNode(SINGLE), '2098-07-08T09:10:11Z');
  });
});
