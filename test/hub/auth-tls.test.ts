import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { SharedAccessSignature } from 'azure-iot-device';
import {
  deviceConnectionString,
  encodeUriComponentStrict,
  generateDeviceSasToken,
  generateSasToken,
  parseSasToken,
  resourceCovers,
  verifySasToken,
  parseUsername,
  isValidDeviceId,
} from '../../lib/hub/auth';
import {
  certificateNames,
  ensureHubTls,
  hubTlsPaths,
  mintDeviceCertificate,
  normalizeThumbprint,
  thumbprints,
} from '../../lib/hub/tls';
import { formatPropertyBag, parsePropertyBag } from '../../lib/hub/mqtt';

const KEY = Buffer.alloc(32, 3).toString('base64');
const KEY2 = Buffer.alloc(32, 4).toString('base64');

describe('hub SAS tokens', () => {
  it('matches tokens made by the device SDK (azure-iot-device SharedAccessSignature.create)', () => {
    const expiry = Math.floor(Date.now() / 1000) + 600;
    const sdk = SharedAccessSignature.create('myhub.azure-devices.net', 'dev1', KEY, expiry);
    const ours = generateDeviceSasToken('myhub.azure-devices.net', 'dev1', KEY, { expiry });
    assert.equal(ours, sdk.extend(expiry));
    const check = verifySasToken(ours, {
      target: 'myhub.azure-devices.net/devices/dev1',
      primaryKey: KEY,
    });
    assert.ok(check.ok);
  });

  it('accepts the secondary key, refuses other keys, expired and foreign tokens', () => {
    const target = 'h/devices/d';
    const token = generateSasToken({ resource: target, key: KEY2 });
    const ok = verifySasToken(token, { target, primaryKey: KEY, secondaryKey: KEY2 });
    assert.ok(ok.ok && ok.keyUsed === 'secondary');
    const bad = verifySasToken(token, { target, primaryKey: KEY });
    assert.ok(!bad.ok && bad.reason === 'bad-signature');
    assert.doesNotMatch(JSON.stringify(bad), /sig=|SharedAccessSignature/);
    const none = verifySasToken(token, { target });
    assert.ok(!none.ok && none.reason === 'no-key');
    const expired = generateSasToken({ resource: target, key: KEY, expiry: 1000 });
    const e = verifySasToken(expired, { target, primaryKey: KEY });
    assert.ok(!e.ok && e.reason === 'expired');
    const other = verifySasToken(token, { target: 'h/devices/x', secondaryKey: KEY2 });
    assert.ok(!other.ok && other.reason === 'wrong-resource');
  });

  it('policy tokens need the matching skn; device checks refuse an skn', () => {
    const token = generateSasToken({ resource: 'H', key: KEY, keyName: 'iothubowner' });
    assert.equal(parseSasToken(token)?.keyName, 'iothubowner');
    assert.ok(verifySasToken(token, { target: 'h', primaryKey: KEY, keyName: 'iothubowner' }).ok);
    const wrong = verifySasToken(token, { target: 'h', primaryKey: KEY, keyName: 'service' });
    assert.ok(!wrong.ok && wrong.reason === 'unexpected-key-name');
    const device = verifySasToken(token, { target: 'h', primaryKey: KEY });
    assert.ok(!device.ok && device.reason === 'unexpected-key-name');
  });

  it('resource prefix by whole segments, case-insensitive', () => {
    assert.ok(resourceCovers('MyHub.net', 'myhub.net/devices/d'));
    assert.ok(resourceCovers('myhub.net/devices/d/', 'myhub.net/devices/d'));
    assert.ok(!resourceCovers('myhub.net/devices/d', 'myhub.net/devices/d2'));
    assert.ok(!resourceCovers('', 'x'));
  });

  it('parse rejects malformed tokens', () => {
    for (const t of [
      '',
      'sr=a&sig=b&se=1',
      'SharedAccessSignature sr=a&sig=b',
      'SharedAccessSignature sr=a&sig=b&se=soon',
      'SharedAccessSignature sr=a&sr=b&sig=b&se=1',
      'SharedAccessSignature sr=%E0%A4%A&sig=b&se=1',
      'SharedAccessSignature sr=a&sig=b&se=1&skn=',
      'SharedAccessSignature sr=a&novalue&se=1',
    ]) {
      assert.equal(parseSasToken(t), undefined, t);
      assert.equal(verifySasToken(t, { target: 'a', primaryKey: KEY }).ok, false);
    }
  });

  it('helpers: strict encoding, connection strings, usernames, device ids', () => {
    assert.equal(encodeUriComponentStrict("a!'()*/b"), 'a%21%27%28%29%2a%2Fb');
    assert.equal(
      deviceConnectionString('h', 'd', 'k', '127.0.0.1'),
      'HostName=h;DeviceId=d;SharedAccessKey=k;GatewayHostName=127.0.0.1',
    );
    assert.equal(deviceConnectionString('h', 'd', 'k'), 'HostName=h;DeviceId=d;SharedAccessKey=k');
    assert.equal(parseUsername('h/d/?api-version=1&x=y')?.deviceId, 'd');
    assert.equal(parseUsername('h/d/?x=y'), undefined);
    assert.equal(parseUsername('h/d'), undefined);
    assert.equal(parseUsername('/d/?api-version=1'), undefined);
    assert.equal(parseUsername(undefined), undefined);
    assert.ok(isValidDeviceId("dev-1:a.b+c%_#*?!(),=@$'"));
    assert.ok(!isValidDeviceId('a b'));
    assert.ok(!isValidDeviceId('x'.repeat(129)));
  });

  it('property bags round-trip and map system properties', () => {
    const bag = formatPropertyBag(
      { messageId: 'm 1', contentType: 'application/json', userId: undefined },
      { 'k&y': 'v=1' },
    );
    assert.equal(bag, '%24.mid=m%201&%24.ct=application%2Fjson&k%26y=v%3D1');
    assert.deepEqual(parsePropertyBag(bag), {
      properties: { 'k&y': 'v=1' },
      systemProperties: { messageId: 'm 1', contentType: 'application/json' },
    });
    assert.deepEqual(parsePropertyBag('flag&&$.ce=utf-8'), {
      properties: { flag: '' },
      systemProperties: { contentEncoding: 'utf-8' },
    });
    assert.equal(parsePropertyBag('a=%E0%A4%A'), undefined);
  });
});

