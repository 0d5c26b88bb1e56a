/**
 * The built-in deviceInfo, windowsTelemetry, windowsUpdatePolicy and windowsUpdates features over
 * the real device and service SDKs, the local hub and the real addon + CSP emulator: desired
 * values reach the emulated device, reported values are read back from it (a change made on the
 * device outside DM shows up), and bad input fails its section while another one still applies.
 */
import assert from 'node:assert/strict';
import { DEVICE_INFO_NODES, deviceInfoHandler } from '../../lib/features/device-info';
import { TELEMETRY_CONFIG, windowsTelemetryHandler } from '../../lib/features/telemetry';
import { POLICY_CONFIG, createWindowsUpdateHandlers } from '../../lib/features/windows-update';
import type { FeatureHandler } from '../../lib/dm/handler';
import { DmEnv, deviceCsp, nextEvent, readNode, useDmEnv } from '../dm/helpers';

type Obj = Record<string, unknown>;

function handlers(): FeatureHandler[] {
  return [deviceInfoHandler, windowsTelemetryHandler, ...createWindowsUpdateHandlers()];
}

describe('features: device info, telemetry, Windows Update (real SDK, local hub, CSP emulator)', function () {
  this.timeout(30000);
  let env!: DmEnv;
  useDmEnv((e) => (env = e));

  async function setup(id: string, isRebootAllowed?: () => boolean) {
    const client = await env.openDevice(id);
    const dm = await env.attach(client, {
      handlers: handlers(),
      ...(isRebootAllowed ? { isRebootAllowed } : {}),
    });
    await env.waitForSubscriptions(id);
    return dm;
  }

  it('applies telemetry and update policy, reports device info, all read from the device', async () => {
    const id = 'feat-apply';
    const dm = await setup(id);
    env.setWindows(id, {
      deviceInfo: {},
      windowsTelemetry: { level: 'security' },
      windowsUpdatePolicy: {
        applyProperties: { activeHoursStart: 6, activeHoursEnd: 18, scheduledInstallDay: 3 },
        reportProperties: 'yes',
      },
    });
    await env.waitForState(id, 'windowsUpdatePolicy', 'completed');
    await env.waitForState(id, 'windowsTelemetry', 'completed');
    const info = await env.waitForState(id, 'deviceInfo', 'completed');
    await dm.settled();

    assert.equal(await readNode(TELEMETRY_CONFIG), 0);
    assert.equal(await readNode(`${POLICY_CONFIG}/ActiveHoursStart`), 6);
    assert.equal(await readNode(`${POLICY_CONFIG}/ScheduledInstallDay`), 3);
    assert.equal(env.section(id, 'windowsTelemetry')?.level, 'security');
    const policy = env.section(id, 'windowsUpdatePolicy') as Obj;
    assert.equal(policy.activeHoursStart, 6);
    assert.equal(policy.activeHoursEnd, 18);
    assert.equal(policy.ring, 'n/a');

    assert.equal(info.osVer, String(await readNode('./DevDetail/SwV')));
    assert.equal(info.id, String(await readNode('./DevInfo/DevId')));
    assert.equal(
      info.totalStorage,
      String(await readNode('./DevDetail/Ext/Microsoft/TotalStorage')),
    );
    assert.equal(
      info.secureBootState,
      String(await readNode('./Vendor/MSFT/DeviceStatus/SecureBootState')),
    );
    for (const [k, v] of Object.entries(info).filter(([k]) => k !== 'lastChange')) {
      assert.equal(typeof v, 'string', k);
      assert.notEqual(v, '<error>', k);
      const absent = (await readNode(DEVICE_INFO_NODES[k] ?? '')) === undefined;
      if (absent) assert.equal(v, '<not set>', k);
    }

    // windowsUpdates (not desired here) is reported on reportAll: ask for everything now.
    await env.service.invokeDeviceMethod(id, {
      methodName: 'windows.reportAllAsync',
      responseTimeoutInSeconds: 10,
    });
    await dm.flushReports();
    const wu = env.section(id, 'windowsUpdates') as Obj;
    const installed = (await readNode('./Device/Vendor/MSFT/Update/InstalledUpdates')) as string[];
    assert.ok(installed.length > 0);
    assert.equal(wu.installed, installed.join('/'));
    assert.equal(
      wu.lastScanTime,
      await readNode('./Device/Vendor/MSFT/Update/LastSuccessfulScanTime'),
    );
  });

  it('reports a value changed on the device outside DM (read-back, not echo)', async () => {
    const id = 'feat-readback';
    const dm = await setup(id);
    env.setWindows(id, { windowsUpdatePolicy: { deferQualityUpdatesPeriod: 7 } });
    await env.waitForState(id, 'windowsUpdatePolicy', 'completed');
    assert.equal(env.section(id, 'windowsUpdatePolicy')?.deferQualityUpdatesPeriod, 7);
    // Changed on the device, outside DM.
    await deviceCsp().replace(`${POLICY_CONFIG}/DeferQualityUpdatesPeriodInDays`, 12);
    const done = nextEvent(dm, 'applied', (e) => e.section === 'windowsTelemetry');
    env.setWindows(id, { windowsTelemetry: { level: 'basic' } });
    await done;
    await env.service.invokeDeviceMethod(id, {
      methodName: 'windows.reportAllAsync',
      responseTimeoutInSeconds: 10,
    });
    await dm.flushReports();
    assert.equal(env.section(id, 'windowsUpdatePolicy')?.deferQualityUpdatesPeriod, 12);
  });

  it('fails a bad section with 400 before it reaches the device while another one applies', async () => {
    const id = 'feat-bad';
    const dm = await setup(id);
    const before = await readNode(`${POLICY_CONFIG}/ActiveHoursEnd`);
    env.setWindows(id, {
      windowsUpdatePolicy: { activeHoursStart: 25, activeHoursEnd: 5 },
      windowsTelemetry: { level: 'full' },
      windowsUpdates: { approved: 'not-a-guid' },
    });
    const bad = await env.waitForState(id, 'windowsUpdatePolicy', 'failed');
    await env.waitForState(id, 'windowsTelemetry', 'completed');
    const badUpdates = await env.waitForState(id, 'windowsUpdates', 'failed');
    await dm.settled();
    const lc = bad.lastChange as Obj;
    assert.equal(lc.errCode, 400);
    assert.match(String(lc.errContext), /activeHoursStart: 25 is above 23/);
    assert.equal((badUpdates.lastChange as Obj).errCode, 400);
    assert.equal(await readNode(`${POLICY_CONFIG}/ActiveHoursEnd`), before);
    assert.equal(await readNode(TELEMETRY_CONFIG), 3);
    assert.equal(env.section(id, 'windowsTelemetry')?.level, 'full');
  });

  it('startUsoClientCmdAsync: a scan answers 501, a refused restart answers 409 and is reported', async () => {
    const id = 'feat-uso';
    const dm = await setup(id, () => false);
    const scan = await env.service.invokeDeviceMethod(id, {
      methodName: 'windows.startUsoClientCmdAsync',
      payload: { cmd: 'startInteractiveScan' },
      responseTimeoutInSeconds: 10,
    });
    assert.equal((scan.result as Obj).status, 501);
    const restart = await env.service.invokeDeviceMethod(id, {
      methodName: 'windows.startUsoClientCmdAsync',
      payload: { cmd: 'restartDevice' },
      responseTimeoutInSeconds: 10,
    });
    assert.equal((restart.result as Obj).status, 409);
    assert.equal(((restart.result as Obj).payload as Obj).response, 'rejectedByApp');
    await dm.flushReports();
    const rec = env.section(id, 'windowsUpdatePolicy')?.lastUsoClientCmd as Obj;
    assert.equal(rec.cmd, 'restartDevice');
    assert.equal(rec.response, 'rejectedByApp');
  });
});
