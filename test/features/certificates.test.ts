/**
 * windows.certificates and windows.getCertificateDetails end to end: the real device and service
 * SDKs over the local hub, the DM engine over the real addon and the CSP emulator (which refuses
 * a certificate not named by its SHA-1 and computes IssuedBy/IssuedTo/ValidFrom/ValidTo), the
 * `externalStorage` section and a real Azurite account holding certificates made at test time.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { CERT_STORES, createCertificateHandlers } from '../../lib/features/certificates';
import { createExternalStorage } from '../../lib/features/external-storage';
import { BlobExternalStorage } from '../../lib/storage/external-storage';
import { DmEnv, leafHandler, nextEvent, readNode, unique, useDmEnv } from '../dm/helpers';
import { type AzuriteHandle, useAzurite } from '../storage/azurite';
import { makeCertificate, type TestCertificate } from '../helpers/test-certificates';
import { invoke } from './reboot-e2e-helpers';

type Obj = Record<string, unknown>;
const ROOT = CERT_STORES.rootCATrustedCertificates_Root;
const MY_USER = CERT_STORES.certificateStore_My_User;

describe('features: certificates (real SDK, local hub, CSP emulator, Azurite)', function () {
  this.timeout(60000);
  let env!: DmEnv;
  let azurite!: AzuriteHandle;
  let blobs: BlobExternalStorage;
  useDmEnv((e) => (env = e));
  useAzurite((a) => {
    azurite = a;
    blobs = new BlobExternalStorage({ connectionString: a.connectionString });
  });

  async function seed(name: string, cert: TestCertificate, pem = false): Promise<string> {
    await blobs.upload(`certs/${name}`, pem ? Buffer.from(cert.pem) : cert.der);
    return name;
  }

  async function setup(id: string, extra: ReturnType<typeof leafHandler>[] = []) {
    const xs = createExternalStorage({ retry: { delayMs: 5 } });
    const client = await env.openDevice(id);
    const dm = await env.attach(client, {
      handlers: [xs.handler, ...createCertificateHandlers({ storage: xs.storage }), ...extra],
    });
    await env.waitForSubscriptions(id);
    return dm;
  }

  it('installs into two stores, reports the inventory read from the device, uninstalls', async () => {
    const id = 'cert-install';
    const a = makeCertificate(unique('Root A'), { issuerCN: 'E2E Root Issuer' });
    const b = makeCertificate(unique('Device B'));
    await seed('a.pem', a, true);
    await seed('b.cer', b);
    const dm = await setup(id);
    env.setWindows(id, {
      externalStorage: { connectionString: azurite.connectionString },
      certificates: {
        rootCATrustedCertificates_Root: {
          [a.thumbprint.toLowerCase()]: { state: 'installed', fileName: 'certs\\a.pem' },
        },
        certificateStore_My_User: {
          [b.thumbprint]: { state: 'installed', fileName: 'certs/b.cer' },
        },
      },
    });
    const section = await env.waitForState(id, 'certificates', 'completed');
    await dm.settled();
    assert.ok(Object.hasOwn(section.rootCATrustedCertificates_Root as Obj, a.thumbprint));
    assert.ok(Object.hasOwn(section.certificateStore_My_User as Obj, b.thumbprint));
    assert.equal(section.certificateStore_My_System, 'n/a');
    // The emulated device holds them, with the facts it computes from the DER.
    assert.deepEqual(await readNode(`${ROOT}/${a.thumbprint}/EncodedCertificate`), a.der);
    assert.equal(await readNode(`${ROOT}/${a.thumbprint}/IssuedBy`), 'E2E Root Issuer');
    assert.equal(await readNode(`${MY_USER}/${b.thumbprint}/IssuedTo`), b.subjectCN);

    const applied = nextEvent(dm, 'applied', (e) => e.section === 'certificates');
    env.setWindows(id, {
      certificates: {
        rootCATrustedCertificates_Root: { [a.thumbprint.toLowerCase()]: { state: 'uninstalled' } },
      },
    });
    await applied;
    await dm.settled();
    await dm.flushReports();
    assert.equal(await readNode(`${ROOT}/${a.thumbprint}`), undefined);
    const after = env.section(id, 'certificates')!;
    assert.ok(!Object.hasOwn(after.rootCATrustedCertificates_Root as Obj, a.thumbprint));
    assert.ok(Object.hasOwn(after.certificateStore_My_User as Obj, b.thumbprint));
  });

  it('a thumbprint mismatch and a missing blob fail, naming them; another certificate and another section complete', async () => {
    const id = 'cert-fail';
    const good = makeCertificate(unique('Good'));
    const wrong = makeCertificate(unique('Wrong'));
    const claimed = makeCertificate(unique('Claimed'));
    await seed('good.cer', good);
    await seed('wrong.cer', wrong);
    const leaf = leafHandler('certLeaf');
    const dm = await setup(id, [leaf]);
    const url = `https://example.com/${unique('logo')}.png`;
    env.setWindows(id, {
      externalStorage: { connectionString: azurite.connectionString, container: 'certs' },
      certLeaf: { url },
      certificates: {
        rootCATrustedCertificates_CA: {
          [claimed.thumbprint]: { state: 'installed', fileName: 'certs/wrong.cer' },
          [good.thumbprint]: { state: 'installed', fileName: 'certs/good.cer' },
        },
        rootCATrustedCertificates_TrustedPeople: {
          [wrong.thumbprint]: { state: 'installed', fileName: 'certs/missing.cer' },
        },
      },
    });
    const section = await env.waitForState(id, 'certificates', 'failed');
    await env.waitForState(id, 'certLeaf', 'completed');
    await dm.settled();
    const lc = section.lastChange as Obj;
    const context = String(lc.errContext);
    assert.equal(lc.errCode, 400, context);
    assert.match(context, /^2 of 3 certificate\(s\) failed/);
    assert.ok(context.includes(`rootCATrustedCertificates_CA/${claimed.thumbprint}`), context);
    assert.ok(context.includes(`expected ${claimed.thumbprint}`), context);
    assert.ok(context.includes(wrong.thumbprint), context);
    assert.ok(
      context.includes(`rootCATrustedCertificates_TrustedPeople/${wrong.thumbprint}`),
      context,
    );
    assert.ok(context.includes('certs/missing.cer'), context);
    const CA = CERT_STORES.rootCATrustedCertificates_CA;
    assert.equal(await readNode(`${CA}/${claimed.thumbprint}`), undefined);
    assert.deepEqual(await readNode(`${CA}/${good.thumbprint}/EncodedCertificate`), good.der);
    assert.ok(Object.hasOwn(section.rootCATrustedCertificates_CA as Obj, good.thumbprint));
    assert.equal(await readNode('./Device/Vendor/MSFT/Personalization/CompanyLogoUrl'), url);
    const twin = JSON.stringify(env.hub.core.getTwin(id).properties.reported);
    assert.ok(
      !twin.includes('AccountKey'),
      'the connection string reached the reported properties',
    );
  });

  it('windows.getCertificateDetails uploads the details read from the device to the blob', async () => {
    const id = 'cert-details';
    const c = makeCertificate(unique('Details C'), {
      issuerCN: 'E2E Details Issuer',
      notBefore: new Date(Date.UTC(2024, 6, 1, 0, 0, 0)),
      notAfter: new Date(Date.UTC(2030, 6, 1, 12, 30, 0)),
    });
    await seed('c.cer', c);
    const dm = await setup(id);
    env.setWindows(id, {
      externalStorage: { connectionString: azurite.connectionString },
      certificates: {
        certificateStore_Root_System: {
          [c.thumbprint]: { state: 'installed', fileName: 'certs/c.cer' },
        },
      },
    });
    await env.waitForState(id, 'certificates', 'completed');
    await dm.settled();
    const r = await invoke(env, id, 'windows.getCertificateDetails', {
      path: './Vendor/MSFT/CertificateStore/Root/System',
      hash: c.thumbprint.toLowerCase(),
      connectionString: azurite.connectionString,
      containerName: 'details',
      output: 'c.json',
    });
    assert.equal(r.status, 200, JSON.stringify(r.payload));
    assert.deepEqual(r.payload, { response: 'accepted', reason: '' });
    const file = await blobs.download('details/c.json');
    const details = JSON.parse(await fsp.readFile(file.path, 'utf8')) as Obj;
    await file.remove();
    assert.deepEqual(details, {
      Tag: 'GetCertificateDetails',
      Status: 'Success',
      Base64Encoding: c.der.toString('base64'),
      IssuedBy: 'E2E Details Issuer',
      IssuedTo: c.subjectCN,
      ValidFrom: '2024-07-01T00:00:00Z',
      ValidTo: '2030-07-01T12:30:00Z',
      TemplateName: '',
    });
    // A certificate the store does not hold: rejected, nothing uploaded.
    const missing = await invoke(env, id, 'windows.getCertificateDetails', {
      path: 'certificateStore_CA_System',
      hash: c.thumbprint,
      containerName: 'details',
      output: 'none.json',
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.payload.response, 'rejected');
    await assert.rejects(blobs.download('details/none.json'), /does not exist|not found/i);
  });
});
