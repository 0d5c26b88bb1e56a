/**
 * Fault injection (`hub.control` and `/$control` over HTTPS) observed through the real
 * `azure-iot-device` SDK over MQTT and the real `azure-iothub` SDK, against `LocalHub`.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { Registry } from 'azure-iothub';
import { Client as DeviceClient, Message } from 'azure-iot-device';
import { NoRetry } from 'azure-iot-common';
import { Mqtt } from 'azure-iot-device-mqtt';
import type { LocalHub } from '../../lib/hub/hub';
import { generateSasToken } from '../../lib/hub/auth';
import { HubControl, handleControlRequest } from '../../lib/hub/control';
import { startLocalHub, trustHub } from './helpers/local-hub';
import { waitFor } from './helpers/mqtt-fixture';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('local hub control API (fault injection)', function () {
  this.timeout(30000);
  let hub: LocalHub;
  let closeHub: () => Promise<void>;
  let registry: Registry;
  const devices: DeviceClient[] = [];

  before(async () => {
    ({ hub, close: closeHub } = await startLocalHub());
    registry = trustHub(Registry.fromConnectionString(hub.connectionString), hub);
  });
  after(async () => {
    await closeHub();
  });
  afterEach(async () => {
    hub.control.reset();
    while (devices.length > 0)
      await devices
        .pop()!
        .close()
        .catch(() => undefined);
  });

  async function ensureDevice(deviceId: string): Promise<void> {
    if (!hub.core.registry.find(deviceId)) await registry.create({ deviceId });
  }

  async function openDevice(deviceId: string, connectionString?: string): Promise<DeviceClient> {
    await ensureDevice(deviceId);
    const client = DeviceClient.fromConnectionString(
      connectionString ?? hub.deviceConnectionString(deviceId),
      Mqtt,
    );
    devices.push(client);
    client.setRetryPolicy(new NoRetry());
    await client.setOptions({ ca: hub.tls.caCertPem });
    await client.open();
    return client;
  }

  function disconnected(client: DeviceClient): Promise<void> {
    return new Promise((resolve) => client.once('disconnect', () => resolve()));
  }

  function token(keyName = 'iothubowner'): string {
    const p = hub.core.registry.policy(keyName)!;
    return generateSasToken({ resource: hub.serviceHost, key: p.primaryKey, keyName });
  }

  function control(
    method: string,
    path: string,
    body?: unknown,
    auth = token(),
  ): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: hub.ports.https,
          method,
          path: `/$control${path}`,
          ca: hub.tls.caCertPem,
          headers: { 'Content-Type': 'application/json', Authorization: auth },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
          );
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  it('drops a device connection now (programmatic)', async () => {
    const client = await openDevice('drop-now');
    const gone = disconnected(client);
    hub.control.dropConnection('drop-now');
    await gone;
    await waitFor(() => !hub.mqtt.isConnected('drop-now'), 5000, 'server side disconnect');
  });

  it('a dropped cleanSession=0 device keeps its subscriptions: the SDK reconnects and is answered', async () => {
    await ensureDevice('drop-persistent');
    const client = DeviceClient.fromConnectionString(
      hub.deviceConnectionString('drop-persistent'),
      Mqtt,
    ); // the default retry policy: the SDK reconnects by itself
    devices.push(client);
    await client.setOptions({ ca: hub.tls.caCertPem });
    await client.open();
    const twin = await client.getTwin();
    twin.on('properties.desired', () => undefined);
    const sessions = (
      hub.mqtt as unknown as { sessions: Map<string, { subscriptions: Set<string> }> }
    ).sessions;
    const subs = (): string[] => [...(sessions.get('drop-persistent')?.subscriptions ?? [])].sort();
    const expected = ['$iothub/twin/PATCH/properties/desired/#', '$iothub/twin/res/#'];
    await waitFor(() => subs().length === 2, 5000, 'subscriptions');
    assert.deepEqual(subs(), expected);
    let atReconnect: string[] | undefined;
    hub.mqtt.once('deviceConnected', () => (atReconnect = subs()));
    const reconnected = new Promise<void>((resolve) => client.once('connect', () => resolve()));
    hub.control.dropConnection('drop-persistent');
    await reconnected;
    assert.deepEqual(atReconnect, expected); // not cleared by aedes' clean-up of the old connection
    hub.core.updateTwin('drop-persistent', { properties: { desired: { x: 1 } } });
    const got = await twin.get(); // answered on $iothub/twin/res without a new SUBSCRIBE
    assert.equal(got.properties.desired.x, 1);
  });

  it('drops a device connection after N messages (HTTP)', async () => {
    const client = await openDevice('drop-after');
    const r = await control('POST', '/devices/drop-after/drop', { afterMessages: 2 });
    assert.equal(r.status, 200);
    assert.deepEqual((r.body as { dropAfter: unknown }).dropAfter, { 'drop-after': 2 });
    let dropped = false;
    const gone = disconnected(client).then(() => (dropped = true));
    await client.sendEvent(new Message('one'));
    await sleep(100);
    assert.equal(dropped, false);
    await client.sendEvent(new Message('two'));
    await gone;
  });

  it('delays twin responses, then drops the next one (programmatic)', async () => {
    const client = await openDevice('twin-delay');
    await client.getTwin();
    hub.control.delayTwinResponses(400);
    const t0 = Date.now();
    const twin = await client.getTwin();
    await twin.get();
    assert.ok(Date.now() - t0 >= 350, `twin answered after ${Date.now() - t0} ms`);
    hub.control.delayTwinResponses(0);
    hub.control.dropTwinResponses(1);
    let answered = false;
    twin.get().then(
      () => (answered = true),
      () => (answered = true),
    );
    await sleep(600);
    assert.equal(answered, false, 'the dropped twin answer never came');
    await twin.get(); // the next one is answered
  });

  it('delays and drops twin responses (HTTP)', async () => {
    const client = await openDevice('twin-delay-http');
    const twin = await client.getTwin();
    assert.equal((await control('POST', '/twin/delay', { ms: 300 })).status, 200);
    const t0 = Date.now();
    await twin.get();
    assert.ok(Date.now() - t0 >= 250);
    assert.equal((await control('POST', '/reset')).status, 200);
    assert.equal((await control('POST', '/twin/drop', { count: 1 })).status, 200);
    let answered = false;
    twin.get().then(
      () => (answered = true),
      () => (answered = true),
    );
    await sleep(500);
    assert.equal(answered, false);
  });

  it('drops desired notifications: the device sees the next one with a $version gap', async () => {
    const client = await openDevice('desired-drop');
    const twin = await client.getTwin();
    const patches: Array<Record<string, unknown>> = [];
    twin.on('properties.desired', (delta: Record<string, unknown>) => {
      if (delta !== twin.properties.desired) patches.push(delta);
    });
    const sessions = (
      hub.mqtt as unknown as { sessions: Map<string, { subscriptions: Set<string> }> }
    ).sessions;
    await waitFor(
      () =>
        sessions
          .get('desired-drop')
          ?.subscriptions.has('$iothub/twin/PATCH/properties/desired/#') ?? false,
      5000,
      'desired subscription',
    );
    await registry.updateTwin('desired-drop', { properties: { desired: { a: 0 } } }, '*');
    await waitFor(() => patches.length === 1, 5000, 'first notification');
    const r = await control('POST', '/twin/drop-desired', { count: 1 });
    assert.equal(r.status, 200);
    assert.equal((r.body as { desiredDrops: number }).desiredDrops, 1);
    await registry.updateTwin('desired-drop', { properties: { desired: { a: 1 } } }, '*');
    await registry.updateTwin('desired-drop', { properties: { desired: { b: 2 } } }, '*');
    await waitFor(() => patches.length === 2, 5000, 'the notification after the dropped one');
    const first = patches[0]!.$version as number;
    assert.deepEqual(patches[1], { b: 2, $version: first + 2 });
    assert.equal(hub.control.state.desiredDrops, 0);
    // the twin itself holds the dropped change
    assert.equal(hub.core.getTwin('desired-drop').properties.desired.a, 1);
    hub.control.dropDesiredNotifications(2);
    hub.control.reset();
    assert.equal(hub.control.state.desiredDrops, 0);
    assert.throws(() => hub.control.dropDesiredNotifications(-1), /non-negative/);
  });

  it('fails twin requests with 429 / 500 in $iothub/twin/res (programmatic)', async () => {
    const client = await openDevice('twin-fail');
    const twin = await client.getTwin();
    hub.control.failNext(1, 429, { scope: 'twin' });
    await assert.rejects(twin.get(), /429001/);
    hub.control.failNext(1, 500, { scope: 'twin' });
    const update = new Promise<void>((resolve, reject) =>
      twin.properties.reported.update({ a: 1 }, (err?: Error) => (err ? reject(err) : resolve())),
    );
    await assert.rejects(update, /500001/);
    await twin.get();
    // REST calls were not affected by the twin-scoped faults
    await registry.get('twin-fail');
  });

  it('fails REST operations with ThrottlingError / InternalServerError (programmatic and HTTP)', async () => {
    await ensureDevice('rest-fail');
    hub.control.failNext(2, 429, { scope: 'rest' });
    await assert.rejects(registry.get('rest-fail'), { name: 'ThrottlingError' });
    await assert.rejects(registry.getTwin('rest-fail'), { name: 'ThrottlingError' });
    await registry.get('rest-fail');
    assert.equal((await control('POST', '/fail', { count: 1, status: 500 })).status, 200);
    await assert.rejects(registry.get('rest-fail'), { name: 'InternalServerError' });
    await registry.get('rest-fail');
    const bad = await control('POST', '/fail', { count: 1, status: 418 });
    assert.equal(bad.status, 400);
  });

  it('expires a device token early: the old token is refused, a fresh one gets in', async () => {
    await ensureDevice('expire-1');
    const d = hub.core.registry.get('expire-1');
    const sas = generateSasToken({
      resource: `${hub.deviceHost}/devices/expire-1`,
      key: d.primaryKey!,
    });
    const withToken = `HostName=${hub.deviceHost};DeviceId=expire-1;SharedAccessSignature=${sas}`;
    const client = await openDevice('expire-1', withToken);
    const gone = disconnected(client);
    hub.control.expireTokens('expire-1');
    await gone;
    await client.close();
    const again = DeviceClient.fromConnectionString(withToken, Mqtt);
    devices.push(again);
    again.setRetryPolicy(new NoRetry());
    await again.setOptions({ ca: hub.tls.caCertPem });
    await assert.rejects(again.open(), { name: 'UnauthorizedError' });
    await sleep(1100);
    await openDevice('expire-1'); // the SDK mints a fresh token from the key
  });

  it('expires every token over HTTP; only iothubowner may use /$control', async () => {
    const client = await openDevice('expire-all');
    const other = hub.core.registry.policies().find((p) => p.keyName !== 'iothubowner')!;
    const denied = await control('POST', '/expire-tokens', undefined, token(other.keyName));
    assert.equal(denied.status, 401);
    assert.equal((await control('POST', '/expire-tokens', undefined, 'nope')).status, 401);
    const gone = disconnected(client);
    assert.equal((await control('POST', '/expire-tokens')).status, 200);
    await gone;
    const state = await control('GET', '');
    assert.equal(typeof (state.body as { allTokensCutoff: unknown }).allTokensCutoff, 'number');
    assert.equal((await control('POST', '/devices/x/expire-tokens')).status, 200);
    assert.equal((await control('POST', '/nothing')).status, 404);
    assert.equal((await control('PUT', '/reset')).status, 405);
    assert.equal((await control('POST', '')).status, 405);
    assert.equal((await control('POST', '/reset')).status, 200);
  });

  it('validates arguments and keeps state per hub', () => {
    const a = new HubControl();
    const b = new HubControl();
    a.failNext(1, 429);
    assert.equal(b.restFault(), undefined);
    assert.equal(a.restFault()?.errorCode, 429001);
    assert.equal(a.restFault(), undefined);
    assert.throws(() => a.dropConnection('x', { afterMessages: -1 }), /non-negative/);
    assert.throws(() => a.failNext(1, 429, { scope: 'x' as 'all' }), /scope/);
    a.failNext(0, 500);
    assert.equal(a.state.failures, null);
    assert.equal(a.refuseConnect('x', undefined), false);
    assert.throws(() => handleControlRequest(a, 'POST', ['reset'], [1]), /JSON object/);
  });
});
