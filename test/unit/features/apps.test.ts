/**
 * windows.apps over MockMdm + MockTwinLink + MemoryExternalStorage: a scripted HostedInstall
 * (the test plays the device: it records the package it was given in the AppManagement nodes),
 * per-app error codes (0xA0000000, ...06, ...07, ...08), a failed installation's LastError, an
 * unreachable blob, start-up through CustomDeviceUI, uninstall, the "?" enumeration, and every
 * op sent checked against the DDFs.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { JsonObject } from '../../../lib/dm/handler';
import { createAppHandlers } from '../../../lib/features/apps';
import { hostedInstallXml } from '../../../lib/features/apps-install';
import {
  APP_INSTALLATION,
  APP_MANAGEMENT,
  BACKGROUND_TASKS,
  STARTUP_APP,
} from '../../../lib/features/apps-inventory';
import type { CspOp } from '../../../lib/native/contract';
import { MemoryExternalStorage } from '../../../lib/testing/memory-storage';
import { MockSystem } from '../../../lib/testing/mock-system';
import { type Harness, ddfCheck, ddfCheckAvailable, ddfLines, featureHarness } from './fixture';

const PFN = 'Contoso.Toaster_8wekyb3d8bbwe';
const OTHER = 'Contoso.Clock_8wekyb3d8bbwe';
const sentOps: CspOp[] = [];

async function until(test: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Plays the device for HostedInstall: the staged file's name is the package full name. */
function scriptDevice(h: Harness, seen: { xml: string[]; files: string[] }): void {
  for (const pfn of [PFN, OTHER]) {
    h.mock.respond(`${APP_INSTALLATION}/${pfn}/HostedInstall`, (op) => {
      const xml = String(op.data);
      seen.xml.push(xml);
      const uri = /PackageUri="([^"]+)"/.exec(xml)?.[1] ?? '';
      const file = fileURLToPath(uri);
      seen.files.push(file);
      assert.ok(existsSync(file), 'the package file exists while HostedInstall runs');
      const full = file.replace(/^.*[\\/]/, '').replace(/\.appx$/, '');
      const version = full.split('_')[1] ?? '';
      const family = `${full.split('_')[0]}_${full.split('_')[4]}`;
      if (family !== pfn) {
        h.mock.setNode(`${APP_INSTALLATION}/${pfn}/Status`, { value: 2, format: 'int' });
        h.mock.setNode(`${APP_INSTALLATION}/${pfn}/LastError`, {
          value: -2147024809,
          format: 'int',
        });
        h.mock.setNode(`${APP_INSTALLATION}/${pfn}/LastErrorDesc`, { value: 'family mismatch' });
        return 200;
      }
      h.mock.setNode(`${APP_MANAGEMENT}/nonStore/${pfn}/${full}/Version`, { value: version });
      h.mock.setNode(`${APP_MANAGEMENT}/nonStore/${pfn}/${full}/InstallDate`, {
        value: '2026-01-01T03:00:00Z',
      });
      return 200;
    });
  }
}

function installed(h: Harness, pfn: string, version: string): void {
  h.mock.setNode(
    `${APP_MANAGEMENT}/nonStore/${pfn}/${pfn.replace('_', `_${version}_x64__`)}/Version`,
    { value: version },
  );
}

