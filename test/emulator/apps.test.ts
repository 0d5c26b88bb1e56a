/**
 * App management of the CSP emulator through the REAL addon (native/emulator/apps.h): the
 * windows.apps and windows.desktopApps handlers drive it over a MockTwinLink with blobs from a
 * MemoryExternalStorage: HostedInstall of packages named by the emulator's file name convention,
 * inventory read back from AppManagement, update, a refused downgrade, uninstall by Delete, a bad
 * version string beside a good app, an MSI installed with its SHA-256 checked by the device and a
 * wrong FileHash refused. Plus the raw CSP: HostedInstall of a missing file -> Status 2.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AddonMdm, Csp } from '../../lib';
import { AddonSystem } from '../../lib/native/addon-system';
import type { JsonObject } from '../../lib/dm/handler';
import { createAppHandlers } from '../../lib/features/apps';
import { APP_INSTALLATION, APP_MANAGEMENT } from '../../lib/features/apps-inventory';
import { MSI, createDesktopAppsHandler } from '../../lib/features/desktop-apps';
import { MemoryExternalStorage } from '../../lib/testing/memory-storage';
import { Harness } from '../unit/dm/fixture';

const PFN = 'Contoso.EmuToaster_8wekyb3d8bbwe';
const CLOCK = 'Contoso.EmuClock_8wekyb3d8bbwe';
const pkg = (pfn: string, v: string): string =>
  `apps/${pfn.split('_')[0]}_${v}_x64__${pfn.split('_')[1]}.appx`;
const PRODUCT = '{4E3C5A1B-2D7F-4C8E-9A0B-1C2D3E4F5A6B}';

describe('emulator: apps and desktopApps through the addon', () => {
  let h: Harness;
  let storage: MemoryExternalStorage;
  const csp = new Csp(new AddonMdm());
  beforeEach(() => {
    h = new Harness();
    storage = new MemoryExternalStorage();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  const attach = () =>
    h.attach(
      [
        ...createAppHandlers({ storage, pollIntervalMs: 5, installTimeoutMs: 5000 }),
        createDesktopAppsHandler({ storage, pollIntervalMs: 5, installTimeoutMs: 5000 }),
      ],
      { csp },
    );
  const app = (id: string): JsonObject => h.section('apps')?.[id] as JsonObject;

  it('installs, updates, refuses a downgrade, reports the inventory and uninstalls', async () => {
    for (const v of ['1.0.0.0', '1.1.0.0']) storage.put(pkg(PFN, v), `package ${v}`);
    storage.put(pkg(CLOCK, '2.0.0.0'), 'clock');
    const dm = await attach();
    const want = (v: string, extra: JsonObject = {}) => ({
      pkgFamilyName: PFN,
      version: v,
      appxSource: pkg(PFN, v),
      ...extra,
    });
    h.link.setDesired({ windows: { apps: { toaster: want('1.0.0.0') } } });
    await h.idle(dm);
    assert.equal(h.lastChange('apps')?.state, 'completed', JSON.stringify(h.lastChange('apps')));
    assert.equal(app('toaster').version, '1.0.0.0');
    assert.match(String(app('toaster').installDate), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(await csp.get(`${APP_MANAGEMENT}/nonStore/${PFN}`), [
      'Contoso.EmuToaster_1.0.0.0_x64__8wekyb3d8bbwe',
    ]);

    // Update; a bad version string for another app fails only that app.
    h.link.setDesired({
      windows: {
        apps: {
          toaster: want('1.1.0.0'),
          clock: { pkgFamilyName: CLOCK, version: 'latest', appxSource: pkg(CLOCK, '2.0.0.0') },
        },
      },
    });
    await h.idle(dm);
    assert.equal(h.lastChange('apps')?.state, 'failed');
    assert.equal(app('toaster').version, '1.1.0.0');
    assert.equal(app('toaster').errorCode, 0);
    assert.equal(app('clock').errorCode, 0xa0000000);
    assert.equal(app('clock').version, 'not installed');

    // A lower version than installed: not downgraded (0xA0000005), nothing sent to the device.
    h.link.setDesired({ windows: { apps: { toaster: want('1.0.0.0'), clock: null } } });
    await h.idle(dm);
    assert.equal(app('toaster').errorCode, 0xa0000005);
    assert.equal(app('clock'), undefined);
    assert.equal(app('toaster').version, '1.1.0.0');

    // Uninstall.
    h.link.setDesired({ windows: { apps: { toaster: want('not installed') } } });
    await h.idle(dm);
    assert.equal(h.lastChange('apps')?.state, 'completed', JSON.stringify(h.lastChange('apps')));
    assert.equal(app('toaster').version, 'not installed');
    await assert.rejects(csp.get(`${APP_MANAGEMENT}/nonStore/${PFN}`), { status: 404 });
  });

  it('a package whose family differs from pkgFamilyName fails with the device LastError', async () => {
    storage.put(pkg(CLOCK, '1.0.0.0'), 'clock');
    const dm = await attach();
    h.link.setDesired({
      windows: {
        apps: { x: { pkgFamilyName: PFN, version: '1.0.0.0', appxSource: pkg(CLOCK, '1.0.0.0') } },
      },
    });
    await h.idle(dm);
    assert.equal(h.lastChange('apps')?.state, 'failed');
    assert.equal(app('x').errorCode, 0x80070057);
    assert.match(String(app('x').errorMessage), /does not match/);
  });

  it('HostedInstall of a missing file: accepted, then Status 2 with ERROR_FILE_NOT_FOUND', async () => {
    const base = `${APP_INSTALLATION}/${PFN}`;
    await csp.exec(
      `${base}/HostedInstall`,
      '<Application PackageUri="file:///nonexistent/x.appx"/>',
      {
        format: 'xml',
      },
    );
    assert.equal(await csp.get(`${base}/Status`), 2);
    assert.equal((Number(await csp.get(`${base}/LastError`)) >>> 0).toString(16), '80070002');
    await csp.delete(base);
    await assert.rejects(csp.get(`${base}/Status`), { status: 404 });
  });

  it('desktopApps: installs an MSI (SHA-256 checked), refuses a wrong hash, uninstalls', async () => {
    storage.put('msi/Toaster Tools.msi', 'MSI bytes');
    const dm = await attach();
    h.link.setDesired({
      windows: {
        desktopApps: { [PRODUCT]: { version: '2.1.0', source: 'msi/Toaster Tools.msi' } },
      },
    });
    await h.idle(dm);
    assert.equal(
      h.lastChange('desktopApps')?.state,
      'completed',
      JSON.stringify(h.lastChange('desktopApps')),
    );
    const product = h.section('desktopApps')?.[PRODUCT] as JsonObject;
    assert.equal(product.version, '2.1.0');
    assert.equal(product.status, 70);
    assert.equal(product.name, 'Toaster Tools');

    // A desired sha256 the blob does not have: refused by the transfer, the device untouched.
    h.link.setDesired({
      windows: {
        desktopApps: {
          [PRODUCT]: { version: '2.2.0', source: 'msi/Toaster Tools.msi', sha256: 'ab'.repeat(32) },
        },
      },
    });
    await h.idle(dm);
    const lc = h.lastChange('desktopApps')!;
    assert.equal(lc.state, 'failed');
    assert.match(String(lc.errContext), /SHA-256/);
    assert.equal((h.section('desktopApps')?.[PRODUCT] as JsonObject).version, '2.1.0');

    h.link.setDesired({ windows: { desktopApps: { [PRODUCT]: null } } });
    await h.idle(dm);
    assert.equal(h.lastChange('desktopApps')?.state, 'completed');
    await assert.rejects(csp.get(`${MSI}/${encodeURIComponent(PRODUCT)}/Status`), { status: 404 });
  });

  it('appLifecycle (the system part): an installed app is started and stopped, recorded in the state file', async () => {
    storage.put(pkg(CLOCK, '3.0.0.0'), 'clock');
    const dm = await attach();
    h.link.setDesired({
      windows: {
        apps: {
          clock: { pkgFamilyName: CLOCK, version: '3.0.0.0', appxSource: pkg(CLOCK, '3.0.0.0') },
        },
      },
    });
    await h.idle(dm);
    assert.equal(app('clock').version, '3.0.0.0');
    const system = new AddonSystem();
    const running = (): unknown => {
      const state = JSON.parse(readFileSync(process.env.WINDOWS_IOT_DM_EMULATOR_STATE!, 'utf8'));
      const events = (state.events ?? state) as { apps?: { running?: Record<string, boolean> } };
      return events.apps?.running?.[CLOCK];
    };
    await system.appLifecycle(CLOCK, 'start');
    assert.equal(running(), true);
    await system.appLifecycle(CLOCK, 'stop');
    assert.equal(running(), false);
    await assert.rejects(system.appLifecycle('Not.Installed_8wekyb3d8bbwe', 'start'), {
      hresult: 0x80070490,
    });
    await assert.rejects(system.appLifecycle(CLOCK, 'kill' as never), /action/);
  });

  it('MSI DownloadInstall with a FileHash other than the file: Status 30, TRUST_E_BAD_DIGEST', async () => {
    storage.put('msi/a.msi', 'abc');
    const file = await storage.download('msi/a.msi');
    const base = `${MSI}/${encodeURIComponent('{0A0B0C0D-0000-4000-8000-000000000001}')}`;
    await csp.add(base);
    await csp.exec(
      `${base}/DownloadInstall`,
      `<MsiInstallJob id="${PRODUCT}"><Product Version="1.0.0"><Download><ContentURLList><ContentURL>file://${file.path}</ContentURL></ContentURLList></Download><Validation><FileHash>${'0'.repeat(64)}</FileHash></Validation></Product></MsiInstallJob>`,
      { format: 'xml' },
    );
    assert.equal(await csp.get(`${base}/Status`), 30);
    assert.equal((Number(await csp.get(`${base}/LastError`)) >>> 0).toString(16), '80091007');
    await csp.delete(base);
    await file.remove();
  });
});
