/**
 * The wire protocol between `connectService()` and `iotdm service run`: frames of a u32
 * big-endian length followed by that many bytes of UTF-8 JSON. The first frame each way is the
 * handshake (`hello` / `welcome`); then requests (`req`, each with a client-chosen id, any number
 * in flight) and responses (`res`, same id, in completion order). See docs/service.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApplyOptions, CspOp, CspResult } from '../native/contract';
import { packageRoot } from '../native/package-root';

/** Bumped on any incompatible change of the messages below. */
export const PROTOCOL_VERSION = 1;
/** Default largest request frame the service accepts (bytes of JSON). */
export const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024;
/** Largest response frame the client accepts (a StructData listing can be large). */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const HEADER_BYTES = 4;

/** The operations the service performs: the native contract, one name per method. */
export const SERVICE_OPS = [
  'mdm.apply',
  'mdm.rawSyncML',
  'system.getTimeZone',
  'system.setTimeZone',
  'system.bootTime',
  'system.getService',
  'system.setService',
  'system.appLifecycle',
  'tpm.submit',
  'tpm.info',
] as const;
export type ServiceOp = (typeof SERVICE_OPS)[number];

export interface HelloMessage {
  t: 'hello';
  protocol: number;
  packageVersion: string;
  /** Random per client object, stable across its reconnects (keys the result cache). */
  clientId: string;
}

export interface WelcomeMessage {
  t: 'welcome';
  protocol: number;
  packageVersion: string;
  /** Random per service start: a client retrying after a drop tells it which instance it used. */
  instance: string;
}

export interface RequestMessage {
  t: 'req';
  id: number;
  op: ServiceOp;
  args: unknown[];
  /** Set on a re-send after a reconnect: the service instance the first send went to. */
  retryOf?: string;
}

/** An error as it travels: the IotDmError's class, code and fields (never a stack). */
export interface WireError {
  name: string;
  code: string;
  message: string;
  status?: number;
  hresult?: number;
  [field: string]: unknown;
}

/** How a request ended: a value, or the error the service raised. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: WireError };

export type ResponseMessage = { t: 'res'; id: number } & Outcome;

/** Sent before the service closes a connection for a protocol or limit violation. */
export interface FatalMessage {
  t: 'fatal';
  error: WireError;
}

export type ClientMessage = HelloMessage | RequestMessage;
export type ServerMessage = WelcomeMessage | ResponseMessage | FatalMessage;

/** The arguments of `mdm.apply`. */
export type ApplyArgs = [ops: CspOp[], options?: ApplyOptions];
export type ApplyValue = CspResult[];

/** One frame: header + JSON. */
export function encodeFrame(message: unknown): Buffer {
  const json = JSON.stringify(message);
  // One buffer, the JSON encoded straight into it (no intermediate body buffer and copy).
  const frame = Buffer.allocUnsafe(HEADER_BYTES + Buffer.byteLength(json, 'utf8'));
  const length = frame.write(json, HEADER_BYTES, 'utf8');
  frame.writeUInt32BE(length, 0);
  return frame;
}

export type FrameEvent =
  | { kind: 'message'; value: unknown }
  | { kind: 'oversized'; length: number }
  | { kind: 'malformed'; reason: string };

/**
 * Splits a byte stream into frames. `push` returns the complete frames' events; after an
 * `oversized` or `malformed` event the stream is unusable (the caller closes it).
 */
export class FrameDecoder {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #failed = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes of an incomplete frame held (0 between frames). */
  get pending(): number {
    return this.#buffered;
  }

  push(chunk: Buffer): FrameEvent[] {
    if (this.#failed) return [];
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const events: FrameEvent[] = [];
    while (this.#buffered >= HEADER_BYTES) {
      const head = this.#peek(HEADER_BYTES);
      const length = head.readUInt32BE(0);
      if (length > this.#maxBytes) {
        this.#failed = true;
        events.push({ kind: 'oversized', length });
        return events;
      }
      if (this.#buffered < HEADER_BYTES + length) break;
      const frame = this.#take(HEADER_BYTES + length).subarray(HEADER_BYTES);
      let value: unknown;
      try {
        value = JSON.parse(frame.toString('utf8'));
      } catch {
        this.#failed = true;
        events.push({ kind: 'malformed', reason: 'a frame is not JSON' });
        return events;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        this.#failed = true;
        events.push({ kind: 'malformed', reason: 'a frame is not a JSON object' });
        return events;
      }
      events.push({ kind: 'message', value });
    }
    return events;
  }

  #peek(n: number): Buffer {
    if (this.#chunks[0]!.length < n) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0]!.subarray(0, n);
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return out;
  }
}

let version: string | undefined;

/** The package version both sides report in the handshake. */
export function packageVersion(): string {
  if (version !== undefined) return version;
  try {
    const manifest = join(packageRoot(), 'package.json');
    version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    version = '0.0.0';
  }
  return version;
}
