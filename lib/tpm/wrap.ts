/**
 * The software (service) side of TPM key delivery, as DPS computes it for TPM attestation
 * (TPM 2.0 Part 1 §11.4.10 KDFa, §24 credential protection, §23.3 duplication):
 * `makeCredential` seals a credential to an EK for TPM2_ActivateCredential, `createDuplicate`
 * wraps an HMAC key (inner AES-CFB wrapper with a symmetric key, outer wrapper with a seed
 * encrypted to the parent) for TPM2_Import under the SRK, and the DPS activation blob
 * (`authenticationKey`) is built and parsed the way azure-iot-security-tpm reads it. Only public
 * keys of the TPM are used here.
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
import { TpmError } from '../errors';
import { MALFORMED, Reader, Writer } from './marshal';
import { objectName, parsePublicArea, publicAreaToPem, TPM_ALG, TPMA_OBJECT } from './structures';

/** KDFa with HMAC-SHA256 (counter mode); `label` without its terminating NUL. */
export function kdfaSha256(
  key: Buffer,
  label: string,
  contextU: Buffer,
  contextV: Buffer,
  bits: number,
): Buffer {
  const bytes = Math.ceil(bits / 8);
  const out: Buffer[] = [];
  const labelBytes = Buffer.from(`${label}\0`, 'latin1');
  const bitsBuf = Buffer.alloc(4);
  bitsBuf.writeUInt32BE(bits);
  for (let i = 1, got = 0; got < bytes; i += 1) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(i);
    const block = createHmac('sha256', key)
      .update(Buffer.concat([counter, labelBytes, contextU, contextV, bitsBuf]))
      .digest();
    out.push(block);
    got += block.length;
  }
  return Buffer.concat(out).subarray(0, bytes);
}

