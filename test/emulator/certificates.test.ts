/**
 * The emulated certificate stores through the REAL addon (native/emulator/certificates.h), with
 * certificates made at test time by node-forge: EncodedCertificate is refused unless it is a DER
 * certificate whose SHA-1 is the node name (any case); IssuedBy/IssuedTo/ValidFrom/ValidTo/
 * TemplateName are computed from the stored certificate; the store lists it; Delete removes it.
 */
import assert from 'node:assert/strict';
import { AddonMdm, Csp, CspError } from '../../lib';
import { makeCertificate } from '../helpers/test-certificates';

const ROOT = './Device/Vendor/MSFT/RootCATrustedCertificates/Root';
const MY_USER = './Vendor/MSFT/CertificateStore/MY/User';

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof CspError) return err.status ?? 0;
    throw err;
  }
}

describe('emulator: certificate stores (real addon)', function () {
  this.timeout(20000);
  const csp = new Csp(new AddonMdm());
  const cert = makeCertificate('Emulator Test Device', {
    issuerCN: 'Emulator Test CA',
    notBefore: new Date(Date.UTC(2024, 1, 29, 12, 0, 0)),
    notAfter: new Date(Date.UTC(2044, 11, 31, 23, 59, 59)),
  });
  const other = makeCertificate('Someone Else');

  afterEach(async () => {
    for (const store of [ROOT, MY_USER]) {
      for (const t of [cert.thumbprint, cert.thumbprint.toLowerCase()]) {
        await status(csp.delete(`${store}/${t}`));
      }
    }
  });

  for (const store of [ROOT, MY_USER]) {
    it(`${store}: only a certificate named by its own SHA-1 is stored; its facts are computed`, async () => {
      const node = `${store}/${cert.thumbprint}`;
      // Another certificate under this name, bytes that are no certificate: 400, nothing stored.
      assert.equal(await status(csp.add(`${node}/EncodedCertificate`, other.der)), 400);
      assert.equal(
        await status(csp.add(`${node}/EncodedCertificate`, Buffer.from('not a certificate'))),
        400,
      );
      assert.equal(await status(csp.get(node)), 404);
      assert.ok(!((await csp.get(store)) as string[]).includes(cert.thumbprint));

      await csp.add(`${node}/EncodedCertificate`, cert.der);
      assert.ok(((await csp.get(store)) as string[]).includes(cert.thumbprint));
      assert.deepEqual(await csp.get(`${node}/EncodedCertificate`), cert.der);
      assert.equal(await csp.get(`${node}/IssuedTo`), 'Emulator Test Device');
      assert.equal(await csp.get(`${node}/IssuedBy`), 'Emulator Test CA');
      assert.equal(await csp.get(`${node}/ValidFrom`), '2024-02-29T12:00:00Z');
      assert.equal(await csp.get(`${node}/ValidTo`), '2044-12-31T23:59:59Z');
      assert.equal(await csp.get(`${node}/TemplateName`), '');
      // Replace with another certificate under this name: refused, the stored one kept.
      assert.equal(await status(csp.replace(`${node}/EncodedCertificate`, other.der)), 400);
      assert.equal(await csp.get(`${node}/IssuedTo`), 'Emulator Test Device');
      await csp.delete(node);
      assert.equal(await status(csp.get(`${node}/IssuedTo`)), 404);
      assert.ok(!((await csp.get(store)) as string[]).includes(cert.thumbprint));
    });
  }

  it('the node name is compared without case (Windows thumbprints are hex)', async () => {
    const node = `${ROOT}/${cert.thumbprint.toLowerCase()}`;
    await csp.add(
      `${node}/EncodedCertificate`,
      Buffer.from(cert.pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'),
    );
    assert.equal(await csp.get(`${node}/IssuedTo`), 'Emulator Test Device');
  });
});
