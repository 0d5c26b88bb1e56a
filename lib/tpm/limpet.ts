/**
 * `LimpetTpm`: the Limpet-compatible TPM layer (`LimpetApi`) over any `NativeTpm` channel.
 * Handles and NV indexes are Limpet's and the Azure SDKs': EK 0x81010001, SRK 0x81000001,
 * per-slot HMAC keys at 0x81000100 + slot, per-slot service URIs in NV 0x01400100 + slot
 * (AUTHWRITE|AUTHREAD|NO_DA). SAS tokens are signed inside the TPM and built as the Azure SDKs
 * build them (URL-encoded `sr`, which is what is signed), so IoT Hub and the local hub accept them.
 * Every transient handle is flushed in a `finally`. Keys and tokens never appear in errors.
 */
import type { NativeTpm } from '../native/contract';
import { InvalidArgumentError, TpmError } from '../errors';
import { encodeUriComponentStrict } from '../hub/auth/sas';
import {
  EK_HANDLE,
  HMAC_KEY_BASE,
  SLOT_COUNT,
  SRK_HANDLE,
  URI_NV_BASE,
  type LimpetApi,
  type SasToken,
  type SlotInfo,
  type TpmInfo,
  type TpmPublicKey,
} from './api';
import { TPM_RH } from './command';
import {
  activateCredential,
  clear as tpmClear,
  create,
  createPrimary,
  evictControl,
  flushQuietly,
  getHandles,
  getProperties,
  hmacSha256,
  importObject,
  load,
  LIMPET_NV_ATTRIBUTES,
  nvDefineSpace,
  nvRead,
  nvReadPublic,
  nvUndefineSpace,
  nvWrite,
  readPublic,
  TPM_PT,
  TPMA_NV,
  TPMA_PERMANENT,
} from './commands';
import { rcIs } from './rc';
import { checkSlot, checkUri, parseDeviceConnectionString, splitUri } from './slots';
import { parseActivationBlob } from './wrap';
import {
  ekTemplate,
  hmacKeyTemplate,
  objectName,
  parsePublicArea,
  publicAreaToPem,
  registrationIdOf,
  srkTemplate,
  TPM_ALG,
  tpm2bPublic,
} from './structures';

/** Longest HMAC key accepted (MAX_SYM_DATA of TPM 2.0). */
export const MAX_HMAC_KEY_BYTES = 128;

export interface LimpetTpmOptions {
  /** Hierarchy passwords (empty by default, as on a fresh TPM and in Limpet). */
  ownerAuth?: Buffer;
  endorsementAuth?: Buffer;
  lockoutAuth?: Buffer;
}

/** `TpmPublicKey` plus the size-prefixed TPM2B_PUBLIC DPS receives as `endorsementKey`. */
export interface TpmPublicKeyEx extends TpmPublicKey {
  tpm2bPublic: Buffer;
}

export class LimpetTpm implements LimpetApi {
  readonly tpm: NativeTpm;
  private readonly options: LimpetTpmOptions;

  constructor(tpm: NativeTpm, options: LimpetTpmOptions = {}) {
    this.tpm = tpm;
    this.options = options;
  }

  async info(): Promise<TpmInfo> {
    const fixed = await getProperties(this.tpm, TPM_PT.FAMILY_INDICATOR, 0x30);
    const variable = await getProperties(this.tpm, TPM_PT.PERMANENT, 2);
    const get = (p: number): number => fixed.get(p) ?? 0;
    const perm = variable.get(TPM_PT.PERMANENT) ?? 0;
    const v1 = get(TPM_PT.FIRMWARE_VERSION_1);
    const v2 = get(TPM_PT.FIRMWARE_VERSION_2);
    return {
      manufacturer: ascii([get(TPM_PT.MANUFACTURER)]),
      vendorString: ascii([
        get(TPM_PT.VENDOR_STRING_1),
        get(TPM_PT.VENDOR_STRING_2),
        get(TPM_PT.VENDOR_STRING_3),
        get(TPM_PT.VENDOR_STRING_4),
      ]),
      firmwareVersion: `${v1 >>> 16}.${v1 & 0xffff}.${v2 >>> 16}.${v2 & 0xffff}`,
      family: ascii([get(TPM_PT.FAMILY_INDICATOR)]),
      revision: get(TPM_PT.REVISION) / 100,
      ownerAuthSet: (perm & TPMA_PERMANENT.ownerAuthSet) !== 0,
      endorsementAuthSet: (perm & TPMA_PERMANENT.endorsementAuthSet) !== 0,
      lockoutAuthSet: (perm & TPMA_PERMANENT.lockoutAuthSet) !== 0,
      disableClear: (perm & TPMA_PERMANENT.disableClear) !== 0,
      inLockout: (perm & TPMA_PERMANENT.inLockout) !== 0,
    };
  }

