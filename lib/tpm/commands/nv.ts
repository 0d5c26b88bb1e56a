/** NV index commands: DefineSpace, Write, Read (chunked by TPM_PT_NV_BUFFER_MAX), ReadPublic, UndefineSpace. */
import type { NativeTpm } from '../../native/contract';
import { passwordAuth, runCommand, TPM_RH } from '../command';
import { Writer } from '../marshal';
import { TPM_ALG } from '../structures';

export const TPMA_NV = {
  AUTHWRITE: 1 << 2,
  AUTHREAD: 1 << 18,
  NO_DA: 1 << 25,
  WRITTEN: 1 << 29,
} as const;

/** Limpet's attributes for its URI indexes. */
export const LIMPET_NV_ATTRIBUTES = TPMA_NV.AUTHWRITE | TPMA_NV.AUTHREAD | TPMA_NV.NO_DA;

export interface NvPublic {
  index: number;
  nameAlg: number;
  attributes: number;
  authPolicy: Buffer;
  dataSize: number;
  name: Buffer;
}

/** TPM2_NV_DefineSpace with owner auth; the index's own auth is `indexAuth` (empty default). */
export async function nvDefineSpace(
  tpm: NativeTpm,
  index: number,
  dataSize: number,
  attributes: number = LIMPET_NV_ATTRIBUTES,
  options: { ownerAuth?: Buffer; indexAuth?: Buffer } = {},
): Promise<void> {
  const params = new Writer()
    .tpm2b(options.indexAuth)
    .sized((w) => w.u32(index).u16(TPM_ALG.SHA256).u32(attributes).tpm2b().u16(dataSize))
    .toBuffer();
  await runCommand(tpm, 'NV_DefineSpace', {
    handles: [TPM_RH.OWNER],
    auths: [passwordAuth(options.ownerAuth)],
    params,
    context: `index 0x${index.toString(16)}`,
  });
}

export async function nvReadPublic(tpm: NativeTpm, index: number): Promise<NvPublic> {
  const { params } = await runCommand(tpm, 'NV_ReadPublic', {
    handles: [index],
    context: `index 0x${index.toString(16)}`,
  });
  const pub = params.sized('TPMS_NV_PUBLIC');
  const out = {
    index: pub.u32('nvIndex'),
    nameAlg: pub.u16('nameAlg'),
    attributes: pub.u32('attributes'),
    authPolicy: pub.tpm2b('authPolicy'),
    dataSize: pub.u16('dataSize'),
    name: params.tpm2b('nvName'),
  };
  pub.end();
  return out;
}

/** Writes `data` at `offset` with the index's auth (AUTHWRITE), in chunks of `chunk` bytes. */
export async function nvWrite(
  tpm: NativeTpm,
  index: number,
  data: Buffer,
  chunk: number,
  offset = 0,
  indexAuth?: Buffer,
): Promise<void> {
  for (let done = 0; done < data.length || (done === 0 && data.length === 0); done += chunk) {
    const part = data.subarray(done, done + chunk);
    await runCommand(tpm, 'NV_Write', {
      handles: [index, index],
      auths: [passwordAuth(indexAuth)],
      params: new Writer()
        .tpm2b(part)
        .u16(offset + done)
        .toBuffer(),
      context: `index 0x${index.toString(16)}`,
    });
    if (data.length === 0) break;
  }
}

/** Reads `size` bytes at `offset` with the index's auth (AUTHREAD), in chunks. */
export async function nvRead(
  tpm: NativeTpm,
  index: number,
  size: number,
  chunk: number,
  offset = 0,
  indexAuth?: Buffer,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let done = 0; done < size; done += chunk) {
    const n = Math.min(chunk, size - done);
    const { params } = await runCommand(tpm, 'NV_Read', {
      handles: [index, index],
      auths: [passwordAuth(indexAuth)],
      params: new Writer()
        .u16(n)
        .u16(offset + done)
        .toBuffer(),
      context: `index 0x${index.toString(16)}`,
    });
    parts.push(params.tpm2b('data'));
  }
  return Buffer.concat(parts);
}

/** TPM2_NV_UndefineSpace with owner auth. */
export async function nvUndefineSpace(
  tpm: NativeTpm,
  index: number,
  ownerAuth?: Buffer,
): Promise<void> {
  await runCommand(tpm, 'NV_UndefineSpace', {
    handles: [TPM_RH.OWNER, index],
    auths: [passwordAuth(ownerAuth)],
    context: `index 0x${index.toString(16)}`,
  });
}
