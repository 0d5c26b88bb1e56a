/**
 * `windows.*` direct methods through the real service SDK (`azure-iothub` Client.invokeDeviceMethod
 * over the local hub's REST API) and the real device SDK, and the host application using the same
 * device client for its own methods and properties alongside DM.
 */
import assert from 'node:assert/strict';
import type { Client as DeviceClient } from 'azure-iot-device';
import { brandingHandler } from '../../examples/oem/branding-handler';
import type { FeatureHandler, JsonObject } from '../../lib/dm/handler';
import { schema as s } from '../../lib/dm';
import {
  DmEnv,
  PERSONALIZATION,
  nextEvent,
  readNode,
  unique,
  waitFor,
  writeNode,
  useDmEnv,
} from './helpers';

type Change = { state: string; errCode: number; errSubSystem: string; errContext: string };
interface MethodAnswer {
  status: number;
  payload: JsonObject & { lastChange?: Change };
}

/** A handler with a method that reads one Personalization leaf from the emulator. */
const readerHandler: FeatureHandler = {
  section: 'reader',
  nodes: [`${PERSONALIZATION}/*`],
  methods: [
    {
      name: 'windows.readPersonalization',
      payload: s.object(
        { leaf: s.enum('CompanyName', 'CompanyLogoUrl', 'LockScreenImageUrl') },
        { required: ['leaf'] },
      ),
      async invoke(payload, ctx) {
        const leaf = (payload as { leaf: string }).leaf;
        return { leaf, value: (await ctx.csp.get(`${PERSONALIZATION}/${leaf}`)) as string };
      },
    },
  ],
};

describe('dm methods and the host sharing the client (real SDKs, local hub)', function () {
  this.timeout(30000);
  let env!: DmEnv;
  useDmEnv((e) => (env = e));

  async function invoke(id: string, methodName: string, payload?: unknown): Promise<MethodAnswer> {
    const params: { methodName: string; payload?: unknown; responseTimeoutInSeconds: number } = {
      methodName,
      responseTimeoutInSeconds: 10,
    };
    if (payload !== undefined) params.payload = payload;
    const { result } = await env.service.invokeDeviceMethod(id, params);
    return result as MethodAnswer;
  }

  async function setup(id: string): Promise<{ client: DeviceClient }> {
    const client = await env.openDevice(id);
    await env.attach(client, { handlers: [brandingHandler, readerHandler] });
    await env.waitForSubscriptions(id);
    return { client };
  }

  it('a handler method answers 200 with its body, read from the device', async () => {
    const id = 'm-ok';
    await setup(id);
    const url = `https://contoso.example/${unique('method')}.png`;
    await writeNode(`${PERSONALIZATION}/LockScreenImageUrl`, url);
    const r = await invoke(id, 'windows.readPersonalization', { leaf: 'LockScreenImageUrl' });
    assert.deepEqual(r, { status: 200, payload: { leaf: 'LockScreenImageUrl', value: url } });
  });

  it('an unknown windows.* method answers 404 (not a timeout); a bad payload 400 with a message', async () => {
    const id = 'm-errors';
    await setup(id);
    const unknown = await invoke(id, 'windows.foo', { x: 1 });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.payload.lastChange?.state, 'failed');
    assert.equal(unknown.payload.lastChange?.errCode, 404);
    assert.match(unknown.payload.lastChange?.errContext ?? '', /windows\.foo/);

    const bad = await invoke(id, 'windows.readPersonalization', { leaf: 'DesktopImageStatus' });
    assert.equal(bad.status, 400);
    assert.equal(bad.payload.lastChange?.errCode, 400);
    assert.match(
      bad.payload.lastChange?.errContext ?? '',
      /leaf: "DesktopImageStatus" is not one of/,
    );

    const missing = await invoke(id, 'windows.readPersonalization');
    assert.equal(missing.status, 400);
    assert.match(missing.payload.lastChange?.errContext ?? '', /leaf: required/);

    const wrongType = await invoke(id, 'windows.readPersonalization', [1, 2]);
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.payload.lastChange?.errContext ?? '', /expected an object, got array/);
  });

  it('windows.reportAllAsync re-reads the device; windows.clearReportedPropertiesAsync clears windows', async () => {
    const id = 'm-builtin';
    const { client } = await setup(id);
    const twin = await client.getTwin();
    await new Promise<void>((resolve, reject) =>
      (
        twin.properties.reported as { update: (p: unknown, cb: (e?: Error) => void) => void }
      ).update({ hostVersion: '1.2.3' }, (err) => (err ? reject(err) : resolve())),
    );
    const company = unique('Direct').slice(0, 30);
    await writeNode(`${PERSONALIZATION}/CompanyName`, company); // changed outside DM
    assert.notEqual(env.section(id, 'branding')?.companyName, company);

    const all = await invoke(id, 'windows.reportAllAsync');
    assert.equal(all.status, 200);
    assert.equal(all.payload.lastChange?.state, 'completed');
    await waitFor(() => env.section(id, 'branding')?.companyName === company, 5000, 'report');

    const cleared = await invoke(id, 'windows.clearReportedPropertiesAsync');
    assert.equal(cleared.status, 200);
    assert.equal(cleared.payload.lastChange?.state, 'completed');
    const reported = env.hub.core.getTwin(id).properties.reported;
    assert.equal(reported.windows, undefined);
    assert.equal(reported.hostVersion, '1.2.3', "the host's own reported property stays");
  });

  it('the host keeps using the client: its own method, reported and desired properties work alongside DM', async () => {
    const id = 'm-host';
    const client = await env.openDevice(id);
    client.onDeviceMethod('hostPing', (req, res) => {
      void res.send(200, { pong: req.payload });
    });
    const dm = await env.attach(client, { handlers: [brandingHandler] });
    client.onDeviceMethod('hostLater', (_req, res) => {
      void res.send(201, { late: true });
    });
    await env.waitForSubscriptions(id);
    const twin = await client.getTwin();
    const hostDesired: unknown[] = [];
    twin.on('properties.desired.hostConfig', (v: unknown) => hostDesired.push(v));

    const company = unique('Host').slice(0, 30);
    const applied = nextEvent(dm, 'applied', (e) => e.section === 'branding');
    env.hub.core.updateTwin(id, {
      properties: {
        desired: { hostConfig: { interval: 30 }, windows: { branding: { companyName: company } } },
      },
    });
    await applied;
    await waitFor(
      () => hostDesired.some((v) => (v as { interval?: number })?.interval === 30),
      5000,
      "the host's desired property",
    );
    await new Promise<void>((resolve, reject) =>
      (
        twin.properties.reported as { update: (p: unknown, cb: (e?: Error) => void) => void }
      ).update({ hostStatus: 'running' }, (err) => (err ? reject(err) : resolve())),
    );
    await dm.flushReports();

    assert.deepEqual(await invoke(id, 'hostPing', { n: 1 }), {
      status: 200,
      payload: { pong: { n: 1 } },
    });
    assert.deepEqual(await invoke(id, 'hostLater'), { status: 201, payload: { late: true } });
    const reported = env.hub.core.getTwin(id).properties.reported;
    assert.equal(reported.hostStatus, 'running');
    assert.equal(
      (reported.windows as { branding: { companyName: string } }).branding.companyName,
      company,
    );
    assert.equal(await readNode(`${PERSONALIZATION}/CompanyName`), company);
    // DM's methods keep working on the shared connection
    assert.equal((await invoke(id, 'windows.reportAllAsync')).status, 200);
  });
});