function aesCfbEncrypt(key: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv(`aes-${key.length * 8}-cfb`, key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** RSA-OAEP(SHA-256) of `seed` to a TPM RSA public area, with the TPM label (`IDENTITY`, `DUPLICATE`). */
function encryptSeed(publicArea: Buffer, seed: Buffer, label: string): Buffer {
  const area = parsePublicArea(publicArea);
  if (!area.rsa)
    throw new TpmError('TPMT_PUBLIC', 0, MALFORMED, 'the protecting key is not an RSA key');
  return publicEncrypt(
    {
      key: createPublicKey(publicAreaToPem(area)),
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: 'sha256',
      oaepLabel: Buffer.from(`${label}\0`, 'latin1'),
    },
    seed,
  );
}

/** Symmetric key bits of a storage key's public area (AES-128 for the EK and SRK templates). */
function symKeyBits(publicArea: Buffer): number {
  // type, nameAlg, attributes, authPolicy, then TPMT_SYM_DEF_OBJECT: algorithm, keyBits, mode.
  const r = new Reader(publicArea, 'TPMT_PUBLIC');
  r.u16();
  r.u16();
  r.u32();
  r.tpm2b();
  const alg = r.u16('symmetric.algorithm');
  if (alg !== TPM_ALG.AES) {
    throw new TpmError(
      'TPMT_PUBLIC',
      0,
      MALFORMED,
      'the protecting key has no AES symmetric definition',
    );
  }
  return r.u16('symmetric.keyBits');
}

/** The outer wrapper: `TPM2B_DIGEST(HMAC) || AES-CFB(data)` with keys from `seed` and `name`. */
function outerWrap(seed: Buffer, name: Buffer, data: Buffer, aesBits: number): Buffer {
  const symKey = kdfaSha256(seed, 'STORAGE', name, Buffer.alloc(0), aesBits);
  const encrypted = aesCfbEncrypt(symKey, data);
  const hmacKey = kdfaSha256(seed, 'INTEGRITY', Buffer.alloc(0), Buffer.alloc(0), 256);
  const integrity = createHmac('sha256', hmacKey).update(encrypted).update(name).digest();
  return new Writer().tpm2b(integrity).bytes(encrypted).toBuffer();
}

export interface Credential {
  /** TPM2B_ID_OBJECT contents. */
  credentialBlob: Buffer;
  /** TPM2B_ENCRYPTED_SECRET contents. */
  secret: Buffer;
}

/**
 * TPM2_MakeCredential in software: `credential` (≤ 32 bytes) for the object named `objectName`
 * (the activate object, e.g. the SRK), protected by the EK whose public area is `ekPublicArea`.
 */
export function makeCredential(
  ekPublicArea: Buffer,
  objectName: Buffer,
  credential: Buffer,
): Credential {
  const seed = randomBytes(32);
  const secret = encryptSeed(ekPublicArea, seed, 'IDENTITY');
  const credentialBlob = outerWrap(
    seed,
    objectName,
    new Writer().tpm2b(credential).toBuffer(),
    symKeyBits(ekPublicArea),
  );
  return { credentialBlob, secret };
}

/** The public area of an importable HMAC-SHA256 key (no fixedTPM/fixedParent, as DPS issues). */
export function importableHmacPublic(unique: Buffer): Buffer {
  const a = TPMA_OBJECT;
  return new Writer()
    .u16(TPM_ALG.KEYEDHASH)
    .u16(TPM_ALG.SHA256)
    .u32(a.userWithAuth | a.noDA | a.sign)
    .tpm2b()
    .u16(TPM_ALG.HMAC)
    .u16(TPM_ALG.SHA256)
    .tpm2b(unique)
    .toBuffer();
}

export interface Duplicate {
  /** TPMT_PUBLIC of the key (TPM2B_PUBLIC contents). */
  objectPublic: Buffer;
  /** TPM2B_PRIVATE contents. */
  duplicate: Buffer;
  /** TPM2B_ENCRYPTED_SECRET contents: the outer seed encrypted to the parent. */
  inSymSeed: Buffer;
  /** The inner wrapper key (TPM2B_DATA contents for TPM2_Import's encryptionKey). */
  encryptionKey: Buffer;
}

/** Wraps HMAC key bytes for TPM2_Import under the parent (SRK) whose public area is given. */
export function createDuplicate(
  parentPublicArea: Buffer,
  key: Buffer,
  innerKey = randomBytes(16),
): Duplicate {
  const seedValue = randomBytes(32);
  const unique = createHash('sha256').update(seedValue).update(key).digest();
  const objectPublic = importableHmacPublic(unique);
  const name = objectName(objectPublic);
  // TPM2B_SENSITIVE: sensitiveType, authValue, seedValue, sensitive (TPM2B_SENSITIVE_DATA).
  const sensitive = new Writer()
    .sized((w) => w.u16(TPM_ALG.KEYEDHASH).tpm2b().tpm2b(seedValue).tpm2b(key))
    .toBuffer();
  const innerIntegrity = createHash('sha256').update(sensitive).update(name).digest();
  const encSensitive = aesCfbEncrypt(
    innerKey,
    Buffer.concat([new Writer().tpm2b(innerIntegrity).toBuffer(), sensitive]),
  );
  const seed = randomBytes(32);
  const inSymSeed = encryptSeed(parentPublicArea, seed, 'DUPLICATE');
  const duplicate = outerWrap(seed, name, encSensitive, symKeyBits(parentPublicArea));
  return { objectPublic, duplicate, inSymSeed, encryptionKey: innerKey };
}

/** The parts of a DPS TPM `authenticationKey` (activation blob). */
export interface ActivationBlob {
  /** TPM2B_ID_OBJECT contents. */
  credentialBlob: Buffer;
  /** TPM2B_ENCRYPTED_SECRET contents (to the EK). */
  encryptedSecret: Buffer;
  /** TPM2B_PRIVATE contents: the key's duplicate. */
  duplicate: Buffer;
  /** TPM2B_ENCRYPTED_SECRET contents: the outer seed (to the SRK). */
  encryptedWrapKey: Buffer;
  /** TPMT_PUBLIC of the key. */
  keyPublic: Buffer;
  /** TPM2B_DATA contents (encrypted URI data; may be empty). */
  encryptedUriData: Buffer;
}

/** Parses a DPS activation blob; a short or malformed one is a TpmError (rc 0). */
export function parseActivationBlob(blob: Buffer): ActivationBlob {
  const r = new Reader(blob, 'DPS activation blob');
  const out: ActivationBlob = {
    credentialBlob: r.tpm2b('TPM2B_ID_OBJECT'),
    encryptedSecret: r.tpm2b('TPM2B_ENCRYPTED_SECRET'),
    duplicate: r.tpm2b('TPM2B_PRIVATE'),
    encryptedWrapKey: r.tpm2b('TPM2B_ENCRYPTED_SECRET'),
    keyPublic: r.tpm2b('TPM2B_PUBLIC'),
    encryptedUriData: r.tpm2b('TPM2B_DATA'),
  };
  if (out.credentialBlob.length === 0 || out.duplicate.length === 0 || out.keyPublic.length === 0) {
    throw new TpmError('DPS activation blob', 0, MALFORMED, 'DPS activation blob has empty parts');
  }
  parsePublicArea(out.keyPublic, 'DPS activation blob');
  return out;
}

export function serializeActivationBlob(b: ActivationBlob): Buffer {
  return new Writer()
    .tpm2b(b.credentialBlob)
    .tpm2b(b.encryptedSecret)
    .tpm2b(b.duplicate)
    .tpm2b(b.encryptedWrapKey)
    .tpm2b(b.keyPublic)
    .tpm2b(b.encryptedUriData)
    .toBuffer();
}

/**
 * What DPS does for a TPM registration: a duplicate of `key` for the SRK, its inner wrapper key
 * sealed by MakeCredential to the EK and the SRK's name.
 */
export function createActivationBlob(
  ekPublicArea: Buffer,
  srkPublicArea: Buffer,
  key: Buffer,
): Buffer {
  const dup = createDuplicate(srkPublicArea, key);
  const cred = makeCredential(ekPublicArea, objectName(srkPublicArea), dup.encryptionKey);
  return serializeActivationBlob({
    credentialBlob: cred.credentialBlob,
    encryptedSecret: cred.secret,
    duplicate: dup.duplicate,
    encryptedWrapKey: dup.inSymSeed,
    keyPublic: dup.objectPublic,
    encryptedUriData: Buffer.alloc(0),
  });
}
