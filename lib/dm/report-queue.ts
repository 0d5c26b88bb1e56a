/**
 * The reported-properties queue. Every report goes through it, in order:
 * - patches queued while a send is in flight or while the connection is down are merged into
 *   the newest queued patch when that keeps the meaning (a key deleted with `null` and then set
 *   again stays two patches, since one merge patch cannot say "replace");
 * - a patch over the byte budget (IoT Hub: 32 KB of reported properties) is split along its
 *   keys into several patches; a single value that is still too large is replaced by what
 *   `onOversize` gives (an error status), never dropped silently;
 * - throttling (429) and transient failures are retried with exponential backoff and jitter;
 *   while disconnected the queue waits for `setConnected(true)`, but never only for it: every
 *   `offlineProbeMs` it tries a send anyway (the SDK connects on demand), so a missed `connect`
 *   event cannot hold the patches for ever; a send that goes through marks the queue connected
 *   again and calls `onReconnected`;
 * - a permanent failure rejects the callers of the patch and calls `onFailed`.
 */
import { ReportError } from '../errors';
import type { Json, JsonObject } from './handler';
import { errorFields, type Logger } from './logger';

export const REPORTED_BUDGET_BYTES = 32 * 1024;

export interface ReportQueueOptions {
  send(patch: JsonObject): Promise<void>;
  log: Logger;
  /** Largest patch sent, in bytes of JSON. Default 32 KB. */
  budgetBytes?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Replacement for a value at `path` that alone is over budget. */
  onOversize?(path: readonly string[], bytes: number): Json;
  /** A patch could not be delivered (permanent failure). */
  onFailed?(err: ReportError, patch: JsonObject): void;
  /**
   * While disconnected, how long to wait for `setConnected(true)` before trying a send anyway
   * (ms); default 10 000.
   */
  offlineProbeMs?: number;
  /** A send went through while the queue was marked disconnected (the connection is back). */
  onReconnected?(): void;
}

export const OFFLINE_PROBE_MS = 10_000;

interface Entry {
  patch: JsonObject;
  waiters: Array<{ resolve(): void; reject(err: unknown): void }>;
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingError',
  'NotConnectedError',
  'TimeoutError',
  'ServiceUnavailableError',
  'InternalServerError',
  'DeviceTimeoutError',
  'IotHubQuotaExceededError',
  'OperationCancelledError',
]);

/** True for failures worth retrying: throttling, timeouts, connection loss, 5xx. */
export function isTransient(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as {
    name?: unknown;
    code?: unknown;
    statusCode?: unknown;
    response?: { statusCode?: unknown };
  };
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  const status =
    typeof e.statusCode === 'number'
      ? e.statusCode
      : typeof e.response?.statusCode === 'number'
        ? e.response.statusCode
        : undefined;
  if (status !== undefined) return status === 429 || status >= 500;
  return (
    typeof e.code === 'string' &&
    /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN)$/.test(e.code)
  );
}

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T extends Json>(v: T): T {
  return (isPlainObject(v) || Array.isArray(v) ? structuredClone(v) : v) as T;
}

/** False when applying `b` after `a` cannot be written as one merge patch. */
export function canMerge(a: JsonObject, b: JsonObject): boolean {
  for (const [k, bv] of Object.entries(b)) {
    const av = a[k];
    if (av === null && isPlainObject(bv)) return false;
    if (isPlainObject(av) && isPlainObject(bv) && !canMerge(av, bv)) return false;
  }
  return true;
}

/** Merges `b` into `a` (both merge patches; `a` is modified). */
export function mergeInto(a: JsonObject, b: JsonObject): JsonObject {
  for (const [k, bv] of Object.entries(b)) {
    const av = a[k];
    if (isPlainObject(av) && isPlainObject(bv)) mergeInto(av, bv);
    else a[k] = clone(bv);
  }
  return a;
}