  endorsementKey(): Promise<TpmPublicKeyEx> {
    return this.persistentPrimary(
      EK_HANDLE,
      TPM_RH.ENDORSEMENT,
      ekTemplate(),
      this.options.endorsementAuth,
    );
  }

  storageRootKey(): Promise<TpmPublicKeyEx> {
    return this.persistentPrimary(SRK_HANDLE, TPM_RH.OWNER, srkTemplate(), this.options.ownerAuth);
  }

  async registrationId(): Promise<string> {
    return registrationIdOf((await this.endorsementKey()).publicArea);
  }

  async storeUri(slot: number, uri: string): Promise<void> {
    checkSlot(slot);
    const data = checkUri(uri);
    const index = URI_NV_BASE + slot;
    const existing = await this.nvPublicOrUndefined(index);
    if (existing) {
      this.checkOurs(index, existing.attributes, 'TPM2_NV_DefineSpace');
      await nvUndefineSpace(this.tpm, index, this.options.ownerAuth);
    }
    await nvDefineSpace(this.tpm, index, data.length, LIMPET_NV_ATTRIBUTES, {
      ownerAuth: this.options.ownerAuth,
    });
    try {
      await nvWrite(this.tpm, index, data, await this.nvChunk());
    } catch (error) {
      // Leave no defined-but-unwritten index behind.
      await nvUndefineSpace(this.tpm, index, this.options.ownerAuth).catch(() => undefined);
      throw error;
    }
  }

  async readUri(slot: number): Promise<string | undefined> {
    checkSlot(slot);
    const index = URI_NV_BASE + slot;
    const pub = await this.nvPublicOrUndefined(index);
    if (!pub) return undefined;
    this.checkOurs(index, pub.attributes, 'TPM2_NV_Read');
    if ((pub.attributes & TPMA_NV.WRITTEN) === 0 || pub.dataSize === 0) return undefined;
    const data = await nvRead(this.tpm, index, pub.dataSize, await this.nvChunk());
    // Limpet may store a terminating NUL; the URI is the text before it.
    const end = data.indexOf(0);
    return (end >= 0 ? data.subarray(0, end) : data).toString('utf8');
  }

  async destroyUri(slot: number): Promise<void> {
    checkSlot(slot);
    const index = URI_NV_BASE + slot;
    const pub = await this.nvPublicOrUndefined(index);
    if (!pub) return;
    this.checkOurs(index, pub.attributes, 'TPM2_NV_UndefineSpace');
    await nvUndefineSpace(this.tpm, index, this.options.ownerAuth);
  }

  async createHmacKey(slot: number, key: Buffer): Promise<void> {
    checkSlot(slot);
    if (!Buffer.isBuffer(key) || key.length === 0 || key.length > MAX_HMAC_KEY_BYTES) {
      throw new InvalidArgumentError(
        'key',
        `a Buffer of 1-${MAX_HMAC_KEY_BYTES} bytes`,
        Buffer.isBuffer(key) ? `a Buffer of ${key.length} bytes` : typeof key,
      );
    }
    await this.storageRootKey();
    const created = await create(this.tpm, SRK_HANDLE, hmacKeyTemplate(), key);
    let transient: number | undefined;
    try {
      transient = (await load(this.tpm, SRK_HANDLE, created.privateBlob, created.publicArea))
        .handle;
      const persistent = HMAC_KEY_BASE + slot;
      if (await this.persistentExists(persistent)) {
        await evictControl(this.tpm, persistent, persistent, this.options.ownerAuth);
      }
      await evictControl(this.tpm, transient, persistent, this.options.ownerAuth);
    } finally {
      await flushQuietly(this.tpm, transient);
    }
  }

