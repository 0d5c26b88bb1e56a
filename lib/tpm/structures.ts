/**
 * TPM 2.0 structures the package builds and reads: algorithm ids, object attributes, the TCG
 * default EK template and the SRK / HMAC-key templates Limpet and the Azure SDKs use, TPMT_PUBLIC
 * parsing, object names, SubjectPublicKeyInfo PEM of an RSA/ECC public area, and the DPS
 * registration id.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { TpmError } from '../errors';
import { MALFORMED, Reader, Writer } from './marshal';

export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  AES: 0x0006,
  KEYEDHASH: 0x0008,
  XOR: 0x000a,
  SHA256: 0x000b,
  NULL: 0x0010,
  ECC: 0x0023,
  SYMCIPHER: 0x0025,
  CFB: 0x0043,
} as const;

export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  stClear: 1 << 2,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  noDA: 1 << 10,
  encryptedDuplication: 1 << 11,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
} as const;

/** TPM2_PolicySecret(TPM_RH_ENDORSEMENT) digest: the TCG EK authPolicy. */
export const EK_POLICY = Buffer.from(
  '837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa',
  'hex',
);

/** A TPMT_PUBLIC, decoded far enough for our uses. */
export interface PublicArea {
  type: number;
  nameAlg: number;
  objectAttributes: number;
  authPolicy: Buffer;
  /** RSA: key bits, exponent (0 = 65537), modulus. */
  rsa?: { keyBits: number; exponent: number; modulus: Buffer; symmetric: number; scheme: number };
  /** ECC: curve id and point. */
  ecc?: { curve: number; x: Buffer; y: Buffer };
  /** KEYEDHASH: scheme and hash, unique. */
  keyedHash?: { scheme: number; hashAlg: number; unique: Buffer };
  /** The exact bytes (TPMT_PUBLIC). */
  bytes: Buffer;
}

function rsaTemplate(attributes: number, policy: Buffer, unique: Buffer): Buffer {
  return new Writer()
    .u16(TPM_ALG.RSA)
    .u16(TPM_ALG.SHA256)
    .u32(attributes)
    .tpm2b(policy)
    .u16(TPM_ALG.AES)
    .u16(128)
    .u16(TPM_ALG.CFB)
    .u16(TPM_ALG.NULL) // scheme
    .u16(2048)
    .u32(0) // exponent: default 65537
    .tpm2b(unique)
    .toBuffer();
}

/** TCG EK Credential Profile template L-1 (RSA 2048, AES-128-CFB, unique 256 zero bytes). */
export function ekTemplate(): Buffer {
  const a = TPMA_OBJECT;
  return rsaTemplate(
    a.fixedTPM |
      a.fixedParent |
      a.sensitiveDataOrigin |
      a.adminWithPolicy |
      a.restricted |
      a.decrypt,
    EK_POLICY,
    Buffer.alloc(256),
  );
}

/** The SRK template of Limpet and azure-iot-security-tpm (RSA 2048 restricted decrypt, noDA). */
export function srkTemplate(): Buffer {
  const a = TPMA_OBJECT;
  return rsaTemplate(
    a.fixedTPM |
      a.fixedParent |
      a.sensitiveDataOrigin |
      a.userWithAuth |
      a.noDA |
      a.restricted |
      a.decrypt,
    Buffer.alloc(0),
    Buffer.alloc(0),
  );
}

/** Limpet's HMAC key: keyed-hash HMAC-SHA256, sign, userWithAuth, noDA, key data supplied. */
export function hmacKeyTemplate(): Buffer {
  const a = TPMA_OBJECT;
  return new Writer()
    .u16(TPM_ALG.KEYEDHASH)
    .u16(TPM_ALG.SHA256)
    .u32(a.fixedTPM | a.fixedParent | a.userWithAuth | a.noDA | a.sign)
    .tpm2b(Buffer.alloc(0))
    .u16(TPM_ALG.HMAC)
    .u16(TPM_ALG.SHA256)
    .tpm2b(Buffer.alloc(0))
    .toBuffer();
}

function readSymDef(r: Reader): number {
  const alg = r.u16('symmetric.algorithm');
  if (alg !== TPM_ALG.NULL) {
    r.u16('symmetric.keyBits');
    r.u16('symmetric.mode');
  }
  return alg;
}

function readScheme(r: Reader, field: string): number {
  const scheme = r.u16(`${field}.scheme`);
  if (scheme !== TPM_ALG.NULL) r.u16(`${field}.hashAlg`);
  return scheme;
}

