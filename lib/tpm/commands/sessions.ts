/**
 * Policy sessions and the EK-authorized command: TPM2_StartAuthSession (policy, unsalted,
 * unbound), TPM2_PolicySecret(TPM_RH_ENDORSEMENT) — the EK's policy — and
 * TPM2_ActivateCredential, as DPS TPM attestation uses them.
 */
import { randomBytes } from 'node:crypto';
import type { NativeTpm } from '../../native/contract';
import { passwordAuth, policyAuth, runCommand, TPM_RH } from '../command';
import { Writer } from '../marshal';
import { TPM_ALG } from '../structures';
import { flushQuietly } from './objects';

export const TPM_SE = { HMAC: 0x00, POLICY: 0x01, TRIAL: 0x03 } as const;

export interface AuthSession {
  handle: number;
  nonceTpm: Buffer;
}

/** TPM2_StartAuthSession: no salt, no bind, no parameter encryption, SHA-256. */
export async function startAuthSession(
  tpm: NativeTpm,
  sessionType: number = TPM_SE.POLICY,
): Promise<AuthSession> {
  const params = new Writer()
    .tpm2b(randomBytes(32)) // nonceCaller
    .tpm2b() // encryptedSalt
    .u8(sessionType)
    .u16(TPM_ALG.NULL) // symmetric
    .u16(TPM_ALG.SHA256)
    .toBuffer();
  const { handles, params: r } = await runCommand(tpm, 'StartAuthSession', {
    handles: [TPM_RH.NULL, TPM_RH.NULL],
    params,
    responseHandles: 1,
  });
  return { handle: handles[0] as number, nonceTpm: r.tpm2b('nonceTPM') };
}

/** TPM2_PolicySecret(authHandle) on a policy session; authHandle's password authorizes it. */
export async function policySecret(
  tpm: NativeTpm,
  session: number,
  authHandle: number = TPM_RH.ENDORSEMENT,
  password?: Buffer,
): Promise<void> {
  const params = new Writer()
    .tpm2b() // nonceTPM
    .tpm2b() // cpHashA
    .tpm2b() // policyRef
    .u32(0) // expiration
    .toBuffer();
  await runCommand(tpm, 'PolicySecret', {
    handles: [authHandle, session],
    auths: [passwordAuth(password)],
    params,
  });
}

/** TPM2_PolicyGetDigest. */
export async function policyGetDigest(tpm: NativeTpm, session: number): Promise<Buffer> {
  const { params } = await runCommand(tpm, 'PolicyGetDigest', { handles: [session] });
  return params.tpm2b('policyDigest');
}

export interface ActivateCredentialInput {
  /** The object the credential is bound to (DPS: the SRK), authorized by password. */
  activateHandle: number;
  /** The decryption key (the EK), authorized by the policy session `keySession`. */
  keyHandle: number;
  /** TPM2B_ID_OBJECT contents. */
  credentialBlob: Buffer;
  /** TPM2B_ENCRYPTED_SECRET contents. */
  secret: Buffer;
  activateAuth?: Buffer;
}

/** TPM2_ActivateCredential with an explicit policy session for the key (consumed). */
export async function activateCredentialWithSession(
  tpm: NativeTpm,
  input: ActivateCredentialInput,
  keySession: number,
): Promise<Buffer> {
  const { params } = await runCommand(tpm, 'ActivateCredential', {
    handles: [input.activateHandle, input.keyHandle],
    auths: [passwordAuth(input.activateAuth), policyAuth(keySession)],
    params: new Writer().tpm2b(input.credentialBlob).tpm2b(input.secret).toBuffer(),
  });
  return params.tpm2b('certInfo');
}

/**
 * TPM2_ActivateCredential with an EK (TCG policy: PolicySecret(TPM_RH_ENDORSEMENT)) as the
 * key: starts the policy session, satisfies it, runs the command, flushes the session.
 * Returns the recovered credential (TPM2B_DIGEST contents).
 */
export async function activateCredential(
  tpm: NativeTpm,
  input: ActivateCredentialInput,
  endorsementAuth?: Buffer,
): Promise<Buffer> {
  const session = await startAuthSession(tpm, TPM_SE.POLICY);
  try {
    await policySecret(tpm, session.handle, TPM_RH.ENDORSEMENT, endorsementAuth);
    return await activateCredentialWithSession(tpm, input, session.handle);
  } finally {
    await flushQuietly(tpm, session.handle);
  }
}
