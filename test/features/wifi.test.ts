/**
 * The `wifi` section and `windows.getWifiDetails` end to end: real device SDK over the local hub,
 * the DM engine over the real addon + CSP emulator (WiFi CSP), and Azurite for the profiles and
 * the uploaded details (through the `externalStorage` section). Profiles are installed, read back
 * from the emulator, uninstalled; a bad XML and an SSID mismatch fail with their reasons while
 * another profile and another section complete.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { createExternalStorage } from '../../lib/features/external-storage';
import { createWifiHandlers } from '../../lib/features/wifi';
import { type AzuriteHandle, useAzurite } from '../storage/azurite';
import { DmEnv, PERSONALIZATION, leafHandler, readNode, unique, useDmEnv } from '../dm/helpers';

type Obj = Record<string, unknown>;
const PROFILE = './Vendor/MSFT/WiFi/Profile';

function wlan(ssid: string): string {
  return `<?xml version="1.0"?>
<WLANProfile xmlns="http://www.microsoft.com/networking/WLAN/profile/v1">
  <name>${ssid}</name>
  <SSIDConfig><SSID><name>${ssid}</name></SSID></SSIDConfig>
  <connectionType>ESS</connectionType>
  <MSM><security><authEncryption><authentication>open</authentication><encryption>none</encryption><useOneX>false</useOneX></authEncryption></security></MSM>
</WLANProfile>`;
}

describe('wifi section and windows.getWifiDetails (real SDK, local hub, CSP emulator, Azurite)', function () {
  this.timeout(60000);
  let env!: DmEnv;
  let azurite!: AzuriteHandle;
  useDmEnv((e) => (env = e));
  useAzurite((a) => (azurite = a));

  /** A fresh storage (only for seeding / reading blobs back). */
  const seed = (ref: string, text: string) =>
    createExternalStorage().storage.upload(ref, Buffer.from(text), {
      connectionString: azurite.connectionString,
    });
  const blobText = async (ref: string): Promise<string> => {
    const f = await createExternalStorage().storage.download(ref, {
      connectionString: azurite.connectionString,
    });
    try {
      return await fsp.readFile(f.path, 'utf8');
    } finally {
      await f.remove();
    }
  };

  async function setup(id: string) {
    const { handler, storage } = createExternalStorage({ retry: { delayMs: 5 } });
    const leaf = leafHandler('wifiNeighbour');
    const client = await env.openDevice(id);
    const dm = await env.attach(client, {
      handlers: [handler, ...createWifiHandlers({ storage }), leaf],
    });
    await env.waitForSubscriptions(id);
    return { dm, leaf };
  }

  it('installs profiles from blobs, reads them back, fails bad ones with reasons, uninstalls', async () => {
    const id = 'wifi-e2e';
    const good = unique('Good');
    const other = unique('Other');
    await seed('wifi/good.xml', wlan(good));
    await seed('wifi/other.xml', wlan(other));
    await seed('wifi/bad.xml', `<WLANProfile><SSIDConfig><SSID><name>x</name></SSID>`);
    await seed('wifi/mismatch.xml', wlan('SomeoneElse'));
    const { dm } = await setup(id);
    const url = `https://example.com/${unique('logo')}.png`;
    env.setWindows(id, {
      externalStorage: { connectionString: azurite.connectionString, container: 'wifi' },
      wifi: {
        applyProperties: {
          [good]: { profile: 'wifi/good.xml' },
          [other]: { profile: 'other.xml' },
          Broken: { profile: 'wifi/bad.xml' },
          Mismatch: { profile: 'wifi\\mismatch.xml' },
        },
        reportProperties: 'yes',
      },
      wifiNeighbour: { url },
    });
    const section = await env.waitForState(id, 'wifi', 'failed', 15000);
    await env.waitForState(id, 'wifiNeighbour', 'completed');
    const lc = section.lastChange as Obj;
    assert.match(String(lc.errContext), /"Broken": not well-formed XML/);
    assert.match(String(lc.errContext), /"Mismatch": the SSID in the profile \("SomeoneElse"\)/);
    assert.equal(lc.errCode, 400);
    assert.equal(await readNode(`${PROFILE}/${good}/WlanXml`), wlan(good));
    assert.equal(await readNode(`${PROFILE}/${other}/WlanXml`), wlan(other));
    assert.equal(section[good], '');
    assert.equal(section[other], '');
    assert.equal(section.Broken, undefined);
    // Profiles of the device profile are reported too; a space is %20 in a twin key.
    assert.equal(section['Contoso%20Devices'], '');
    assert.equal(section.Mismatch, undefined);
    await dm.settled();

    // getWifiDetails: the WLAN XML uploaded to the container given, with its own connection string.
    const r = await env.service.invokeDeviceMethod(id, {
      methodName: 'windows.getWifiDetails',
      payload: {
        profileName: good,
        connectionString: azurite.connectionString,
        containerName: 'details',
        output: `${good}.xml`,
      },
      responseTimeoutInSeconds: 15,
    });
    assert.equal((r.result as Obj).status, 200);
    assert.deepEqual((r.result as Obj).payload, { response: 'accepted', reason: '' });
    assert.equal(await blobText(`details/${good}.xml`), wlan(good));
    const missing = await env.service.invokeDeviceMethod(id, {
      methodName: 'windows.getWifiDetails',
      payload: { profileName: unique('None'), containerName: 'details', output: 'x.xml' },
      responseTimeoutInSeconds: 15,
    });
    assert.equal((missing.result as Obj).status, 404);
    assert.equal(((missing.result as Obj).payload as Obj).response, 'rejected');

    // Uninstall one, keep the other (the failed ones are dropped from desired).
    env.setWindows(id, {
      wifi: {
        applyProperties: { [good]: 'uninstall', Broken: null, Mismatch: null },
        reportProperties: 'yes',
      },
    });
    await env.waitForState(id, 'wifi', 'completed', 15000);
    await dm.settled();
    assert.equal(await readNode(`${PROFILE}/${good}/WlanXml`), undefined);
    assert.equal(await readNode(`${PROFILE}/${other}/WlanXml`), wlan(other));
    const after = env.section(id, 'wifi') as Obj;
    assert.equal(after[good], undefined);
    assert.equal(after[other], '');
    assert.equal(await readNode(`${PERSONALIZATION}/CompanyLogoUrl`), url);
  });
});
