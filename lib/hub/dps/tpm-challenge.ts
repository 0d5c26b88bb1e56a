/**
 * The TPM challenge of the local DPS, built with node:crypto only (TCG TPM 2.0 Library Part 1,
 * "Protected Storage" and "Credential Protection"; the blob layout is lib/tpm/activation-blob.ts):
 *
 * - MakeCredential: a random seed is RSA-OAEP(SHA-256, label "IDENTITY\0") encrypted to the EK;
 *   symKey = KDFa(SHA-256, seed, "STORAGE", name(SRK), -, 128), hmacKey = KDFa(SHA-256, seed,
 *   "INTEGRITY", -, -, 256); encIdentity = AES-128-CFB(symKey, IV 0, TPM2B(credential));
 *   credentialBlob = TPM2B(HMAC(hmacKey, encIdentity || name(SRK))) || encIdentity.
 *   TPM2_ActivateCredential(SRK, EK) gives the credential back: the inner-wrapper key.
 * - Duplication of the HMAC identity key to the SRK: TPMT_SENSITIVE (keyed hash, empty auth,
 *   random seedValue, the key) as TPM2B_SENSITIVE; inner wrapper: AES-128-CFB(innerKey, IV 0,
 *   TPM2B(SHA-256(sensitive || name)) || sensitive); outer wrapper: seed RSA-OAEP(SHA-256,
 *   "DUPLICATE\0") to the SRK, AES-128-CFB with KDFa(seed, "STORAGE", name) and the HMAC
 *   KDFa(seed, "INTEGRITY") over dupSensitive || name. TPM2_Import(SRK) accepts it.
 *
 * The identity key's public area: keyed hash, HMAC-SHA256, userWithAuth | noDA | sign (not
 * fixedTPM / fixedParent, as a duplicated object must be), unique = SHA-256(seedValue || key).
 */
import {
  createCipheriv,
  createHash,
  createHmac,
  createPublicKey,
  constants,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { Writer } from '../../tpm/marshal';
import { TPM_ALG, TPMA_OBJECT, objectName, publicAreaToPem } from '../../tpm/structures';
import { serializeActivationBlob } from '../../tpm/activation-blob';
import { argumentInvalid } from '../errors';
import { parseTpmPublic, type EndorsementKey } from './ek';

/** KDFa (SP 800-108 counter mode, HMAC-SHA256) as TPM 2.0 defines it. */
export function kdfa(
  key: Buffer,
  label: string,
  contextU: Buffer,
  contextV: Buffer,
  bits: number,
): Buffer {
  const out: Buffer[] = [];
  const bitsBuf = Buffer.alloc(4);
  bitsBuf.writeUInt32BE(bits);
  const labelBuf = Buffer.from(label + '\0', 'latin1');
  let total = 0;
  for (let counter = 1; total * 8 < bits; counter += 1) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHmac('sha256', key)
      .update(c)
      .update(labelBuf)
      .update(contextU)
      .update(contextV)
      .update(bitsBuf)
      .digest();
    out.push(block);
    total += block.length;
  }
  return Buffer.concat(out).subarray(0, Math.ceil(bits / 8));
}

function cfbEncrypt(key: Buffer, data: Buffer): Buffer {
  const c = createCipheriv(`aes-${key.length * 8}-cfb`, key, Buffer.alloc(16));
  return Buffer.concat([c.update(data), c.final()]);
}

/** RSA-OAEP (SHA-256) of `seed` to an RSA TPM public key, with a TPM label ("IDENTITY"...). */
function oaepTo(key: EndorsementKey, label: string, seed: Buffer): Buffer {
  const pem = publicAreaToPem(key.publicArea);
  return publicEncrypt(
    {
      key: createPublicKey(pem),
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: 'sha256',
      oaepLabel: Buffer.from(label + '\0', 'latin1'),
    },
    seed,
  );
}

/** The symmetric key size (bits) of a storage key's public area (AES-128 in every TCG template). */
function symmetricBits(key: EndorsementKey): number {
  const b = key.publicArea.bytes;
  const policyLen = b.readUInt16BE(8);
  const at = 10 + policyLen;
  if (b.readUInt16BE(at) !== TPM_ALG.AES)
    throw argumentInvalid('the key has no AES symmetric definition');
  const bits = b.readUInt16BE(at + 2);
  if (bits !== 128 && bits !== 256) throw argumentInvalid(`unsupported AES key size ${bits}`);
  return bits;
}

export interface Credential {
  /** TPM2B_ID_OBJECT contents. */
  credentialBlob: Buffer;
  /** TPM2B_ENCRYPTED_SECRET contents. */
  secret: Buffer;
}