function wrap(path: readonly string[], value: Json): JsonObject {
  let out: Json = value;
  for (let i = path.length - 1; i >= 0; i--) out = { [path[i] as string]: out };
  return out as JsonObject;
}

function bytesOf(v: Json): number {
  return Buffer.byteLength(JSON.stringify(v), 'utf8');
}

/**
 * Splits `patch` into patches of at most `budget` bytes each, in key order. Values that alone
 * exceed the budget are replaced with `oversize(path, bytes)`.
 */
export function splitPatch(
  patch: JsonObject,
  budget: number,
  oversize: (path: readonly string[], bytes: number) => Json,
): JsonObject[] {
  if (bytesOf(patch) <= budget) return [patch];
  const out: JsonObject[] = [];
  const visit = (path: string[], value: JsonObject): void => {
    let chunk: JsonObject = {};
    let chunkKeys = 0;
    const flush = (): void => {
      if (chunkKeys > 0) out.push(wrap(path, chunk));
      chunk = {};
      chunkKeys = 0;
    };
    for (const [k, v] of Object.entries(value)) {
      const alone = bytesOf(wrap([...path, k], v));
      if (alone > budget) {
        flush();
        if (isPlainObject(v) && Object.keys(v).length > 0) visit([...path, k], v);
        else out.push(wrap([...path, k], oversize([...path, k], alone)));
        continue;
      }
      chunk[k] = v;
      chunkKeys++;
      if (bytesOf(wrap(path, chunk)) > budget) {
        delete chunk[k];
        chunkKeys--;
        flush();
        chunk[k] = v;
        chunkKeys = 1;
      }
    }
    flush();
  };
  visit([], patch);
  return out;
}

export class ReportQueue {
  readonly #opts: Required<Omit<ReportQueueOptions, 'onFailed' | 'onReconnected'>> &
    Pick<ReportQueueOptions, 'onFailed' | 'onReconnected'>;
  readonly #entries: Entry[] = [];
  #inFlight: Entry | undefined;
  #connected = true;
  #closed = false;
  #wake: (() => void) | undefined;
  #pumping: Promise<void> | undefined;
  #idleWaiters: Array<() => void> = [];
  /** The "held while offline" line was logged for this offline period. */
  #offlineLogged = false;

