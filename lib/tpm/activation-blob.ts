/**
 * The DPS TPM activation blob (`authenticationKey` of the 401 challenge and of
 * `registrationState.tpm`), laid out as azure-iot-security-tpm's `_activateIdentityKey` and the C
 * SDK's TPM HSM read it, one after the other:
 *
 *   TPM2B_ID_OBJECT credentialBlob   (MakeCredential against the EK, bound to the SRK's name;
 *                                     the credential is the inner-wrapper AES key)
 *   TPM2B_ENCRYPTED_SECRET secret    (its seed, RSA-OAEP to the EK, label "IDENTITY")
 *   TPM2B_PRIVATE duplicate          (the HMAC identity key, inner + outer wrapped)
 *   TPM2B_ENCRYPTED_SECRET inSymSeed (the outer wrapper's seed, RSA-OAEP to the SRK, "DUPLICATE")
 *   TPM2B_PUBLIC objectPublic        (the identity key's public area)
 *   TPM2B_DATA encUriData            (unused; may be empty)
 *
 * Buffers hold each TPM2B's contents (no size prefix). Malformed input is a `TpmError`
 * (rcName `MALFORMED`, command `ActivationBlob`); nothing of the blob goes into messages.
 */
import { Reader, Writer } from './marshal';

export interface ActivationBlob {
  credentialBlob: Buffer;
  secret: Buffer;
  duplicate: Buffer;
  inSymSeed: Buffer;
  objectPublic: Buffer;
  encUriData: Buffer;
}

export function parseActivationBlob(blob: Buffer): ActivationBlob {
  const r = new Reader(blob, 'DPS activation blob', 'ActivationBlob');
  const out: ActivationBlob = {
    credentialBlob: r.tpm2b('credentialBlob'),
    secret: r.tpm2b('secret'),
    duplicate: r.tpm2b('duplicate'),
    inSymSeed: r.tpm2b('inSymSeed'),
    objectPublic: r.tpm2b('objectPublic'),
    encUriData: r.remaining > 0 ? r.tpm2b('encUriData') : Buffer.alloc(0),
  };
  r.end();
  return out;
}

export function serializeActivationBlob(b: ActivationBlob): Buffer {
  return new Writer()
    .tpm2b(b.credentialBlob)
    .tpm2b(b.secret)
    .tpm2b(b.duplicate)
    .tpm2b(b.inSymSeed)
    .tpm2b(b.objectPublic)
    .tpm2b(b.encUriData)
    .toBuffer();
}