/** TPM2_MakeCredential in software: `credential` for the object named `objectName`, to `ek`. */
export function makeCredential(
  ek: EndorsementKey,
  objectName: Buffer,
  credential: Buffer,
): Credential {
  const seed = randomBytes(32);
  const secret = oaepTo(ek, 'IDENTITY', seed);
  const symKey = kdfa(seed, 'STORAGE', objectName, Buffer.alloc(0), symmetricBits(ek));
  const encIdentity = cfbEncrypt(symKey, new Writer().tpm2b(credential).toBuffer());
  const hmacKey = kdfa(seed, 'INTEGRITY', Buffer.alloc(0), Buffer.alloc(0), 256);
  const integrity = createHmac('sha256', hmacKey).update(encIdentity).update(objectName).digest();
  return {
    credentialBlob: new Writer().tpm2b(integrity).bytes(encIdentity).toBuffer(),
    secret,
  };
}

/** The public area of an HMAC-SHA256 identity key made from `key` and `seedValue`. */
export function identityKeyPublic(key: Buffer, seedValue: Buffer): Buffer {
  const a = TPMA_OBJECT;
  return new Writer()
    .u16(TPM_ALG.KEYEDHASH)
    .u16(TPM_ALG.SHA256)
    .u32(a.userWithAuth | a.noDA | a.sign)
    .tpm2b() // authPolicy
    .u16(TPM_ALG.HMAC)
    .u16(TPM_ALG.SHA256)
    .tpm2b(createHash('sha256').update(seedValue).update(key).digest())
    .toBuffer();
}

export interface Duplicate {
  objectPublic: Buffer;
  /** TPM2B_PRIVATE contents. */
  duplicate: Buffer;
  /** TPM2B_ENCRYPTED_SECRET contents. */
  inSymSeed: Buffer;
}

/** TPM2_Duplicate in software: the HMAC `key` for `parent` (the SRK), inner-wrapped with `innerKey`. */
export function duplicateHmacKey(parent: EndorsementKey, key: Buffer, innerKey: Buffer): Duplicate {
  if (key.length === 0 || key.length > 128) throw argumentInvalid('an HMAC key is 1 to 128 bytes');
  const seedValue = randomBytes(32);
  const objectPublic = identityKeyPublic(key, seedValue);
  const name = objectName(objectPublic);
  const sensitive = new Writer()
    .sized((w) =>
      w
        .u16(TPM_ALG.KEYEDHASH)
        .tpm2b() // authValue
        .tpm2b(seedValue)
        .tpm2b(key),
    )
    .toBuffer();
  const innerIntegrity = createHash('sha256').update(sensitive).update(name).digest();
  const inner = cfbEncrypt(
    innerKey,
    new Writer().tpm2b(innerIntegrity).bytes(sensitive).toBuffer(),
  );
  const seed = randomBytes(32);
  const inSymSeed = oaepTo(parent, 'DUPLICATE', seed);
  const symKey = kdfa(seed, 'STORAGE', name, Buffer.alloc(0), symmetricBits(parent));
  const dupSensitive = cfbEncrypt(symKey, inner);
  const hmacKey = kdfa(seed, 'INTEGRITY', Buffer.alloc(0), Buffer.alloc(0), 256);
  const outerHmac = createHmac('sha256', hmacKey).update(dupSensitive).update(name).digest();
  return {
    objectPublic,
    duplicate: new Writer().tpm2b(outerHmac).bytes(dupSensitive).toBuffer(),
    inSymSeed,
  };
}

/**
 * The activation blob DPS sends a TPM device: `key` (the HMAC identity key: the challenge's
 * session key or the device's IoT Hub key) duplicated to the device's SRK, its inner-wrapper key
 * made a credential for the EK bound to the SRK's name. `ek` and `srk` are base64 or bytes of
 * their TPM2B_PUBLIC (as the device sends them).
 */
export function buildActivationBlob(
  ek: string | Buffer | EndorsementKey,
  srk: string | Buffer | EndorsementKey,
  key: Buffer,
): Buffer {
  const ekKey = isParsed(ek) ? ek : parseTpmPublic(ek, 'endorsement key');
  const srkKey = isParsed(srk) ? srk : parseTpmPublic(srk, 'storage root key');
  if (!ekKey.publicArea.rsa || !srkKey.publicArea.rsa) {
    throw argumentInvalid('the endorsement and storage root keys must be RSA keys');
  }
  const innerKey = randomBytes(16);
  const cred = makeCredential(ekKey, srkKey.name, innerKey);
  const dup = duplicateHmacKey(srkKey, key, innerKey);
  return serializeActivationBlob({
    credentialBlob: cred.credentialBlob,
    secret: cred.secret,
    duplicate: dup.duplicate,
    inSymSeed: dup.inSymSeed,
    objectPublic: dup.objectPublic,
    encUriData: Buffer.alloc(0),
  });
}

function isParsed(v: string | Buffer | EndorsementKey): v is EndorsementKey {
  return typeof v === 'object' && !Buffer.isBuffer(v) && 'publicArea' in v;
}