  /**
   * DPS TPM attestation (extra to LimpetApi): imports the HMAC key of a DPS activation blob
   * (`authenticationKey`, as azure-iot-security-tpm reads it) into the slot's persistent handle
   * (0x81000100 + slot; the Azure SDKs use slot 0). TPM2_ActivateCredential with the EK (policy
   * session) recovers the inner wrapper key; TPM2_Import + Load + EvictControl persist the key,
   * replacing an existing one. Malformed or foreign blobs are TpmErrors; nothing is left loaded.
   */
  async activateIdentityKey(slot: number, activationBlob: Buffer): Promise<void> {
    checkSlot(slot);
    if (!Buffer.isBuffer(activationBlob)) {
      throw new InvalidArgumentError('activationBlob', 'a Buffer', activationBlob);
    }
    const blob = parseActivationBlob(activationBlob);
    await this.endorsementKey();
    await this.storageRootKey();
    const innerKey = await activateCredential(
      this.tpm,
      {
        activateHandle: SRK_HANDLE,
        keyHandle: EK_HANDLE,
        credentialBlob: blob.credentialBlob,
        secret: blob.encryptedSecret,
      },
      this.options.endorsementAuth,
    );
    if (![16, 24, 32].includes(innerKey.length)) {
      throw new TpmError(
        'TPM2_ActivateCredential',
        0,
        'MALFORMED',
        `The activation blob's inner wrapper key has ${innerKey.length} bytes (not an AES key)`,
      );
    }
    const privateBlob = await importObject(this.tpm, SRK_HANDLE, {
      encryptionKey: innerKey,
      objectPublic: blob.keyPublic,
      duplicate: blob.duplicate,
      inSymSeed: blob.encryptedWrapKey,
      symmetric: { algorithm: TPM_ALG.AES, keyBits: innerKey.length * 8, mode: TPM_ALG.CFB },
    });
    let transient: number | undefined;
    try {
      transient = (await load(this.tpm, SRK_HANDLE, privateBlob, blob.keyPublic)).handle;
      const persistent = HMAC_KEY_BASE + slot;
      if (await this.persistentExists(persistent)) {
        await evictControl(this.tpm, persistent, persistent, this.options.ownerAuth);
      }
      await evictControl(this.tpm, transient, persistent, this.options.ownerAuth);
    } finally {
      await flushQuietly(this.tpm, transient);
    }
  }

  async hmac(slot: number, data: Buffer): Promise<Buffer> {
    checkSlot(slot);
    if (!Buffer.isBuffer(data)) throw new InvalidArgumentError('data', 'a Buffer', data);
    const handle = HMAC_KEY_BASE + slot;
    try {
      return await hmacSha256(this.tpm, handle, data);
    } catch (error) {
      if (
        error instanceof TpmError &&
        (rcIs(error.rc, 'TPM_RC_HANDLE') || rcIs(error.rc, 'TPM_RC_REFERENCE_H0'))
      ) {
        throw new TpmError(
          error.command,
          error.rc,
          error.rcName,
          `Slot ${slot} has no HMAC key (no persistent object at 0x${handle.toString(16)}): ${error.message}`,
          error,
        );
      }
      throw error;
    }
  }

  async evictHmacKey(slot: number): Promise<void> {
    checkSlot(slot);
    const handle = HMAC_KEY_BASE + slot;
    if (await this.persistentExists(handle)) {
      await evictControl(this.tpm, handle, handle, this.options.ownerAuth);
    }
  }

  async importConnectionString(slot: number, connectionString: string): Promise<void> {
    checkSlot(slot);
    const parsed = parseDeviceConnectionString(connectionString);
    const uri = [parsed.host, parsed.deviceId, ...(parsed.moduleId ? [parsed.moduleId] : [])].join(
      '/',
    );
    checkUri(uri);
    await this.createHmacKey(slot, parsed.key);
    await this.storeUri(slot, uri);
  }

  async sasToken(slot: number, validitySeconds: number, nowSeconds?: number): Promise<SasToken> {
    checkSlot(slot);
    if (!Number.isInteger(validitySeconds) || validitySeconds <= 0) {
      throw new InvalidArgumentError('validitySeconds', 'a positive integer', validitySeconds);
    }
    const now = nowSeconds ?? Math.floor(Date.now() / 1000);
    if (!Number.isInteger(now) || now < 0) {
      throw new InvalidArgumentError('nowSeconds', 'a non-negative integer', nowSeconds);
    }
    const uri = await this.readUri(slot);
    if (uri === undefined) {
      throw new TpmError(
        'TPM2_NV_Read',
        0,
        'NO_URI',
        `Slot ${slot} has no service URI (NV index 0x${(URI_NV_BASE + slot).toString(16)} is not defined or not written)`,
      );
    }
    const { host, deviceId, moduleId } = splitUri(slot, uri);
    const resource = `${host}/devices/${deviceId}${moduleId ? `/modules/${moduleId}` : ''}`;
    const expiry = now + validitySeconds;
    const sr = encodeUriComponentStrict(resource);
    const signature = (await this.hmac(slot, Buffer.from(`${sr}\n${expiry}`, 'utf8'))).toString(
      'base64',
    );
    const token = `SharedAccessSignature sr=${sr}&sig=${encodeUriComponentStrict(signature)}&se=${expiry}`;
    const connectionString =
      `HostName=${host};DeviceId=${deviceId}` +
      (moduleId ? `;ModuleId=${moduleId}` : '') +
      `;SharedAccessSignature=${token}`;
    return { token, expiry, connectionString };
  }

