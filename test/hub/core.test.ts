import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HubCore } from '../../lib/hub/core';
import type {
  C2DMessage,
  DeviceConnector,
  InvokeOptions,
  MethodResponse,
} from '../../lib/hub/device-connector';
import { HubError } from '../../lib/hub/errors';
import type { DesiredPatchBody } from '../../lib/hub/twin';

const code = (n: number) => (e: unknown) => e instanceof HubError && e.errorCode === n;

class FakeConnector implements DeviceConnector {
  connected = new Set<string>();
  patches: [string, DesiredPatchBody][] = [];
  disconnects: string[] = [];
  c2d: C2DMessage[] = [];
  acceptC2D = true;
  signals: AbortSignal[] = [];
  answer: (name: string, payload: unknown) => Promise<MethodResponse> = async (name, payload) => ({
    status: 200,
    payload: { name, payload },
  });
  isConnected(id: string) {
    return this.connected.has(id);
  }
  onDesiredPatch(id: string, body: DesiredPatchBody) {
    this.patches.push([id, body]);
  }
  invoke(_id: string, name: string, payload: unknown, _rid: string, o?: InvokeOptions) {
    if (o?.signal) this.signals.push(o.signal);
    return this.answer(name, payload);
  }
  disconnect(id: string) {
    this.disconnects.push(id);
    this.connected.delete(id);
  }
  sendC2D(_id: string, m: C2DMessage) {
    if (this.acceptC2D) this.c2d.push(m);
    return this.acceptC2D;
  }
}

