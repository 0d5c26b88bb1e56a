/**
 * Endorsement keys as DPS receives them: base64 of the EK's TPM2B_PUBLIC (what the Azure SDKs
 * send as `tpm.endorsementKey` and what `iotdm tpm enrollment-info` prints). A bare TPMT_PUBLIC is
 * accepted too and normalized to the TPM2B form. Only RSA 2048 EKs with the TCG default
 * parameters (SHA-256 name, AES-128-CFB) can receive a TPM challenge.
 */
import { argumentInvalid } from '../errors';
import {
  TPM_ALG,
  parsePublicArea,
  objectName,
  registrationIdOf,
  type PublicArea,
} from '../../tpm/structures';

export interface EndorsementKey {
  /** u16 size || TPMT_PUBLIC. */
  tpm2b: Buffer;
  publicArea: PublicArea;
  /** nameAlg || SHA-256(TPMT_PUBLIC). */
  name: Buffer;
}

function tryParse(bytes: Buffer): PublicArea | undefined {
  try {
    return parsePublicArea(bytes);
  } catch {
    return undefined;
  }
}

/** Parses a TPM public key given as base64 (or bytes) of a TPM2B_PUBLIC or a TPMT_PUBLIC. */
export function parseTpmPublic(input: string | Buffer, what = 'endorsement key'): EndorsementKey {
  const raw = typeof input === 'string' ? Buffer.from(input.trim(), 'base64') : input;
  let area: PublicArea | undefined;
  if (raw.length > 2 && raw.readUInt16BE(0) === raw.length - 2) area = tryParse(raw.subarray(2));
  area ??= tryParse(raw);
  if (!area) throw argumentInvalid(`the ${what} is not base64 of a TPM2B_PUBLIC`);
  if (area.nameAlg !== TPM_ALG.SHA256) {
    throw argumentInvalid(`the ${what} must use SHA-256 as its name algorithm`);
  }
  const tpm2b = Buffer.alloc(area.bytes.length + 2);
  tpm2b.writeUInt16BE(area.bytes.length);
  area.bytes.copy(tpm2b, 2);
  return { tpm2b, publicArea: area, name: objectName(area.bytes) };
}

/** An EK: RSA 2048 with an AES-128-CFB symmetric definition (the TCG default template). */
export function parseEndorsementKey(input: string | Buffer): EndorsementKey {
  const ek = parseTpmPublic(input);
  const rsa = ek.publicArea.rsa;
  if (!rsa || rsa.keyBits !== 2048 || rsa.symmetric !== TPM_ALG.AES) {
    throw argumentInvalid(
      'the endorsement key must be an RSA 2048 key with AES-128-CFB (TCG template)',
    );
  }
  return ek;
}

/** The registration id DPS and the SDKs derive from an EK's TPM2B_PUBLIC. */
export function registrationIdOfEk(tpm2b: Buffer): string {
  return registrationIdOf(tpm2b.subarray(2));
}
