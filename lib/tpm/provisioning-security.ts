/**
 * `TpmProvisioningSecurity`: the TPM security client `azure-iot-provisioning-device`'s
 * `TpmRegistration` drives (its `TpmSecurityClient` interface: getEndorsementKey,
 * getStorageRootKey, getRegistrationId, activateIdentityKey, signWithIdentity), over our TPM layer
 * instead of azure-iot-security-tpm / tss.js (which do not install on Node 20).
 *
 * As azure-iot-security-tpm does it: the EK (0x81010001) and SRK (0x81000001) are sent as
 * TPM2B_PUBLIC; `activateIdentityKey` takes DPS's activation blob and hands it to
 * `LimpetTpm.activateIdentityKey`: TPM2_ActivateCredential(SRK, EK under a
 * PolicySecret(endorsement) session) recovers the inner wrapper key, TPM2_Import under the SRK,
 * TPM2_Load, then TPM2_EvictControl persists the key at the slot's handle 0x81000100 + slot
 * (replacing the slot's key); `signWithIdentity` is TPM2_HMAC with that key. The key never leaves
 * the TPM; every transient handle is flushed.
 */
import { TpmError } from '../errors';
import type { LimpetTpm } from './limpet';

export interface TpmProvisioningSecurityOptions {
  /** The registration id; default the one derived from the EK. */
  registrationId?: string;
}

type Cb<T> = (err: Error | null, value?: T) => void;

function settle<T>(p: Promise<T>, callback: Cb<T>): void {
  p.then(
    (v) => callback(null, v),
    (e: unknown) => callback(e instanceof Error ? e : new Error(String(e))),
  );
}

export class TpmProvisioningSecurity {
  constructor(
    readonly limpet: LimpetTpm,
    readonly slot: number,
    private readonly options: TpmProvisioningSecurityOptions = {},
  ) {}

  /** The EK's TPM2B_PUBLIC. */
  async endorsementKey(): Promise<Buffer> {
    return (await this.limpet.endorsementKey()).tpm2bPublic;
  }

  /** The SRK's TPM2B_PUBLIC. */
  async storageRootKey(): Promise<Buffer> {
    return (await this.limpet.storageRootKey()).tpm2bPublic;
  }

  async registrationIdAsync(): Promise<string> {
    return this.options.registrationId ?? this.limpet.registrationId();
  }

  /** Imports DPS's activation blob's key into the slot (`LimpetTpm.activateIdentityKey`). */
  async activate(blob: Buffer): Promise<void> {
    if (!Buffer.isBuffer(blob) || blob.length === 0) {
      throw new TpmError('ActivationBlob', 0, 'MALFORMED', 'the DPS activation blob is empty');
    }
    await this.limpet.activateIdentityKey(this.slot, blob);
  }

  // ---- TpmSecurityClient (callback style, as azure-iot-provisioning-device calls it) ----------

  getEndorsementKey(callback: Cb<Buffer>): void {
    settle(this.endorsementKey(), callback);
  }

  getStorageRootKey(callback: Cb<Buffer>): void {
    settle(this.storageRootKey(), callback);
  }

  getRegistrationId(callback: Cb<string>): void {
    settle(this.registrationIdAsync(), callback);
  }

  activateIdentityKey(key: Buffer, callback: (err: Error | null) => void): void {
    settle(this.activate(key), callback);
  }

  signWithIdentity(data: Buffer, callback: Cb<Buffer>): void {
    settle(this.limpet.hmac(this.slot, data), callback);
  }
}
