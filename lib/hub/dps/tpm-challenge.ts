/**
 * The local DPS's TPM challenge: the activation blob (`authenticationKey`) for a device's EK and
 * SRK (as the device sent them, base64 TPM2B_PUBLIC), holding an HMAC key — the challenge's
 * session key, or the device's IoT Hub key in the assignment. The keys are validated here (RSA
 * 2048 EK with the TCG parameters, SHA-256 names); the crypto is the TPM layer's software
 * MakeCredential + duplication with node:crypto (`createActivationBlob`, lib/tpm/wrap.ts: KDFa,
 * RSA-OAEP "IDENTITY"/"DUPLICATE", AES-128-CFB inner and outer wrappers, HMAC integrity), in the
 * blob layout azure-iot-security-tpm's `activateIdentityKey` reads.
 */
import { createActivationBlob } from '../../tpm/wrap';
import { argumentInvalid } from '../errors';
import { parseTpmPublic, type EndorsementKey } from './ek';

function isParsed(v: string | Buffer | EndorsementKey): v is EndorsementKey {
  return typeof v === 'object' && !Buffer.isBuffer(v) && 'publicArea' in v;
}

/** The activation blob for `key` (1-128 bytes) to the device whose EK and SRK are given. */
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
  if (key.length === 0 || key.length > 128) throw argumentInvalid('an HMAC key is 1 to 128 bytes');
  return createActivationBlob(ekKey.publicArea.bytes, srkKey.publicArea.bytes, key);
}
