/**
 * The local hub's `GET /messages/events`: device-to-cloud messages sent by the real
 * azure-iot-device SDK (MQTT) read back with their application properties, paging by `after`,
 * the long poll (answered when a message arrives, or empty after `wait`), the ServiceConnect
 * right, bad parameters 400; and `LocalHubD2CSource` reading it.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { Client as DeviceClient, Message } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { LocalHubD2CSource, type D2CMessage } from '../../lib/attest/d2c-source';
import { parseServiceConnectionString } from '../../lib/attest/hub-endpoint';
import { silentLogger } from '../../lib/dm/logger';
import { generateSasToken } from '../../lib/hub/auth';
import type { LocalHub } from '../../lib/hub/hub';
import { startLocalHub } from './helpers/local-hub';
import { waitFor } from './helpers/mqtt-fixture';

interface Reply {
  status: number;
  body: {
    messages?: Array<{
      seq: number;
      deviceId: string;
      body: string;
      properties: Record<string, string>;
    }>;
    last?: number;
    Message?: string;
  };
}

describe('local hub: GET /messages/events (device-to-cloud messages for the service side)', function () {
  this.timeout(30000);
  let hub: LocalHub;
  let closeHub: () => Promise<void>;
  let device: DeviceClient;

  before(async () => {
    ({ hub, close: closeHub } = await startLocalHub());
    hub.core.registry.create('msg-dev');
    hub.core.registry.create('other-dev');
    device = DeviceClient.fromConnectionString(hub.deviceConnectionString('msg-dev'), Mqtt);
    await device.setOptions({ ca: hub.tls.caCertPem });
    await device.open();
  });
  after(async () => {
    await device.close().catch(() => undefined);
    await closeHub();
  });

  function token(keyName = 'iothubowner'): string {
    const p = hub.core.registry.policy(keyName)!;
    return generateSasToken({ resource: hub.serviceHost, key: p.primaryKey, keyName });
  }

  function get(query: string, auth: string | undefined = token()): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: hub.ports.https,
          method: 'GET',
          path: `/messages/events${query}`,
          ca: hub.tls.caCertPem,
          headers: auth ? { Authorization: auth } : {},
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Reply['body'] }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  async function send(body: unknown, props: Record<string, string>): Promise<void> {
    const m = new Message(JSON.stringify(body));
    for (const [k, v] of Object.entries(props)) m.properties.add(k, v);
    await device.sendEvent(m);
  }

  it('returns the stored messages with their application properties, after a sequence', async () => {
    await send({ a: 1 }, { MessageType: 'DHA-Nonce' });
    await send({ b: 2 }, { MessageType: 'other', x: 'y' });
    await waitFor(
      () => hub.core.store.listD2C({ deviceId: 'msg-dev' }).length >= 2,
      5000,
      'stored',
    );
    const all = await get('?after=0');
    assert.equal(all.status, 200);
    const mine = all.body.messages!.filter((m) => m.deviceId === 'msg-dev');
    assert.equal(mine.length, 2);
    assert.deepEqual(JSON.parse(Buffer.from(mine[0]!.body, 'base64').toString()), { a: 1 });
    assert.equal(mine[0]!.properties.MessageType, 'DHA-Nonce');
    assert.equal(mine[1]!.properties.x, 'y');
    assert.equal(all.body.last, mine[1]!.seq);
    const after = await get(`?after=${mine[0]!.seq}`);
    assert.deepEqual(
      after.body.messages!.map((m) => m.seq),
      [mine[1]!.seq],
    );
    const limited = await get('?after=0&limit=1');
    assert.equal(limited.body.messages!.length, 1);
    const none = await get(`?after=${all.body.last}&deviceId=other-dev`);
    assert.deepEqual(none.body, { messages: [], last: all.body.last });
  });

  it('long poll: held until a message arrives; empty after wait', async () => {
    const last = (await get('?after=0')).body.last!;
    const t0 = Date.now();
    const empty = await get(`?after=${last}&wait=300`);
    assert.deepEqual(empty.body.messages, []);
    assert.ok(Date.now() - t0 >= 280, 'waited');
    const pending = get(`?after=${last}&wait=10000`);
    await new Promise((r) => setTimeout(r, 200));
    await send({ late: true }, { MessageType: 'DHA-HealthReport' });
    const got = await pending;
    assert.ok(Date.now() - t0 < 8000, 'answered when the message came');
    assert.equal(got.body.messages!.length, 1);
    assert.equal(got.body.messages![0]!.properties.MessageType, 'DHA-HealthReport');
  });

  it('needs ServiceConnect; refuses bad parameters', async () => {
    assert.equal((await get('?after=0', '')).status, 401);
    assert.equal((await get('?after=0', token('registryRead'))).status, 401);
    assert.equal((await get('?after=0', token('service'))).status, 200);
    for (const q of ['?after=-1', '?after=x', '?wait=600000', '?limit=5000']) {
      const r = await get(q);
      assert.equal(r.status, 400, q);
      assert.match(r.body.Message!, /ArgumentInvalid|must be/);
    }
  });

  it('LocalHubD2CSource delivers the messages in order, long polling', async () => {
    const start = (await get('?after=0')).body.last!;
    const endpoint = parseServiceConnectionString(hub.connectionString, hub.tls.caCertPem);
    const source = new LocalHubD2CSource({ endpoint, logger: silentLogger(), waitMs: 1000 });
    const got: D2CMessage[] = [];
    source.start(async (m) => {
      got.push(m);
      if (got.length === 1) throw new Error('a failing handler does not stop the source');
    }, start);
    await send({ n: 1 }, { MessageType: 'DHA-Nonce' });
    await send({ n: 2 }, { MessageType: 'DHA-Nonce' });
    await waitFor(() => got.length === 2, 8000, 'two messages');
    assert.deepEqual(
      got.map((m) => JSON.parse(m.body.toString()) as unknown),
      [{ n: 1 }, { n: 2 }],
    );
    assert.equal(got[0]!.deviceId, 'msg-dev');
    assert.equal(got[1]!.properties.MessageType, 'DHA-Nonce');
    assert.ok(got[1]!.seq > got[0]!.seq);
    await source.close();
  });
});
