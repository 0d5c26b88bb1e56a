import assert from 'node:assert/strict';
import type { JsonObject } from '../../../lib/dm/handler';
import {
  TELEMETRY_CONFIG,
  TELEMETRY_RESULT,
  windowsTelemetryHandler,
} from '../../../lib/features/telemetry';
import {
  POLICY_CONFIG,
  POLICY_RESULT,
  REBOOT_NOW,
  createWindowsUpdateHandlers,
  createWindowsUpdatesHandler,
} from '../../../lib/features/windows-update';
import { deviceInfoHandler } from '../../../lib/features/device-info';
import type { CspOp } from '../../../lib/native/contract';
import {
  type Harness,
  ddfCheck,
  ddfCheckAvailable,
  ddfLines,
  featureHarness,
  lastChangeOf,
} from './fixture';

const NEW_GUID = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const APPROVED_GUID = 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e04';

/** Every op sent by the tests that use the default configuration, for the ddf-check test. */
const sentOps: CspOp[] = [];

function writesTo(h: Harness, prefix: string): CspOp[] {
  return h.mock.sentOps.filter((op) => op.verb !== 'get' && op.uri.startsWith(prefix));
}

describe('features/windowsTelemetry and Windows Update', () => {
  let h: Harness;
  beforeEach(() => {
    h = featureHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  describe('windowsTelemetry', () => {
    afterEach(() => sentOps.push(...h.mock.sentOps));

    it('writes AllowTelemetry and reports the level read back from the device', async () => {
      const dm = await h.attach([windowsTelemetryHandler]);
      h.link.setDesired({ windows: { windowsTelemetry: { level: 'full' } } });
      await h.idle(dm);
      assert.equal(lastChangeOf(h, 'windowsTelemetry').state, 'completed');
      assert.equal(h.mock.node(TELEMETRY_CONFIG)?.value, '3');
      assert.equal(h.section('windowsTelemetry')?.level, 'full');
      // The effective policy (Result) wins over the configured value: not an echo.
      h.mock.setNode(TELEMETRY_RESULT, { value: 1, format: 'int' });
      await h.link.invoke('windows.reportAllAsync');
      await h.idle(dm);
      assert.equal(h.section('windowsTelemetry')?.level, 'basic');
    });

    it('refuses enhanced (not allowed by the DDF) and bad values with 400, writing nothing', async () => {
      for (const level of ['enhanced', '', 'max', 3] as const) {
        const dm = await h.attach([windowsTelemetryHandler]);
        h.link.setDesired({ windows: { windowsTelemetry: { level } } });
        await h.idle(dm);
        const lc = lastChangeOf(h, 'windowsTelemetry');
        assert.equal(lc.state, 'failed', String(level));
        assert.equal(lc.errCode, 400);
        assert.match(String(lc.errContext), /level/);
        assert.deepEqual(writesTo(h, TELEMETRY_CONFIG), []);
        assert.equal(h.section('windowsTelemetry')?.level, '<not set>');
        await dm.detach(50);
      }
    });
  });

  describe('windowsUpdatePolicy', () => {
    afterEach(() => sentOps.push(...h.mock.sentOps));

    it('writes only the fields present and reports Result values (Config as fallback)', async () => {
      const dm = await h.attach(createWindowsUpdateHandlers());
      h.mock.setNode(`${POLICY_RESULT}/ActiveHoursEnd`, { value: 20, format: 'int' });
      h.link.setDesired({
        windows: {
          windowsUpdatePolicy: {
            applyProperties: { activeHoursStart: 7, branchReadinessLevel: 32, ring: 'Preview' },
            reportProperties: 'yes',
          },
        },
      });
      await h.idle(dm);
      assert.equal(lastChangeOf(h, 'windowsUpdatePolicy').state, 'completed');
      const writes = writesTo(h, POLICY_CONFIG).map((op) => op.uri.split('/').pop());
      assert.deepEqual([...new Set(writes)].sort(), ['ActiveHoursStart', 'BranchReadinessLevel']);
      const r = h.section('windowsUpdatePolicy') ?? {};
      assert.equal(r.activeHoursStart, 7);
      assert.equal(r.branchReadinessLevel, 32);
      assert.equal(r.activeHoursEnd, 20); // from Result, never desired
      assert.equal(r.allowAutoUpdate, '<not set>');
      assert.equal(r.ring, 'n/a');
      assert.equal(r.sourcePriority, 'remote');
    });

    it('refuses out-of-range, wrong-type, unknown and empty values with 400 before any write; another section still applies', async () => {
      const bad: JsonObject[] = [
        { activeHoursStart: 25 },
        { activeHoursEnd: -1 },
        { deferQualityUpdatesPeriod: 31 },
        { branchReadinessLevel: 3 },
        { allowAutoUpdate: '2' },
        { pauseFeatureUpdates: true },
        { colour: 'red' },
        { ring: '' },
        { sourcePriority: '' },
        { scheduledInstallTime: 1.5 },
      ];
      for (const value of bad) {
        // A fresh twin each time: desired patches merge, so keys would pile up.
        await h.cleanup();
        h = featureHarness();
        const dm = await h.attach([...createWindowsUpdateHandlers(), windowsTelemetryHandler]);
        h.link.setDesired({
          windows: { windowsUpdatePolicy: value, windowsTelemetry: { level: 'basic' } },
        });
        await h.idle(dm);
        const lc = lastChangeOf(h, 'windowsUpdatePolicy');
        const what = JSON.stringify(value);
        assert.equal(lc.state, 'failed', what);
        assert.equal(lc.errCode, 400, what);
        assert.match(String(lc.errContext), new RegExp(Object.keys(value)[0] ?? ''), what);
        assert.deepEqual(writesTo(h, POLICY_CONFIG), [], what);
        assert.equal(lastChangeOf(h, 'windowsTelemetry').state, 'completed', what);
        assert.equal(h.section('windowsTelemetry')?.level, 'basic');
        sentOps.push(...h.mock.sentOps);
      }
    });

    it('reports "<error>" for a policy that cannot be read, the others still from the device', async () => {
      h.mock.respond(`${POLICY_RESULT}/PauseQualityUpdates`, 500);
      h.mock.respond(`${POLICY_CONFIG}/PauseQualityUpdates`, 500);
      const dm = await h.attach(createWindowsUpdateHandlers());
      h.link.setDesired({ windows: { windowsUpdatePolicy: { pauseFeatureUpdates: 1 } } });
      await h.idle(dm);
      assert.equal(lastChangeOf(h, 'windowsUpdatePolicy').state, 'completed');
      const r = h.section('windowsUpdatePolicy') ?? {};
      assert.equal(r.pauseQualityUpdates, '<error>');
      assert.equal(r.pauseFeatureUpdates, 1);
      assert.equal(r.scheduledInstallTime, '<not set>');
    });

    it('with sourcePriority local keeps the device policy (no writes) and reports it', async () => {
      const dm = await h.attach(createWindowsUpdateHandlers());
      h.link.setDesired({
        windows: { windowsUpdatePolicy: { sourcePriority: 'local', activeHoursStart: 9 } },
      });
      await h.idle(dm);
      assert.equal(lastChangeOf(h, 'windowsUpdatePolicy').state, 'completed');
      assert.deepEqual(writesTo(h, POLICY_CONFIG), []);
      const r = h.section('windowsUpdatePolicy') ?? {};
      assert.equal(r.sourcePriority, 'local');
      assert.equal(r.activeHoursStart, '<not set>');
      h.link.setDesired({
        windows: { windowsUpdatePolicy: { sourcePriority: 'remote', activeHoursStart: 9 } },
      });
      await h.idle(dm);
      assert.equal(h.section('windowsUpdatePolicy')?.activeHoursStart, 9);
      assert.equal(h.section('windowsUpdatePolicy')?.sourcePriority, 'remote');
    });

    it('startUsoClientCmdAsync: scan answers 501; restart asks the host first', async () => {
      let allow = false;
      const dm = await h.attach(createWindowsUpdateHandlers(), {
        isRebootAllowed: () => allow,
      });
      const pending: JsonObject[] = [];
      dm.on('rebootPending', (d) => pending.push(d));
      const scan = await h.link.invoke('windows.startUsoClientCmdAsync', {
        cmd: 'startInteractiveScan',
      });
      assert.equal(scan.status, 501);
      assert.equal((scan.body as JsonObject).response, 'notSupported');

      const refused = await h.link.invoke('windows.startUsoClientCmdAsync', {
        cmd: 'restartDevice',
      });
      assert.equal(refused.status, 409);
      assert.equal((refused.body as JsonObject).response, 'rejectedByApp');
      assert.equal(h.mock.execLog.length, 0);
      await h.idle(dm);
      const rec = h.section('windowsUpdatePolicy')?.lastUsoClientCmd as JsonObject;
      assert.equal(rec.response, 'rejectedByApp');
      assert.equal(rec.cmd, 'restartDevice');

      allow = true;
      h.mock.setNode(REBOOT_NOW, { format: 'null', access: ['get', 'exec'] });
      const ok = await h.link.invoke('windows.startUsoClientCmdAsync', { cmd: 'restartDevice' });
      assert.equal(ok.status, 200);
      assert.deepEqual(
        h.mock.execLog.map((e) => e.uri),
        [REBOOT_NOW],
      );
      assert.equal(pending.length, 1);

      const bad = await h.link.invoke('windows.startUsoClientCmdAsync', { cmd: 'reboot' });
      assert.equal(bad.status, 400);
    });
  });

  describe('windowsUpdates', () => {
    it('reports the Update CSP lists, scan time and deferUpgrade from the device', async () => {
      const dm = await h.attach(createWindowsUpdateHandlers());
      h.link.setDesired({ windows: { windowsUpdates: { approved: APPROVED_GUID } } });
      await h.idle(dm);
      sentOps.push(...h.mock.sentOps);
      assert.equal(lastChangeOf(h, 'windowsUpdates').state, 'completed');
      const r = h.section('windowsUpdates') ?? {};
      assert.equal(r.approved, APPROVED_GUID);
      assert.equal(
        r.installed,
        '0f2c5e1a-6b1d-4a54-9a59-2d1f3c9e7b01/5d7e8a2b-3c4f-4e6a-8b9c-0a1b2c3d4e02',
      );
      assert.equal(r.failed, '');
      assert.equal(r.lastScanTime, '2024-05-15T02:00:00Z');
      assert.equal(r.deferUpgrade, false);
    });

    it('refuses a new approval with 501 (no Add on this platform) and malformed GUIDs with 400', async () => {
      const dm = await h.attach(createWindowsUpdateHandlers());
      h.link.setDesired({ windows: { windowsUpdates: { approved: NEW_GUID } } });
      await h.idle(dm);
      let lc = lastChangeOf(h, 'windowsUpdates');
      assert.equal(lc.state, 'failed');
      assert.equal(lc.errCode, 501);
      assert.match(String(lc.errContext), /ApprovedUpdates/);
      for (const approved of ['', 'not-a-guid', `${NEW_GUID}/`, 42]) {
        h.link.setDesired({ windows: { windowsUpdates: { approved } } });
        await h.idle(dm);
        lc = lastChangeOf(h, 'windowsUpdates');
        assert.equal(lc.errCode, 400, String(approved));
      }
      sentOps.push(...h.mock.sentOps);
      assert.deepEqual(
        h.mock.sentOps.filter((op) => op.verb === 'add'),
        [],
      );
    });

    it('with approveViaAdd adds only the GUIDs not yet approved', async () => {
      const dm = await h.attach([createWindowsUpdatesHandler({ approveViaAdd: true })]);
      h.link.setDesired({
        windows: { windowsUpdates: { approved: `${APPROVED_GUID}/${NEW_GUID.toUpperCase()}` } },
      });
      await h.idle(dm);
      assert.deepEqual(
        h.mock.sentOps.filter((op) => op.verb === 'add').map((op) => op.uri),
        [`./Device/Vendor/MSFT/Update/ApprovedUpdates/${NEW_GUID}`],
      );
    });
  });

  describe('DDF conformance', () => {
    it('every op the features sent (default configuration) passes ddf-check', async function () {
      if (!ddfCheckAvailable()) {
        this.skip(); // ../shared (DDFs and tools/ddf-check.py) is not present in this checkout
      }
      const dm = await h.attach([deviceInfoHandler]);
      h.link.setDesired({ windows: { deviceInfo: {} } });
      await h.idle(dm);
      const lines = [...new Set(ddfLines([...sentOps, ...h.mock.sentOps]))];
      assert.ok(lines.length > 40, `only ${lines.length} distinct ops collected`);
      for (const verb of ['Get', 'Add', 'Replace', 'Exec']) {
        assert.ok(
          lines.some((l) => l.startsWith(`${verb} `)),
          `no ${verb} op collected`,
        );
      }
      const { invalid, ok, raw } = ddfCheck(lines);
      assert.deepEqual(invalid, [], raw);
      assert.equal(ok, lines.length, raw);
    });
  });
});
