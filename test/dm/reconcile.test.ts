/**
 * DM reconcile over the real SDKs, the local hub and the real addon + CSP emulator: a change
 * made while the device was offline, a desired notification the device never got ($version gap),
 * a restart in the middle of an apply and a restart with nothing new.
 */
import assert from 'node:assert/strict';
import { brandingHandler } from '../../examples/oem/branding-handler';
import {
  DmEnv,
  PERSONALIZATION,
  leafHandler,
  nextEvent,
  readNode,
  unique,
  waitFor,
  useDmEnv,
} from './helpers';

describe('dm reconcile (real SDK, local hub, CSP emulator)', function () {
  this.timeout(30000);
  let env!: DmEnv;
  useDmEnv((e) => (env = e));

  it('applies branding on attach and reports what the device holds', async () => {
    const id = 'rec-attach';
    const company = unique('Contoso').slice(0, 30);
    const client = await env.openDevice(id);
    env.setWindows(id, { branding: { companyName: company } });
    const dm = await env.attach(client, { handlers: [brandingHandler] });
    await dm.flushReports();
    assert.equal(await readNode(`${PERSONALIZATION}/CompanyName`), company);
    const reported = env.section(id, 'branding')!;
    assert.equal(reported.companyName, company);
    assert.equal((reported.lastChange as { state: string }).state, 'completed');
  });

  it('reconciles after reconnect: a desired change made while the connection was down', async () => {
    const id = 'rec-offline';
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers: [brandingHandler] });
    await env.waitForSubscriptions(id);
    const company = unique('Offline').slice(0, 30);
    // The change is committed at the moment the hub sees the connection gone, so no
    // notification can reach the device: only the reconcile after the reconnect can apply it.
    let connectedAtChange: boolean | undefined;
    env.hub.mqtt.once('deviceDisconnected', (deviceId: string) => {
      assert.equal(deviceId, id);
      connectedAtChange = env.hub.mqtt.isConnected(id);
      env.setWindows(id, { branding: { companyName: company } });
    });
    const reconciled = nextEvent(dm, 'reconciled', (e) => e.reason === 'reconnect');
    env.hub.control.dropConnection(id); // the SDK reconnects by itself
    const [event] = await reconciled;
    assert.equal(connectedAtChange, false);
    assert.deepEqual(event.applied, ['branding']);
    await dm.flushReports();
    assert.equal(await readNode(`${PERSONALIZATION}/CompanyName`), company);
    const reported = await env.waitForState(id, 'branding', 'completed');
    assert.equal(reported.companyName, company);
    assert.equal(dm.sectionState('branding')?.status, 'applied');
    // desired notifications flow again after the reconnect
    await env.waitForSubscriptions(id);
    const next = unique('After').slice(0, 30);
    const applied = nextEvent(dm, 'applied', (e) => e.section === 'branding');
    env.setWindows(id, { branding: { companyName: next } });
    await applied;
    assert.equal(await readNode(`${PERSONALIZATION}/CompanyName`), next);
  });

  it('reconciles after the host closes and reopens the client (change through the service SDK)', async () => {
    const id = 'rec-reopen';
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers: [brandingHandler] });
    await dm.flushReports();
    await client.close();
    const company = unique('Reopen').slice(0, 30);
    await env.registry.updateTwin(
      id,
      { properties: { desired: { windows: { branding: { companyName: company } } } } },
      '*',
    );
    const reconciled = nextEvent(dm, 'reconciled', (e) => e.reason === 'reconnect');
    await client.open();
    const [event] = await reconciled;
    assert.deepEqual(event.applied, ['branding']);
    const reported = await env.waitForState(id, 'branding', 'completed');
    assert.equal(reported.companyName, company);
    assert.equal(await readNode(`${PERSONALIZATION}/CompanyName`), company);
  });

  it('a desired notification never received: the next one has a $version gap, full re-read', async () => {
    const id = 'rec-gap';
    const logo = leafHandler('logo');
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers: [brandingHandler, logo] });
    await env.waitForSubscriptions(id);
    const before = dm.version;
    const url = `https://contoso.example/${unique('gap')}.png`;
    const company = unique('Gap').slice(0, 30);
    const gap = nextEvent(dm, 'reconciled', (e) => e.reason === 'gap');
    env.hub.control.dropDesiredNotifications(1);
    const dropped = env.setWindows(id, { logo: { url } }); // never reaches the device
    const next = env.setWindows(id, { branding: { companyName: company } });
    assert.equal(next, dropped + 1);
    assert.ok(dropped > before);
    const [event] = await gap;
    assert.equal(event.version, next);
    assert.deepEqual([...event.applied].sort(), ['branding', 'logo']);
    await dm.flushReports();
    assert.equal(env.hub.control.state.desiredDrops, 0);
    assert.equal(dm.version, next);
    assert.deepEqual(logo.applies, [{ url }]);
    assert.equal(await readNode(`${PERSONALIZATION}/CompanyLogoUrl`), url);
    assert.equal(await readNode(`${PERSONALIZATION}/CompanyName`), company);
    assert.equal((await env.waitForState(id, 'logo', 'completed')).url, url);
    assert.equal((await env.waitForState(id, 'branding', 'completed')).companyName, company);
  });

  it('restart mid-apply: a new Client + attach with the same stateDir applies the section again', async () => {
    const id = 'rec-restart-mid';
    const stateDir = env.stateDir();
    const first = leafHandler('slow');
    first.gate = new Promise<void>(() => undefined); // this apply never finishes
    const client1 = await env.openDevice(id);
    const dm1 = await env.attach(client1, { handlers: [first], stateDir });
    await env.waitForSubscriptions(id);
    const url = `https://contoso.example/${unique('mid')}.png`;
    env.setWindows(id, { slow: { url } });
    await waitFor(() => first.applies.length === 1, 8000, 'the first apply to start');
    assert.equal(dm1.sectionState('slow')?.status, 'applying');
    await dm1.detach(200);
    await client1.close();
    assert.notEqual(await readNode(`${PERSONALIZATION}/CompanyLogoUrl`), url);
    // reported on attach (read back), but no outcome was ever reported
    assert.equal(env.section(id, 'slow')?.lastChange, undefined);

    const second = leafHandler('slow');
    const client2 = await env.openDevice(id);
    const dm2 = await env.attach(client2, { handlers: [second], stateDir });
    assert.deepEqual(second.applies, [{ url }]);
    assert.equal(dm2.sectionState('slow')?.status, 'applied');
    assert.equal(await readNode(`${PERSONALIZATION}/CompanyLogoUrl`), url);
    assert.equal((await env.waitForState(id, 'slow', 'completed')).url, url);
  });

  it('restart without change applies nothing; a change made while stopped is applied once', async () => {
    const id = 'rec-restart-same';
    const stateDir = env.stateDir();
    const url = `https://contoso.example/${unique('same')}.png`;
    const version = env.setWindows(await ensure(id), { steady: { url } });
    const run = async (): Promise<{ applies: unknown[]; version: number }> => {
      const h = leafHandler('steady');
      const client = await env.openDevice(id);
      const dm = await env.attach(client, { handlers: [h], stateDir });
      await dm.flushReports();
      const out = { applies: [...h.applies], version: dm.version };
      await dm.detach();
      await client.close();
      return out;
    };
    assert.deepEqual(await run(), { applies: [{ url }], version });
    assert.deepEqual(await run(), { applies: [], version });
    assert.deepEqual(await run(), { applies: [], version });
    assert.equal((await env.waitForState(id, 'steady', 'completed')).url, url);
    const changed = `https://contoso.example/${unique('changed')}.png`;
    const v2 = env.setWindows(id, { steady: { url: changed } });
    assert.deepEqual(await run(), { applies: [{ url: changed }], version: v2 });
    assert.deepEqual(await run(), { applies: [], version: v2 });
    assert.equal(await readNode(`${PERSONALIZATION}/CompanyLogoUrl`), changed);
  });

  async function ensure(id: string): Promise<string> {
    if (!env.hub.core.registry.find(id)) await env.registry.create({ deviceId: id });
    return id;
  }
});
