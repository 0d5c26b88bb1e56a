/**
 * The `wifi` section and `windows.getWifiDetails` over MockMdm + MockTwinLink +
 * MemoryExternalStorage: install (download, strict XML check, SSID = profile name, WlanXml
 * written), read-back, uninstall, per-profile failures naming the profile while the others
 * complete, the switches, the method's upload and refusals; every URI checked with ddf-check.
 */
import assert from 'node:assert/strict';
import type { JsonObject } from '../../../lib/dm/handler';
import { MemoryExternalStorage } from '../../../lib/testing/memory-storage';
import {
  checkWlanProfile,
  createWifiHandlers,
  profileFromKey,
  profileNames,
  twinKey,
} from '../../../lib/features/wifi';
import { ddfCheck, ddfCheckAvailable, ddfLines, featureHarness, type Harness } from './fixture';

const PROFILES = './Device/Vendor/MSFT/WiFi/Profile';

export function wlan(ssid: string, name = ssid): string {
  return `<?xml version="1.0"?>
<WLANProfile xmlns="http://www.microsoft.com/networking/WLAN/profile/v1">
  <name>${name}</name>
  <SSIDConfig><SSID><name>${ssid}</name></SSID></SSIDConfig>
  <connectionType>ESS</connectionType>
  <MSM><security><authEncryption><authentication>open</authentication><encryption>none</encryption><useOneX>false</useOneX></authEncryption></security></MSM>
</WLANProfile>`;
}

