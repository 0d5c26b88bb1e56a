import assert from 'node:assert/strict';
import {
  CONFIGURE_TIME_ZONE,
  LOCAL_TIME,
  NTP_CLIENT_CONFIG,
  NTP_CLIENT_ENABLE,
  TIME_SERVICE,
  createTimeHandlers,
  formatRuleDate,
  ntpClientPayload,
  ntpServersOf,
  parseRuleDate,
} from '../../../lib/features/time';
import { MockSystem } from '../../../lib/testing/mock-system';
import {
  ddfCheck,
  ddfCheckAvailable,
  ddfLines,
  featureHarness,
  lastChangeOf,
  type Harness,
} from './fixture';

describe('features/timeInfo and timeService', () => {
  let h: Harness;
  let system: MockSystem;
  beforeEach(() => {
    h = featureHarness();
    h.mock.setNode(LOCAL_TIME, { value: '2026-11-26T09:15:00.000' });
    system = new MockSystem();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  const attach = (): ReturnType<Harness['attach']> => h.attach(createTimeHandlers({ system }));

  it('sets the time zone by key name through the Policy CSP and reports the system read-back', async () => {
    const dm = await attach();
    await h.idle(dm);
    // The device applies the policy (on Windows); here the mock system follows it by hand.
    h.link.setDesired({ windows: { timeInfo: { timeZoneKeyName: 'Pacific Standard Time' } } });
    await h.idle(dm);
    assert.equal(h.mock.node(CONFIGURE_TIME_ZONE)?.value, 'Pacific Standard Time');
    assert.equal(system.calls.filter((c) => c.fn === 'setTimeZone').length, 0);
    const section = h.section('timeInfo')!;
    assert.equal(lastChangeOf(h, 'timeInfo').state, 'completed');
    // Read back from the system, never echoed: the mock system still says UTC.
    assert.equal(section.timeZoneKeyName, 'UTC');
    assert.equal(section.localTime, '2026-11-26T09:15:00.000');
    assert.equal(section.ntpServer, '<not set>');
  });

  it('sets explicit rules through the native system part and removes the key-name policy', async () => {
    h.mock.setNode(CONFIGURE_TIME_ZONE, { value: 'Tokyo Standard Time' });
    const dm = await attach();
    await h.idle(dm);
    h.link.setDesired({
      windows: {
        timeInfo: {
          dynamicDaylightTimeDisabled: true,
          timeZoneBias: 480,
          timeZoneStandardName: 'Pacific Standard Time',
          timeZoneStandardBias: 0,
          timeZoneStandardDate: '2016-11-01T02:00:00Z',
          timeZoneStandardDayOfWeek: 0,
          timeZoneDaylightName: 'Pacific Daylight Time',
          timeZoneDaylightBias: -60,
          timeZoneDaylightDate: '2016-03-02T02:00:00Z',
          timeZoneDaylightDayOfWeek: 0,
        },
      },
    });
    await h.idle(dm);
    assert.equal(
      lastChangeOf(h, 'timeInfo').state,
      'completed',
      JSON.stringify(h.section('timeInfo')),
    );
    assert.equal(h.mock.node(CONFIGURE_TIME_ZONE), undefined);
    assert.equal(system.timeZone.bias, 480);
    assert.deepEqual(system.timeZone.standardDate, {
      month: 11,
      week: 1,
      dayOfWeek: 0,
      hour: 2,
      minute: 0,
    });
    assert.deepEqual(system.timeZone.daylightDate, {
      month: 3,
      week: 2,
      dayOfWeek: 0,
      hour: 2,
      minute: 0,
    });
    const section = h.section('timeInfo')!;
    assert.equal(section.timeZoneBias, 480);
    assert.equal(section.timeZoneDaylightDate, '0000-03-02T02:00:00');
    assert.equal(section.dynamicDaylightTimeDisabled, true);
  });

  it('writes the NTP server as the W32Time ADMX policy and reads it back', async () => {
    const dm = await attach();
    h.link.setDesired({
      windows: { timeInfo: { ntpServer: 'time.contoso.com,0x9 pool.ntp.org' } },
    });
    await h.idle(dm);
    const stored = h.mock.node(NTP_CLIENT_CONFIG)?.value as string;
    assert.match(stored, /^<enabled\/>/);
    assert.match(
      stored,
      /<data id="W32TIME_NtpServer" value="time.contoso.com,0x9 pool.ntp.org"\/>/,
    );
    assert.equal(h.section('timeInfo')?.ntpServer, 'time.contoso.com,0x9 pool.ntp.org');
  });

  for (const [name, bad, reason] of [
    ['bias out of range', { timeZoneBias: 1500 }, /1500 is above 1440/],
    ['wrong type', { timeZoneBias: '480' }, /expected an integer/],
    ['unknown key', { timeZone: 'PST' }, /timeZone: unknown key/],
    ['empty key name', { timeZoneKeyName: '' }, /does not match/],
    [
      'week 7 in a rule date',
      {
        timeZoneStandardDate: '2016-11-07T02:00:00Z',
        timeZoneDaylightDate: '2016-03-02T02:00:00Z',
      },
      /week of the month and must be 1-5/,
    ],
    ['only one transition', { timeZoneStandardDate: '2016-11-01T02:00:00Z' }, /needs both/],
    ['an NTP server with markup', { ntpServer: 'a"><x' }, /does not match/],
    ['a standard name over 31 characters', { timeZoneStandardName: 'x'.repeat(32) }, /over 31/],
  ] as const) {
    it(`refuses ${name} (failed, 400) while timeService still applies`, async () => {
      const dm = await attach();
      h.link.setDesired({ windows: { timeInfo: bad, timeService: { enabled: 'yes' } } });
      await h.idle(dm);
      const lc = lastChangeOf(h, 'timeInfo');
      assert.equal(lc.state, 'failed');
      assert.equal(lc.errCode, 400);
      assert.match(String(lc.errContext), reason);
      assert.equal(system.calls.filter((c) => c.fn === 'setTimeZone').length, 0);
      assert.equal(h.mock.node(NTP_CLIENT_CONFIG), undefined);
      assert.equal(lastChangeOf(h, 'timeService').state, 'completed');
      assert.equal(h.section('timeService')?.enabled, 'yes');
    });
  }

  it('a failure of the native system part reports the section failed with its reason', async () => {
    const dm = await attach();
    await h.idle(dm);
    system.failNext(Object.assign(new Error('access denied'), { code: 'ERR_X' }));
    h.link.setDesired({
      windows: { timeInfo: { dynamicDaylightTimeDisabled: true, timeZoneBias: 60 } },
    });
    await h.idle(dm);
    assert.equal(lastChangeOf(h, 'timeInfo').state, 'failed');
    assert.match(String(lastChangeOf(h, 'timeInfo').errContext), /access denied/);
  });

  describe('timeService', () => {
    it('enabled goes to the NTP client policy; startup/started are read from the w32time service', async () => {
      const dm = await attach();
      h.link.setDesired({ windows: { timeService: { enabled: 'no' } } });
      await h.idle(dm);
      assert.equal(h.mock.node(NTP_CLIENT_ENABLE)?.value, '<disabled/>');
      assert.deepEqual(
        { ...h.section('timeService'), lastChange: undefined },
        {
          enabled: 'no',
          startup: 'auto',
          started: 'yes',
          sourcePriority: 'remote',
          lastChange: undefined,
        },
      );
      assert.ok(
        !system.calls.some((c) => c.fn === 'setService'),
        'no service change asked, none made',
      );
    });

    it('startup and started control the w32time service through the system part', async () => {
      const dm = await attach();
      h.link.setDesired({ windows: { timeService: { startup: 'manual', started: 'no' } } });
      await h.idle(dm);
      assert.equal(lastChangeOf(h, 'timeService').state, 'completed');
      assert.deepEqual(system.services.w32time, {
        name: 'w32time',
        startup: 'manual',
        running: false,
      });
      assert.deepEqual(
        system.calls.filter((c) => c.fn === 'setService').map((c) => c.arg),
        [{ name: TIME_SERVICE, change: { startup: 'manual', running: false } }],
      );
      assert.equal(h.section('timeService')?.startup, 'manual');
      assert.equal(h.section('timeService')?.started, 'no');
      h.link.setDesired({ windows: { timeService: { startup: 'auto', started: 'yes' } } });
      await h.idle(dm);
      assert.deepEqual(system.services.w32time, {
        name: 'w32time',
        startup: 'auto',
        running: true,
      });
      assert.equal(h.section('timeService')?.startup, 'auto');
      assert.equal(h.section('timeService')?.started, 'yes');
    });

    it('reports what the device has (a disabled startup set elsewhere), and a failed start', async () => {
      system.services.w32time = { name: 'w32time', startup: 'disabled', running: false };
      const dm = await attach();
      await h.idle(dm);
      assert.equal(h.section('timeService')?.startup, 'disabled');
      assert.equal(h.section('timeService')?.started, 'no');
      h.link.setDesired({ windows: { timeService: { started: 'yes' } } });
      await h.idle(dm);
      const lc = lastChangeOf(h, 'timeService');
      assert.equal(lc.state, 'failed');
      assert.match(String(lc.errContext), /startup type is disabled/);
      assert.equal(system.services.w32time?.running, false);
    });

    it('a service that cannot be read is reported "<error>"', async () => {
      const dm = await attach();
      await h.idle(dm);
      system.getService = () => Promise.reject(new Error('access denied'));
      h.link.setDesired({ windows: { timeService: { enabled: 'yes' } } });
      await h.idle(dm);
      assert.equal(h.section('timeService')?.startup, '<error>');
      assert.equal(h.section('timeService')?.started, '<error>');
      assert.equal(h.section('timeService')?.enabled, 'yes');
    });

    it('refuses a startup type the twin may not ask for (disabled), writing nothing', async () => {
      const dm = await attach();
      h.link.setDesired({ windows: { timeService: { startup: 'disabled', enabled: 'no' } } });
      await h.idle(dm);
      const lc = lastChangeOf(h, 'timeService');
      assert.equal(lc.state, 'failed');
      assert.equal(lc.errCode, 400);
      assert.equal(h.mock.node(NTP_CLIENT_ENABLE), undefined);
      assert.ok(!system.calls.some((c) => c.fn === 'setService'));
    });

    it('sourcePriority local keeps the device settings (policy and service)', async () => {
      h.mock.setNode(NTP_CLIENT_ENABLE, { value: '<enabled/>' });
      const dm = await attach();
      h.link.setDesired({
        windows: {
          timeService: { enabled: 'no', startup: 'manual', started: 'no', sourcePriority: 'local' },
        },
      });
      await h.idle(dm);
      assert.equal(lastChangeOf(h, 'timeService').state, 'completed');
      assert.equal(h.mock.node(NTP_CLIENT_ENABLE)?.value, '<enabled/>');
      assert.deepEqual(system.services.w32time, {
        name: 'w32time',
        startup: 'auto',
        running: true,
      });
      assert.ok(!system.calls.some((c) => c.fn === 'setService'));
      assert.equal(h.section('timeService')?.enabled, 'yes');
      assert.equal(h.section('timeService')?.startup, 'auto');
      assert.equal(h.section('timeService')?.started, 'yes');
      assert.equal(h.section('timeService')?.sourcePriority, 'local');
    });
  });

  describe('MockSystem services', () => {
    it('only allowlisted names, validated changes, disabled services do not start', async () => {
      await assert.rejects(system.getService('wuauserv'), { code: 'ERR_INVALID_ARG' });
      await assert.rejects(system.setService('W32Time', { running: false }), {
        code: 'ERR_INVALID_ARG',
      });
      await assert.rejects(system.setService('w32time', { startup: 'boot' as 'auto' }), {
        code: 'ERR_INVALID_ARG',
      });
      await system.setService('w32time', { startup: 'disabled', running: false });
      await assert.rejects(system.setService('w32time', { running: true }), {
        code: 'ERR_MDM_HRESULT',
        hresult: 0x80070422,
      });
      assert.deepEqual(await system.getService('w32time'), {
        name: 'w32time',
        startup: 'disabled',
        running: false,
      });
    });
  });

  describe('helpers', () => {
    it('rule dates map month/week/time and format back', () => {
      const t = parseRuleDate('2016-03-02T02:30:00Z', 0, 'x');
      assert.deepEqual(t, { month: 3, week: 2, dayOfWeek: 0, hour: 2, minute: 30 });
      assert.equal(formatRuleDate(t), '0000-03-02T02:30:00');
      assert.equal(formatRuleDate({ month: 0, week: 0, dayOfWeek: 0, hour: 0, minute: 0 }), '');
      assert.throws(() => parseRuleDate('2016-13-01T00:00:00Z', 0, 'x'), /month 13/);
      assert.throws(() => parseRuleDate('2016-03-01T24:00:00Z', 0, 'x'), /not a time of day/);
      assert.throws(() => parseRuleDate('nope', 0, 'x'), /ISO date-time/);
    });

    it('the NTP payload escapes and parses back', () => {
      const p = ntpClientPayload('a&b');
      assert.match(p, /value="a&amp;b"/);
      assert.equal(ntpServersOf(p), 'a&b');
      assert.equal(ntpServersOf('<disabled/>'), undefined);
      assert.equal(ntpServersOf('<enabled/>'), undefined);
    });
  });

  it('every op the time features send passes ddf-check', async function () {
    if (!ddfCheckAvailable()) this.skip();
    const dm = await attach();
    h.link.setDesired({
      windows: {
        timeInfo: { ntpServer: 'time.windows.com', timeZoneKeyName: 'UTC' },
        timeService: { enabled: 'yes' },
      },
    });
    await h.idle(dm);
    h.link.setDesired({
      windows: { timeInfo: { dynamicDaylightTimeDisabled: true, timeZoneBias: 0 } },
    });
    await h.idle(dm);
    const ops = h.mock.calls.flatMap((c) => c.ops).map((op) => ({ ...op, data: undefined }));
    const { invalid, ok } = ddfCheck(ddfLines(ops));
    assert.deepEqual(invalid, []);
    assert.ok(ok >= 4, `${ok} ops checked`);
  });
});
