/**
 * The DPS TPM key delivery against swtpm: software MakeCredential and duplicate (lib/tpm/wrap.ts,
 * what the service computes) consumed by TPM2_ActivateCredential + TPM2_Import
 * (`LimpetTpm.activateIdentityKey`); the imported key's TPM HMAC equals node:crypto's.
 */
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { TpmError } from '../../lib/errors';
import { SRK_HANDLE } from '../../lib/tpm/api';
import {
  activateCredential,
  getHandles,
  hmacSha256,
  importObject,
  load,
  flushContext,
} from '../../lib/tpm/commands';
import { LimpetTpm } from '../../lib/tpm/limpet';
import { objectName } from '../../lib/tpm/structures';
import { TcpTpm } from '../../lib/tpm/tcp-transport';
import {
  createActivationBlob,
  createDuplicate,
  kdfaSha256,
  makeCredential,
  parseActivationBlob,
  serializeActivationBlob,
} from '../../lib/tpm/wrap';
import { startSwtpm, type SwtpmHandle } from './swtpm';

/** A credential sealed to an RSA EK other than the TPM's (a software key in the EK template). */
function sealedToOtherEk(
  ekPublicArea: Buffer,
  srkPublicArea: Buffer,
): { credentialBlob: Buffer; encryptedSecret: Buffer } {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const n = Buffer.from(publicKey.export({ format: 'jwk' }).n as string, 'base64url');
  const other = Buffer.from(ekPublicArea);
  n.copy(other, other.length - 256);
  const c = makeCredential(other, objectName(srkPublicArea), randomBytes(16));
  return { credentialBlob: c.credentialBlob, encryptedSecret: c.secret };
}

describe('tpm/wrap + activateIdentityKey (swtpm)', function () {
  this.timeout(60000);
  let sim: SwtpmHandle;
  let channel: TcpTpm;
  let limpet: LimpetTpm;

  before(async () => {
    sim = await startSwtpm();
    channel = new TcpTpm({ host: sim.host, port: sim.port });
    limpet = new LimpetTpm(channel);
  });
  after(async () => {
    await channel?.close();
    await sim?.stop();
  });

  async function assertNoTransients(): Promise<void> {
    assert.deepEqual(await getHandles(channel, 0x80000000), []);
    assert.deepEqual(await getHandles(channel, 0x02000000), []);
    assert.deepEqual(await getHandles(channel, 0x03000000), []);
  }

  it('KDFa is deterministic, sized and label-dependent', () => {
    const key = Buffer.alloc(32, 1);
    const a = kdfaSha256(key, 'STORAGE', Buffer.from('n'), Buffer.alloc(0), 128);
    assert.equal(a.length, 16);
    assert.deepEqual(a, kdfaSha256(key, 'STORAGE', Buffer.from('n'), Buffer.alloc(0), 128));
    assert.notDeepEqual(a, kdfaSha256(key, 'INTEGRITY', Buffer.from('n'), Buffer.alloc(0), 128));
    assert.equal(kdfaSha256(key, 'X', Buffer.alloc(0), Buffer.alloc(0), 520).length, 65);
  });

  it('software MakeCredential is recovered by TPM2_ActivateCredential', async () => {
    const ek = await limpet.endorsementKey();
    const srk = await limpet.storageRootKey();
    const secret = randomBytes(16);
    const cred = makeCredential(ek.publicArea, objectName(srk.publicArea), secret);
    const out = await activateCredential(channel, {
      activateHandle: SRK_HANDLE,
      keyHandle: 0x81010001,
      credentialBlob: cred.credentialBlob,
      secret: cred.secret,
    });
    assert.deepEqual(out, secret);
    await assertNoTransients();
  });

  it('a software duplicate is imported under the SRK and HMACs like node:crypto', async () => {
    const srk = await limpet.storageRootKey();
    const key = randomBytes(32);
    const dup = createDuplicate(srk.publicArea, key);
    const priv = await importObject(channel, SRK_HANDLE, dup);
    const { handle } = await load(channel, SRK_HANDLE, priv, dup.objectPublic);
    try {
      const data = randomBytes(300);
      assert.deepEqual(
        await hmacSha256(channel, handle, data),
        createHmac('sha256', key).update(data).digest(),
      );
    } finally {
      await flushContext(channel, handle);
    }
    // A wrong inner key: TPM_RC_INTEGRITY (or similar), nothing loaded.
    await assert.rejects(
      importObject(channel, SRK_HANDLE, { ...dup, encryptionKey: randomBytes(16) }),
      (e: unknown) => e instanceof TpmError && e.rc !== 0 && e.command === 'TPM2_Import',
    );
    await assertNoTransients();
  });

  it('activateIdentityKey imports a DPS activation blob into the slot (replacing a key)', async () => {
    const ek = await limpet.endorsementKey();
    const srk = await limpet.storageRootKey();
    await limpet.createHmacKey(0, randomBytes(32));
    const key = randomBytes(32);
    const blob = createActivationBlob(ek.publicArea, srk.publicArea, key);
    await limpet.activateIdentityKey(0, blob);
    const data = Buffer.from('hub/devices/dps-device\n1800000000');
    assert.deepEqual(await limpet.hmac(0, data), createHmac('sha256', key).update(data).digest());
    assert.equal((await limpet.listSlots())[0]?.hasHmacKey, true);
    await assertNoTransients();
  });

  it('malformed, truncated or foreign activation blobs are TpmErrors; the slot key is kept', async () => {
    const ek = await limpet.endorsementKey();
    const srk = await limpet.storageRootKey();
    const key = randomBytes(32);
    await limpet.activateIdentityKey(1, createActivationBlob(ek.publicArea, srk.publicArea, key));
    const good = createActivationBlob(ek.publicArea, srk.publicArea, randomBytes(32));
    const parts = parseActivationBlob(good);
    const badBlobs: Buffer[] = [
      good.subarray(0, good.length - 40), // truncated
      Buffer.from('00', 'hex'),
      Buffer.alloc(0),
      serializeActivationBlob({
        ...parts,
        credentialBlob: randomBytes(parts.credentialBlob.length),
      }),
      serializeActivationBlob({ ...parts, duplicate: randomBytes(parts.duplicate.length) }),
      serializeActivationBlob({ ...parts, keyPublic: randomBytes(20) }),
      // Sealed to another EK (same template, another modulus): ActivateCredential fails.
      serializeActivationBlob({ ...parts, ...sealedToOtherEk(ek.publicArea, srk.publicArea) }),
    ];
    for (const [i, bad] of badBlobs.entries()) {
      await assert.rejects(limpet.activateIdentityKey(1, bad), (e: unknown) => {
        assert.ok(e instanceof TpmError, `blob ${i}: ${String(e)}`);
        return true;
      });
    }
    const data = Buffer.from('still the first key');
    assert.deepEqual(await limpet.hmac(1, data), createHmac('sha256', key).update(data).digest());
    await assertNoTransients();
  });
});
