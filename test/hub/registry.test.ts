import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HubError } from '../../lib/hub/errors';
import {
  DeviceRegistry,
  checkDeviceId,
  checkKey,
  deviceEtag,
  deviceJson,
  generateKey,
  hasRight,
} from '../../lib/hub/registry';
import { HubStore } from '../../lib/hub/store';

const code = (n: number) => (e: unknown) => e instanceof HubError && e.errorCode === n;
const TP = 'AB'.repeat(20);

describe('hub registry', () => {
  let dir: string;
  let store: HubStore;
  let reg: DeviceRegistry;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-reg-'));
    store = new HubStore(dir);
    reg = new DeviceRegistry(store);
  });
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('device ids: up to 128 of the allowed characters', () => {
    checkDeviceId("a-:.+%_#*?!(),=@$'Z9");
    checkDeviceId('x'.repeat(128));
    for (const bad of ['', 'x'.repeat(129), 'a/b', 'a b', 'é', 5]) {
      assert.throws(() => checkDeviceId(bad), code(400004), String(bad));
    }
  });

  it('keys: base64 of 16 to 64 bytes; generated keys are 32 bytes', () => {
    assert.equal(Buffer.from(generateKey(), 'base64').length, 32);
    checkKey(Buffer.alloc(16).toString('base64'), 'k');
    checkKey(Buffer.alloc(64).toString('base64'), 'k');
    assert.throws(() => checkKey(Buffer.alloc(15).toString('base64'), 'k'), code(400004));
    assert.throws(() => checkKey(Buffer.alloc(65).toString('base64'), 'k'), code(400004));
    assert.throws(() => checkKey('not base64!', 'k'), code(400004));
    assert.throws(() => checkKey(7, 'k'), code(400004));
  });

  it('creates with generated keys and a twin; 409001 for a taken id; 404001 for unknown ids', () => {
    const d = reg.create('dev1');
    assert.equal(d.status, 'enabled');
    assert.equal(d.authType, 'sas');
    assert.ok(d.primaryKey && d.secondaryKey && d.primaryKey !== d.secondaryKey);
    assert.equal(store.getTwin('dev1')!.version, 1);
    assert.throws(() => reg.create('dev1'), code(409001));
    assert.throws(() => reg.get('nope'), code(404001));
    assert.equal(reg.find('nope'), undefined);
    const j = deviceJson(d);
    assert.equal(j.etag, deviceEtag(1));
    assert.equal(j.authentication.symmetricKey.primaryKey, d.primaryKey);
    assert.match(j.generationId, /^\d{18}$/);
  });

  it('PUT semantics: no If-Match creates, If-Match updates (412001 on mismatch, 404 when missing)', () => {
    const { after: created } = reg.createOrUpdate('d', { deviceId: 'd' });
    assert.throws(() => reg.createOrUpdate('d', {}), code(409001));
    assert.throws(() => reg.createOrUpdate('missing', {}, '*'), code(404001));
    assert.throws(() => reg.createOrUpdate('d', { status: 'disabled' }, '"bogus"'), code(412001));
    const { before, after } = reg.createOrUpdate(
      'd',
      { status: 'disabled', statusReason: 'maintenance' },
      `"${deviceEtag(created.etagVersion)}"`,
      '2030-01-01T00:00:00.000Z',
    );
    assert.equal(before!.status, 'enabled');
    assert.equal(after.status, 'disabled');
    assert.equal(after.statusReason, 'maintenance');
    assert.equal(after.statusUpdatedTime, '2030-01-01T00:00:00.000Z');
    assert.equal(after.etagVersion, 2);
    assert.equal(after.primaryKey, created.primaryKey, 'keys kept when the body has none');
    assert.equal(after.generationId, created.generationId);
    const k = Buffer.alloc(20, 1).toString('base64');
    const again = reg.createOrUpdate(
      'd',
      { authentication: { symmetricKey: { primaryKey: k } } },
      '*',
    );
    assert.equal(again.after.primaryKey, k);
    assert.equal(again.after.status, 'disabled');
  });

  it('validates bodies: status, auth type, deviceId mismatch, thumbprints', () => {
    assert.throws(() => reg.create('a', 'x'), code(400004));
    assert.throws(() => reg.create('a', { status: 'on' }), code(400004));
    assert.throws(() => reg.create('a', { deviceId: 'b' }), code(400004));
    assert.throws(() => reg.create('a', { authentication: { type: 'magic' } }), code(400004));
    assert.throws(() => reg.create('a', { authentication: { type: 'selfSigned' } }), code(400004));
    assert.throws(
      () =>
        reg.create('a', {
          authentication: { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: 'xyz' } },
        }),
      code(400004),
    );
    const x = reg.create('x', {
      authentication: {
        type: 'selfSigned',
        x509Thumbprint: { primaryThumbprint: TP.toLowerCase() },
      },
    });
    assert.equal(x.primaryThumbprint, TP);
    assert.equal(x.primaryKey, null);
    assert.equal(reg.findByThumbprint(TP.toLowerCase())!.deviceId, 'x');
    assert.equal(reg.findByThumbprint('CD'.repeat(32)), undefined);
    assert.equal(
      reg.create('ca', { authentication: { type: 'certificateAuthority' } }).authType,
      'certificateAuthority',
    );
  });

  it('deletes with If-Match; connection state changes keep the etag; lists in id order', () => {
    reg.create('b');
    reg.create('a');
    assert.deepEqual(
      reg.list().map((d) => d.deviceId),
      ['a', 'b'],
    );
    reg.setConnectionState('a', true, '2030-01-01T00:00:00.000Z');
    reg.setConnectionState('zz', true);
    const a = reg.get('a');
    assert.equal(a.connectionState, 'Connected');
    assert.equal(a.etagVersion, 1);
    assert.throws(() => reg.delete('a', '"nope"'), code(412001));
    reg.delete('a', `"${deviceEtag(1)}"`);
    assert.throws(() => reg.delete('a'), code(404001));
    assert.equal(store.getTwin('a'), undefined);
  });

  it('shared access policies: five defaults with their rights, generated once and persisted', () => {
    const p = reg.policies();
    assert.deepEqual(
      p.map((x) => x.keyName),
      ['iothubowner', 'service', 'device', 'registryRead', 'registryReadWrite'],
    );
    store.close();
    store = new HubStore(dir);
    reg = new DeviceRegistry(store);
    assert.deepEqual(reg.policies(), p);
    const owner = reg.policy('iothubowner')!;
    assert.ok(hasRight(owner, 'ServiceConnect') && hasRight(owner, 'RegistryWrite'));
    const rw = reg.policy('registryReadWrite')!;
    assert.ok(hasRight(rw, 'RegistryRead') && !hasRight(rw, 'ServiceConnect'));
    assert.ok(hasRight({ ...rw, rights: ['RegistryWrite'] }, 'RegistryRead'));
    assert.ok(!hasRight(reg.policy('service')!, 'RegistryRead'));
    assert.equal(reg.policy('nope'), undefined);
  });
});
