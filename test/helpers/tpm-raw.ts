/**
 * Raw TPM 2.0 command bytes for the channel tests (test/native/tpm.test.ts on Linux,
 * test/windows/tbs.wine.ts under wine): the exact streams a NativeTpm carries, built by hand so
 * the tests do not depend on lib/tpm's marshalling.
 */

/** TPM2_GetRandom(bytesRequested = n). */
export function getRandom(n: number): Uint8Array {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0x8001, 0);
  b.writeUInt32BE(12, 2);
  b.writeUInt32BE(0x17b, 6);
  b.writeUInt16BE(n, 10);
  return Uint8Array.from(b);
}

/** TPM2_ReadPublic(objectHandle). */
export function readPublic(handle: number): Uint8Array {
  const b = Buffer.alloc(14);
  b.writeUInt16BE(0x8001, 0);
  b.writeUInt32BE(14, 2);
  b.writeUInt32BE(0x173, 6);
  b.writeUInt32BE(handle, 10);
  return Uint8Array.from(b);
}

/** The response header: tag, size, response code. */
export function header(r: Uint8Array): { tag: number; size: number; rc: number } {
  const v = Buffer.from(r.buffer, r.byteOffset, r.byteLength);
  return { tag: v.readUInt16BE(0), size: v.readUInt32BE(2), rc: v.readUInt32BE(6) };
}
