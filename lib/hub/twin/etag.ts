/**
 * Etags and `If-Match` (RFC 7232, as IoT Hub uses them). A twin etag is IoT Hub's shape: the
 * base64 of the twin version as 8 big-endian bytes (`"AAAAAAAAAAc="` for version 7).
 */
import { preconditionFailed } from '../errors';

export function twinEtag(version: number): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(version));
  return b.toString('base64');
}

/** Strips `W/` and the quotes of an `If-Match` value. */
export function normalizeEtag(value: string): string {
  let v = value.trim();
  if (v.startsWith('W/')) v = v.slice(2);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  return v;
}

/**
 * Throws 412 `PreconditionFailed` (412001) when `ifMatch` is given, is not `*`, and names none of
 * the current etag. Absent or `*` always matches.
 */
export function checkIfMatch(ifMatch: string | undefined, current: string): void {
  if (ifMatch === undefined || ifMatch.trim() === '') return;
  // azure-iothub quotes every If-Match value, `*` included (`"*"`).
  const tags = ifMatch.split(',').map(normalizeEtag);
  if (tags.includes('*')) return;
  if (!tags.includes(current)) {
    throw preconditionFailed(
      `Precondition failed: the etag ${JSON.stringify(ifMatch.trim())} does not match the current etag "${current}"`,
    );
  }
}
