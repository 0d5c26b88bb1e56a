/**
 * `windows.apps` and `windows.desktopApps` end to end: the real device SDK over the local hub,
 * the DM engine over the real addon + CSP emulator, blobs in a real Azurite account configured
 * through the `externalStorage` section of the same patch. Install, update, inventory read back
 * from the emulator, uninstall; a bad version string fails that app (0xA0000000) while another
 * completes; an unreachable blob fails the app naming the blob; an MSI with a SHA-256 other than
 * its blob's fails desktopApps, a good one installs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createAppHandlers } from '../../lib/features/apps';
import { AddonSystem } from '../../lib/native/addon-system';
import { APP_MANAGEMENT } from '../../lib/features/apps-inventory';
import { MSI, createDesktopAppsHandler } from '../../lib/features/desktop-apps';
import { createExternalStorage } from '../../lib/features/external-storage';
import { DmEnv, readNode, useDmEnv, waitFor } from '../dm/helpers';
import { type AzuriteHandle, useAzurite } from '../storage/azurite';

type Obj = Record<string, unknown>;
const PFN = 'Contoso.E2eToaster_8wekyb3d8bbwe';
const OTHER = 'Contoso.E2eClock_8wekyb3d8bbwe';
const appx = (pfn: string, v: string): string =>
  `${pfn.split('_')[0]}_${v}_x64__${pfn.split('_')[1]}.appx`;
const PRODUCT = '{7A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D}';

describe('apps and desktopApps (real SDK, local hub, CSP emulator, Azurite)', function () {
  this.timeout(90000);
  let env!: DmEnv;
  let azurite!: AzuriteHandle;
  useDmEnv((e) => (env = e));
  useAzurite((a) => (azurite = a));

  it('installs, updates, reads back, uninstalls; per-app failures; MSI with a wrong and a right SHA-256', async () => {
    const id = 'apps-e2e';
    const seed = createExternalStorage().storage;
    const put = (blob: string, text: string) =>
      seed.upload(`packages/${blob}`, Buffer.from(text), {
        connectionString: azurite.connectionString,
      });
    await put(appx(PFN, '1.0.0.0'), 'toaster 1');
    await put(appx(PFN, '1.1.0.0'), 'toaster 1.1');
    await put(appx(OTHER, '2.0.0.0'), 'clock 2');
    await put('tools.msi', 'MSI content');
    const msiSha = createHash('sha256').update('MSI content').digest('hex');

    const { handler, storage } = createExternalStorage({ retry: { delayMs: 5 } });
    const client = await env.openDevice(id);
    const dm = await env.attach(client, {
      handlers: [
        handler,
        ...createAppHandlers({
          storage,
          system: new AddonSystem(),
          pollIntervalMs: 10,
          installTimeoutMs: 10000,
        }),
        createDesktopAppsHandler({ storage, pollIntervalMs: 10, installTimeoutMs: 10000 }),
      ],
    });
    await env.waitForSubscriptions(id);

    env.setWindows(id, {
      externalStorage: { connectionString: azurite.connectionString, container: 'packages' },
      apps: {
        toaster: { pkgFamilyName: PFN, version: '1.0.0.0', appxSource: appx(PFN, '1.0.0.0') },
        clock: { pkgFamilyName: OTHER, version: '2.0', appxSource: appx(OTHER, '2.0.0.0') },
      },
      desktopApps: {
        [PRODUCT]: { version: '3.0.0', source: 'tools.msi', sha256: 'cd'.repeat(32) },
      },
    });
    let apps = await env.waitForState(id, 'apps', 'failed', 20000);
    let desktop = await env.waitForState(id, 'desktopApps', 'failed', 20000);
    assert.match(String((apps.lastChange as Obj).errContext), /clock: version "2\.0"/);
    assert.equal((apps.clock as Obj).errorCode, 0xa0000000);
    assert.equal((apps.toaster as Obj).errorCode, 0);
    assert.equal((apps.toaster as Obj).version, '1.0.0.0');
    assert.match(String((desktop.lastChange as Obj).errContext), /packages\/tools\.msi/);
    assert.deepEqual(await readNode(`${APP_MANAGEMENT}/nonStore/${PFN}`), [
      'Contoso.E2eToaster_1.0.0.0_x64__8wekyb3d8bbwe',
    ]);

    // Update; the clock from a blob that does not exist; the MSI with its real SHA-256.
    env.setWindows(id, {
      apps: {
        toaster: { version: '1.1.0.0', appxSource: appx(PFN, '1.1.0.0') },
        clock: { version: '2.0.0.0', appxSource: 'missing.appx' },
      },
      desktopApps: { [PRODUCT]: { sha256: msiSha } },
    });
    const state = (name: string): Obj => (env.section(id, name) ?? {}) as Obj;
    const lastState = (name: string): unknown => (state(name).lastChange as Obj | undefined)?.state;
    await waitFor(
      () =>
        lastState('apps') === 'failed' &&
        (state('apps').toaster as Obj | undefined)?.version === '1.1.0.0' &&
        lastState('desktopApps') === 'completed',
      20000,
      'apps updated and the MSI installed',
    );
    apps = state('apps');
    desktop = state('desktopApps');
    assert.match(String((apps.lastChange as Obj).errContext), /clock: .*packages\/missing\.appx/);
    assert.equal((apps.toaster as Obj).version, '1.1.0.0');
    assert.equal((apps.clock as Obj).errorCode, 404);
    assert.equal(
      await readNode(
        `${APP_MANAGEMENT}/nonStore/${PFN}/Contoso.E2eToaster_1.1.0.0_x64__8wekyb3d8bbwe/Version`,
      ),
      '1.1.0.0',
    );
    const product = desktop[PRODUCT] as Obj;
    assert.equal(product.version, '3.0.0');
    assert.equal(product.status, 70);
    assert.equal(await readNode(`${MSI}/${encodeURIComponent(PRODUCT)}/Version`), '3.0.0');

    // Start the installed app (the emulator records it), then an app that is not installed.
    const start = await env.service.invokeDeviceMethod(id, {
      methodName: 'windows.manageAppLifeCycleAsync',
      payload: { action: 'start', pkgFamilyName: PFN },
      responseTimeoutInSeconds: 10,
    });
    assert.equal((start.result as Obj).status, 200);
    assert.equal((((start.result as Obj).payload as Obj).lastChange as Obj).state, 'pending');
    await waitFor(() => lastState('manageAppLifeCycleCmd') === 'completed', 10000, 'app started');
    await env.service.invokeDeviceMethod(id, {
      methodName: 'windows.manageAppLifeCycleAsync',
      payload: { action: 'stop', pkgFamilyName: OTHER },
      responseTimeoutInSeconds: 10,
    });
    await waitFor(() => lastState('manageAppLifeCycleCmd') === 'failed', 10000, 'stop refused');
    assert.match(
      String((state('manageAppLifeCycleCmd').lastChange as Obj).errContext),
      /no package of the family/,
    );

    // Uninstall both apps and the MSI.
    env.setWindows(id, {
      apps: { toaster: { version: 'not installed' }, clock: null },
      desktopApps: { [PRODUCT]: null },
    });
    await waitFor(
      () =>
        lastState('apps') === 'completed' &&
        (state('apps').toaster as Obj | undefined)?.version === 'not installed' &&
        lastState('desktopApps') === 'completed' &&
        state('desktopApps')[PRODUCT] === undefined,
      20000,
      'apps and the MSI uninstalled',
    );
    await dm.settled();
    apps = state('apps');
    assert.equal((apps.toaster as Obj).version, 'not installed');
    assert.equal(await readNode(`${APP_MANAGEMENT}/nonStore/${PFN}`), undefined);
    assert.equal(await readNode(`${MSI}/${encodeURIComponent(PRODUCT)}/Status`), undefined);
  });
});
