/**
 * windows.certificates and windows.getCertificateDetails over MockMdm + MockTwinLink +
 * MemoryExternalStorage, with certificates made at test time: install (PEM/DER, either
 * separator) into two stores, inventory read back, uninstall, per-certificate failures
 * (thumbprint mismatch before any CSP op, missing blob, not a certificate, too large, a store
 * this platform lacks) that never stop the others, and the details method's upload and refusals.
 * Every op sent is checked against the DDFs.
 */
import assert from 'node:assert/strict';
import type { JsonObject } from '../../../lib/dm/handler';
import {
  CERT_STORES,
  MAX_CERTIFICATE_BYTES,
  createCertificateHandlers,
  resolveStore,
} from '../../../lib/features/certificates';
import { MemoryExternalStorage } from '../../../lib/testing/memory-storage';
import { makeCertificate, type TestCertificate } from '../../helpers/test-certificates';
import {
  ddfCheck,
  ddfCheckAvailable,
  ddfLines,
  featureHarness,
  lastChangeOf,
  type Harness,
} from './fixture';

const ROOT = CERT_STORES.rootCATrustedCertificates_Root;
const CA_SYSTEM = CERT_STORES.certificateStore_CA_System;
const MY_USER = CERT_STORES.certificateStore_My_User;

describe('features/certificates (unit)', function () {
  this.timeout(20000);
  let h: Harness;
  let storage: MemoryExternalStorage;
  let a: TestCertificate;
  let b: TestCertificate;
  let c: TestCertificate;

  before(() => {
    a = makeCertificate('Contoso Root A');
    b = makeCertificate('Contoso Device B', { issuerCN: 'Contoso Issuing CA' });
    c = makeCertificate('Fabrikam C');
  });
  beforeEach(() => {
    h = featureHarness();
    for (const uri of Object.values(CERT_STORES)) {
      if (uri !== null) h.mock.setNode(uri, { format: 'node', access: ['get'] });
    }
    storage = new MemoryExternalStorage();
    storage.put('certs/a.pem', a.pem);
    storage.put('certs/b.cer', b.der);
    storage.put('certs/c.cer', c.der);
  });
  afterEach(async () => {
    await h.cleanup();
  });

  const attach = (): ReturnType<Harness['attach']> =>
    h.attach(createCertificateHandlers({ storage }));
  const ops = (verb?: string) =>
    h.mock.sentOps.filter((op) => verb === undefined || op.verb === verb);
  const assertDdf = (): void => {
    if (!ddfCheckAvailable()) return;
    const r = ddfCheck(ddfLines(h.mock.sentOps));
    assert.deepEqual(r.invalid, [], r.raw);
  };

  it('installs into two stores (PEM and DER, "\\" and "/"), keys normalised to upper case; the inventory is read back', async () => {
    const dm = await attach();
    await h.idle(dm);
    h.link.setDesired({
      windows: {
        certificates: {
          rootCATrustedCertificates_Root: {
            [a.thumbprint.toLowerCase()]: { state: 'installed', fileName: 'certs\\a.pem' },
          },
          certificateStore_CA_System: {
            [b.thumbprint]: { state: 'installed', fileName: 'certs/b.cer' },
          },
        },
      },
    });
    await h.idle(dm);
    assert.equal(lastChangeOf(h, 'certificates').state, 'completed');
    const added = h.mock.node(`${ROOT}/${a.thumbprint}/EncodedCertificate`);
    assert.equal(added?.value, a.der.toString('base64'));
    assert.equal(added?.format, 'b64');
    assert.equal(
      h.mock.node(`${CA_SYSTEM}/${b.thumbprint}/EncodedCertificate`)?.value,
      b.der.toString('base64'),
    );
    const section = h.section('certificates')!;
    assert.deepEqual(section.rootCATrustedCertificates_Root, { [a.thumbprint]: '' });
    assert.deepEqual(section.certificateStore_CA_System, { [b.thumbprint]: '' });
    assert.deepEqual(section.certificateStore_My_User, {});
    assert.equal(section.certificateStore_My_System, 'n/a');
    assert.deepEqual(
      storage.transfers.map((t) => t.blob),
      ['certs/a.pem', 'certs/b.cer'],
    );
    assertDdf();
  });

  it('a certificate the store already lists is verified but not written again; a racing 418 becomes Replace', async () => {
    h.mock.setNode(`${ROOT}/${a.thumbprint}/EncodedCertificate`, {
      value: a.der.toString('base64'),
      format: 'b64',
    });
    // c's node exists but the store's listing does not show it yet (a race with another writer).
    h.mock.setNode(`${MY_USER}/${c.thumbprint}/EncodedCertificate`, {
      value: 'AAAA',
      format: 'b64',
    });
    const dm = await attach();
    await h.idle(dm);
    h.mock.respondOnce(MY_USER, { status: 200, data: '', format: 'node' });
    h.link.setDesired({
      windows: {
        certificates: {
          rootCATrustedCertificates_Root: {
            [a.thumbprint]: { state: 'installed', fileName: 'certs/a.pem' },
          },
          certificateStore_My_User: {
            [c.thumbprint]: { state: 'installed', fileName: 'certs/c.cer' },
          },
        },
      },
    });
    await h.idle(dm);
    assert.equal(lastChangeOf(h, 'certificates').state, 'completed');
    assert.equal(ops('add').filter((op) => op.uri.startsWith(ROOT)).length, 0);
    assert.deepEqual(
      h.mock.sentOps
        .filter((op) => op.uri.startsWith(MY_USER) && op.verb !== 'get')
        .map((op) => op.verb),
      ['add', 'replace'],
    );
    assert.equal(
      h.mock.node(`${MY_USER}/${c.thumbprint}/EncodedCertificate`)?.value,
      c.der.toString('base64'),
    );
    assert.deepEqual(
      storage.transfers.map((t) => t.blob),
      ['certs/a.pem', 'certs/c.cer'],
    );
    assertDdf();
  });

  it('uninstalls with Delete of the certificate node (by the name the device lists); one the store does not hold is fine', async () => {
    h.mock.setNode(`${ROOT}/${a.thumbprint}/EncodedCertificate`, {
      value: a.der.toString('base64'),
      format: 'b64',
    });
    // Added by another tool under a lower-case name.
    h.mock.setNode(`${ROOT}/${c.thumbprint.toLowerCase()}/EncodedCertificate`, {
      value: c.der.toString('base64'),
      format: 'b64',
    });
    const dm = await attach();
    await h.idle(dm);
    h.link.setDesired({
      windows: {
        certificates: {
          rootCATrustedCertificates_Root: {
            [a.thumbprint]: { state: 'uninstalled' },
            [c.thumbprint]: { state: 'uninstalled' },
            [b.thumbprint]: { state: 'uninstalled' },
          },
        },
      },
    });
    await h.idle(dm);
    assert.equal(lastChangeOf(h, 'certificates').state, 'completed');
    assert.deepEqual(
      ops('delete').map((op) => op.uri),
      [`${ROOT}/${a.thumbprint}`, `${ROOT}/${c.thumbprint.toLowerCase()}`],
    );
    assert.equal(h.mock.node(`${ROOT}/${a.thumbprint}/EncodedCertificate`), undefined);
    assert.deepEqual(h.section('certificates')!.rootCATrustedCertificates_Root, {});
    assert.equal(storage.transfers.length, 0);
    assertDdf();
  });

  it('a thumbprint mismatch fails before any CSP op for it, naming expected and actual; the others are installed', async () => {
    const dm = await attach();
    await h.idle(dm);
    h.link.setDesired({
      windows: {
        certificates: {
          rootCATrustedCertificates_Root: {
            // The key is a's thumbprint, the blob is c.
            [a.thumbprint]: { state: 'installed', fileName: 'certs/c.cer' },
          },
          rootCATrustedCertificates_CA: {
            [b.thumbprint]: { state: 'installed', fileName: 'certs/b.cer' },
          },
        },
      },
    });
    await h.idle(dm);
    const lc = lastChangeOf(h, 'certificates');
    assert.equal(lc.state, 'failed');
    assert.equal(lc.errCode, 400);
    const context = String(lc.errContext);
    assert.match(context, /1 of 2 certificate\(s\) failed/);
    assert.ok(context.includes(`rootCATrustedCertificates_Root/${a.thumbprint}`), context);
    assert.ok(context.includes(`expected ${a.thumbprint}`), context);
    assert.ok(context.includes(c.thumbprint), context);
    assert.ok(context.includes('certs/c.cer'), context);
    assert.equal(
      h.mock.sentOps.filter((op) => op.uri.includes(a.thumbprint)).length,
      0,
      'no op for the refused certificate',
    );
    const section = h.section('certificates')!;
    assert.deepEqual(section.rootCATrustedCertificates_CA, { [b.thumbprint]: '' });
    assert.deepEqual(section.rootCATrustedCertificates_Root, {});
    assertDdf();
  });

  it('several failures: each is named (no MY/System store, missing blob, not a certificate)', async () => {
    storage.put('certs/junk.cer', 'this is not a certificate');
    const dm = await attach();
    await h.idle(dm);
    const x = 'AB'.repeat(20);
    const y = 'CD'.repeat(20);
    h.link.setDesired({
      windows: {
        certificates: {
          rootCATrustedCertificates_TrustedPeople: {
            [x]: { state: 'installed', fileName: 'certs/missing.cer' },
            [y]: { state: 'installed', fileName: 'certs/junk.cer' },
          },
          certificateStore_My_System: {
            [c.thumbprint]: { state: 'installed', fileName: 'certs/c.cer' },
          },
          rootCATrustedCertificates_TrustedPublisher: {
            [c.thumbprint]: { state: 'installed', fileName: 'certs/c.cer' },
          },
        },
      },
    });
    await h.idle(dm);
    const lc = lastChangeOf(h, 'certificates');
    assert.equal(lc.state, 'failed');
    const context = String(lc.errContext);
    assert.match(context, /^3 of 4 certificate\(s\) failed/);
    // The first failure (the store with no CSP node) gives the code: 501.
    assert.equal(lc.errCode, 501);
    assert.ok(context.includes(`certificateStore_My_System/${c.thumbprint}`), context);
    assert.ok(context.includes(`${x}: blob certs/missing.cer does not exist`), context);
    assert.ok(context.includes(`${y}: blob certs/junk.cer is not an X.509 certificate`), context);
    assert.deepEqual(h.section('certificates')!.rootCATrustedCertificates_TrustedPublisher, {
      [c.thumbprint]: '',
    });
    assert.deepEqual(
      ops('add').map((op) => op.uri),
      [
        `${CERT_STORES.rootCATrustedCertificates_TrustedPublisher}/${c.thumbprint}/EncodedCertificate`,
      ],
    );
    assertDdf();
  });

  it('a blob over the size limit (413) and an install without fileName (400) fail by themselves', async () => {
    storage.put('certs/huge.cer', Buffer.alloc(MAX_CERTIFICATE_BYTES + 1, 0x30));
    const dm = await attach();
    await h.idle(dm);
    const z = 'EF'.repeat(20);
    const w = '12'.repeat(20);
    h.link.setDesired({
      windows: {
        certificates: {
          rootCATrustedCertificates_TrustedPeople: {
            [z]: { state: 'installed', fileName: 'certs/huge.cer' },
          },
        },
      },
    });
    await h.idle(dm);
    let lc = lastChangeOf(h, 'certificates');
    assert.equal(lc.state, 'failed');
    assert.equal(lc.errCode, 413);
    assert.match(
      String(lc.errContext),
      new RegExp(`${z}: blob certs/huge.cer is larger than the limit`),
    );
    h.link.setDesired({
      windows: {
        certificates: {
          rootCATrustedCertificates_TrustedPeople: { [z]: null, [w]: { state: 'installed' } },
        },
      },
    });
    await h.idle(dm);
    lc = lastChangeOf(h, 'certificates');
    assert.equal(lc.state, 'failed');
    assert.equal(lc.errCode, 400);
    assert.match(String(lc.errContext), new RegExp(`^1 of 1 .*${w}: fileName .* is required`));
    assert.equal(ops('add').length, 0);
  });

  it('a malformed thumbprint key or state fails the section before anything is done', async () => {
    const dm = await attach();
    await h.idle(dm);
    h.mock.calls.length = 0;
    h.link.setDesired({
      windows: {
        certificates: {
          rootCATrustedCertificates_Root: { 'not-a-thumbprint': { state: 'installed' } },
          certificateStore_CA_System: { [a.thumbprint]: { state: 'maybe' } },
        },
      },
    });
    await h.idle(dm);
    const lc = lastChangeOf(h, 'certificates');
    assert.equal(lc.state, 'failed');
    assert.equal(lc.errCode, 400);
    assert.match(String(lc.errContext), /not-a-thumbprint/);
    assert.equal(ops().filter((op) => op.verb !== 'get').length, 0);
    assert.equal(storage.transfers.length, 0);
  });

  it('a store that cannot be read is reported "<error>", the others still listed', async () => {
    h.mock.setNode(`${ROOT}/${a.thumbprint}/EncodedCertificate`, {
      value: a.der.toString('base64'),
      format: 'b64',
    });
    h.mock.respond(CA_SYSTEM, { status: 500 });
    const dm = await attach();
    await h.idle(dm);
    h.link.setDesired({ windows: { certificates: {} } });
    await h.idle(dm);
    const section = h.section('certificates')!;
    assert.equal(section.certificateStore_CA_System, '<error>');
    assert.deepEqual(section.rootCATrustedCertificates_Root, { [a.thumbprint]: '' });
  });

  describe('windows.getCertificateDetails', () => {
    const seed = (store: string, cert: TestCertificate, template = ''): void => {
      const base = `${store}/${cert.thumbprint}`;
      h.mock.setNode(`${base}/EncodedCertificate`, {
        value: cert.der.toString('base64'),
        format: 'b64',
      });
      h.mock.setNode(`${base}/IssuedBy`, { value: cert.issuerCN });
      h.mock.setNode(`${base}/IssuedTo`, { value: cert.subjectCN });
      h.mock.setNode(`${base}/ValidFrom`, { value: cert.notBefore.toISOString() });
      h.mock.setNode(`${base}/ValidTo`, { value: cert.notAfter.toISOString() });
      if (template !== '') h.mock.setNode(`${base}/TemplateName`, { value: template });
    };

    it('uploads the details JSON read from the CSP; the path may be a store key or a CSP path (the original spelling too)', async () => {
      seed(CERT_STORES.certificateStore_Root_System, b, 'WebServer');
      seed(ROOT, a);
      await attach();
      const r = await h.link.invoke('windows.getCertificateDetails', {
        path: './Vendor/MSFT/CertificateStore/Root/System',
        hash: b.thumbprint.toLowerCase(),
        containerName: 'details',
        output: 'b.json',
        connectionString: 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=eA==',
      });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { response: 'accepted', reason: '' });
      const uploaded = JSON.parse(storage.get('details/b.json')!.toString('utf8')) as JsonObject;
      assert.deepEqual(uploaded, {
        Tag: 'GetCertificateDetails',
        Status: 'Success',
        Base64Encoding: b.der.toString('base64'),
        IssuedBy: 'Contoso Issuing CA',
        IssuedTo: 'Contoso Device B',
        ValidFrom: b.notBefore.toISOString(),
        ValidTo: b.notAfter.toISOString(),
        TemplateName: 'WebServer',
      });
      const r2 = await h.link.invoke('windows.getCertificateDetails', {
        path: 'rootCATrustedCertificates_Root',
        hash: a.thumbprint,
        containerName: 'details',
        blobName: 'a.json',
      });
      assert.equal(r2.status, 200, JSON.stringify(r2.body));
      const a2 = JSON.parse(storage.get('details/a.json')!.toString('utf8')) as JsonObject;
      assert.equal(a2.IssuedTo, 'Contoso Root A');
      assert.equal(a2.TemplateName, '');
      assertDdf();
    });

    it('rejects: a path that is no store, a certificate the store lacks, MY/System, a missing output, a bad hash', async () => {
      await h.idle(await attach());
      h.mock.calls.length = 0;
      const call = (payload: JsonObject) => h.link.invoke('windows.getCertificateDetails', payload);
      const base = { hash: a.thumbprint, containerName: 'details', output: 'x.json' };
      const notStore = await call({ ...base, path: './Device/Vendor/MSFT/Reboot' });
      assert.equal(notStore.status, 400);
      assert.equal((notStore.body as JsonObject).response, 'rejected');
      assert.match(
        String((notStore.body as JsonObject).reason),
        /not one of the certificate stores/,
      );
      const missing = await call({ ...base, path: ROOT });
      assert.equal(missing.status, 404);
      assert.match(
        String((missing.body as JsonObject).reason),
        new RegExp(`no certificate ${a.thumbprint}`),
      );
      const mySystem = await call({ ...base, path: 'certificateStore_My_System' });
      assert.equal(mySystem.status, 501);
      assert.equal((mySystem.body as JsonObject).response, 'rejected');
      const noOutput = await call({ hash: a.thumbprint, containerName: 'details', path: ROOT });
      assert.equal(noOutput.status, 400);
      const badHash = await call({ ...base, path: ROOT, hash: 'xyz' });
      assert.equal(badHash.status, 400);
      assert.equal(storage.transfers.filter((t) => t.kind === 'upload').length, 0);
      assert.equal(h.mock.sentOps.filter((op) => !op.uri.startsWith(ROOT)).length, 0);
    });
  });

  it('resolveStore: keys, our CSP paths, the original paths; nothing else', () => {
    assert.equal(resolveStore('certificateStore_My_User'), 'certificateStore_My_User');
    assert.equal(resolveStore(MY_USER), 'certificateStore_My_User');
    assert.equal(
      resolveStore('./Vendor/MSFT/CertificateStore/My/User'),
      'certificateStore_My_User',
    );
    assert.equal(
      resolveStore('./Device/Vendor/MSFT/RootCATrustedCertificates/TrustedPeople/'),
      'rootCATrustedCertificates_TrustedPeople',
    );
    assert.equal(
      resolveStore('./Vendor/MSFT/CertificateStore/My/System'),
      'certificateStore_My_System',
    );
    assert.throws(
      () => resolveStore('./Device/Vendor/MSFT/RootCATrustedCertificates/OemEsim'),
      /not one of/,
    );
    assert.throws(() => resolveStore('toString'), /not one of/);
  });
});
