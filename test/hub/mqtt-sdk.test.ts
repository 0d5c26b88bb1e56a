/**
 * The local hub's MQTT transport driven by the real device SDK (azure-iot-device +
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
import { startHub, waitFor, type HubFixture } from './helpers/mqtt-fixture';

describe('hub MQTT transport with the real device SDK', function () {
  this.timeout(20000);
  let fx: HubFixture;
  const opened: Client[] = [];

  before(async () => {
    fx = await startHub();
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
    const { primaryKey } = fx.backend.addSasDevice('sas-dev');
    const client = await openSas('sas-dev', primaryKey);
    assert.ok(fx.hub.isConnected('sas-dev'));
    const msg = new Message(JSON.stringify({ temp: 21.5 }));
    msg.messageId = 'm-1';
    msg.contentType = 'application/json';
    msg.contentEncoding = 'utf-8';
    msg.properties.add('alert', 'hot & humid');
    await client.sendEvent(msg);
    const got = fx.backend.d2c.find((m) => m.deviceId === 'sas-dev');
    assert.ok(got);
    assert.equal(got.body.toString(), '{"temp":21.5}');
    assert.deepEqual(got.properties, { alert: 'hot & humid' });
    assert.equal(got.systemProperties?.messageId, 'm-1');
    assert.equal(got.systemProperties?.contentType, 'application/json');
    assert.equal(got.systemProperties?.contentEncoding, 'utf-8');
  });

  it('accepts the secondary key', async () => {
    const { secondaryKey } = fx.backend.addSasDevice('sas-secondary');
    await openSas('sas-secondary', secondaryKey);
    assert.ok(fx.hub.isConnected('sas-secondary'));
  });

  it('refuses a bad key: open fails with UnauthorizedError (CONNACK 5)', async () => {
    fx.backend.addSasDevice('sas-bad');
    const wrong = Buffer.alloc(32, 7).toString('base64');
    await assert.rejects(openSas('sas-bad', wrong), (err: Error) => {
      assert.equal(err.name, 'UnauthorizedError');
      assert.match(err.message, /Not authorized/i);
      return true;
    });
    assert.ok(!fx.hub.isConnected('sas-bad'));
    const refusal = fx.logs.find((l) => l.event === 'refused' && l.deviceId === 'sas-bad');
    assert.equal(refusal?.returnCode, 5);
    assert.match(refusal?.detail ?? '', /^bad-signature/);
    assert.doesNotMatch(JSON.stringify(fx.logs), /SharedAccessSignature sr=|sig=/);
  });

  it('refuses an unknown device and a disabled one', async () => {
    await assert.rejects(openSas('nobody', Buffer.alloc(32).toString('base64')), {
      name: 'UnauthorizedError',
    });
    const { primaryKey } = fx.backend.addSasDevice('disabled-dev');
    fx.backend.devices.get('disabled-dev')!.status = 'disabled';
    await assert.rejects(openSas('disabled-dev', primaryKey), { name: 'UnauthorizedError' });
  });

  it('connects with a self-signed X.509 certificate registered by thumbprint', async () => {
    const cert = mintDeviceCertificate({ deviceId: 'x509-dev' });
    fx.backend.devices.set('x509-dev', {
      deviceId: 'x509-dev',
      status: 'enabled',
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
    assert.ok(fx.hub.isConnected('x509-dev'));

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
    const { primaryKey } = fx.backend.addSasDevice('twin-dev');
    fx.backend.twins.set('twin-dev', {
      desired: { interval: 10, $version: 3 },
      reported: { $version: 1 },
    });
    const client = await openSas('twin-dev', primaryKey);
    const twin = await client.getTwin();
    assert.equal(twin.properties.desired.interval, 10);
    assert.equal(twin.properties.desired.$version, 3);

    await new Promise<void>((resolve, reject) =>
      twin.properties.reported.update({ fw: '1.2.3' }, (err?: Error) =>
        err ? reject(err) : resolve(),
      ),
    );
    assert.equal(fx.backend.twins.get('twin-dev')!.reported.fw, '1.2.3');
    assert.equal(fx.backend.twins.get('twin-dev')!.reported.$version, 2);

    const seen: unknown[] = [];
    twin.on('properties.desired', (delta: unknown) => seen.push(delta));
    await waitFor(() => seen.length >= 1, 5000, 'initial desired event'); // emitted on listen
    const before = seen.length;
    fx.hub.onDesiredPatch('twin-dev', { interval: 30, $version: 4 });
    await waitFor(() => seen.length > before, 5000, 'desired patch');
    assert.deepEqual(seen[seen.length - 1], { interval: 30, $version: 4 });
    assert.equal(twin.properties.desired.interval, 30);
  });

  it('twin: a reported patch the core rejects comes back as an SDK error', async () => {
    const { primaryKey } = fx.backend.addSasDevice('twin-bad');
    const client = await openSas('twin-bad', primaryKey);
    const twin = await client.getTwin();
    const origUpdate = fx.backend.updateReportedProperties.bind(fx.backend);
    fx.backend.updateReportedProperties = () => {
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
      fx.backend.updateReportedProperties = origUpdate;
    }
  });

  it('direct method round trip through invoke()', async () => {
    const { primaryKey } = fx.backend.addSasDevice('method-dev');
    const client = await openSas('method-dev', primaryKey);
    client.onDeviceMethod('reboot', (request, response) => {
      void response.send(200, { accepted: true, echo: request.payload });
    });
    await waitFor(
      () => fx.hub.isConnected('method-dev') && methodSubscribed('method-dev'),
      5000,
      'method subscription',
    );
    const result = await fx.hub.invoke('method-dev', 'reboot', { delay: 5 }, 'rid-1');
    assert.deepEqual(result, { status: 200, payload: { accepted: true, echo: { delay: 5 } } });
  });

  it('invoke rejects with DeviceNotOnline for an offline device', async () => {
    await assert.rejects(fx.hub.invoke('offline-dev', 'x', null, 'r'), {
      errorName: 'DeviceNotOnline',
    });
  });

  it('C2D delivery with properties; PUBACK completes the message', async () => {
    const { primaryKey } = fx.backend.addSasDevice('c2d-dev');
    const client = await openSas('c2d-dev', primaryKey);
    const received: Message[] = [];
    client.on('message', (m: Message) => {
      received.push(m);
      void client.complete(m);
    });
    await waitFor(
      () =>
        fx.hub.sendC2D('c2d-dev', {
          lockToken: 'lock-1',
          body: Buffer.from('hello device'),
          properties: { kind: 'greeting' },
          systemProperties: {
            messageId: 'c2d-1',
            to: '/devices/c2d-dev/messages/devicebound',
            correlationId: 'corr-1',
          },
          deliveryCount: 1,
          enqueuedTimeUtc: new Date().toISOString(),
        }),
      5000,
      'C2D subscription',
    );
    await waitFor(() => received.length === 1, 5000, 'C2D message');
    const m = received[0]!;
    assert.equal(m.getData().toString(), 'hello device');
    assert.equal(m.messageId, 'c2d-1');
    assert.equal(m.correlationId, 'corr-1');
    assert.equal(m.properties.getValue('kind'), 'greeting');
    await waitFor(() => fx.backend.completed.length === 1, 5000, 'PUBACK');
    assert.deepEqual(fx.backend.completed[0], { deviceId: 'c2d-dev', lockToken: 'lock-1' });
  });

  it('a second connection with the same device id drops the first', async () => {
    const { primaryKey } = fx.backend.addSasDevice('dup-dev');
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
    assert.ok(fx.hub.isConnected('dup-dev'));
  });

  it('MQTT over WebSocket (MqttWs) at /$iothub/websocket, reached through an agent', async () => {
    const { primaryKey } = fx.backend.addSasDevice('ws-dev');
    // MqttWs always dials wss://{GatewayHostName or HostName}:443/$iothub/websocket. A realistic
    // HostName (used in the username and the SAS sr) plus GatewayHostName=127.0.0.1 gives a valid
    // URL; the agent sends the connection on to the test's ephemeral port.
    const client = Client.fromConnectionString(
      `HostName=myhub.azure-devices.net;DeviceId=ws-dev;SharedAccessKey=${primaryKey};GatewayHostName=127.0.0.1`,
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
    assert.ok(fx.hub.isConnected('ws-dev'));
    await client.sendEvent(new Message('over ws'));
    assert.ok(fx.backend.d2c.some((m) => m.deviceId === 'ws-dev'));
    await client.close();
    agent.destroy();
  });

  function methodSubscribed(deviceId: string): boolean {
    const sessions = (
      fx.hub as unknown as { sessions: Map<string, { subscriptions: Set<string> }> }
    ).sessions;
    return sessions.get(deviceId)?.subscriptions.has('$iothub/methods/POST/#') ?? false;
  }
});
