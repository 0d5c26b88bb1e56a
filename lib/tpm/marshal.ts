/**
 * Bounds-checked TPM 2.0 marshaling: `Writer` builds big-endian byte streams (u8/u16/u32/u64,
 * TPM2B sized buffers, nested sized structures); `Reader` takes them apart and throws `TpmError`
 * (rc 0, `MALFORMED`) naming the structure when a read would run past the end.
 */
import { TpmError } from '../errors';

/** rcName of TpmErrors about malformed data (responses, blobs) rather than a TPM response code. */
export const MALFORMED = 'MALFORMED';

export class Writer {
  private readonly chunks: Buffer[] = [];
  private length = 0;

  private push(chunk: Buffer): this {
    this.chunks.push(chunk);
    this.length += chunk.length;
    return this;
  }

  u8(value: number): this {
    const b = Buffer.alloc(1);
    b.writeUInt8(value & 0xff);
    return this.push(b);
  }

  u16(value: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(value & 0xffff);
    return this.push(b);
  }

  u32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value >>> 0);
    return this.push(b);
  }

  u64(value: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(value));
    return this.push(b);
  }

  bytes(value: Uint8Array): this {
    return this.push(Buffer.from(value));
  }

  /** A TPM2B: u16 size then the bytes. */
  tpm2b(value: Uint8Array = Buffer.alloc(0), what = 'TPM2B'): this {
    if (value.length > 0xffff) {
      throw new TpmError(what, 0, MALFORMED, `${what} of ${value.length} bytes exceeds 65535`);
    }
    return this.u16(value.length).bytes(value);
  }

  /** A sized structure: u16 size then what `build` writes. */
  sized(build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.tpm2b(inner.toBuffer());
  }

  /** A TPML: u32 count then each element. */
  list<T>(items: readonly T[], write: (w: Writer, item: T) => void): this {
    this.u32(items.length);
    for (const item of items) write(this, item);
    return this;
  }

  get size(): number {
    return this.length;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

export class Reader {
  private offset = 0;
  private readonly buf: Buffer;

  /**
   * @param structure what is being read (`TPM2B_PUBLIC`, `TPM2_ReadPublic response`), for errors.
   * @param command the TpmError's `command` (defaults to `structure`).
   */
  constructor(
    data: Uint8Array,
    readonly structure: string,
    readonly command: string = structure,
  ) {
    this.buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }

  private take(n: number, field: string): Buffer {
    if (n < 0 || this.offset + n > this.buf.length) {
      throw new TpmError(
        this.command,
        0,
        MALFORMED,
        `${this.structure} is truncated: ${field} needs ${n} bytes at offset ${this.offset}, ` +
          `${Math.max(0, this.buf.length - this.offset)} left`,
      );
    }
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u8(field = 'u8'): number {
    return this.take(1, field).readUInt8(0);
  }

  u16(field = 'u16'): number {
    return this.take(2, field).readUInt16BE(0);
  }

  u32(field = 'u32'): number {
    return this.take(4, field).readUInt32BE(0);
  }

  u64(field = 'u64'): bigint {
    return this.take(8, field).readBigUInt64BE(0);
  }

  bytes(n: number, field = 'bytes'): Buffer {
    return Buffer.from(this.take(n, field));
  }

  /** A TPM2B's contents (u16 size, then that many bytes). */
  tpm2b(field = 'TPM2B'): Buffer {
    const n = this.u16(`${field}.size`);
    return this.bytes(n, field);
  }

  /** A Reader over a TPM2B's contents (the sized structure inside). */
  sized(structure: string): Reader {
    return new Reader(this.tpm2b(structure), structure, this.command);
  }

  /** A TPML: u32 count then `count` elements; the count is bounded by the bytes left. */
  list<T>(field: string, read: (r: Reader) => T, minElementSize = 1): T[] {
    const count = this.u32(`${field}.count`);
    if (count * minElementSize > this.remaining) {
      throw new TpmError(
        this.command,
        0,
        MALFORMED,
        `${this.structure} is truncated: ${field} claims ${count} elements, ${this.remaining} bytes left`,
      );
    }
    const out: T[] = [];
    for (let i = 0; i < count; i += 1) out.push(read(this));
    return out;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  get position(): number {
    return this.offset;
  }

  /** The rest of the bytes. */
  rest(): Buffer {
    return this.bytes(this.remaining, 'rest');
  }

  /** Throws when bytes are left over (a structure longer than it should be). */
  end(): void {
    if (this.remaining !== 0) {
      throw new TpmError(
        this.command,
        0,
        MALFORMED,
        `${this.structure} has ${this.remaining} unexpected trailing bytes`,
      );
    }
  }
}