describe('features: wifi (unit)', () => {
  let h: Harness;
  let storage: MemoryExternalStorage;
  beforeEach(() => {
    h = featureHarness();
    h.mock.setNode(PROFILES, { format: 'node' });
    h.mock.calls.length = 0;
    storage = new MemoryExternalStorage();
  });
  afterEach(() => h.cleanup());

  const attach = () => h.attach(createWifiHandlers({ storage }));

  it('installs a profile from the blob, reports it, uninstalls it; every URI is in the DDF', async () => {
    storage.put('profiles/home.xml', wlan('HomeNet'));
    storage.put('profiles/cafe.xml', wlan('Cafe & Co'.replace('&', '&amp;')));
    const dm = await attach();
    h.link.setDesired({
      windows: {
        wifi: {
          applyProperties: {
            HomeNet: { profile: 'profiles/home.xml' },
            'Cafe%20&%20Co': { profile: 'profiles\\cafe.xml' },
          },
          reportProperties: 'yes',
        },
      },
    });
    await h.idle(dm);
    assert.equal(h.lastChange('wifi')?.state, 'completed', JSON.stringify(h.section('wifi')));
    assert.equal(h.mock.node(`${PROFILES}/HomeNet/WlanXml`)?.value, wlan('HomeNet'));
    assert.ok(h.mock.node(`${PROFILES}/Cafe%20%26%20Co/WlanXml`));
    const wifi = h.section('wifi') as JsonObject;
    assert.equal(wifi.HomeNet, '');
    assert.equal(wifi['Cafe%20&%20Co'], '', 'a space is %20 in twin keys');
    // A profile installed already is replaced, not refused.
    storage.put('profiles/home.xml', wlan('HomeNet').replace('ESS', 'IBSS'));
    h.link.setDesired({
      windows: {
        wifi: {
          applyProperties: {
            HomeNet: { profile: 'profiles/home.xml' },
            'Cafe%20&%20Co': 'uninstall',
          },
        },
      },
    });
    await h.idle(dm);
    assert.equal(h.lastChange('wifi')?.state, 'completed', JSON.stringify(h.section('wifi')));
    assert.match(String(h.mock.node(`${PROFILES}/HomeNet/WlanXml`)?.value), /IBSS/);
    assert.equal(h.mock.node(`${PROFILES}/Cafe%20%26%20Co`), undefined);
    assert.equal((h.section('wifi') as JsonObject)['Cafe%20&%20Co'], undefined);
    // Uninstalling a profile that is not there is what was asked for.
    h.link.setDesired({ windows: { wifi: null } });
    h.link.setDesired({ windows: { wifi: { Nowhere: 'uninstall' } } });
    await h.idle(dm);
    assert.equal(h.lastChange('wifi')?.state, 'completed');
    if (ddfCheckAvailable()) {
      // WLAN XML spans lines: checked without its value (the format still is).
      const ops = h.mock.sentOps.map((op) =>
        op.data?.includes('\n') ? { ...op, data: undefined } : op,
      );
      const r = ddfCheck(ddfLines(ops));
      assert.deepEqual(r.invalid, [], r.raw);
      assert.ok(r.ok >= 5);
    }
  });

  it('bad XML and an SSID mismatch fail with a reason naming the profile; the good one is installed', async () => {
    storage.put('pro/good.xml', wlan('Good'));
    storage.put(
      'pro/bad.xml',
      '<WLANProfile><SSIDConfig><SSID><name>Bad</name></SSID></WLANProfile>',
    );
    storage.put('pro/other.xml', wlan('SomethingElse'));
    storage.put(
      'pro/dtd.xml',
      `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${wlan('Dtd')}`,
    );
    storage.put(
      'pro/root.xml',
      '<Profile><SSIDConfig><SSID><name>Root</name></SSID></SSIDConfig></Profile>',
    );
    const dm = await attach();
    h.link.setDesired({
      windows: {
        wifi: {
          Bad: { profile: 'pro/bad.xml' },
          Mismatch: { profile: 'pro/other.xml' },
          Good: { profile: 'pro/good.xml' },
          Dtd: { profile: 'pro/dtd.xml' },
          Root: { profile: 'pro/root.xml' },
          Missing: { profile: 'pro/missing.xml' },
        },
      },
    });
    await h.idle(dm);
    const lc = h.lastChange('wifi') as JsonObject;
    assert.equal(lc.state, 'failed');
    const ctx = String(lc.errContext);
    assert.match(ctx, /"Bad": not well-formed XML/);
    assert.match(
      ctx,
      /"Mismatch": the SSID in the profile \("SomethingElse"\) is not the profile name/,
    );
    assert.match(ctx, /"Dtd": .*DOCTYPE/);
    assert.match(ctx, /"Root": the root element is <Profile>/);
    assert.match(ctx, /"Missing": .*does not exist/);
    assert.equal(lc.errCode, 400);
    assert.ok(h.mock.node(`${PROFILES}/Good/WlanXml`));
    assert.equal(h.mock.node(`${PROFILES}/Mismatch`), undefined);
    assert.equal((h.section('wifi') as JsonObject).Good, '');
  });

  it('a profile over 64 KiB is refused (413)', async () => {
    storage.put(
      'pro/big.xml',
      wlan('Big').replace('<connectionType>', `<!--${'x'.repeat(70000)}--><connectionType>`),
    );
    const dm = await attach();
    h.link.setDesired({ windows: { wifi: { Big: { profile: 'pro/big.xml' } } } });
    await h.idle(dm);
    assert.equal(h.lastChange('wifi')?.state, 'failed');
    assert.equal(h.lastChange('wifi')?.errCode, 413);
    assert.equal(h.mock.node(`${PROFILES}/Big`), undefined);
  });

  it('no-apply-yes-report reports the device profiles without applying; a bad value fails the section', async () => {
    h.mock.setNode(`${PROFILES}/Existing/WlanXml`, { value: wlan('Existing') });
    const dm = await attach();
    h.link.setDesired({ windows: { wifi: 'no-apply-yes-report' } });
    await h.idle(dm);
    assert.deepEqual(
      Object.keys(h.section('wifi') ?? {}).filter((k) => k !== 'lastChange'),
      ['Existing'],
    );
    h.link.setDesired({ windows: { wifi: { Existing: 'remove' } } });
    await h.idle(dm);
    assert.equal(h.lastChange('wifi')?.state, 'failed');
    assert.equal(h.lastChange('wifi')?.errCode, 400);
    assert.ok(h.mock.node(`${PROFILES}/Existing`));
  });

  it('windows.getWifiDetails uploads the WLAN XML; unknown profile 404; bad payload 400', async () => {
    h.mock.setNode(`${PROFILES}/Office/WlanXml`, { value: wlan('Office') });
    await attach();
    const ok = await h.link.invoke('windows.getWifiDetails', {
      profileName: 'Office',
      containerName: 'details',
      output: 'office.xml',
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { response: 'accepted', reason: '' });
    assert.equal(storage.get('details/office.xml')?.toString(), wlan('Office'));
    const missing = await h.link.invoke('windows.getWifiDetails', {
      profileName: 'Nope',
      containerName: 'details',
      output: 'x.xml',
    });
    assert.equal(missing.status, 404);
    assert.equal((missing.body as JsonObject).response, 'rejected');
    const bad = await h.link.invoke('windows.getWifiDetails', { profileName: 'Office' });
    assert.equal(bad.status, 400);
    const badContainer = await h.link.invoke('windows.getWifiDetails', {
      profileName: 'Office',
      containerName: 'UPPER_case',
      output: 'x.xml',
    });
    assert.equal(badContainer.status, 400);
    assert.equal((badContainer.body as JsonObject).response, 'rejected');
  });

  it('twinKey / profileFromKey: space, dot, dollar and percent escaped, round trip', () => {
    assert.equal(twinKey('Contoso Devices'), 'Contoso%20Devices');
    assert.equal(twinKey('a.b$c%d'), 'a%2Eb%24c%25d');
    for (const n of ['Contoso Devices', 'a.b$c%d', '100%20', 'Café Wi-Fi', 'plain']) {
      assert.equal(profileFromKey(twinKey(n)), n);
      assert.doesNotMatch(twinKey(n), /[ .$]/);
    }
  });

  it('checkWlanProfile / profileNames', () => {
    assert.equal(checkWlanProfile(wlan('A'), 'A'), wlan('A'));
    assert.throws(() => checkWlanProfile(wlan('A'), 'B'), /not the profile name/);
    assert.throws(
      () => checkWlanProfile('<WLANProfile>&ext;</WLANProfile>', 'A'),
      /entity "&ext;"/,
    );
    assert.throws(() => checkWlanProfile('<WLANProfile/>', 'A'), /no SSIDConfig\/SSID\/name/);
    assert.throws(() => checkWlanProfile('<WLANProfile></wlanprofile>', 'A'), /closes/);
    assert.throws(() => checkWlanProfile('<?xml-stylesheet x?><WLANProfile/>', 'A'), /processing/);
    assert.throws(() => checkWlanProfile('<WLANProfile/><x/>', 'A'), /after the root/);
    assert.deepEqual(
      profileNames([
        { uri: `${PROFILES}/A%20B` },
        { uri: `${PROFILES}/A%20B/WlanXml` },
        { uri: './Vendor/MSFT/WiFi/Profile/C/WlanXml' },
        { uri: PROFILES },
      ]),
      ['A B', 'C'],
    );
  });
});
