/**
 * Runs a query over twins with IoT Hub's paging: `x-ms-max-item-count` (page size, default 100,
 * at most 1000 — "a page size (up to 1000)", learn.microsoft.com `iot-hub-devguide-query-language`)
 * and an opaque `x-ms-continuation` token. Our token is `base64url(payload).base64url(HMAC)`:
 * the payload holds the offset and a hash of the query text, the HMAC-SHA256 uses a per-hub secret
 * (kept in the store's meta table), so a token altered, forged or replayed with another query is
 * rejected with 400004 `ArgumentInvalid`. `FROM devices.jobs` runs over the jobs' per-device rows
 * (`lib/hub/jobs/device-jobs.ts`). Rows are the twins' service view (`SELECT *`, what
 * `azure-iothub`'s `Query.nextAsTwin()` turns into `Twin` objects) or plain projected objects.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HubCore } from '../core';
import type { ServiceTwin } from '../twin/service-view';
import { listDeviceJobs } from '../jobs/device-jobs';
import { QueryError } from './errors';
import { matches, project } from './evaluate';
import { parseCondition, parseQuery, type Query } from './parser';

export const QUERY_PAGE_SIZE = { default: 100, max: 1000 } as const;

/** Store meta key of the per-hub secret that signs continuation tokens. */
export const QUERY_SECRET_META_KEY = 'querySecret';

export interface RunQueryOptions {
  /** Page size (`x-ms-max-item-count`): 1..1000, default 100. */
  pageSize?: number;
  /** `x-ms-continuation` from the previous page. */
  continuationToken?: string;
  /** Secret signing the tokens; default: the hub's (with a core) or one per process. */
  secret?: Buffer | string;
}

export interface QueryPage {
  items: unknown[];
  /** Present when more rows follow (`x-ms-continuation`). */
  continuationToken?: string;
}

/** Where twins come from: a `HubCore` (its `listTwins()`) or any iterable of service views. */
export type TwinSource = Pick<HubCore, 'listTwins' | 'store'> | Iterable<ServiceTwin>;

let processSecret: Buffer | undefined;

function isCore(s: TwinSource): s is Pick<HubCore, 'listTwins' | 'store'> {
  return typeof (s as Partial<HubCore>).listTwins === 'function';
}

function secretOf(source: TwinSource, explicit: Buffer | string | undefined): Buffer {
  if (explicit !== undefined) return Buffer.from(explicit);
  if (isCore(source)) {
    let s = source.store.getMeta<string>(QUERY_SECRET_META_KEY);
    if (!s) {
      s = randomBytes(32).toString('base64');
      source.store.setMeta(QUERY_SECRET_META_KEY, s);
    }
    return Buffer.from(s, 'base64');
  }
  processSecret ??= randomBytes(32);
  return processSecret;
}

const queryHash = (sql: string): string =>
  createHash('sha256').update(sql, 'utf8').digest().subarray(0, 16).toString('base64url');

const mac = (secret: Buffer, payload: string): Buffer =>
  createHmac('sha256', secret).update(payload).digest();

export function makeContinuationToken(secret: Buffer, sql: string, offset: number): string {
  const payload = Buffer.from(JSON.stringify({ o: offset, q: queryHash(sql) })).toString(
    'base64url',
  );
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** The offset a token stands for; 400004 when it is not ours, altered, or for another query. */
export function readContinuationToken(secret: Buffer, sql: string, token: string): number {
  const bad = (why: string): QueryError => new QueryError(`Invalid continuation token: ${why}`);
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw bad('malformed');
  const [payload, sig] = parts as [string, string];
  const want = mac(secret, payload);
  const got = Buffer.from(sig, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw bad('signature mismatch');
  let body: { o?: unknown; q?: unknown };
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof body;
  } catch {
    throw bad('malformed');
  }
  if (body.q !== queryHash(sql)) throw bad('issued for another query');
  if (typeof body.o !== 'number' || !Number.isSafeInteger(body.o) || body.o < 0) {
    throw bad('malformed');
  }
  return body.o;
}

function pageSizeOf(n: number | undefined): number {
  if (n === undefined) return QUERY_PAGE_SIZE.default;
  if (!Number.isInteger(n) || n < 1 || n > QUERY_PAGE_SIZE.max) {
    throw new QueryError(
      `Invalid page size ${String(n)}: x-ms-max-item-count must be an integer from 1 to ${QUERY_PAGE_SIZE.max}`,
    );
  }
  return n;
}

function* filtered(q: Query, twins: Iterable<unknown>): Generator<unknown> {
  let n = 0;
  for (const t of twins) {
    if (q.top !== undefined && n >= q.top) return;
    if (matches(q.where, t)) {
      n++;
      yield t;
    }
  }
}

/**
 * Runs `sql` over the twins and returns one page. `COUNT()` queries answer a single row.
 * Errors are `QueryError`s (HubError 400004 `ArgumentInvalid`, with `position` for syntax).
 */
export function runQuery(
  source: TwinSource,
  sql: string,
  options: RunQueryOptions = {},
): QueryPage {
  const q = parseQuery(sql);
  const pageSize = pageSizeOf(options.pageSize);
  const secret = secretOf(source, options.secret);
  const start =
    options.continuationToken !== undefined && options.continuationToken !== ''
      ? readContinuationToken(secret, sql, options.continuationToken)
      : 0;
  const twins: Iterable<unknown> =
    q.from === 'devices.jobs'
      ? deviceJobRows(source)
      : isCore(source)
        ? source.listTwins()
        : source;
  if (q.selection.kind === 'count') {
    if (start > 0) return { items: [] };
    let n = 0;
    const it = filtered(q, twins);
    while (!it.next().done) n++;
    return { items: [{ [q.selection.name]: n }] };
  }
  const items: unknown[] = [];
  let i = 0;
  let more = false;
  for (const t of filtered(q, twins)) {
    if (i++ < start) continue;
    if (items.length === pageSize) {
      more = true;
      break;
    }
    items.push(project(q, t));
  }
  return more
    ? { items, continuationToken: makeContinuationToken(secret, sql, start + pageSize) }
    : { items };
}

/** The rows of `FROM devices.jobs`: the hub's per-device job records (none without a hub). */
function deviceJobRows(source: TwinSource): unknown[] {
  if (!isCore(source)) return [];
  const engine = (source as Partial<Pick<HubCore, 'jobs'>>).jobs;
  return engine ? engine.allDeviceJobs() : listDeviceJobs(source.store);
}

/** Compiles a WHERE condition (a job's `queryCondition`) into a predicate over twins. */
export function compileCondition(condition: string): (twin: unknown) => boolean {
  const e = parseCondition(condition);
  return (twin) => matches(e, twin);
}