/** Parses a TPMT_PUBLIC (the contents of a TPM2B_PUBLIC). */
export function parsePublicArea(bytes: Buffer, command = 'TPMT_PUBLIC'): PublicArea {
  const r = new Reader(bytes, 'TPMT_PUBLIC', command);
  const type = r.u16('type');
  const nameAlg = r.u16('nameAlg');
  const objectAttributes = r.u32('objectAttributes');
  const authPolicy = r.tpm2b('authPolicy');
  const out: PublicArea = {
    type,
    nameAlg,
    objectAttributes,
    authPolicy,
    bytes: Buffer.from(bytes),
  };
  if (type === TPM_ALG.RSA) {
    const symmetric = readSymDef(r);
    const scheme = readScheme(r, 'scheme');
    const keyBits = r.u16('keyBits');
    const exponent = r.u32('exponent');
    const modulus = r.tpm2b('unique.rsa');
    out.rsa = { keyBits, exponent, modulus, symmetric, scheme };
  } else if (type === TPM_ALG.ECC) {
    readSymDef(r);
    readScheme(r, 'scheme');
    const curve = r.u16('curveID');
    readScheme(r, 'kdf');
    out.ecc = { curve, x: r.tpm2b('unique.x'), y: r.tpm2b('unique.y') };
  } else if (type === TPM_ALG.KEYEDHASH) {
    const scheme = r.u16('scheme');
    let hashAlg = TPM_ALG.NULL as number;
    if (scheme === TPM_ALG.HMAC) hashAlg = r.u16('scheme.hashAlg');
    else if (scheme === TPM_ALG.XOR) {
      hashAlg = r.u16('scheme.hashAlg');
      r.u16('scheme.kdf');
    }
    out.keyedHash = { scheme, hashAlg, unique: r.tpm2b('unique') };
  } else if (type === TPM_ALG.SYMCIPHER) {
    readSymDef(r);
    r.tpm2b('unique');
  } else {
    throw new TpmError(
      command,
      0,
      MALFORMED,
      `TPMT_PUBLIC has unknown type 0x${type.toString(16)}`,
    );
  }
  r.end();
  return out;
}

/** The TPM name of an object: nameAlg (u16) || H_nameAlg(TPMT_PUBLIC). SHA-256 only. */
export function objectName(publicArea: Buffer): Buffer {
  const nameAlg = publicArea.readUInt16BE(2);
  if (nameAlg !== TPM_ALG.SHA256) {
    throw new TpmError(
      'TPMT_PUBLIC',
      0,
      MALFORMED,
      `unsupported nameAlg 0x${nameAlg.toString(16)}`,
    );
  }
  const w = new Writer().u16(nameAlg).bytes(createHash('sha256').update(publicArea).digest());
  return w.toBuffer();
}

/** The TPM2B_PUBLIC of a public area (u16 size || TPMT_PUBLIC). */
export function tpm2bPublic(publicArea: Buffer): Buffer {
  return new Writer().tpm2b(publicArea).toBuffer();
}

const ECC_CURVES: Record<number, string> = { 0x0003: 'P-256', 0x0004: 'P-384', 0x0005: 'P-521' };

/** SubjectPublicKeyInfo PEM of an RSA or ECC public area. */
export function publicAreaToPem(area: PublicArea): string {
  let jwk: Record<string, string>;
  if (area.rsa) {
    const e = Buffer.alloc(4);
    e.writeUInt32BE(area.rsa.exponent === 0 ? 65537 : area.rsa.exponent);
    let i = 0;
    while (i < 3 && e[i] === 0) i += 1;
    jwk = {
      kty: 'RSA',
      n: area.rsa.modulus.toString('base64url'),
      e: e.subarray(i).toString('base64url'),
    };
  } else if (area.ecc && ECC_CURVES[area.ecc.curve]) {
    jwk = {
      kty: 'EC',
      crv: ECC_CURVES[area.ecc.curve] as string,
      x: area.ecc.x.toString('base64url'),
      y: area.ecc.y.toString('base64url'),
    };
  } else {
    throw new TpmError('TPMT_PUBLIC', 0, MALFORMED, 'not an RSA or NIST-curve ECC public key');
  }
  try {
    return createPublicKey({ key: jwk, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
  } catch (error) {
    throw new TpmError('TPMT_PUBLIC', 0, MALFORMED, 'the public key is not a valid key', error);
  }
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32, lower case, without padding. */
export function base32LowerUnpadded(data: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The DPS registration id the Azure SDKs derive from the EK: base32 (lower, unpadded) of
 * SHA-256 of the EK's TPM2B_PUBLIC (the size-prefixed public area azure-iot-security-tpm's
 * `getEndorsementKey` returns and sends to DPS as `endorsementKey`).
 */
export function registrationIdOf(ekPublicArea: Buffer): string {
  return base32LowerUnpadded(createHash('sha256').update(tpm2bPublic(ekPublicArea)).digest());
}
