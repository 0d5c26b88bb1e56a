/**
 * The reboot features over MockMdm + MockTwinLink + MockSystem: rebootInfo schedules (normalized
 * whole seconds, "" = Delete, read back), bad input, windows.rebootAsync and the refused-then-
 * allowed, exactly-once design across restarts.
 */
import assert from 'node:assert/strict';
import type { JsonObject } from '../../../lib/dm/handler';
import { createRebootHandlers } from '../../../lib/features/reboot';
import { normalizeIsoTime } from '../../../lib/features/util-iso-time';
import { alphaHandler } from '../dm/fixture';
import { DAILY, FeatureHarness, REBOOT_NOW, SINGLE, until } from './reboot-fixture';

describe('features: reboot (unit)', () => {
  let h: FeatureHarness;
  beforeEach(() => {
    h = new FeatureHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  const handlers = (recheckMs = 60_000) => createRebootHandlers({ system: h.system, recheckMs });

  describe('ISO 8601 times', () => {
    it('are normalized to whole seconds; zones become UTC; zone-less stay local', () => {
      assert.equal(normalizeIsoTime('2030-01-02T03:04:05.987Z', 'x'), '2030-01-02T03:04:05Z');
      assert.equal(normalizeIsoTime('2030-01-02T03:04:05,5+02:00', 'x'), '2030-01-02T01:04:05Z');
      assert.equal(normalizeIsoTime('2030-01-02T03:04', 'x'), '2030-01-02T03:04:00');
      assert.equal(normalizeIsoTime('2030-01-02T03:04:05-0130', 'x'), '2030-01-02T04:34:05Z');
    });
    it('refuses impossible calendar times and other shapes', () => {
      for (const bad of [
        '2030-02-30T00:00:00Z',
        '2030-13-01T00:00:00',
        '2030-01-01T24:00:00',
        'tomorrow',
        '2030-01-01 03:00:00',
        '2030-01-01T03:00:00+15:00',
      ]) {
        assert.throws(() => normalizeIsoTime(bad, 'w.t'), /w\.t/, bad);
      }
    });
  });

  describe('rebootInfo', () => {
    it('writes both schedules with whole seconds and reports them read back with the boot time', async () => {
      h.link.desired.windows = {
        rebootInfo: {
          singleRebootTime: '2030-05-01T02:03:04.567Z',
          dailyRebootTime: '2030-05-01T04:00:00+01:00',
        },
      };
      await h.attach(handlers());
      await h.idle();
      assert.equal(h.mock.node(SINGLE)?.value, '2030-05-01T02:03:04Z');
      assert.equal(h.mock.node(DAILY)?.value, '2030-05-01T03:00:00Z');
      const r = h.section('rebootInfo');
      assert.equal(r.singleRebootTime, '2030-05-01T02:03:04Z');
      assert.equal(r.dailyRebootTime, '2030-05-01T03:00:00Z');
      assert.equal(
        r.lastBootTime,
        new Date(Math.floor(h.system.bootTimeMs / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      );
      assert.equal(r.singleRebootStatus, 'scheduled');
      assert.equal(h.lastChange('rebootInfo').state, 'completed');
      // Read back from the device, not echoed: a change on the device shows on the next report.
      h.mock.setNode(DAILY, { value: '2031-01-01T00:00:00Z' });
      await h.dm!.reportNow('rebootInfo');
      await h.idle();
      assert.equal(h.section('rebootInfo').dailyRebootTime, '2031-01-01T00:00:00Z');
    });

    it('"" deletes a schedule (Delete; absent reads back as "")', async () => {
      await h.attach(handlers());
      h.link.setDesired({
        windows: {
          rebootInfo: {
            singleRebootTime: '2030-01-01T00:00:00Z',
            dailyRebootTime: '2030-01-01T01:00:00Z',
          },
        },
      });
      await h.idle();
      assert.ok(h.mock.node(SINGLE));
      h.link.setDesired({ windows: { rebootInfo: { singleRebootTime: '', dailyRebootTime: '' } } });
      await h.idle();
      assert.equal(h.mock.node(SINGLE), undefined);
      assert.equal(h.mock.node(DAILY), undefined);
      assert.ok(h.mock.sentOps.some((op) => op.verb === 'delete' && op.uri === SINGLE));
      assert.equal(h.section('rebootInfo').singleRebootTime, '');
      assert.equal(h.section('rebootInfo').dailyRebootTime, '');
      assert.equal(h.lastChange('rebootInfo').state, 'completed');
      // Clearing what is already clear is fine (404 on Delete).
      h.link.setDesired({
        windows: { rebootInfo: { singleRebootTime: '', dailyRebootTime: '2030-01-01T01:00:00Z' } },
      });
      await h.idle();
      assert.equal(h.lastChange('rebootInfo').state, 'completed');
    });

    const bad: Array<[string, JsonObject, RegExp]> = [
      ['a wrong type', { singleRebootTime: 5 }, /singleRebootTime: expected a string/],
      [
        'an impossible date',
        { singleRebootTime: '2030-02-30T01:00:00Z' },
        /not a valid calendar time/,
      ],
      ['a non-ISO time', { dailyRebootTime: '03:00 every day' }, /dailyRebootTime.*does not match/],
      [
        'an unknown key',
        { weeklyRebootTime: '2030-01-01T00:00:00Z' },
        /weeklyRebootTime: unknown key/,
      ],
      ['a bare time of day', { singleRebootTime: '03:00:00' }, /singleRebootTime.*does not match/],
    ];
    for (const [what, value, re] of bad) {
      it(`${what} is reported failed (400, errContext) while another section of the update applies`, async () => {
        await h.attach([...handlers(), alphaHandler()]);
        h.link.setDesired({ windows: { rebootInfo: value, alpha: { name: 'applied' } } });
        await h.idle();
        const lc = h.lastChange('rebootInfo');
        assert.equal(lc.state, 'failed');
        assert.equal(lc.errCode, 400);
        assert.match(String(lc.errContext), re);
        assert.equal(h.lastChange('alpha').state, 'completed');
        assert.equal(h.mock.node('./Device/Vendor/MSFT/Test/Alpha/Name')?.value, 'applied');
        assert.equal(h.mock.node(SINGLE), undefined);
      });
    }

    it('a device refusal (400) reports the CSP error', async () => {
      h.mock.respond(DAILY, 400);
      await h.attach(handlers());
      h.link.setDesired({ windows: { rebootInfo: { dailyRebootTime: '2030-01-01T01:00:00Z' } } });
      await h.idle();
      assert.equal(h.lastChange('rebootInfo').errSubSystem, 'CSP');
      assert.equal(h.lastChange('rebootInfo').errCode, 400);
    });

    it('a single time the host refuses is held (not written), then written once the host allows', async () => {
      h.allowed = false;
      await h.attach(handlers(10));
      h.link.setDesired({ windows: { rebootInfo: { singleRebootTime: '2099-01-01T00:00:00Z' } } });
      await h.idle();
      assert.equal(h.mock.node(SINGLE), undefined);
      assert.equal(h.section('rebootInfo').singleRebootStatus, 'rejectedByApp');
      assert.equal(h.section('rebootInfo').singleRebootTime, '');
      h.allowed = true;
      await until(
        () => h.section('rebootInfo').singleRebootStatus === 'scheduled',
        3000,
        'scheduled',
      );
      assert.equal(h.mock.node(SINGLE)?.value, '2099-01-01T00:00:00Z');
      assert.equal(h.execs(), 0);
    });

    it('a held single time that passed while refused reboots once when allowed, even across a restart', async () => {
      h.allowed = false;
      await h.attach(handlers());
      h.link.setDesired({ windows: { rebootInfo: { singleRebootTime: '2001-01-01T00:00:00Z' } } });
      await h.idle();
      assert.equal(h.section('rebootInfo').singleRebootStatus, 'rejectedByApp');
      await h.detach();
      h.allowed = true;
      await h.attach(handlers());
      await h.dm!.reportNow('rebootInfo');
      await h.idle();
      assert.equal(h.execs(REBOOT_NOW), 1);
      assert.equal(h.section('rebootInfo').singleRebootStatus, 'rebootSent');
      await h.dm!.reportNow();
      await h.detach();
      await h.attach(handlers());
      await h.dm!.reportNow();
      await h.idle();
      assert.equal(h.execs(REBOOT_NOW), 1);
    });
  });

  describe('windows.rebootAsync', () => {
    it('allowed: pending reported, rebootPending event, one RebootNow; after the reboot, completed', async () => {
      await h.attach(handlers());
      const r = await h.link.invoke('windows.rebootAsync');
      assert.equal(r.status, 200);
      const body = r.body as JsonObject;
      assert.equal(body.response, 'scheduled');
      assert.equal((body.lastChange as JsonObject).state, 'pending');
      assert.equal(typeof body.requestId, 'string');
      assert.equal(h.execs(REBOOT_NOW), 1);
      assert.deepEqual(
        h.events.map((e) => e.requestId),
        [body.requestId],
      );
      await h.idle();
      assert.equal(h.section('rebootCmd').response, 'scheduled');
      assert.equal(h.section('rebootInfo').lastRebootCmdStatus, 'pending');
      // The device reboots; the client starts again.
      await h.detach();
      h.system.reboot(Date.now() + 1000);
      await h.attach(handlers());
      await h.idle();
      assert.equal(h.lastChange('rebootCmd').state, 'completed');
      assert.equal(h.section('rebootCmd').requestId, body.requestId);
      assert.equal(h.section('rebootInfo').lastRebootCmdStatus, 'completed');
      assert.equal(h.section('rebootInfo').lastRebootCmdTime, body.requestTime);
      assert.equal(h.execs(REBOOT_NOW), 1);
    });

    it('refused: reported rejectedByApp (section and body), then exactly one RebootNow once allowed', async () => {
      h.allowed = false;
      await h.attach(handlers(10));
      const r = await h.link.invoke('windows.rebootAsync', { requestId: 'req-1' });
      assert.equal(r.status, 202);
      assert.equal((r.body as JsonObject).response, 'rejectedByApp');
      assert.equal((r.body as JsonObject).willRetry, true);
      assert.equal((r.body as JsonObject).requestId, 'req-1');
      await h.idle();
      assert.equal(h.section('rebootCmd').response, 'rejectedByApp');
      assert.equal(h.section('rebootInfo').lastRebootCmdStatus, 'rejectedByApp');
      // A second request while the first waits joins it.
      const r2 = await h.link.invoke('windows.rebootAsync', { requestId: 'req-2' });
      assert.equal((r2.body as JsonObject).requestId, 'req-1');
      assert.equal(h.execs(), 0);
      // Refused again on every recheck: nothing new is written or reported.
      const cmdPatches = (): number =>
        h.link.reportedPatches.filter(
          (p) => (p.windows as JsonObject | undefined)?.rebootCmd !== undefined,
        ).length;
      await h.idle();
      const before = cmdPatches();
      await new Promise((res) => setTimeout(res, 60));
      await h.idle();
      assert.equal(cmdPatches(), before);
      h.allowed = true;
      await until(() => h.execs(REBOOT_NOW) === 1, 3000, 'one RebootNow');
      await until(() => h.section('rebootInfo').lastRebootCmdStatus === 'pending', 3000, 'pending');
      // More rechecks, a report and a repeated id: still one.
      await new Promise((res) => setTimeout(res, 60));
      await h.dm!.reportNow();
      const again = await h.link.invoke('windows.rebootAsync', { requestId: 'req-2' });
      assert.equal((again.body as JsonObject).repeated, true);
      assert.equal((again.body as JsonObject).response, 'scheduled');
      assert.equal(h.execs(REBOOT_NOW), 1);
      assert.equal(h.events.length, 1);
    });

    it('refused, then allowed after a restart: the persisted request is carried out once (reportNow)', async () => {
      h.allowed = false;
      await h.attach(handlers());
      await h.link.invoke('windows.rebootAsync', { requestId: 'persisted-1' });
      await h.detach();
      h.allowed = true;
      await h.attach(handlers());
      assert.equal(h.execs(), 0);
      await h.dm!.reportNow('rebootInfo');
      await h.idle();
      assert.equal(h.execs(REBOOT_NOW), 1);
      assert.equal(h.section('rebootCmd').requestId, 'persisted-1');
      await h.dm!.reportNow('rebootInfo');
      assert.equal(h.execs(REBOOT_NOW), 1);
    });

    it('a restart while RebootNow is in flight never sends it again (interrupted, or completed after a reboot)', async () => {
      await h.attach(handlers());
      h.mock.holdExec = true;
      void h.link.invoke('windows.rebootAsync', { requestId: 'mid-1' });
      await until(() => h.mock.held === 1, 3000, 'exec held');
      await h.idle();
      assert.equal(h.lastChange('rebootCmd').state, 'pending');
      await h.detach();
      h.mock.holdExec = false;
      await h.attach(handlers(10));
      await h.idle();
      assert.equal(h.lastChange('rebootCmd').state, 'failed');
      assert.match(String(h.lastChange('rebootCmd').errContext), /not sent again/);
      assert.equal(h.section('rebootInfo').lastRebootCmdStatus, 'failed');
      await new Promise((res) => setTimeout(res, 50));
      await h.dm!.reportNow();
      assert.equal(h.execs(), 0);
      // The same id answers the recorded outcome without acting.
      const r = await h.link.invoke('windows.rebootAsync', { requestId: 'mid-1' });
      assert.equal(r.status, 500);
      assert.equal(h.execs(), 0);
      // Had the device rebooted after all, the next start says so.
      await h.detach();
      h.system.reboot(Date.now() + 1000);
      await h.attach(handlers());
      await h.idle();
      assert.equal(h.lastChange('rebootCmd').state, 'completed');
      assert.equal(h.execs(), 0);
    });

    it('a boot time in whole seconds, the second of the RebootNow, counts as that reboot', async () => {
      await h.attach(handlers());
      const before = Date.now();
      const r = await h.link.invoke('windows.rebootAsync', { requestId: 'sec-1' });
      assert.equal(r.status, 200);
      await h.idle();
      await h.detach();
      // As the CSP emulator records it: the RebootNow's second, milliseconds dropped.
      h.system.reboot(Math.floor(before / 1000) * 1000);
      await h.attach(handlers());
      await h.idle();
      assert.equal(h.lastChange('rebootCmd').state, 'completed');
      assert.equal(h.execs(), 1);
    });

    it('a failing RebootNow answers 500 with the CSP error and is not retried', async () => {
      h.mock.respond(REBOOT_NOW, 405);
      await h.attach(handlers(10));
      const r = await h.link.invoke('windows.rebootAsync');
      assert.equal(r.status, 500);
      const lc = (r.body as JsonObject).lastChange as JsonObject;
      assert.equal(lc.state, 'failed');
      assert.equal(lc.errCode, 405);
      await new Promise((res) => setTimeout(res, 50));
      assert.equal(h.mock.sentOps.filter((op) => op.verb === 'exec').length, 1);
    });

    it('a bad payload answers 400; a host hook that throws counts as a refusal', async () => {
      await h.attach(handlers(), {
        isRebootAllowed: () => {
          throw new Error('busy');
        },
      });
      const bad = await h.link.invoke('windows.rebootAsync', { requestId: 'bad id!' });
      assert.equal(bad.status, 400);
      const bad2 = await h.link.invoke('windows.rebootAsync', { force: true });
      assert.equal(bad2.status, 400);
      const r = await h.link.invoke('windows.rebootAsync');
      assert.equal((r.body as JsonObject).response, 'rejectedByApp');
      assert.equal(h.execs(), 0);
    });

    it('a desired rebootCmd value is refused (report-only section)', async () => {
      await h.attach(handlers());
      h.link.setDesired({ windows: { rebootCmd: { x: 1 } } });
      await h.idle();
      assert.equal(h.lastChange('rebootCmd').state, 'failed');
    });
  });
});
