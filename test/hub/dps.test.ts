/**
 * The local DPS (lib/hub/dps) driven by the real `azure-iot-provisioning-device` +
 * `azure-iot-provisioning-device-http` clients (through `provisionDevice`): symmetric key
 * individual and group (derived key) enrollments, X.509 individual and CA group enrollments, bad
 * key → 401, unknown registration → 404, operation polling honouring Retry-After, then a device
 * connecting to the hub with what DPS assigned.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { Client as DeviceClient, Message } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import type { LocalHub } from '../../lib/hub/hub';
import { DpsService, deriveDeviceKey } from '../../lib/hub/dps';
import { generateSasToken } from '../../lib/hub/auth/sas';
import { mintDeviceCertificate } from '../../lib/hub/tls';
import { deriveGroupDeviceKey, provisionDevice } from '../../lib/provisioning/provision';
import { startLocalHub } from './helpers/local-hub';
import { issueTestCa } from './helpers/dps-ca';

describe('local DPS with the real provisioning device client', function () {
  this.timeout(30000);
  let hub: LocalHub;
  let closeHub: () => Promise<void>;
  const log: Array<{ registrationId: string; status: number }> = [];

  before(async () => {
    ({ hub, close: closeHub } = await startLocalHub({
      dpsPort: 0,
      dps: { retryAfterSeconds: 0.05, log: (e) => log.push(e) },
    }));
  });
  after(async () => {
    await closeHub();
  });

  const provision = (attestation: Parameters<typeof provisionDevice>[0]['attestation']) =>
    provisionDevice({
      globalEndpoint: hub.dpsEndpoint,
      idScope: hub.dpsIdScope,
      ca: hub.tls.caCertPem,
      attestation,
    });

  async function connects(connectionString: string): Promise<void> {
    const client = DeviceClient.fromConnectionString(connectionString, Mqtt);
    await client.setOptions({ ca: hub.tls.caCertPem });
    try {
      await client.open();
      await client.sendEvent(new Message('hello'));
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  it('ID scope: 0ne + 8 hex digits, stable across calls', () => {
    assert.match(hub.dpsIdScope, /^0ne[0-9A-F]{8}$/);
    assert.equal(hub.dpsIdScope, hub.enrollments.idScope());
  });

  it('symmetric key individual enrollment: assigned, device created with the key, connects', async () => {
    const e = hub.enrollments.addIndividual({
      registrationId: 'sym-1',
      attestation: 'symmetricKey',
      deviceId: 'sym-device-1',
      initialTwin: { tags: { site: 'lab' }, properties: { desired: { interval: 5 } } },
    });
    const r = await provision({
      kind: 'symmetricKey',
      registrationId: 'sym-1',
      key: e.primaryKey!,
    });
    assert.equal(r.status, 'assigned');
    assert.equal(r.deviceId, 'sym-device-1');
    assert.equal(r.assignedHub, hub.deviceHost);
    assert.equal(r.substatus, 'initialAssignment');
    const d = hub.core.registry.get('sym-device-1');
    assert.equal(d.primaryKey, e.primaryKey);
    const twin = hub.core.getTwin('sym-device-1');
    assert.deepEqual(twin.tags, { site: 'lab' });
    assert.equal((twin.properties.desired as Record<string, unknown>).interval, 5);
    await connects(
      `HostName=${r.assignedHub};DeviceId=${r.deviceId};SharedAccessKey=${e.primaryKey}`,
    );
    // the secondary key works too; a second registration is a re-provisioning
    const again = await provision({
      kind: 'symmetricKey',
      registrationId: 'sym-1',
      key: e.secondaryKey!,
    });
    assert.equal(again.substatus, 'reprovisionedToInitialAssignment');
    assert.equal(hub.enrollments.registration('sym-1')?.deviceId, 'sym-device-1');
  });

  it('symmetric key group: the device key is derived from the group key and the registration id', async () => {
    const g = hub.enrollments.addGroup({ name: 'line-a', attestation: 'symmetricKey' });
    const key = deriveGroupDeviceKey(g.primaryKey!, 'sensor-17');
    assert.equal(key, deriveDeviceKey(g.primaryKey!, 'sensor-17'));
    const r = await provision({ kind: 'symmetricKey', registrationId: 'sensor-17', key });
    assert.equal(r.deviceId, 'sensor-17');
    assert.equal(hub.core.registry.get('sensor-17').primaryKey, key);
    assert.equal(hub.enrollments.registration('sensor-17')?.enrollment, 'group:line-a');
    await connects(`HostName=${r.assignedHub};DeviceId=sensor-17;SharedAccessKey=${key}`);
    // the group key itself (not derived) is refused
    await assert.rejects(
      provision({ kind: 'symmetricKey', registrationId: 'sensor-18', key: g.primaryKey! }),
      { name: 'UnauthorizedError' },
    );
  });

  it('a wrong key → 401 UnauthorizedError; nothing is created', async () => {
    hub.enrollments.addIndividual({ registrationId: 'sym-bad', attestation: 'symmetricKey' });
    await assert.rejects(
      provision({
        kind: 'symmetricKey',
        registrationId: 'sym-bad',
        key: Buffer.alloc(32, 1).toString('base64'),
      }),
      { name: 'UnauthorizedError' },
    );
    assert.equal(hub.core.registry.find('sym-bad'), undefined);
    assert.ok(log.some((l) => l.registrationId === 'sym-bad' && l.status === 401));
  });

  it('X.509 individual enrollment: the client certificate authenticates; the hub device uses its thumbprint', async () => {
    const cert = mintDeviceCertificate({ deviceId: 'x509-1' });
    hub.enrollments.addIndividual({
      registrationId: 'x509-1',
      attestation: 'x509',
      certificate: cert.certPem,
    });
    const r = await provision({
      kind: 'x509',
      registrationId: 'x509-1',
      cert: cert.certPem,
      key: cert.keyPem,
    });
    assert.equal(r.deviceId, 'x509-1');
    const d = hub.core.registry.get('x509-1');
    assert.equal(d.authType, 'selfSigned');
    assert.equal(d.primaryThumbprint, cert.thumbprintSha256);
    // another certificate with the same CN is refused
    const other = mintDeviceCertificate({ deviceId: 'x509-1' });
    await assert.rejects(
      provision({ kind: 'x509', registrationId: 'x509-1', cert: other.certPem, key: other.keyPem }),
      { name: 'UnauthorizedError' },
    );
    // and it connects to the hub with the certificate
    const client = DeviceClient.fromConnectionString(
      `HostName=${r.assignedHub};DeviceId=x509-1;x509=true`,
      Mqtt,
    );
    await client.setOptions({ ca: hub.tls.caCertPem, cert: cert.certPem, key: cert.keyPem });
    await client.open();
    await client.close();
  });

  it('X.509 CA group: a certificate issued by the enrolled CA, CN = registration id', async () => {
    const ca = issueTestCa('dps-group-ca');
    hub.enrollments.addGroup({
      name: 'x509-group',
      attestation: 'x509',
      caCertificate: ca.certPem,
    });
    const leaf = mintDeviceCertificate({ deviceId: 'cam-3', issuer: ca });
    const r = await provision({
      kind: 'x509',
      registrationId: 'cam-3',
      cert: leaf.certPem,
      key: leaf.keyPem,
    });
    assert.equal(r.deviceId, 'cam-3');
    assert.equal(hub.enrollments.registration('cam-3')?.enrollment, 'group:x509-group');
    // a self-signed certificate is not in the group
    const self = mintDeviceCertificate({ deviceId: 'cam-4' });
    await assert.rejects(
      provision({ kind: 'x509', registrationId: 'cam-4', cert: self.certPem, key: self.keyPem }),
      { name: 'UnauthorizedError' },
    );
    // the CN must be the registration id
    await assert.rejects(
      provision({ kind: 'x509', registrationId: 'cam-5', cert: leaf.certPem, key: leaf.keyPem }),
      { name: 'UnauthorizedError' },
    );
  });

  it('X.509 CA group: a leaf under an intermediate, presented as leaf + intermediate', async () => {
    const root = issueTestCa('dps-root-ca');
    const intermediate = issueTestCa('dps-intermediate-ca', root);
    hub.enrollments.addGroup({
      name: 'x509-root',
      attestation: 'x509',
      caCertificate: root.certPem,
    });
    const leaf = mintDeviceCertificate({ deviceId: 'cam-9', issuer: intermediate });
    const r = await provision({
      kind: 'x509',
      registrationId: 'cam-9',
      cert: leaf.certPem + intermediate.certPem,
      key: leaf.keyPem,
    });
    assert.equal(r.deviceId, 'cam-9');
    assert.equal(hub.enrollments.registration('cam-9')?.enrollment, 'group:x509-root');
    // without the intermediate the chain does not reach the root
    const leaf2 = mintDeviceCertificate({ deviceId: 'cam-10', issuer: intermediate });
    await assert.rejects(
      provision({ kind: 'x509', registrationId: 'cam-10', cert: leaf2.certPem, key: leaf2.keyPem }),
      { name: 'UnauthorizedError' },
    );
  });

  describe('raw API', () => {
    function request(
      method: string,
      path: string,
      options: { body?: unknown; authorization?: string } = {},
    ): Promise<{
      status: number;
      headers: Record<string, unknown>;
      body: Record<string, unknown>;
    }> {
      return new Promise((resolve, reject) => {
        const req = https.request(
          {
            host: '127.0.0.1',
            port: hub.ports.dps,
            method,
            path,
            ca: hub.tls.caCertPem,
            headers: {
              'content-type': 'application/json',
              ...(options.authorization ? { authorization: options.authorization } : {}),
            },
          },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () =>
              resolve({
                status: res.statusCode!,
                headers: res.headers,
                body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
              }),
            );
          },
        );
        req.on('error', reject);
        req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
      });
    }
    const sas = (regId: string, key: string): string =>
      generateSasToken({
        resource: `${hub.dpsIdScope}/registrations/${regId}`,
        key,
        keyName: 'registration',
      });

    it('unknown registration id (no enrollment, no group of its kind) → 404 like DPS', async () => {
      const cert = mintDeviceCertificate({ deviceId: 'nobody' });
      // An X.509 group exists, so an unknown X.509 registration is 401 (not in any group) ...
      await assert.rejects(
        provisionDevice({
          globalEndpoint: hub.dpsEndpoint,
          idScope: hub.dpsIdScope,
          ca: hub.tls.caCertPem,
          attestation: {
            kind: 'x509',
            registrationId: 'nobody',
            cert: cert.certPem,
            key: cert.keyPem,
          },
        }),
        { name: 'UnauthorizedError' },
      );
      // ... while a TPM registration without an individual enrollment is 404.
      const r = await request(
        'PUT',
        `/${hub.dpsIdScope}/registrations/ghost/register?api-version=2019-03-31`,
        {
          body: {
            registrationId: 'ghost',
            tpm: { endorsementKey: 'AAAA', storageRootKey: 'AAAA' },
          },
        },
      );
      assert.equal(r.status, 404);
      assert.equal(r.body.errorCode, 404201);
      assert.equal(typeof r.body.trackingId, 'string');
      const scope = await request(
        'PUT',
        '/0neFFFFFFFF/registrations/x/register?api-version=2019-03-31',
        {
          body: { registrationId: 'x' },
        },
      );
      assert.equal(scope.status, 404);
    });

    it('operation polling: 202 assigning with Retry-After until ready, then 200 assigned', async () => {
      const e = hub.enrollments.addIndividual({
        registrationId: 'poll-1',
        attestation: 'symmetricKey',
      });
      // A service with a delay, over the same store, driven directly (same code the server runs).
      const svc = new DpsService({
        core: hub.core,
        enrollments: hub.enrollments,
        assignedHub: () => hub.deviceHost,
        retryAfterSeconds: 2,
        assignDelayMs: 5000,
      });
      const t0 = 1_000_000_000_000;
      const auth = generateSasToken({
        resource: `${hub.dpsIdScope}/registrations/poll-1`,
        key: e.primaryKey!,
        keyName: 'registration',
        now: t0,
      });
      const q = new URLSearchParams('api-version=2019-03-31');
      const put = svc.handle(
        {
          method: 'PUT',
          path: `/${hub.dpsIdScope}/registrations/poll-1/register`,
          query: q,
          authorization: auth,
          body: { registrationId: 'poll-1' },
        },
        t0,
      );
      assert.equal(put.status, 202);
      assert.equal(put.headers['retry-after'], '2');
      const opId = (put.body as { operationId: string }).operationId;
      const path = `/${hub.dpsIdScope}/registrations/poll-1/operations/${opId}`;
      const early = svc.handle(
        { method: 'GET', path, query: q, authorization: auth, body: undefined },
        t0 + 2000,
      );
      assert.equal(early.status, 202);
      assert.deepEqual(early.body, { operationId: opId, status: 'assigning' });
      assert.equal(early.headers['retry-after'], '2');
      const done = svc.handle(
        { method: 'GET', path, query: q, authorization: auth, body: undefined },
        t0 + 5000,
      );
      assert.equal(done.status, 200);
      const state = (done.body as { registrationState: Record<string, unknown> }).registrationState;
      assert.equal(state.status, 'assigned');
      assert.equal(state.deviceId, 'poll-1');
      // another device's token cannot read the operation; unknown operation → 404
      const other = svc.handle(
        {
          method: 'GET',
          path,
          query: q,
          authorization: sas('poll-1', Buffer.alloc(32, 9).toString('base64')),
          body: undefined,
        },
        t0 + 5000,
      );
      assert.equal(other.status, 401);
      const missing = svc.handle(
        {
          method: 'GET',
          path: `/${hub.dpsIdScope}/registrations/poll-1/operations/nope`,
          query: q,
          authorization: auth,
          body: undefined,
        },
        t0 + 5000,
      );
      assert.equal(missing.status, 404);
    });

    it('the SDK waits Retry-After between polls (served over HTTPS)', async () => {
      const e = hub.enrollments.addIndividual({
        registrationId: 'poll-2',
        attestation: 'symmetricKey',
      });
      const slow = await startLocalHub({
        dataDir: undefined,
        dpsPort: 0,
        dps: { retryAfterSeconds: 0.3, assignDelayMs: 700 },
      });
      try {
        const g = slow.hub.enrollments.addIndividual({
          registrationId: 'poll-2',
          attestation: 'symmetricKey',
          primaryKey: e.primaryKey!,
        });
        const started = Date.now();
        const r = await provisionDevice({
          globalEndpoint: slow.hub.dpsEndpoint,
          idScope: slow.hub.dpsIdScope,
          ca: slow.hub.tls.caCertPem,
          attestation: { kind: 'symmetricKey', registrationId: 'poll-2', key: g.primaryKey! },
        });
        assert.equal(r.status, 'assigned');
        // assigned only after the delay: the client polled (0.3 s apart) until it was ready
        assert.ok(Date.now() - started >= 700);
        // This hub has no symmetric key groups: an unknown registration id is 404 (DPS's
        // numeric errorCode makes the SDK's HTTP layer say "Not found", as with Azure DPS).
        await assert.rejects(
          provisionDevice({
            globalEndpoint: slow.hub.dpsEndpoint,
            idScope: slow.hub.dpsIdScope,
            ca: slow.hub.tls.caCertPem,
            attestation: { kind: 'symmetricKey', registrationId: 'nobody', key: g.primaryKey! },
          }),
          (e: Error & { response?: { statusCode?: number } }) =>
            e.message === 'Not found' && e.response?.statusCode === 404,
        );
      } finally {
        await slow.close();
      }
    });

    it('bad requests: no api-version, body id mismatch, non-JSON → 400', async () => {
      const base = `/${hub.dpsIdScope}/registrations/sym-1/register`;
      assert.equal((await request('PUT', base, { body: { registrationId: 'sym-1' } })).status, 400);
      const mismatch = await request('PUT', `${base}?api-version=2019-03-31`, {
        body: { registrationId: 'other' },
      });
      assert.equal(mismatch.status, 400);
      const noAuth = await request('PUT', `${base}?api-version=2019-03-31`, {
        body: { registrationId: 'sym-1' },
      });
      assert.equal(noAuth.status, 401);
      assert.equal(noAuth.body.errorCode, 401002);
      const badPath = await request(
        'PUT',
        `/${hub.dpsIdScope}/registrations/%E0%A4%A/register?api-version=2019-03-31`,
        { body: {} },
      );
      assert.equal(badPath.status, 400);
      const get = await request('GET', `${base}?api-version=2019-03-31`);
      assert.equal(get.status, 405);
    });
  });
});
