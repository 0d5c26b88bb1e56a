/**
 * Raw MQTT 3.1.1 against the hub (plain `mqtt` client): CONNACK codes, expired tokens, QoS 2,
 * subscription limits and topic authorization, which the device SDK never exercises.
 */
import assert from 'node:assert/strict';
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import { generateDeviceSasToken } from '../../lib/hub/auth';
import { startHub, waitFor, type HubFixture } from './helpers/mqtt-fixture';

describe('hub MQTT transport: raw protocol rules', function () {
  this.timeout(15000);
  let fx: HubFixture;
  const clients: MqttClient[] = [];

  before(async () => {
    fx = await startHub();
  });
  after(async () => {
    await fx.close();
  });
  afterEach(async () => {
    while (clients.length > 0) await clients.pop()!.endAsync(true);
  });

  function options(
    deviceId: string,
    password: string | undefined,
    extra: Partial<IClientOptions> = {},
  ) {
    return {
      protocolVersion: 4 as const,
      clientId: deviceId,
      username: `${fx.host}/${deviceId}/?api-version=2021-04-12`,
      password,
      ca: fx.tls.caCertPem,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...extra,
    };
  }

  /** Connects; resolves with the client or rejects with the CONNACK error (code = return code). */
  function connect(opts: IClientOptions): Promise<MqttClient> {
    return new Promise((resolve, reject) => {
      const c = mqtt.connect(`mqtts://127.0.0.1:${fx.port}`, opts);
      clients.push(c);
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  }

  function closed(c: MqttClient): Promise<void> {
    return new Promise((resolve) => {
      if (!c.connected) return resolve();
      c.once('close', () => resolve());
    });
  }

  async function sasClient(deviceId: string): Promise<MqttClient> {
    const { primaryKey } = fx.backend.addSasDevice(deviceId);
    return connect(options(deviceId, generateDeviceSasToken(fx.host, deviceId, primaryKey)));
  }

  it('expired token → CONNACK 5', async () => {
    const { primaryKey } = fx.backend.addSasDevice('expired');
    const token = generateDeviceSasToken(fx.host, 'expired', primaryKey, {
      expiry: Math.floor(Date.now() / 1000) - 10,
    });
    await assert.rejects(connect(options('expired', token)), { code: 5 });
    assert.match(fx.logs.find((l) => l.deviceId === 'expired')!.detail, /^expired/);
  });

  it('token for another device → 5; malformed password / username → 4; bad client id → 2', async () => {
    const { primaryKey } = fx.backend.addSasDevice('victim');
    fx.backend.addSasDevice('attacker');
    const stolen = generateDeviceSasToken(fx.host, 'victim', primaryKey);
    await assert.rejects(connect(options('attacker', stolen)), { code: 5 });
    await assert.rejects(connect(options('victim', 'not a token')), { code: 4 });
    await assert.rejects(connect(options('victim', stolen, { username: 'garbage' })), { code: 4 });
    await assert.rejects(
      connect(
        options('victim', stolen, { username: `${fx.host}/attacker/?api-version=2021-04-12` }),
      ),
      { code: 4 },
    );
    await assert.rejects(connect(options('victim', undefined)), { code: 4 });
    await assert.rejects(connect(options('bad id!~', stolen)), { code: 2 });
    await assert.rejects(connect(options('victim/module1', stolen)), { code: 2 });
  });

  it('unknown host name in the username → 5', async () => {
    const { primaryKey } = fx.backend.addSasDevice('hosty');
    const token = generateDeviceSasToken('other.example', 'hosty', primaryKey);
    await assert.rejects(
      connect(options('hosty', token, { username: 'other.example/hosty/?api-version=2021-04-12' })),
      { code: 5 },
    );
  });

  it('accepts the configured hub host name, case-insensitively', async () => {
    const { primaryKey } = fx.backend.addSasDevice('named');
    const token = generateDeviceSasToken('MyHub.Azure-Devices.net', 'named', primaryKey);
    const c = await connect(
      options('named', token, {
        username: 'MyHub.Azure-Devices.net/named/?api-version=2021-04-12',
      }),
    );
    assert.ok(c.connected);
  });

  it('a PUBLISH with QoS 2 closes the connection', async () => {
    const c = await sasClient('qos2');
    const gone = closed(c);
    c.publish('devices/qos2/messages/events/', 'x', { qos: 2 });
    await gone;
    await waitFor(() => !fx.hub.isConnected('qos2'), 5000, 'hub side close');
  });

  it('SUBSCRIBE with QoS 2 is accepted (the SUBACK echoes 2: aedes limitation, see server.ts)', async () => {
    const c = await sasClient('subqos');
    const granted = await c.subscribeAsync('devices/subqos/messages/devicebound/#', { qos: 2 });
    assert.notEqual(granted[0]?.qos, 128);
    assert.ok(c.connected);
  });

  it('more than 5 subscriptions close the connection', async () => {
    const { primaryKey } = fx.backend.addSasDevice('many');
    // Only four filters are allowed per device (others close the connection anyway), so two
    // subscriptions are planted in the session to reach the limit.
    const c = await connect(options('many', generateDeviceSasToken(fx.host, 'many', primaryKey)));
    const filters = [
      'devices/many/messages/devicebound/#',
      '$iothub/twin/res/#',
      '$iothub/twin/PATCH/properties/desired/#',
      '$iothub/methods/POST/#',
    ];
    for (const f of filters) await c.subscribeAsync(f, { qos: 0 });
    await c.subscribeAsync(filters[0]!, { qos: 1 }); // the same filter again does not count
    assert.ok(c.connected);
    const hub = fx.hub as unknown as { sessions: Map<string, { subscriptions: Set<string> }> };
    const subs = hub.sessions.get('many')!.subscriptions;
    subs.add('planted/1');
    subs.add('planted/2');
    await c.subscribeAsync('$iothub/twin/res/#', { qos: 0 }); // already subscribed: still fine
    await c.unsubscribeAsync('$iothub/twin/res/#'); // 5 left
    const gone = closed(c);
    c.subscribe('$iothub/twin/res/#', { qos: 0 }); // the sixth → closed
    await gone;
  });

  it("publishing or subscribing another device's topics closes the connection", async () => {
    fx.backend.addSasDevice('other');
    const a = await sasClient('nosy');
    let gone = closed(a);
    a.publish('devices/other/messages/events/', 'x', { qos: 1 });
    await gone;

    const b = await sasClient('nosy2');
    gone = closed(b);
    b.subscribe('devices/other/messages/devicebound/#', { qos: 1 });
    await gone;

    const c = await sasClient('nosy3');
    gone = closed(c);
    c.subscribe('#', { qos: 0 });
    await gone;
  });

  it('RETAIN is not stored: the message carries mqtt-retain', async () => {
    const c = await sasClient('retainer');
    await c.publishAsync('devices/retainer/messages/events/a=1', 'r', { qos: 1, retain: true });
    const m = fx.backend.d2c.find((x) => x.deviceId === 'retainer');
    assert.deepEqual(m?.properties, { a: '1', 'mqtt-retain': 'true' });
  });

  it('twin GET without a $rid closes the connection; responses need a subscription', async () => {
    const c = await sasClient('twinraw');
    const got: string[] = [];
    c.on('message', (topic) => got.push(topic));
    c.publish('$iothub/twin/GET/?$rid=1', ' '); // not subscribed: no response
    await c.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
    c.publish('$iothub/twin/GET/?$rid=2', ' ');
    await waitFor(() => got.length === 1, 5000, 'twin response');
    assert.equal(got[0], '$iothub/twin/res/200/?$rid=2');
    c.publish('$iothub/twin/PATCH/properties/reported/?$rid=3', '{not json');
    await waitFor(() => got.length === 2, 5000, 'error response');
    assert.equal(got[1], '$iothub/twin/res/400/?$rid=3');
    const gone = closed(c);
    c.publish('$iothub/twin/GET/', ' ');
    await gone;
  });

  it('disconnect(id) closes the device connection; late method responses are dropped', async () => {
    const c = await sasClient('kicked');
    await c.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
    const ac = new AbortController();
    const pending = fx.hub.invoke('kicked', 'slow', undefined, 'r1', { signal: ac.signal });
    ac.abort();
    c.publish('$iothub/methods/res/200/?$rid=r1', '{}');
    const gone = closed(c);
    fx.hub.disconnect('kicked');
    await gone;
    assert.ok(!fx.hub.isConnected('kicked'));
    void pending.catch(() => undefined);
    await assert.rejects(fx.hub.invoke('kicked', 'x', null, 'r2'), {
      errorName: 'DeviceNotOnline',
    });
  });
});
