/**
 * The local hub's MQTT transport, inside a real LocalHub (HubCore + store), driven by the real device SDK (azure-iot-device +
 * azure-iot-device-mqtt, unchanged): SAS and X.509 over TLS, MQTT over WebSocket, twin, desired
 * notifications, direct methods, telemetry, C2D, same-id takeover.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { Client, Message } from 'azure-iot-device';
import { Mqtt, MqttWs } from 'azure-iot-device-mqtt';
import { mintDeviceCertificate } from '../../lib/hub/tls';
import { HubError } from '../../lib/hub/errors';
import type { LocalHub } from '../../lib/hub/hub';
import type { MqttHubLogEvent } from '../../lib/hub/mqtt';
import type { D2CRecord } from '../../lib/hub/store';
import { waitFor } from './helpers/mqtt-fixture';
import { startLocalHub } from './helpers/local-hub';

/** The real hub (LocalHub: HubCore + store + MqttHub) behind the device SDK. */
interface LocalFixture {
  hub: LocalHub;
  host: string;
  websocketPort: number;
  logs: MqttHubLogEvent[];
  d2c: D2CRecord[];
  tls: { caCertPem: string };
  addSasDevice(id: string): { primaryKey: string; secondaryKey: string };
  close(): Promise<void>;
}

async function startLocalFixture(): Promise<LocalFixture> {
  const logs: MqttHubLogEvent[] = [];
  const { hub, close } = await startLocalHub({ websocketPort: 0, log: (e) => logs.push(e) });
  const d2c: D2CRecord[] = [];
  hub.core.on('d2c', (r: D2CRecord) => d2c.push(r));
  return {
    hub,
    host: hub.deviceHost,
    websocketPort: hub.ports.websocket!,
    logs,
    d2c,
    tls: hub.tls,
    addSasDevice(id) {
      const d = hub.core.registry.create(id);
      return { primaryKey: d.primaryKey!, secondaryKey: d.secondaryKey! };
    },
    close,
  };
}

