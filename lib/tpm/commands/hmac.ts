/** TPM2_HMAC (≤ 1024 bytes) and TPM2_HMAC_Start / SequenceUpdate / SequenceComplete (any length). */
import type { NativeTpm } from '../../native/contract';
import { passwordAuth, runCommand, TPM_RH } from '../command';
import { Writer } from '../marshal';
import { TPM_ALG } from '../structures';
import { flushQuietly } from './objects';

/** MAX_DIGEST_BUFFER of common TPMs: the largest TPM2B_MAX_BUFFER. */
export const MAX_BUFFER = 1024;

/** HMAC-SHA256 of `data` with a loaded (or persistent) keyed-hash key; sequences over 1 KB. */
export async function hmacSha256(
  tpm: NativeTpm,
  key: number,
  data: Buffer,
  keyAuth?: Buffer,
): Promise<Buffer> {
  if (data.length <= MAX_BUFFER) {
    const { params } = await runCommand(tpm, 'HMAC', {
      handles: [key],
      auths: [passwordAuth(keyAuth)],
      params: new Writer().tpm2b(data).u16(TPM_ALG.SHA256).toBuffer(),
    });
    return params.tpm2b('outHMAC');
  }
  const { handles } = await runCommand(tpm, 'HMAC_Start', {
    handles: [key],
    auths: [passwordAuth(keyAuth)],
    params: new Writer().tpm2b().u16(TPM_ALG.SHA256).toBuffer(),
    responseHandles: 1,
  });
  const sequence = handles[0] as number;
  let completed = false;
  try {
    let offset = 0;
    // Keep at least one byte (or the last chunk) for SequenceComplete.
    while (data.length - offset > MAX_BUFFER) {
      await runCommand(tpm, 'SequenceUpdate', {
        handles: [sequence],
        auths: [passwordAuth()],
        params: new Writer().tpm2b(data.subarray(offset, offset + MAX_BUFFER)).toBuffer(),
      });
      offset += MAX_BUFFER;
    }
    const { params } = await runCommand(tpm, 'SequenceComplete', {
      handles: [sequence],
      auths: [passwordAuth()],
      params: new Writer().tpm2b(data.subarray(offset)).u32(TPM_RH.NULL).toBuffer(),
    });
    completed = true;
    return params.tpm2b('result');
  } finally {
    // SequenceComplete flushes the sequence; any failure before that leaves it to flush.
    if (!completed) await flushQuietly(tpm, sequence);
  }
}
