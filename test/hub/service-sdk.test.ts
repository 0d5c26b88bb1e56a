/**
 * The local hub's service side (REST over HTTPS) driven by the real `azure-iothub` SDK, with the
 * real `azure-iot-device` SDK on the device side (MQTT), against `LocalHub` on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { Client as ServiceClient, Registry } from 'azure-iothub';
import { Client as DeviceClient } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { LocalHub, authRecord } from '../../lib/hub/hub';
import { generateSasToken } from '../../lib/hub/auth';
import { startLocalHub, trustHub } from './helpers/local-hub';
import { waitFor } from './helpers/mqtt-fixture';

describe('local hub service API with the real azure-iothub SDK', function () {
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
    while (devices.length > 0)
      await devices
        .pop()!
        .close()
        .catch(() => undefined);
  });

  async function openDevice(deviceId: string): Promise<DeviceClient> {
    const client = DeviceClient.fromConnectionString(hub.deviceConnectionString(deviceId), Mqtt);
    devices.push(client);
    await client.setOptions({ ca: hub.tls.caCertPem });
    await client.open();
    return client;
  }

  it('creates, lists, gets, updates and deletes a device', async () => {
    const created = await registry.create({ deviceId: 'crud-1' });
    assert.equal(created.responseBody.deviceId, 'crud-1');
    assert.equal(created.httpResponse.statusCode, 200);
    const keys = created.responseBody.authentication!.symmetricKey!;
    assert.ok(keys.primaryKey && keys.secondaryKey);

    await assert.rejects(registry.create({ deviceId: 'crud-1' }), {
      name: 'DeviceAlreadyExistsError',
    });

    const got = await registry.get('crud-1');
    assert.equal(got.responseBody.status, 'enabled');
    assert.equal(got.responseBody.etag, created.responseBody.etag);

    const list = await registry.list();
    assert.ok(list.responseBody.some((d) => d.deviceId === 'crud-1'));

    const updated = await registry.update({ deviceId: 'crud-1', status: 'disabled' });
    assert.equal(updated.responseBody.status, 'disabled');
    assert.notEqual(updated.responseBody.etag, created.responseBody.etag);
    assert.equal(updated.responseBody.authentication!.symmetricKey!.primaryKey, keys.primaryKey);

    const del = await registry.delete('crud-1');
    assert.equal(del.httpResponse.statusCode, 204);
    await assert.rejects(registry.get('crud-1'), { name: 'DeviceNotFoundError' });
    await assert.rejects(registry.delete('crud-1'), { name: 'DeviceNotFoundError' });
  });

  it('queries twins with paging (Registry.createQuery, nextAsTwin)', async () => {
    for (const id of ['q-1', 'q-2', 'q-3']) {
      await registry.create({ deviceId: id });
      await registry.updateTwin(id, { tags: { fleet: 'query-test' } }, '*');
    }
    const query = registry.createQuery("SELECT * FROM devices WHERE tags.fleet = 'query-test'", 2);
    const first = await query.nextAsTwin();
    assert.equal(first.result.length, 2);
    assert.ok(query.hasMoreResults);
    const second = await query.nextAsTwin();
    assert.equal(second.result.length, 1);
    assert.equal(query.hasMoreResults, false);
    const ids = [...first.result, ...second.result].map((t) => t.deviceId).sort();
    assert.deepEqual(ids, ['q-1', 'q-2', 'q-3']);
    const count = await registry
      .createQuery("SELECT COUNT() AS n FROM devices WHERE tags.fleet = 'query-test'")
      .next();
    assert.deepEqual(count.result, [{ n: 3 }]);
  });

  it('twin: service get/update, a wrong If-Match is InvalidEtagError (412)', async () => {
    await registry.create({ deviceId: 'twin-1' });
    const { responseBody: twin } = await registry.getTwin('twin-1');
    assert.equal(twin.deviceId, 'twin-1');
    const patched = await registry.updateTwin(
      'twin-1',
      { tags: { site: 'lab' }, properties: { desired: { interval: 5 } } },
      twin.etag,
    );
    assert.equal(patched.responseBody.tags.site, 'lab');
    assert.equal(patched.responseBody.properties.desired.interval, 5);
    await assert.rejects(
      registry.updateTwin('twin-1', { tags: { site: 'x' } }, twin.etag),
      (err: Error & { responseBody?: string }) => {
        assert.equal(err.name, 'InvalidEtagError');
        assert.match(err.responseBody ?? '', /PreconditionFailed/);
        return true;
      },
    );
    // '*' always matches; the Twin object's update sends the twin's own etag.
    const again = await registry.updateTwin('twin-1', { tags: { site: 'y' } }, '*');
    assert.equal(again.responseBody.tags.site, 'y');
  });

  it('the device sees the desired patch made from the service side', async () => {
    await registry.create({ deviceId: 'twin-dev' });
    const device = await openDevice('twin-dev');
    const deviceTwin = await device.getTwin();
    const seen: Array<Record<string, unknown>> = [];
    deviceTwin.on('properties.desired', (delta: Record<string, unknown>) => seen.push(delta));
    await waitFor(() => seen.length >= 1, 5000, 'initial desired event');
    const { responseBody: twin } = await registry.getTwin('twin-dev');
    await twin.update({ properties: { desired: { fw: '2.0' } } });
    await waitFor(() => seen.some((d) => d.fw === '2.0'), 5000, 'desired patch');

    await new Promise<void>((resolve, reject) =>
      deviceTwin.properties.reported.update({ fw: '2.0' }, (err?: Error) =>
        err ? reject(err) : resolve(),
      ),
    );
    const after = await registry.getTwin('twin-dev');
    assert.equal(after.responseBody.properties.reported.fw, '2.0');
    assert.equal(
      (after.responseBody as unknown as { connectionState: string }).connectionState,
      'Connected',
    );
  });

  it('invokes a direct method on a connected device and returns its answer', async () => {
    await registry.create({ deviceId: 'method-dev' });
    const device = await openDevice('method-dev');
    device.onDeviceMethod('reboot', (request, response) => {
      void response.send(201, { accepted: true, echo: request.payload });
    });
    const client = trustHub(ServiceClient.fromConnectionString(hub.connectionString), hub);
    // The device subscribes to $iothub/methods/POST/# just after onDeviceMethod; connectTimeout
    // covers the gap.
    await waitFor(() => hub.mqtt.isConnected('method-dev'), 5000, 'device connection');
    let result: { result: unknown } | undefined;
    for (let i = 0; i < 50 && !result; i++) {
      result = await client
        .invokeDeviceMethod('method-dev', {
          methodName: 'reboot',
          payload: { delay: 3 },
          responseTimeoutInSeconds: 10,
        })
        .catch(async () => {
          await new Promise((r) => setTimeout(r, 50));
          return undefined;
        });
    }
    assert.deepEqual(result?.result, {
      status: 201,
      payload: { accepted: true, echo: { delay: 3 } },
    });
  });

  it('a method call to an offline device is 404 DeviceNotOnline', async () => {
    await registry.create({ deviceId: 'offline-dev' });
    const client = trustHub(ServiceClient.fromConnectionString(hub.connectionString), hub);
    await assert.rejects(
      client.invokeDeviceMethod('offline-dev', { methodName: 'x', payload: null }),
      (err: Error & { responseBody?: string; response?: { statusCode?: number } }) => {
        assert.equal(err.response?.statusCode, 404);
        assert.match(err.responseBody ?? '', /ErrorCode:DeviceNotOnline;/);
        return true;
      },
    );
  });

  it('refuses a bad service key and a policy without the right (UnauthorizedError)', async () => {
    const policy = hub.core.registry.policy('iothubowner')!;
    const wrongKey = Buffer.alloc(32, 9).toString('base64');
    const bad = trustHub(
      Registry.fromConnectionString(
        `HostName=${hub.serviceHost};SharedAccessKeyName=${policy.keyName};SharedAccessKey=${wrongKey}`,
      ),
      hub,
    );
    await assert.rejects(bad.list(), (err: Error & { responseBody?: string }) => {
      assert.equal(err.name, 'UnauthorizedError');
      assert.match(err.responseBody ?? '', /IotHubUnauthorizedAccess/);
      assert.doesNotMatch(err.responseBody ?? '', /sig=/);
      return true;
    });
    const readOnly = trustHub(
      Registry.fromConnectionString(hub.policyConnectionString('registryRead')),
      hub,
    );
    await readOnly.list();
    await assert.rejects(readOnly.create({ deviceId: 'nope' }), { name: 'UnauthorizedError' });
    const serviceOnly = trustHub(
      Registry.fromConnectionString(hub.policyConnectionString('service')),
      hub,
    );
    await assert.rejects(serviceOnly.list(), { name: 'UnauthorizedError' });
  });

  it('a device disabled from the service side is disconnected and refused', async () => {
    await registry.create({ deviceId: 'dis-dev' });
    const device = await openDevice('dis-dev');
    (device as unknown as { setRetryPolicy(p: unknown): void }).setRetryPolicy({
      shouldRetry: () => false,
      nextRetryTimeout: () => 0,
    });
    device.on('error', () => undefined);
    await registry.update({ deviceId: 'dis-dev', status: 'disabled' });
    await waitFor(() => !hub.mqtt.isConnected('dis-dev'), 5000, 'disconnect');
    assert.equal(authRecord(hub.core, 'dis-dev')?.status, 'disabled');
    assert.equal(authRecord(hub.core, 'nobody'), undefined);
  });

  describe('raw requests', () => {
    function token(keyName = 'iothubowner'): string {
      const p = hub.core.registry.policy(keyName)!;
      return generateSasToken({ resource: hub.serviceHost, key: p.primaryKey, keyName });
    }
    function request(
      method: string,
      urlPath: string,
      body?: string,
      headers: Record<string, string> = { Authorization: token() },
    ): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
      return new Promise((resolve, reject) => {
        const req = https.request(
          {
            host: '127.0.0.1',
            port: hub.ports.https,
            method,
            path: urlPath,
            ca: hub.tls.caCertPem,
            headers: { 'Content-Type': 'application/json', ...headers },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    }

    it('answers unknown paths 404, wrong verbs 405, no token 401, bad JSON 400', async () => {
      const r404 = await request('GET', '/jobs?api-version=2021-04-12');
      assert.equal(r404.status, 404);
      assert.match(JSON.parse(r404.body).Message, /^ErrorCode:NotFound;/);
      assert.equal((await request('POST', '/devices/x')).status, 405);
      assert.equal((await request('DELETE', '/twins/x')).status, 405);
      const r401 = await request('GET', '/devices', undefined, {});
      assert.equal(r401.status, 401);
      assert.match(JSON.parse(r401.body).Message, /^ErrorCode:IotHubUnauthorizedAccess;/);
      const notSas = await request('GET', '/devices', undefined, { Authorization: 'Bearer x' });
      assert.equal(notSas.status, 401);
      const noSkn = await request('GET', '/devices', undefined, {
        Authorization: generateSasToken({ resource: hub.serviceHost, key: 'AAAA' }),
      });
      assert.equal(noSkn.status, 401);
      const unknownPolicy = await request('GET', '/devices', undefined, {
        Authorization: generateSasToken({ resource: hub.serviceHost, key: 'AAAA', keyName: 'x' }),
      });
      assert.equal(unknownPolicy.status, 401);
      const p = hub.core.registry.policy('iothubowner')!;
      const otherHub = await request('GET', '/devices', undefined, {
        Authorization: generateSasToken({
          resource: 'elsewhere.azure-devices.net',
          key: p.primaryKey,
          keyName: p.keyName,
        }),
      });
      assert.equal(otherHub.status, 401);
      const bad = await request('PUT', '/devices/json-dev', '{nope');
      assert.equal(bad.status, 400);
      assert.match(JSON.parse(bad.body).Message, /^ErrorCode:IotHubFormatError;/);
      const big = await request('PUT', '/devices/big', 'x'.repeat(300 * 1024));
      assert.equal(big.status, 413);
    });

    it('lists with ?top, replaces a twin with PUT, validates method requests', async () => {
      await request('PUT', '/devices/raw-1', '{}');
      await request('PUT', '/devices/raw-2', '{}');
      const top = await request('GET', '/devices?top=1');
      assert.equal(JSON.parse(top.body).length, 1);
      assert.equal((await request('GET', '/devices?top=-1')).status, 400);

      const put = await request(
        'PUT',
        '/twins/raw-1',
        JSON.stringify({ tags: { a: 1 }, properties: { desired: { b: 2 } } }),
      );
      assert.equal(put.status, 200);
      assert.deepEqual(JSON.parse(put.body).tags, { a: 1 });
      assert.equal(put.headers.etag, `"${JSON.parse(put.body).etag}"`);

      const bodies: Array<[unknown, RegExp]> = [
        ['[]', /JSON object/],
        [{}, /methodName/],
        [{ methodName: 'm', responseTimeoutInSeconds: 'x' }, /number of seconds/],
        [{ methodName: 'm', responseTimeoutInSeconds: 1 }, /between 5 and 300/],
        [{ methodName: 'm', connectTimeoutInSeconds: 301 }, /between 0 and 300/],
      ];
      for (const [b, re] of bodies) {
        const r = await request(
          'POST',
          '/twins/raw-1/methods',
          typeof b === 'string' ? b : JSON.stringify(b),
        );
        assert.equal(r.status, 400, r.body);
        assert.match(JSON.parse(r.body).Message, re);
      }
      const missing = await request('POST', '/twins/ghost/methods', '{"methodName":"m"}');
      assert.equal(missing.status, 404);
      assert.match(JSON.parse(missing.body).Message, /DeviceNotFound/);
    });

    it('waits up to connectTimeoutInSeconds for the device to connect', async () => {
      await registry.create({ deviceId: 'late-dev' });
      const pending = request(
        'POST',
        '/twins/late-dev/methods',
        JSON.stringify({ methodName: 'ping', connectTimeoutInSeconds: 10 }),
      );
      const device = await openDevice('late-dev');
      device.onDeviceMethod('ping', (_req, res) => void res.send(200, 'pong'));
      const r = await pending;
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(JSON.parse(r.body), { status: 200, payload: 'pong' });

      await registry.create({ deviceId: 'never-dev' });
      const started = Date.now();
      const gone = await request(
        'POST',
        '/twins/never-dev/methods',
        JSON.stringify({ methodName: 'ping', connectTimeoutInSeconds: 1 }),
      );
      assert.equal(gone.status, 404);
      assert.ok(Date.now() - started >= 900);
    });

    it('POST /devices/query: a bad query is 400, a missing one too', async () => {
      const r = await request('POST', '/devices/query', JSON.stringify({ query: 'SELECT FROM' }));
      assert.equal(r.status, 400);
      assert.match(JSON.parse(r.body).Message, /^ErrorCode:ArgumentInvalid;/);
      assert.equal((await request('POST', '/devices/query', '{}')).status, 400);
    });
  });
});

describe('LocalHub lifecycle', function () {
  this.timeout(30000);

  it('keeps devices, twins and keys across a restart on the same data folder', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wdm-localhub-restart-'));
    try {
      const first = await LocalHub.start({ dataDir, mqttPort: 0, httpsPort: 0 });
      const serviceKey = first.core.registry.policy('iothubowner')!.primaryKey;
      const reg1 = trustHub(Registry.fromConnectionString(first.connectionString), first);
      await reg1.create({ deviceId: 'keeper' });
      const twin = (await reg1.getTwin('keeper')).responseBody;
      await reg1.updateTwin('keeper', { tags: { room: 7 } }, twin.etag);
      const deviceCs = first.deviceConnectionString('keeper');
      await first.stop();
      await first.stop(); // twice is fine
      assert.equal(first.started, false);
      assert.throws(() => first.core, /not started/);

      const second = await LocalHub.start({ dataDir, mqttPort: 0, httpsPort: 0 });
      try {
        assert.equal(second.core.registry.policy('iothubowner')!.primaryKey, serviceKey);
        const reg2 = trustHub(Registry.fromConnectionString(second.connectionString), second);
        const again = (await reg2.getTwin('keeper')).responseBody;
        assert.equal(again.tags.room, 7);
        assert.equal(
          second.deviceConnectionString('keeper').split(';SharedAccessKey=')[1],
          deviceCs.split(';SharedAccessKey=')[1],
        );
        const device = DeviceClient.fromConnectionString(
          second.deviceConnectionString('keeper'),
          Mqtt,
        );
        await device.setOptions({ ca: second.tls.caCertPem });
        await device.open();
        assert.ok(second.mqtt.isConnected('keeper'));
        await device.close();
        await assert.rejects(second.start(), /already started/);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('serves the REST API over a Unix socket (plain HTTP, as the SDK does for socketPath)', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wdm-localhub-uds-'));
    const socketPath = path.join(dataDir, 'hub.sock');
    const hub = await LocalHub.start({ dataDir, mqttPort: 0, httpsPort: false, socketPath });
    try {
      assert.equal(hub.ports.https, undefined);
      assert.equal(hub.serviceHost, 'localhost');
      const p = hub.core.registry.policy('registryReadWrite')!;
      const registry = new Registry({
        host: { socketPath } as unknown as string,
        sharedAccessSignature: generateSasToken({
          resource: 'localhost',
          key: p.primaryKey,
          keyName: p.keyName,
        }),
      });
      // Registry's constructor gives its HTTP layer a keep-alive *https* agent, which Node's
      // http.request (used for socketPath hosts) refuses; clear it.
      (
        registry as unknown as { _restApiClient: { setOptions(o: unknown): void } }
      )._restApiClient.setOptions({});
      await registry.create({ deviceId: 'uds-dev' });
      const got = await registry.get('uds-dev');
      assert.equal(got.responseBody.deviceId, 'uds-dev');
      assert.throws(() => hub.policyConnectionString('nope'), /No shared access policy/);
    } finally {
      await hub.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('fails to start on a taken port and leaves nothing open', async () => {
    const { hub: a, close } = await startLocalHub();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wdm-localhub-busy-'));
    try {
      const b = new LocalHub({ dataDir, mqttPort: 0, httpsPort: a.ports.https! });
      await assert.rejects(b.start(), /EADDRINUSE/);
      assert.equal(b.started, false);
      assert.throws(() => b.ports, /not started/);
      assert.throws(() => b.mqtt, /not started/);
      assert.throws(() => b.tls, /not been started/);
    } finally {
      await close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