  async listSlots(): Promise<SlotInfo[]> {
    const persistent = new Set(await getHandles(this.tpm, 0x81000000));
    const nv = new Set(await getHandles(this.tpm, 0x01000000));
    const out: SlotInfo[] = [];
    for (let slot = 0; slot < SLOT_COUNT; slot += 1) {
      const info: SlotInfo = { slot, hasHmacKey: persistent.has(HMAC_KEY_BASE + slot) };
      if (nv.has(URI_NV_BASE + slot)) {
        try {
          const uri = await this.readUri(slot);
          if (uri !== undefined) info.uri = uri;
        } catch (error) {
          // An index defined by someone else (other auth) is not a Limpet URI.
          if (!(error instanceof TpmError) || error.rc === 0) throw error;
        }
      }
      out.push(info);
    }
    return out;
  }

  async destroySlot(slot: number): Promise<void> {
    checkSlot(slot);
    await this.destroyUri(slot);
    await this.evictHmacKey(slot);
  }

  async clear(): Promise<void> {
    const perm = (await getProperties(this.tpm, TPM_PT.PERMANENT, 1)).get(TPM_PT.PERMANENT) ?? 0;
    if (perm & TPMA_PERMANENT.disableClear) {
      throw new TpmError(
        'TPM2_Clear',
        0x120,
        'TPM_RC_DISABLED',
        'TPM2_Clear is disabled on this TPM (disableClear is set); it was not cleared',
      );
    }
    await tpmClear(this.tpm, TPM_RH.LOCKOUT, this.options.lockoutAuth);
  }

  /** Reads a persistent primary key, creating and persisting it from `template` when absent. */
  private async persistentPrimary(
    handle: number,
    hierarchy: number,
    template: Buffer,
    hierarchyAuth: Buffer | undefined,
  ): Promise<TpmPublicKeyEx> {
    let publicArea: Buffer;
    try {
      publicArea = (await readPublic(this.tpm, handle)).publicArea;
    } catch (error) {
      if (!(error instanceof TpmError) || !rcIs(error.rc, 'TPM_RC_HANDLE')) throw error;
      const primary = await createPrimary(this.tpm, hierarchy, template, hierarchyAuth);
      try {
        await evictControl(this.tpm, primary.handle, handle, this.options.ownerAuth);
      } finally {
        await flushQuietly(this.tpm, primary.handle);
      }
      publicArea = primary.publicArea;
    }
    const area = parsePublicArea(publicArea, 'TPM2_ReadPublic');
    return {
      publicArea,
      name: objectName(publicArea),
      pem: publicAreaToPem(area),
      tpm2bPublic: tpm2bPublic(publicArea),
    };
  }

  private async persistentExists(handle: number): Promise<boolean> {
    try {
      await readPublic(this.tpm, handle);
      return true;
    } catch (error) {
      if (error instanceof TpmError && rcIs(error.rc, 'TPM_RC_HANDLE')) return false;
      throw error;
    }
  }

  private async nvPublicOrUndefined(
    index: number,
  ): Promise<{ attributes: number; dataSize: number } | undefined> {
    try {
      return await nvReadPublic(this.tpm, index);
    } catch (error) {
      if (error instanceof TpmError && rcIs(error.rc, 'TPM_RC_HANDLE')) return undefined;
      throw error;
    }
  }

  /** Refuses to replace or remove an NV index that is not a Limpet URI index. */
  private checkOurs(index: number, attributes: number, command: string): void {
    const mask = ~TPMA_NV.WRITTEN >>> 0;
    if ((attributes & mask) >>> 0 !== LIMPET_NV_ATTRIBUTES) {
      throw new TpmError(
        command,
        0x14c,
        'TPM_RC_NV_DEFINED',
        `NV index 0x${index.toString(16)} is already defined with other attributes ` +
          `(0x${(attributes >>> 0).toString(16)}); it is not a Limpet URI index and was left as it is`,
      );
    }
  }

  private nvChunkSize: number | undefined;

  private async nvChunk(): Promise<number> {
    if (this.nvChunkSize === undefined) {
      const max = (await getProperties(this.tpm, TPM_PT.NV_BUFFER_MAX, 1)).get(
        TPM_PT.NV_BUFFER_MAX,
      );
      this.nvChunkSize = max && max > 0 ? Math.min(max, 1024) : 512;
    }
    return this.nvChunkSize;
  }
}

function ascii(words: number[]): string {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32BE(w >>> 0, i * 4));
  return b.toString('latin1').replace(/\0/g, '').trim();
}

export { MAX_URI_BYTES, parseDeviceConnectionString } from './slots';