describe('hub MQTT transport with the real device SDK', function () {
  this.timeout(20000);
  let fx: LocalFixture;
  const opened: Client[] = [];

  before(async () => {
    fx = await startLocalFixture();
  });
  after(async () => {
    await fx.close();
  });
  afterEach(async () => {
    while (opened.length > 0) {
      const c = opened.pop()!;
      await c.close().catch(() => undefined);
    }
  });

  async function openSas(deviceId: string, key: string, transport = Mqtt): Promise<Client> {
    const client = Client.fromConnectionString(
      `HostName=${fx.host};DeviceId=${deviceId};SharedAccessKey=${key}`,
      transport,
    );
    opened.push(client);
    await client.setOptions({ ca: fx.tls.caCertPem });
    await client.open();
    return client;
  }

  it('connects with a SAS key over TLS and sends telemetry with properties', async () => {
    const { primaryKey } = fx.addSasDevice('sas-dev');
    const client = await openSas('sas-dev', primaryKey);
    assert.ok(fx.hub.mqtt.isConnected('sas-dev'));
    const msg = new Message(JSON.stringify({ temp: 21.5 }));
    msg.messageId = 'm-1';
    msg.contentType = 'application/json';
    msg.contentEncoding = 'utf-8';
    msg.properties.add('alert', 'hot & humid');
    await client.sendEvent(msg);
    const got = fx.d2c.find((m) => m.deviceId === 'sas-dev');
    assert.ok(got);
    assert.equal(got.body.toString(), '{"temp":21.5}');
    assert.deepEqual(got.properties, { alert: 'hot & humid' });
    assert.equal(got.systemProperties?.messageId, 'm-1');
    assert.equal(got.systemProperties?.contentType, 'application/json');
    assert.equal(got.systemProperties?.contentEncoding, 'utf-8');
  });

  it('accepts the secondary key', async () => {
    const { secondaryKey } = fx.addSasDevice('sas-secondary');
    await openSas('sas-secondary', secondaryKey);
    assert.ok(fx.hub.mqtt.isConnected('sas-secondary'));
  });

  it('refuses a bad key: open fails with UnauthorizedError (CONNACK 5)', async () => {
    fx.addSasDevice('sas-bad');
    const wrong = Buffer.alloc(32, 7).toString('base64');
    await assert.rejects(openSas('sas-bad', wrong), (err: Error) => {
      assert.equal(err.name, 'UnauthorizedError');
      assert.match(err.message, /Not authorized/i);
      return true;
    });
    assert.ok(!fx.hub.mqtt.isConnected('sas-bad'));
    const refusal = fx.logs.find((l) => l.event === 'refused' && l.deviceId === 'sas-bad');
    assert.equal(refusal?.returnCode, 5);
    assert.match(refusal?.detail ?? '', /^bad-signature/);
    assert.doesNotMatch(JSON.stringify(fx.logs), /SharedAccessSignature sr=|sig=/);
  });

  it('refuses an unknown device and a disabled one', async () => {
    await assert.rejects(openSas('nobody', Buffer.alloc(32).toString('base64')), {
      name: 'UnauthorizedError',
    });
    const { primaryKey } = fx.addSasDevice('disabled-dev');
    fx.hub.core.putDevice('disabled-dev', { status: 'disabled' }, '*');
    await assert.rejects(openSas('disabled-dev', primaryKey), { name: 'UnauthorizedError' });
  });

  it('connects with a self-signed X.509 certificate registered by thumbprint', async () => {
    const cert = mintDeviceCertificate({ deviceId: 'x509-dev' });
    fx.hub.core.registry.create('x509-dev', {
      authentication: {
        type: 'selfSigned',
        x509Thumbprint: { primaryThumbprint: cert.thumbprintSha1, secondaryThumbprint: null },
      },
    });
    const client = Client.fromConnectionString(
      `HostName=${fx.host};DeviceId=x509-dev;x509=true`,
      Mqtt,
    );
    opened.push(client);
    await client.setOptions({ ca: fx.tls.caCertPem, cert: cert.certPem, key: cert.keyPem });
    await client.open();
    assert.ok(fx.hub.mqtt.isConnected('x509-dev'));

    const other = mintDeviceCertificate({ deviceId: 'x509-dev' });
    const intruder = Client.fromConnectionString(
      `HostName=${fx.host};DeviceId=x509-dev;x509=true`,
      Mqtt,
    );
    opened.push(intruder);
    await intruder.setOptions({ ca: fx.tls.caCertPem, cert: other.certPem, key: other.keyPem });
    await assert.rejects(intruder.open(), { name: 'UnauthorizedError' });
  });

  it('twin: GET, reported PATCH (204 + $version), desired notification', async () => {
    const { primaryKey } = fx.addSasDevice('twin-dev');
    fx.hub.core.updateTwin('twin-dev', { properties: { desired: { interval: 10 } } });
    const client = await openSas('twin-dev', primaryKey);
    const twin = await client.getTwin();
    assert.equal(twin.properties.desired.interval, 10);
    assert.equal(twin.properties.desired.$version, 2);

    await new Promise<void>((resolve, reject) =>
      twin.properties.reported.update({ fw: '1.2.3' }, (err?: Error) =>
        err ? reject(err) : resolve(),
      ),
    );
    const reported = fx.hub.core.getTwin('twin-dev').properties.reported;
    assert.equal(reported.fw, '1.2.3');
    assert.equal(reported.$version, 2);

    const seen: unknown[] = [];
    twin.on('properties.desired', (delta: unknown) => seen.push(delta));
    await waitFor(() => seen.length >= 1, 5000, 'initial desired event'); // emitted on listen
    const before = seen.length;
    fx.hub.core.updateTwin('twin-dev', { properties: { desired: { interval: 30 } } });
    await waitFor(() => seen.length > before, 5000, 'desired patch');
    assert.deepEqual(seen[seen.length - 1], { interval: 30, $version: 3 });
    assert.equal(twin.properties.desired.interval, 30);
  });

  it('twin: a reported patch the core rejects comes back as an SDK error', async () => {
    const { primaryKey } = fx.addSasDevice('twin-bad');
    const client = await openSas('twin-bad', primaryKey);
    const twin = await client.getTwin();
    const core = fx.hub.core;
    const origUpdate = core.updateReportedProperties.bind(core);
    core.updateReportedProperties = () => {
      throw new HubError('ArgumentInvalid', 'nope');
    };
    try {
      await assert.rejects(
        new Promise<void>((resolve, reject) =>
          twin.properties.reported.update({ a: 1 }, (err?: Error) =>
            err ? reject(err) : resolve(),
          ),
        ),
      );
    } finally {
      core.updateReportedProperties = origUpdate;
    }
  });

  it('direct method round trip through invoke()', async () => {
    const { primaryKey } = fx.addSasDevice('method-dev');
    const client = await openSas('method-dev', primaryKey);
    client.onDeviceMethod('reboot', (request, response) => {
      void response.send(200, { accepted: true, echo: request.payload });
    });
    await waitFor(
      () => fx.hub.mqtt.isConnected('method-dev') && methodSubscribed('method-dev'),
      5000,
      'method subscription',
    );
    const result = await fx.hub.core.invokeMethod('method-dev', 'reboot', { delay: 5 }, 10);
    assert.deepEqual(result, { status: 200, payload: { accepted: true, echo: { delay: 5 } } });
  });

  it('invoke rejects with DeviceNotOnline for an offline device', async () => {
    fx.addSasDevice('offline-dev');
    await assert.rejects(fx.hub.core.invokeMethod('offline-dev', 'x', null), {
      errorName: 'DeviceNotOnline',
    });
  });

  it('C2D delivery with properties; PUBACK completes the message', async () => {
    const { primaryKey } = fx.addSasDevice('c2d-dev');
    const client = await openSas('c2d-dev', primaryKey);
    const received: Message[] = [];
    client.on('message', (m: Message) => {
      received.push(m);
      void client.complete(m);
    });
    await waitFor(() => subscribed('c2d-dev', 'devices/c2d-dev/messages/devicebound/#'));
    fx.hub.core.sendC2D(
      'c2d-dev',
      Buffer.from('hello device'),
      { kind: 'greeting' },
      { messageId: 'c2d-1', correlationId: 'corr-1' },
    );
    await waitFor(() => received.length === 1, 5000, 'C2D message');
    const m = received[0]!;
    assert.equal(m.getData().toString(), 'hello device');
    assert.equal(m.messageId, 'c2d-1');
    assert.equal(m.correlationId, 'corr-1');
    assert.equal(m.properties.getValue('kind'), 'greeting');
    await waitFor(
      () => fx.hub.core.store.listC2D('c2d-dev').every((r) => r.state === 'completed'),
      5000,
      'PUBACK',
    );
  });

  it('a second connection with the same device id drops the first', async () => {
    const { primaryKey } = fx.addSasDevice('dup-dev');
    const first = await openSas('dup-dev', primaryKey);
    let firstDisconnected = false;
    first.on('disconnect', () => {
      firstDisconnected = true;
    });
    first.on('error', () => undefined);
    // The SDK's retry would reconnect the first client; forbid that for this test.
    (first as unknown as { setRetryPolicy(p: unknown): void }).setRetryPolicy({
      shouldRetry: () => false,
      nextRetryTimeout: () => 0,
    });
    await openSas('dup-dev', primaryKey);
    await waitFor(() => firstDisconnected, 5000, 'first client disconnect');
    assert.ok(fx.hub.mqtt.isConnected('dup-dev'));
  });

  it('MQTT over WebSocket (MqttWs) at /$iothub/websocket, reached through an agent', async () => {
    const { primaryKey } = fx.addSasDevice('ws-dev');
    // MqttWs always dials wss://{GatewayHostName or HostName}:443/$iothub/websocket. A realistic
    // HostName (used in the username and the SAS sr) plus GatewayHostName=127.0.0.1 gives a valid
    // URL; the agent sends the connection on to the test's ephemeral port.
    const client = Client.fromConnectionString(
      `HostName=localhost;DeviceId=ws-dev;SharedAccessKey=${primaryKey};GatewayHostName=127.0.0.1`,
      MqttWs,
    );
    opened.push(client);
    const agent = new https.Agent();
    const port = fx.websocketPort;
    (agent as unknown as { createConnection: unknown }).createConnection = (
      options: tls.ConnectionOptions,
      callback?: () => void,
    ) => tls.connect({ ...options, host: '127.0.0.1', port, ca: fx.tls.caCertPem }, callback);
    await client.setOptions({ ca: fx.tls.caCertPem, mqtt: { webSocketAgent: agent } });
    await client.open();
    assert.ok(fx.hub.mqtt.isConnected('ws-dev'));
    await client.sendEvent(new Message('over ws'));
    assert.ok(fx.d2c.some((m) => m.deviceId === 'ws-dev'));
    await client.close();
    agent.destroy();
  });

  function methodSubscribed(deviceId: string): boolean {
    return subscribed(deviceId, '$iothub/methods/POST/#');
  }
  function subscribed(deviceId: string, filter: string): boolean {
    const sessions = (
      fx.hub.mqtt as unknown as { sessions: Map<string, { subscriptions: Set<string> }> }
    ).sessions;
    return sessions.get(deviceId)?.subscriptions.has(filter) ?? false;
  }
});
