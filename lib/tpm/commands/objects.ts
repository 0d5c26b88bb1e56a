/**
 * Object commands: TPM2_ReadPublic, CreatePrimary, Create, Load, Import, EvictControl,
 * FlushContext. TPM2B blobs are Buffers holding the TPM2B's contents (no size prefix) unless a
 * name says otherwise.
 */
import type { NativeTpm } from '../../native/contract';
import { passwordAuth, runCommand, TPM_RH } from '../command';
import { Writer } from '../marshal';
import { TPM_ALG } from '../structures';

export interface ReadPublicResult {
  /** TPMT_PUBLIC bytes (the TPM2B_PUBLIC's contents). */
  publicArea: Buffer;
  name: Buffer;
  qualifiedName: Buffer;
}

export async function readPublic(tpm: NativeTpm, handle: number): Promise<ReadPublicResult> {
  const { params } = await runCommand(tpm, 'ReadPublic', {
    handles: [handle],
    context: `handle 0x${handle.toString(16)}`,
  });
  const publicArea = params.tpm2b('outPublic');
  const name = params.tpm2b('name');
  const qualifiedName = params.tpm2b('qualifiedName');
  return { publicArea, name, qualifiedName };
}

function sensitiveCreate(data?: Buffer, userAuth?: Buffer): Writer {
  return new Writer().sized((w) => w.tpm2b(userAuth).tpm2b(data));
}

export interface CreatePrimaryResult {
  handle: number;
  publicArea: Buffer;
  name: Buffer;
}

/** TPM2_CreatePrimary in a hierarchy (TPM_RH_OWNER / ENDORSEMENT) with its password. */
export async function createPrimary(
  tpm: NativeTpm,
  hierarchy: number,
  template: Buffer,
  hierarchyAuth?: Buffer,
): Promise<CreatePrimaryResult> {
  const params = sensitiveCreate()
    .tpm2b(template)
    .tpm2b() // outsideInfo
    .u32(0) // creationPCR: empty TPML_PCR_SELECTION
    .toBuffer();
  const { handles, params: r } = await runCommand(tpm, 'CreatePrimary', {
    handles: [hierarchy],
    auths: [passwordAuth(hierarchyAuth)],
    params,
    responseHandles: 1,
  });
  const publicArea = r.tpm2b('outPublic');
  r.tpm2b('creationData');
  r.tpm2b('creationHash');
  r.u16('creationTicket.tag');
  r.u32('creationTicket.hierarchy');
  r.tpm2b('creationTicket.digest');
  const name = r.tpm2b('name');
  return { handle: handles[0] as number, publicArea, name };
}

export interface CreateResult {
  /** TPM2B_PRIVATE contents. */
  privateBlob: Buffer;
  /** TPMT_PUBLIC. */
  publicArea: Buffer;
}

/** TPM2_Create under a loaded parent (password auth); `data` is the sensitive data (e.g. HMAC key). */
export async function create(
  tpm: NativeTpm,
  parent: number,
  template: Buffer,
  data?: Buffer,
  parentAuth?: Buffer,
): Promise<CreateResult> {
  const params = sensitiveCreate(data).tpm2b(template).tpm2b().u32(0).toBuffer();
  const { params: r } = await runCommand(tpm, 'Create', {
    handles: [parent],
    auths: [passwordAuth(parentAuth)],
    params,
  });
  const privateBlob = r.tpm2b('outPrivate');
  const publicArea = r.tpm2b('outPublic');
  return { privateBlob, publicArea };
}

/** TPM2_Load; returns the transient handle (the caller flushes it). */
export async function load(
  tpm: NativeTpm,
  parent: number,
  privateBlob: Buffer,
  publicArea: Buffer,
  parentAuth?: Buffer,
): Promise<{ handle: number; name: Buffer }> {
  const { handles, params } = await runCommand(tpm, 'Load', {
    handles: [parent],
    auths: [passwordAuth(parentAuth)],
    params: new Writer().tpm2b(privateBlob).tpm2b(publicArea).toBuffer(),
    responseHandles: 1,
  });
  return { handle: handles[0] as number, name: params.tpm2b('name') };
}

export interface ImportInput {
  /** TPM2B_DATA contents: the inner-wrapper symmetric key (empty when there is no inner wrapper). */
  encryptionKey: Buffer;
  /** TPMT_PUBLIC of the object being imported (TPM2B_PUBLIC contents). */
  objectPublic: Buffer;
  /** TPM2B_PRIVATE contents: the duplicate blob. */
  duplicate: Buffer;
  /** TPM2B_ENCRYPTED_SECRET contents: the seed encrypted to the parent. */
  inSymSeed: Buffer;
  /** Inner-wrapper algorithm; default AES-128-CFB (as DPS uses). `null` for no inner wrapper. */
  symmetric?: { algorithm: number; keyBits: number; mode: number } | null;
}

/** TPM2_Import under `parent`; returns the TPM2B_PRIVATE contents to TPM2_Load. */
export async function importObject(
  tpm: NativeTpm,
  parent: number,
  input: ImportInput,
  parentAuth?: Buffer,
): Promise<Buffer> {
  const w = new Writer()
    .tpm2b(input.encryptionKey)
    .tpm2b(input.objectPublic)
    .tpm2b(input.duplicate)
    .tpm2b(input.inSymSeed);
  const sym =
    input.symmetric === undefined
      ? { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB }
      : input.symmetric;
  if (sym === null) w.u16(TPM_ALG.NULL);
  else w.u16(sym.algorithm).u16(sym.keyBits).u16(sym.mode);
  const { params } = await runCommand(tpm, 'Import', {
    handles: [parent],
    auths: [passwordAuth(parentAuth)],
    params: w.toBuffer(),
  });
  return params.tpm2b('outPrivate');
}

/**
 * TPM2_EvictControl with owner auth: persists `object` (transient) at `persistentHandle`, or,
 * when `object` is itself that persistent handle, evicts it.
 */
export async function evictControl(
  tpm: NativeTpm,
  object: number,
  persistentHandle: number,
  ownerAuth?: Buffer,
): Promise<void> {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(persistentHandle >>> 0);
  await runCommand(tpm, 'EvictControl', {
    handles: [TPM_RH.OWNER, object],
    auths: [passwordAuth(ownerAuth)],
    params: p,
    context: `0x${object.toString(16)} → 0x${persistentHandle.toString(16)}`,
  });
}

/** TPM2_FlushContext of a transient object, sequence or session handle. */
export async function flushContext(tpm: NativeTpm, handle: number): Promise<void> {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(handle >>> 0);
  await runCommand(tpm, 'FlushContext', { params: p });
}

/** FlushContext that never throws (for `finally` blocks). */
export async function flushQuietly(tpm: NativeTpm, handle: number | undefined): Promise<void> {
  if (handle === undefined) return;
  try {
    await flushContext(tpm, handle);
  } catch {
    // Already flushed (a consumed session, a failed command) or the TPM is gone.
  }
}
