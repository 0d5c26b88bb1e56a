/**
 * The local DPS's TPM challenge (lib/hub/dps/tpm-challenge.ts over lib/tpm/wrap.ts, node:crypto
 * only) against swtpm, from the hub's input (base64 TPM2B_PUBLIC EK and SRK) to the slot's key:
 * ActivateCredential + Import + Load + EvictControl through `TpmProvisioningSecurity` give a key
 * that HMACs like node:crypto with the clear key; malformed or foreign blobs are TpmErrors and
 * leave no transient handle behind.
 */
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { TpmError } from '../../lib/errors';
import { buildActivationBlob } from '../../lib/hub/dps/tpm-challenge';
import { parseActivationBlob, serializeActivationBlob } from '../../lib/tpm/wrap';
import { getHandles } from '../../lib/tpm/commands';
import { LimpetTpm } from '../../lib/tpm/limpet';
import { TpmProvisioningSecurity } from '../../lib/tpm/provisioning-security';
import { TcpTpm } from '../../lib/tpm/tcp-transport';
import { startSwtpm, type SwtpmHandle } from './swtpm';

const TRANSIENT_FIRST = 0x80000000;
const SESSIONS_FIRST = 0x02000000;

describe('hub/dps TPM challenge against swtpm', function () {
  this.timeout(60000);
  let sw: SwtpmHandle;
  let channel: TcpTpm;
  let limpet: LimpetTpm;

  before(async () => {
    sw = await startSwtpm();
    channel = new TcpTpm({ host: sw.host, port: sw.port });
    limpet = new LimpetTpm(channel);
  });
  after(async () => {
    await channel?.close();
    await sw?.stop();
  });

  async function leftovers(): Promise<number[]> {
    return [
      ...(await getHandles(channel, TRANSIENT_FIRST)),
      ...(await getHandles(channel, SESSIONS_FIRST)),
      ...(await getHandles(channel, 0x03000000)),
    ];
  }

  it('imports the challenge key into slot 2; TPM HMAC equals node:crypto HMAC', async () => {
    const ek = await limpet.endorsementKey();
    const srk = await limpet.storageRootKey();
    const key = randomBytes(32);
    const blob = buildActivationBlob(ek.tpm2bPublic, srk.tpm2bPublic, key);
    const security = new TpmProvisioningSecurity(limpet, 2);
    await security.activate(blob);
    const data = Buffer.from('0ne00000000/registrations/abc\n1700000000');
    assert.deepEqual(await limpet.hmac(2, data), createHmac('sha256', key).update(data).digest());
    // over 1 KB: the HMAC sequence
    const big = randomBytes(3000);
    assert.deepEqual(await limpet.hmac(2, big), createHmac('sha256', key).update(big).digest());
    // a second activation replaces the slot's key
    const key2 = randomBytes(32);
    await security.activate(buildActivationBlob(ek.tpm2bPublic, srk.tpm2bPublic, key2));
    assert.deepEqual(await limpet.hmac(2, data), createHmac('sha256', key2).update(data).digest());
    assert.deepEqual(await leftovers(), []);
  });

  it('callback interface: EK/SRK as TPM2B_PUBLIC, registration id, sign', async () => {
    const security = new TpmProvisioningSecurity(limpet, 2);
    const ek = await new Promise<Buffer>((res, rej) =>
      security.getEndorsementKey((e, v) => (e ? rej(e) : res(v!))),
    );
    assert.equal(ek.readUInt16BE(0), ek.length - 2);
    const id = await new Promise<string>((res, rej) =>
      security.getRegistrationId((e, v) => (e ? rej(e) : res(v!))),
    );
    assert.equal(id, await limpet.registrationId());
    assert.match(id, /^[a-z2-7]{52}$/);
  });

  it('a truncated blob is a TpmError (MALFORMED); nothing is left loaded', async () => {
    const ek = await limpet.endorsementKey();
    const srk = await limpet.storageRootKey();
    const blob = buildActivationBlob(ek.tpm2bPublic, srk.tpm2bPublic, randomBytes(32));
    const security = new TpmProvisioningSecurity(limpet, 3);
    await assert.rejects(security.activate(blob.subarray(0, 100)), (e: unknown) => {
      assert.ok(e instanceof TpmError);
      assert.equal(e.rcName, 'MALFORMED');
      return true;
    });
    await assert.rejects(security.activate(Buffer.alloc(0)), TpmError);
    assert.deepEqual(await leftovers(), []);
  });

  it('a tampered credential is refused by the TPM (TPM_RC_INTEGRITY-class TpmError), no leaks', async () => {
    const ek = await limpet.endorsementKey();
    const srk = await limpet.storageRootKey();
    const parts = parseActivationBlob(
      buildActivationBlob(ek.tpm2bPublic, srk.tpm2bPublic, randomBytes(32)),
    );
    const bad = Buffer.from(parts.credentialBlob);
    bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 0xff, bad.length - 1);
    const security = new TpmProvisioningSecurity(limpet, 3);
    await assert.rejects(
      security.activate(serializeActivationBlob({ ...parts, credentialBlob: bad })),
      (e: unknown) => e instanceof TpmError && e.rc !== 0,
    );
    const dup = Buffer.from(parts.duplicate);
    dup.writeUInt8(dup.readUInt8(dup.length - 1) ^ 0xff, dup.length - 1);
    await assert.rejects(
      security.activate(serializeActivationBlob({ ...parts, duplicate: dup })),
      (e: unknown) => e instanceof TpmError && e.rc !== 0,
    );
    assert.deepEqual(await leftovers(), []);
    // slot 3 got no key
    await assert.rejects(limpet.hmac(3, Buffer.from('x')), TpmError);
  });

  it('a blob made for another EK fails in the TPM, not silently; no leaks', async () => {
    // Another TPM's EK: the same template with another RSA modulus (the last 256 bytes).
    const ek = await limpet.endorsementKey();
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const n = Buffer.from(publicKey.export({ format: 'jwk' }).n as string, 'base64url');
    const foreign = Buffer.concat([ek.tpm2bPublic.subarray(0, ek.tpm2bPublic.length - 256), n]);
    const srk = await limpet.storageRootKey();
    const blob = buildActivationBlob(foreign, srk.tpm2bPublic, randomBytes(32));
    await assert.rejects(new TpmProvisioningSecurity(limpet, 4).activate(blob), TpmError);
    assert.deepEqual(await leftovers(), []);
  });
});