describe('hub core', () => {
  let dir: string;
  let hub: HubCore;
  let conn: FakeConnector;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-core-'));
    hub = new HubCore(dir);
    conn = new FakeConnector();
    hub.registry.create('dev');
  });
  afterEach(() => {
    hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('invokeMethod: validates the timeout (5..300), 404001/404103 without device or connection', async () => {
    await assert.rejects(hub.invokeMethod('dev', 'm', {}, 4), code(400004));
    await assert.rejects(hub.invokeMethod('dev', 'm', {}, 301), code(400004));
    await assert.rejects(hub.invokeMethod('dev', 'bad name', {}, 5), code(400004));
    await assert.rejects(hub.invokeMethod('nope', 'm', {}, 5), code(404001));
    await assert.rejects(hub.invokeMethod('dev', 'm', {}, 5), code(404103));
    hub.attachConnector(conn);
    await assert.rejects(
      hub.invokeMethod('dev', 'm', {}, 5),
      (e: HubError) => e.status === 404 && e.errorName === 'DeviceNotOnline',
    );
    conn.connected.add('dev');
    assert.deepEqual(await hub.invokeMethod('dev', 'reboot', { a: 1 }), {
      status: 200,
      payload: { name: 'reboot', payload: { a: 1 } },
    });
  });

  it('invokeMethod: 504101 GatewayTimeout after the timeout, aborting the connector signal', async function () {
    this.timeout(10_000);
    hub.attachConnector(conn);
    conn.connected.add('dev');
    conn.answer = () => new Promise(() => {});
    const t0 = Date.now();
    await assert.rejects(
      hub.invokeMethod('dev', 'slow', null, 5),
      (e: HubError) => e.status === 504 && e.errorCode === 504101,
    );
    assert.ok(Date.now() - t0 >= 4900);
    assert.equal(conn.signals[0]!.aborted, true);
  });

  it('desired updates fan out with $version to connected devices only; If-Match on twins', () => {
    hub.attachConnector(conn);
    hub.updateTwin('dev', { properties: { desired: { a: 1 } } });
    assert.equal(conn.patches.length, 0);
    conn.connected.add('dev');
    const t = hub.updateTwin('dev', { properties: { desired: { b: 2 } } }, '*');
    assert.deepEqual(conn.patches, [['dev', { b: 2, $version: 3 }]]);
    assert.throws(() => hub.updateTwin('dev', { tags: { x: 1 } }, '"AAAAAAAAAAE="'), code(412001));
    hub.replaceTwin('dev', { properties: { desired: { c: 3 } } }, `"${t.etag}"`);
    assert.deepEqual(conn.patches[1], ['dev', { a: null, b: null, c: 3, $version: 4 }]);
    hub.updateTwin('dev', { tags: { t: 1 } });
    assert.equal(conn.patches.length, 2, 'tags are not sent to the device');
    assert.equal(hub.listTwins()[0]!.tags.t, 1);
    assert.throws(() => hub.getTwin('nope'), code(404001));
  });

  it('device side: twin GET body, reported patch versions, events, D2C storage', () => {
    const events: unknown[] = [];
    hub.on('d2c', (m) => events.push(['d2c', m.body.toString()]));
    hub.on('connection', (c) => events.push(['conn', c.connected]));
    hub.on('twin', (t) => events.push(['twin', t.deviceId]));
    hub.deviceConnected('dev');
    assert.equal(hub.registry.get('dev').connectionState, 'Connected');
    assert.equal(hub.updateReportedProperties('dev', { fw: '1' }), 2);
    assert.throws(() => hub.updateReportedProperties('dev', { 'a.b': 1 }), code(400004));
    const body = hub.getDeviceTwin('dev') as { reported: Record<string, unknown> };
    assert.equal(body.reported.fw, '1');
    assert.equal(body.reported.$version, 2);
    hub.receiveD2C('dev', {
      body: Buffer.from('t1'),
      properties: { k: 'v' },
      systemProperties: { messageId: 'm1' },
    });
    hub.receiveD2C('dev', { body: Buffer.from('t2'), properties: {} });
    hub.deviceDisconnected('dev');
    assert.equal(hub.getTwin('dev').connectionState, 'Disconnected');
    assert.deepEqual(events, [
      ['conn', true],
      ['twin', 'dev'],
      ['d2c', 't1'],
      ['d2c', 't2'],
      ['conn', false],
    ]);
    assert.deepEqual(hub.store.listD2C({ deviceId: 'dev' })[0]!.systemProperties, {
      messageId: 'm1',
    });
  });

  it('C2D: queued while offline, offered one at a time on connect, next after completion', () => {
    hub.attachConnector(conn);
    hub.sendC2D(
      'dev',
      Buffer.from('one'),
      { p: '1' },
      { correlationId: 'c', expiryTimeUtc: '2999-01-01T00:00:00.000Z' },
    );
    hub.sendC2D('dev', Buffer.from('two'));
    assert.equal(conn.c2d.length, 0);
    conn.connected.add('dev');
    hub.deviceConnected('dev');
    assert.equal(conn.c2d.length, 1);
    const first = conn.c2d[0]!;
    assert.equal(first.body.toString(), 'one');
    assert.equal(first.systemProperties.correlationId, 'c');
    assert.equal(first.systemProperties.to, '/devices/dev/messages/devicebound');
    assert.equal(first.deliveryCount, 1);
    hub.completeC2D('dev', first.lockToken);
    assert.equal(conn.c2d[1]!.body.toString(), 'two');
    assert.throws(() => hub.completeC2D('dev', first.lockToken), code(412002));
    hub.deviceDisconnected('dev');
    conn.acceptC2D = false;
    hub.deviceConnected('dev');
    assert.equal(hub.store.listC2D('dev')[1]!.state, 'queued');
    assert.throws(() => hub.sendC2D('nope', Buffer.alloc(0)), code(404001));
    assert.equal(hub.registry.get('dev').cloudToDeviceMessageCount, 2);
  });

  it('registry changes disconnect devices: disabled, keys changed, deleted', () => {
    hub.attachConnector(conn);
    hub.putDevice('dev', { status: 'enabled' }, '*');
    assert.deepEqual(conn.disconnects, []);
    hub.putDevice('dev', { status: 'disabled' }, '*');
    hub.putDevice(
      'dev',
      {
        status: 'enabled',
        authentication: { symmetricKey: { primaryKey: Buffer.alloc(32, 7).toString('base64') } },
      },
      '*',
    );
    hub.putDevice('new', {});
    hub.deleteDevice('dev');
    assert.deepEqual(conn.disconnects, ['dev', 'dev', 'dev']);
    hub.attachConnector(undefined);
    hub.deleteDevice('new');
  });
});
