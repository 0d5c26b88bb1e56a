/**
 * The TPM layer's public shape, as the CLI (`iotdm tpm`), the SAS authentication provider, the
 * provisioning security client and the reset/wipe features use it. `LimpetTpm`
 * (lib/tpm/limpet.ts) implements `LimpetApi` over any `NativeTpm` channel (the addon's TBS or
 * /dev/tpmrm0 channel, or `TcpTpm`, lib/tpm/tcp-transport.ts, for a simulator). Handles and NV
 * indexes are Limpet's and the Azure SDKs' so devices provisioned by either keep working.
 */

/** Logical devices: slots 0-9. */
export const SLOT_COUNT = 10;
export const EK_HANDLE = 0x81010001;
export const SRK_HANDLE = 0x81000001;
/** Persistent HMAC key of a slot: 0x81000100 + slot (also where DPS-imported keys go). */
export const HMAC_KEY_BASE = 0x81000100;
/** NV index holding a slot's service URI: 0x01400100 + slot. */
export const URI_NV_BASE = 0x01400100;

export interface TpmInfo {
  manufacturer: string;
  vendorString: string;
  firmwareVersion: string;
  /** TPM spec family ("2.0"), level, revision. */
  family: string;
  revision: number;
  /** From TPM_PT_PERMANENT / TPM_PT_STARTUP_CLEAR. */
  lockoutAuthSet: boolean;
  endorsementAuthSet: boolean;
  ownerAuthSet: boolean;
  disableClear: boolean;
  inLockout: boolean;
}

/** A public key read from the TPM. */
export interface TpmPublicKey {
  /** The TPM2B_PUBLIC contents (TPMT_PUBLIC marshaled), as DPS and Limpet encode the EK. */
  publicArea: Buffer;
  /** The object's TPM name (nameAlg || digest of the public area). */
  name: Buffer;
  /** SubjectPublicKeyInfo PEM of the key. */
  pem: string;
}

/** One slot's content. */
export interface SlotInfo {
  slot: number;
  /** `<hubHost>/<deviceId>[/<moduleId>]`, if stored. */
  uri?: string;
  hasHmacKey: boolean;
}

export interface SasToken {
  /** `SharedAccessSignature sr=...&sig=...&se=...` */
  token: string;
  /** Expiry, Unix seconds. */
  expiry: number;
  /** The Limpet `-AST` output: `HostName=..;DeviceId=..[;ModuleId=..];SharedAccessSignature=...` */
  connectionString: string;
}

export interface LimpetApi {
  info(): Promise<TpmInfo>;
  /** The RSA EK at 0x81010001 (created from the TCG default template and persisted if absent). */
  endorsementKey(): Promise<TpmPublicKey>;
  /** The RSA SRK at 0x81000001 (created from the TCG SRK template and persisted if absent). */
  storageRootKey(): Promise<TpmPublicKey>;
  /**
   * DPS registration id as the Azure SDKs derive it: lower-case unpadded base32 of SHA-256 of
   * the EK's TPM2B_PUBLIC (u16 size || publicArea — what azure-iot-security-tpm hashes and sends
   * to DPS as `endorsementKey`, and what `tpm2_readpublic -o` writes).
   */
  registrationId(): Promise<string>;
  storeUri(slot: number, uri: string): Promise<void>;
  readUri(slot: number): Promise<string | undefined>;
  destroyUri(slot: number): Promise<void>;
  /** Creates a keyed-hash HMAC-SHA256 key under the SRK from `key` and persists it. */
  createHmacKey(slot: number, key: Buffer): Promise<void>;
  /** HMAC-SHA256 of `data` with the slot's key, inside the TPM (sequence over 1 KB). */
  hmac(slot: number, data: Buffer): Promise<Buffer>;
  evictHmacKey(slot: number): Promise<void>;
  /** `-PCS`: stores `host/deviceId[/moduleId]` and the key of a connection string. */
  importConnectionString(slot: number, connectionString: string): Promise<void>;
  /** `-AST`: a SAS token for the slot's URI signed in the TPM. */
  sasToken(slot: number, validitySeconds: number, nowSeconds?: number): Promise<SasToken>;
  listSlots(): Promise<SlotInfo[]>;
  /** URI and key of the slot. */
  destroySlot(slot: number): Promise<void>;
  /** TPM2_Clear through the lockout hierarchy (refused with TpmError if disabled). */
  clear(): Promise<void>;
}
