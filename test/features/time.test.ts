/**
 * timeInfo and timeService over the real device and service SDKs, the local hub, the real addon's
 * system part and the CSP emulator: a key name goes through the Policy CSP and the emulated
 * device applies it (as Windows does), explicit rules through SetDynamicTimeZoneInformation's
 * emulation, the time service's startup type and state through the emulated service control,
 * everything reported is read back from the device, bad input fails its section.
 */
import assert from 'node:assert/strict';
import {
  CONFIGURE_TIME_ZONE,
  NTP_CLIENT_ENABLE,
  createTimeHandlers,
} from '../../lib/features/time';
import { defaultNativeSystem } from '../../lib/native/addon-system';
import { DmEnv, readNode, waitFor } from '../dm/helpers';

describe('features: timeInfo and timeService (real SDK, local hub, system part, CSP emulator)', function () {
  this.timeout(30000);
  let env: DmEnv;
  const system = defaultNativeSystem();

  before(async () => {
    env = await DmEnv.start();
  });
  afterEach(async () => {
    await env.cleanup();
    await system.setService('w32time', { startup: 'auto', running: true });
  });
  after(async () => {
    await env.close();
  });

  async function setup(id: string) {
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers: createTimeHandlers({ system }) });
    await env.waitForSubscriptions(id);
    return dm;
  }

  it('a key name goes through ConfigureTimeZone; the zone read back is the device’s', async () => {
    const id = 'time-key';
    const dm = await setup(id);
    env.setWindows(id, {
      timeInfo: { timeZoneKeyName: 'Tokyo Standard Time', ntpServer: 'ntp.contoso.com' },
      timeService: { enabled: 'yes' },
    });
    const info = await env.waitForState(id, 'timeInfo', 'completed');
    await env.waitForState(id, 'timeService', 'completed');
    await dm.settled();
    assert.equal(await readNode(CONFIGURE_TIME_ZONE), 'Tokyo Standard Time');
    const tz = await system.getTimeZone();
    assert.equal(tz.keyName, 'Tokyo Standard Time');
    assert.equal(info.timeZoneKeyName, 'Tokyo Standard Time');
    assert.equal(info.timeZoneBias, tz.bias);
    assert.equal(info.timeZoneBias, -540);
    assert.equal(info.ntpServer, 'ntp.contoso.com');
    assert.match(String(info.localTime), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    assert.equal(env.section(id, 'timeService')?.enabled, 'yes');
    assert.equal(env.section(id, 'timeService')?.startup, 'auto');
    assert.equal(env.section(id, 'timeService')?.started, 'yes');
    assert.equal(await readNode(NTP_CLIENT_ENABLE), '<enabled/>');
  });

  it('startup and started control the emulated w32time service and are read back from it', async () => {
    const id = 'time-service';
    const dm = await setup(id);
    env.setWindows(id, { timeService: { startup: 'manual', started: 'no' } });
    const reported = await env.waitForState(id, 'timeService', 'completed');
    await dm.settled();
    assert.deepEqual(await system.getService('w32time'), {
      name: 'w32time',
      startup: 'manual',
      running: false,
    });
    assert.equal(reported.startup, 'manual');
    assert.equal(reported.started, 'no');
    // sourcePriority local keeps the device's service settings.
    env.setWindows(id, {
      timeService: { startup: 'auto', started: 'yes', sourcePriority: 'local' },
    });
    await waitFor(() => env.section(id, 'timeService')?.sourcePriority === 'local', 8000);
    await dm.settled();
    assert.deepEqual(await system.getService('w32time'), {
      name: 'w32time',
      startup: 'manual',
      running: false,
    });
    assert.equal(env.section(id, 'timeService')?.started, 'no');
  });

  it('explicit rules go through the system part and remove the key-name policy', async () => {
    const id = 'time-explicit';
    const dm = await setup(id);
    env.setWindows(id, {
      timeInfo: {
        dynamicDaylightTimeDisabled: true,
        timeZoneBias: 300,
        timeZoneStandardName: 'Contoso Standard',
        timeZoneStandardBias: 0,
        timeZoneStandardDate: '2016-11-01T02:00:00Z',
        timeZoneStandardDayOfWeek: 0,
        timeZoneDaylightName: 'Contoso Daylight',
        timeZoneDaylightBias: -60,
        timeZoneDaylightDate: '2016-03-02T02:00:00Z',
        timeZoneDaylightDayOfWeek: 0,
      },
    });
    const info = await env.waitForState(id, 'timeInfo', 'completed');
    await dm.settled();
    const tz = await system.getTimeZone();
    assert.equal(tz.bias, 300);
    assert.equal(tz.standardName, 'Contoso Standard');
    assert.deepEqual(tz.daylightDate, { month: 3, week: 2, dayOfWeek: 0, hour: 2, minute: 0 });
    assert.equal(info.timeZoneStandardName, 'Contoso Standard');
    assert.equal(info.timeZoneDaylightDate, '0000-03-02T02:00:00');
    assert.equal(info.dynamicDaylightTimeDisabled, true);
    assert.equal(await readNode(CONFIGURE_TIME_ZONE), undefined, 'the key-name policy is gone');
  });

  it('an unknown key name is refused by the device (failed, CSP 400); bad input fails while timeService applies', async () => {
    const id = 'time-bad';
    const dm = await setup(id);
    env.setWindows(id, { timeInfo: { timeZoneKeyName: 'Mars Standard Time' } });
    const refused = await env.waitForState(id, 'timeInfo', 'failed');
    assert.equal((refused.lastChange as { errSubSystem: string }).errSubSystem, 'CSP');
    assert.equal((refused.lastChange as { errCode: number }).errCode, 400);
    env.setWindows(id, { timeInfo: { timeZoneBias: 5000 }, timeService: { enabled: 'no' } });
    await env.waitForState(id, 'timeService', 'completed');
    await dm.settled();
    const info = env.section(id, 'timeInfo') as {
      lastChange: { state: string; errCode: number; errContext: string };
    };
    assert.equal(info.lastChange.state, 'failed');
    assert.equal(info.lastChange.errCode, 400);
    assert.match(info.lastChange.errContext, /5000 is above 1440/);
    assert.equal(await readNode(NTP_CLIENT_ENABLE), '<disabled/>');
  });
});