describe('hub TLS material', function () {
  this.timeout(20000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-hub-tls-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a CA and a server certificate once, with 0600 keys, and reuses them', async () => {
    const a = await ensureHubTls({ dataDir: dir, hostNames: ['hub.local', '10.1.2.3'] });
    assert.deepEqual(a.generated, { ca: true, server: true });
    assert.deepEqual(certificateNames(a.certPem).sort(), [
      '10.1.2.3',
      '127.0.0.1',
      '::1',
      'hub.local',
      'localhost',
    ]);
    const p = hubTlsPaths(dir);
    assert.equal(statSync(p.caKeyPath).mode & 0o777, 0o600);
    assert.equal(statSync(p.keyPath).mode & 0o777, 0o600);
    const server = new X509Certificate(a.certPem);
    assert.ok(server.checkIssued(new X509Certificate(a.caCertPem)));
    const b = await ensureHubTls({ dataDir: dir, hostNames: ['HUB.local', '10.1.2.3'] });
    assert.deepEqual(b.generated, { ca: false, server: false });
    assert.equal(b.certPem, a.certPem);
  });

  it('reissues the server certificate when the names change or it expires; a new CA when broken', async () => {
    const a = await ensureHubTls({ dataDir: dir });
    const b = await ensureHubTls({ dataDir: dir, hostNames: ['extra.example'] });
    assert.deepEqual(b.generated, { ca: false, server: true });
    assert.equal(b.caCertPem, a.caCertPem);
    const future = new Date(Date.now() + 900 * 24 * 3600 * 1000);
    const c = await ensureHubTls({ dataDir: dir, hostNames: ['extra.example'], now: () => future });
    assert.deepEqual(c.generated, { ca: false, server: true });
    writeFileSync(hubTlsPaths(dir).caKeyPath, 'garbage');
    const d = await ensureHubTls({ dataDir: dir, hostNames: ['extra.example'] });
    assert.deepEqual(d.generated, { ca: true, server: true });
  });

  it('mints device certificates (self-signed or CA-signed) with IoT Hub thumbprints', async () => {
    const self = mintDeviceCertificate({ deviceId: 'dev1' });
    const x = new X509Certificate(self.certPem);
    assert.match(x.subject, /CN=dev1/);
    assert.match(self.thumbprintSha1, /^[0-9A-F]{40}$/);
    assert.match(self.thumbprintSha256, /^[0-9A-F]{64}$/);
    assert.equal(self.thumbprintSha1, x.fingerprint.replace(/:/g, ''));
    assert.equal(self.thumbprintSha256, x.fingerprint256.replace(/:/g, ''));
    assert.deepEqual(thumbprints(x.raw), thumbprints(self.certPem));
    assert.equal(normalizeThumbprint('ab:cd ef'), 'ABCDEF');

    const tlsMat = await ensureHubTls({ dataDir: dir });
    const caKey = readFileSync(hubTlsPaths(dir).caKeyPath, 'utf8');
    const signed = mintDeviceCertificate({
      deviceId: 'dev2',
      issuer: { certPem: tlsMat.caCertPem, keyPem: caKey },
    });
    assert.ok(
      new X509Certificate(signed.certPem).checkIssued(new X509Certificate(tlsMat.caCertPem)),
    );
  });
});
