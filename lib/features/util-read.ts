/**
 * Shared helpers of the built-in features (device info, telemetry, Windows Update): batched reads
 * with per-node sentinels, and the error for something no CSP offers on this platform.
 */
import type { CspReadValue } from '../csp/csp';
import type { Json, JsonObject } from '../dm/handler';
import type { ScopedCsp } from '../dm/scoped-csp';
import { IotDmError } from '../errors';

/** The original client's sentinels for a value that could not be read or was never set. */
export const ERROR = '<error>';
export const NOT_SET = '<not set>';
export const NOT_APPLICABLE = 'n/a';

export type ReadOutcome = { ok: true; value: CspReadValue } | { ok: false; status?: number };

/**
 * Reads every URI with `Get`, all issued in the same event-loop turn so they travel in one
 * SyncML message; a node that fails does not fail the others.
 */
export async function readAll(csp: ScopedCsp, uris: readonly string[]): Promise<ReadOutcome[]> {
  const settled = await Promise.allSettled(uris.map((uri) => csp.get(uri)));
  return settled.map((s) =>
    s.status === 'fulfilled'
      ? { ok: true, value: s.value }
      : { ok: false, status: (s.reason as { status?: unknown }).status as number | undefined },
  );
}

/**
 * Reads `nodes` (field → URI) in one message into an object of the same fields: a node the
 * device does not have (404) gives `"<not set>"`, any other failure `"<error>"`, a value
 * `convert(value, field)`.
 */
export async function readFields(
  csp: ScopedCsp,
  nodes: Readonly<Record<string, string>>,
  convert: (value: CspReadValue, field: string) => Json,
): Promise<JsonObject> {
  const entries = Object.entries(nodes);
  const outcomes = await readAll(
    csp,
    entries.map(([, uri]) => uri),
  );
  const out: JsonObject = {};
  entries.forEach(([field], i) => {
    const o = outcomes[i];
    out[field] = o?.ok ? convert(o.value, field) : o?.status === 404 ? NOT_SET : ERROR;
  });
  return out;
}

/** A read value as twin JSON (interior nodes as their `/`-joined child names). */
export function toJson(value: CspReadValue): Json {
  if (value === null) return null;
  if (Array.isArray(value)) return value.join('/');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

/** `true`/`false` from a `bool` node, which some devices answer as `0`/`1`. */
export function toBoolean(value: CspReadValue): boolean | undefined {
  if (value === true || value === 1 || value === '1' || value === 'true') return true;
  if (value === false || value === 0 || value === '0' || value === 'false') return false;
  return undefined;
}

/**
 * The first successful read with a value among `outcomes` (e.g. a policy's Result node, then
 * its Config node); `"<not set>"` when each one answered 404 or no value, `"<error>"` otherwise.
 */
export function firstValue(outcomes: readonly ReadOutcome[]): CspReadValue | string {
  for (const o of outcomes) if (o.ok && o.value !== null) return o.value;
  return outcomes.every((o) => o.ok || o.status === 404) ? NOT_SET : ERROR;
}

/** Something the device has no CSP for on this platform: reported with errCode 501. */
export class NotSupportedError extends IotDmError {
  constructor(message: string) {
    super('ERR_CSP_STATUS', message, { status: 501 });
  }
}