  constructor(options: ReportQueueOptions) {
    this.#opts = {
      budgetBytes: REPORTED_BUDGET_BYTES,
      initialDelayMs: 500,
      maxDelayMs: 30_000,
      offlineProbeMs: OFFLINE_PROBE_MS,
      onOversize: (path, bytes) => ({
        error: `reported value at ${path.join('.')} is ${bytes} bytes, over the ${REPORTED_BUDGET_BYTES}-byte budget`,
      }),
      ...options,
    };
  }

  /** Patches waiting (not counting one in flight). */
  get length(): number {
    return this.#entries.length;
  }

  /** Queues a patch; resolves once it (or a merged patch containing it) was delivered. */
  push(patch: JsonObject): Promise<void> {
    if (this.#closed) return Promise.reject(new ReportError('the report queue is closed'));
    return new Promise<void>((resolve, reject) => {
      const last = this.#entries[this.#entries.length - 1];
      if (last && canMerge(last.patch, patch)) {
        mergeInto(last.patch, patch);
        last.waiters.push({ resolve, reject });
      } else {
        this.#entries.push({ patch: structuredClone(patch), waiters: [{ resolve, reject }] });
      }
      this.#kick();
    });
  }

  /** Pauses sending while disconnected; resumes (and retries at once) when connected. */
  setConnected(connected: boolean): void {
    this.#connected = connected;
    if (connected) {
      this.#offlineLogged = false;
      this.#wakeUp();
    }
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.#inFlight && this.#entries.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops sending; queued patches are rejected. */
  close(): void {
    this.#closed = true;
    const err = new ReportError('the report queue was closed before the patch was sent');
    for (const e of this.#entries.splice(0)) for (const w of e.waiters) w.reject(err);
    this.#wakeUp();
    this.#notifyIdle();
  }

  #kick(): void {
    if (!this.#pumping) {
      this.#pumping = this.#pump().finally(() => {
        this.#pumping = undefined;
        if (this.#entries.length > 0 && !this.#closed) this.#kick();
      });
    }
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #sleep(ms: number, unref = false): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wakeUp(), ms);
      if (unref) timer.unref?.();
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Offline: waits for `setConnected(true)`, at most `offlineProbeMs`; the caller then tries a
   * send either way. Waiting for the `connect` event alone could wait for ever: the SDK may be
   * connected again without saying so (e.g. a `disconnect` it emits after its own reconnect).
   */
  async #waitOnline(): Promise<void> {
    if (!this.#offlineLogged) {
      this.#offlineLogged = true;
      this.#opts.log.info(
        {
          queued: this.#entries.length + (this.#inFlight ? 1 : 0),
          probeInMs: this.#opts.offlineProbeMs,
        },
        'reported patches held while disconnected (a send is tried every probeInMs)',
      );
    }
    // Unref'd: a host that exits while offline is not held by the probe.
    await this.#sleep(this.#opts.offlineProbeMs, true);
  }

  /** A send started while marked offline went through: the connection is back. */
  #markOnline(): void {
    if (this.#connected) return;
    this.#connected = true;
    this.#offlineLogged = false;
    this.#opts.log.info('a reported patch went through while marked disconnected: connected');
    this.#opts.onReconnected?.();
  }

  #notifyIdle(): void {
    if (this.#inFlight || this.#entries.length > 0) return;
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  async #pump(): Promise<void> {
    while (!this.#closed && this.#entries.length > 0) {
      if (!this.#connected) {
        // Offline: leave patches queued, so that later ones merge into them, until the
        // connection is back or the probe interval has passed (then the first one is tried).
        await this.#waitOnline();
        if (this.#closed || this.#entries.length === 0) continue;
      }
      const entry = this.#entries.shift() as Entry;
      this.#inFlight = entry;
      try {
        const parts = splitPatch(entry.patch, this.#opts.budgetBytes, this.#opts.onOversize);
        if (parts.length > 1) {
          this.#opts.log.warn({ parts: parts.length }, 'reported patch over budget: split');
        }
        for (const part of parts) await this.#deliver(part);
        for (const w of entry.waiters) w.resolve();
      } catch (err) {
        const failure =
          err instanceof ReportError
            ? err
            : new ReportError(
                `reported properties update failed: ${(err as Error)?.message ?? String(err)}`,
                err,
              );
        this.#opts.log.error(
          errorFields(failure),
          'reported patch dropped after a permanent failure',
        );
        this.#opts.onFailed?.(failure, entry.patch);
        for (const w of entry.waiters) w.reject(failure);
      } finally {
        this.#inFlight = undefined;
      }
    }
    this.#notifyIdle();
  }

  async #deliver(patch: JsonObject): Promise<void> {
    let delay = this.#opts.initialDelayMs;
    // The pump has just waited for the connection (or for the probe interval): try at once.
    let waited = true;
    for (;;) {
      if (!this.#connected && !waited) await this.#waitOnline();
      waited = false;
      if (this.#closed)
        throw new ReportError('the report queue was closed before the patch was sent');
      // Only a send started while marked offline proves the connection is back (one started
      // before a drop may still be answered after the `disconnect` event).
      const probing = !this.#connected;
      try {
        await this.#opts.send(patch);
        if (probing) this.#markOnline();
        return;
      } catch (err) {
        if (!isTransient(err)) throw err;
        const wait = Math.round(delay * (0.5 + Math.random() / 2));
        this.#opts.log.warn(
          { ...errorFields(err), retryInMs: wait },
          'reported patch: transient failure, retrying',
        );
        await this.#sleep(wait);
        delay = Math.min(delay * 2, this.#opts.maxDelayMs);
      }
    }
  }
}