describe('features/apps (unit)', () => {
  let h: Harness;
  let storage: MemoryExternalStorage;
  let seen: { xml: string[]; files: string[] };
  beforeEach(() => {
    h = featureHarness();
    storage = new MemoryExternalStorage();
    seen = { xml: [], files: [] };
    h.mock.setNode(STARTUP_APP, { value: '' });
    h.mock.setNode(BACKGROUND_TASKS, { format: 'node' });
    h.mock.setNode(`${APP_MANAGEMENT}/nonStore`, { format: 'node' });
    scriptDevice(h, seen);
  });
  afterEach(async () => {
    sentOps.push(...h.mock.sentOps);
    await h.cleanup();
  });

  const attach = (o: Partial<Parameters<typeof createAppHandlers>[0]> = {}) =>
    h.attach(createAppHandlers({ storage, pollIntervalMs: 5, installTimeoutMs: 2000, ...o }));
  const app = (id: string): JsonObject => h.section('apps')?.[id] as JsonObject;

  it('installs from the blobs (package + dependency under their own names), reports the inventory and start-up', async () => {
    storage.put('apps/Contoso.Toaster_1.0.0.0_x64__8wekyb3d8bbwe.appx', 'pkg');
    storage.put('apps/deps/Contoso.Runtime_3.0.0.0_x64__8wekyb3d8bbwe.appx', 'dep');
    const dm = await attach();
    h.link.setDesired({
      windows: {
        apps: {
          toaster: {
            pkgFamilyName: PFN,
            version: '1.0.0.0',
            startUp: 'foreground',
            appxSource: 'apps/Contoso.Toaster_1.0.0.0_x64__8wekyb3d8bbwe.appx',
            depsSources: 'apps/deps/Contoso.Runtime_3.0.0.0_x64__8wekyb3d8bbwe.appx',
          },
        },
      },
    });
    await h.idle(dm);
    assert.equal(h.lastChange('apps')?.state, 'completed', JSON.stringify(h.lastChange('apps')));
    assert.equal(seen.xml.length, 1);
    assert.match(
      seen.xml[0]!,
      /<Application PackageUri="file:\/\/[^"]+Contoso\.Toaster_1\.0\.0\.0_x64__8wekyb3d8bbwe\.appx"><Dependencies><Dependency PackageUri="file:[^"]+Contoso\.Runtime_3\.0\.0\.0_x64__8wekyb3d8bbwe\.appx"\/><\/Dependencies><\/Application>/,
    );
    // Staged files are removed after the installation.
    assert.ok(seen.files.every((f) => !existsSync(f)));
    assert.equal(h.mock.node(STARTUP_APP)?.value, `${PFN}!App`);
    assert.deepEqual(app('toaster'), {
      pkgFamilyName: PFN,
      version: '1.0.0.0',
      startUp: 'foreground',
      installDate: '2026-01-01T03:00:00Z',
      errorCode: 0,
      errorMessage: '',
    });
  });

  it('a bad version string fails that app with 0xA0000000 while another app completes', async () => {
    storage.put('apps/Contoso.Clock_2.0.0.0_x64__8wekyb3d8bbwe.appx', 'pkg');
    const dm = await attach();
    h.link.setDesired({
      windows: {
        apps: {
          toaster: { pkgFamilyName: PFN, version: '1.2', appxSource: 'apps/x.appx' },
          clock: {
            pkgFamilyName: OTHER,
            version: '2.0.0.0',
            startUp: 'background',
            appxSource: 'apps/Contoso.Clock_2.0.0.0_x64__8wekyb3d8bbwe.appx',
          },
        },
      },
    });
    await h.idle(dm);
    const lc = h.lastChange('apps')!;
    assert.equal(lc.state, 'failed');
    assert.equal(lc.errCode, 400);
    assert.match(String(lc.errContext), /toaster: version "1\.2"/);
    assert.equal(app('toaster').errorCode, 0xa0000000);
    assert.equal(app('toaster').version, 'not installed');
    assert.equal(app('clock').errorCode, 0);
    assert.equal(app('clock').version, '2.0.0.0');
    assert.equal(app('clock').startUp, 'background');
    assert.ok(h.mock.node(`${BACKGROUND_TASKS}/${OTHER}!App`));
    assert.equal(seen.xml.length, 1);
  });

  it('an unreachable blob fails the app naming the blob; a failed installation reports its LastError', async () => {
    storage.put('apps/Other.App_1.0.0.0_x64__8wekyb3d8bbwe.appx', 'pkg');
    const dm = await attach();
    h.link.setDesired({
      windows: {
        apps: {
          toaster: { pkgFamilyName: PFN, version: '1.0.0.0', appxSource: 'apps/missing.appx' },
          clock: {
            pkgFamilyName: OTHER,
            version: '1.0.0.0',
            appxSource: 'apps/Other.App_1.0.0.0_x64__8wekyb3d8bbwe.appx',
          },
        },
      },
    });
    await h.idle(dm);
    const lc = h.lastChange('apps')!;
    assert.equal(lc.state, 'failed');
    assert.match(String(lc.errContext), /toaster: .*apps\/missing\.appx/);
    assert.equal(app('toaster').errorCode, 404);
    assert.equal(app('clock').errorCode, 0x80070057);
    assert.match(String(app('clock').errorMessage), /family mismatch/);
  });

  it('two foreground apps (…06), uninstalling the start-up app (…07) or the DM app (…08)', async () => {
    installed(h, PFN, '1.0.0.0');
    installed(h, OTHER, '1.0.0.0');
    h.mock.setNode(STARTUP_APP, { value: `${PFN}!App` });
    const dm = await attach({ dmAppPackageFamilyName: OTHER });
    h.link.setDesired({
      windows: {
        apps: {
          a: { pkgFamilyName: PFN, version: '1.0.0.0', startUp: 'foreground' },
          b: { pkgFamilyName: OTHER, version: '1.0.0.0', startUp: 'foreground' },
        },
      },
    });
    await h.idle(dm);
    assert.equal(app('a').errorCode, 0xa0000006);
    assert.equal(app('b').errorCode, 0xa0000006);
    h.link.setDesired({
      windows: {
        apps: {
          a: { pkgFamilyName: PFN, version: 'not installed' },
          b: { pkgFamilyName: OTHER, version: 'not installed' },
        },
      },
    });
    await h.idle(dm);
    assert.equal(app('a').errorCode, 0xa0000007);
    assert.equal(app('b').errorCode, 0xa0000008);
    assert.equal(app('a').version, '1.0.0.0');
    assert.equal(h.mock.sentOps.filter((op) => op.verb === 'delete').length, 0);
  });

  it('uninstalls (Delete of the family), leaves a newer version alone (…05) and enumerates other apps with "?"', async () => {
    installed(h, PFN, '1.0.0.0');
    installed(h, OTHER, '3.0.0.0');
    installed(h, 'Fabrikam.Extra_1234567890abc', '0.1.0.0');
    const dm = await attach();
    h.link.setDesired({
      windows: {
        apps: {
          '?': { store: false, nonStore: true },
          a: { pkgFamilyName: PFN, version: 'not installed' },
          b: { pkgFamilyName: OTHER, version: '2.0.0.0' },
        },
      },
    });
    await h.idle(dm);
    assert.deepEqual(
      h.mock.sentOps.filter((op) => op.verb === 'delete').map((op) => op.uri),
      [`${APP_MANAGEMENT}/nonStore/${PFN}`],
    );
    assert.equal(app('a').version, 'not installed');
    assert.equal(app('a').errorCode, 0);
    assert.equal(app('b').errorCode, 0xa0000005);
    assert.equal(app('b').version, '3.0.0.0');
    assert.equal(app('Fabrikam_Extra_1234567890abc').version, '0.1.0.0');
  });

  it('without CustomDeviceUI: startUp is "n/a" and asking for one is 501 for that app', async () => {
    h.mock.reset();
    scriptDevice(h, seen);
    installed(h, PFN, '1.0.0.0');
    const dm = await attach();
    h.link.setDesired({
      windows: { apps: { a: { pkgFamilyName: PFN, version: '1.0.0.0', startUp: 'background' } } },
    });
    await h.idle(dm);
    assert.equal(app('a').errorCode, 501);
    assert.equal(app('a').startUp, 'n/a');
  });

  it('windows.manageAppLifeCycleAsync: pending at once, then the outcome at manageAppLifeCycleCmd', async () => {
    const system = new MockSystem();
    system.apps[PFN] = { running: false };
    await attach({ system });
    const r = await h.link.invoke('windows.manageAppLifeCycleAsync', {
      action: 'start',
      pkgFamilyName: PFN,
    });
    assert.equal(r.status, 200);
    assert.equal(((r.body as JsonObject).lastChange as JsonObject).state, 'pending');
    await until(() => h.lastChange('manageAppLifeCycleCmd')?.state === 'completed');
    assert.equal(system.apps[PFN]?.running, true);
    assert.equal(h.section('manageAppLifeCycleCmd')?.action, 'start');

    // Not installed: failed with the HRESULT.
    await h.link.invoke('windows.manageAppLifeCycleAsync', {
      action: 'stop',
      pkgFamilyName: OTHER,
    });
    await until(() => h.lastChange('manageAppLifeCycleCmd')?.state === 'failed');
    const lc = h.lastChange('manageAppLifeCycleCmd')!;
    assert.equal((Number(lc.errCode) >>> 0).toString(16), '80070490');
    assert.match(String(lc.errContext), /no package of the family/);

    // A bad payload: 400, nothing called.
    const calls = system.calls.length;
    const bad = await h.link.invoke('windows.manageAppLifeCycleAsync', {
      action: 'kill',
      pkgFamilyName: PFN,
    });
    assert.equal(bad.status, 400);
    assert.equal(system.calls.length, calls);
  });

  it('windows.manageAppLifeCycleAsync without a native system part: 501', async () => {
    await attach();
    const r = await h.link.invoke('windows.manageAppLifeCycleAsync', {
      action: 'start',
      pkgFamilyName: PFN,
    });
    assert.equal(r.status, 501);
  });

  it('HostedInstall data is XML-escaped', () => {
    assert.equal(
      hostedInstallXml('file:///a%20b/x&y".appx', ["file:///d<'>.appx"]),
      '<Application PackageUri="file:///a%20b/x&amp;y&quot;.appx"><Dependencies>' +
        '<Dependency PackageUri="file:///d&lt;&apos;&gt;.appx"/></Dependencies></Application>',
    );
  });

  it('every op sent is valid for the DDFs (ddf-check)', function () {
    if (!ddfCheckAvailable()) this.skip();
    const lines = [...new Set(ddfLines(sentOps).map((l) => l.split(' ').slice(0, 2).join(' ')))];
    assert.ok(lines.some((l) => l.startsWith('Exec ') && l.endsWith('/HostedInstall')));
    const r = ddfCheck(lines);
    assert.deepEqual(r.invalid, [], r.raw);
  });
});
