/**
 * `Csp`: typed get/add/replace/delete/exec on Windows CSP nodes, with validation up front,
 * automatic batching of ops issued in the same tick, and atomic transactions.
 */
import { CspError, CspTransactionError, InvalidArgumentError, isOmaSuccess } from '../errors';
import { defaultNativeMdm } from '../native/addon-mdm';
import type {
  CspFormat,
  CspOp,
  CspResult,
  CspResultItem,
  CspVerb,
  NativeMdm,
} from '../native/contract';
import { Batcher } from './batcher';
import { parseCspUri } from './uri';
import { decodeValue, encodeValue, inferFormat, type CspValue } from './values';

export interface CspOptions {
  /** Most ops sent in one SyncML message; larger bursts are split. Default 1000. */
  maxOpsPerMessage?: number;
}

export interface WriteOptions {
  /** Meta/Format to send; inferred from the value when omitted (string→chr, number→int, ...). */
  format?: CspFormat;
  /** Meta/Type; default text/plain. */
  type?: string;
}

/** What `get` resolves with: the typed value, or child names for an interior node. */
export type CspReadValue = CspValue | string[] | null;

const FORMATS: ReadonlySet<string> = new Set(['chr', 'int', 'bool', 'b64', 'xml', 'node', 'null']);

/** Builds one validated op (shared by direct calls and transactions). */
export function buildOp(
  verb: CspVerb,
  uri: string,
  value?: CspValue,
  options: WriteOptions = {},
): CspOp {
  const parsed = parseCspUri(uri);
  if (parsed.list !== undefined && verb !== 'get') {
    throw new InvalidArgumentError('uri', `no ?list= query on ${verb}`, uri);
  }
  if (options.format !== undefined && !FORMATS.has(options.format)) {
    throw new InvalidArgumentError('options.format', [...FORMATS].join('|'), options.format);
  }
  if (options.type !== undefined && (typeof options.type !== 'string' || options.type === '')) {
    throw new InvalidArgumentError('options.type', 'a non-empty string', options.type);
  }
  const op: CspOp = { verb, uri };
  if (value === undefined || value === null) {
    if (verb === 'replace')
      throw new InvalidArgumentError('value', 'a value to replace with', value);
    if (options.format !== undefined) op.format = options.format;
  } else {
    if (verb === 'get' || verb === 'delete') {
      throw new InvalidArgumentError('value', `nothing (${verb} takes no value)`, value);
    }
    const format = options.format ?? inferFormat(value);
    op.format = format;
    op.data = encodeValue(value, format, uri);
  }
  if (options.type !== undefined) op.type = options.type;
  return op;
}

export class Csp {
  readonly #native: NativeMdm;
  readonly #batcher: Batcher;

  constructor(native: NativeMdm = defaultNativeMdm(), options: CspOptions = {}) {
    const max = options.maxOpsPerMessage ?? 1000;
    if (!Number.isInteger(max) || max < 1) {
      throw new InvalidArgumentError('maxOpsPerMessage', 'a positive integer', max);
    }
    this.#native = native;
    this.#batcher = new Batcher(native, max);
  }

  /** Reads a node: int→number, bool→boolean, b64→Buffer, chr/xml→string, interior→child names. */
  async get(uri: string): Promise<CspReadValue> {
    const result = await this.getResult(uri);
    return decodeValue(result);
  }

  /** Reads a node and resolves with the raw result (status, data, format, type, items). */
  async getResult(uri: string): Promise<CspResult> {
    return this.#run(buildOp('get', uri));
  }

  /** Reads a whole subtree with `?list=StructData`: one item per node (uri, data, format). */
  async list(uri: string): Promise<CspResultItem[]> {
    const base = parseCspUri(uri);
    const result = await this.#run(buildOp('get', `${base.path}?list=StructData`));
    return result.items;
  }

  /** Adds a node (with a value, or an interior node when `value` is omitted). */
  async add(uri: string, value?: CspValue, options?: WriteOptions): Promise<CspResult> {
    return this.#run(buildOp('add', uri, value, options));
  }

  /** Replaces a node's value. */
  async replace(uri: string, value: CspValue, options?: WriteOptions): Promise<CspResult> {
    return this.#run(buildOp('replace', uri, value, options));
  }

  /** Alias of `replace`. */
  set(uri: string, value: CspValue, options?: WriteOptions): Promise<CspResult> {
    return this.replace(uri, value, options);
  }

  /** Deletes a node and its subtree. */
  async delete(uri: string): Promise<CspResult> {
    return this.#run(buildOp('delete', uri));
  }

  /** Executes a node (e.g. ./Device/Vendor/MSFT/Reboot/RebootNow), optionally with data. */
  async exec(uri: string, value?: CspValue, options?: WriteOptions): Promise<CspResult> {
    return this.#run(buildOp('exec', uri, value, options));
  }

  /**
   * Runs `fn`, collecting the writes it makes on `tx`, then sends them as one `<Atomic>`: all
   * take effect or none does. Rejects with `CspTransactionError` (every op's status in
   * `results`) when the device rolled back. Gets are not allowed inside an Atomic. A
   * synchronous `fn` keeps its place in the queue among ops issued before and after the call.
   */
  transaction(fn: (tx: CspTransaction) => void | Promise<void>): Promise<CspResult[]> {
    const tx = new CspTransaction();
    let pending: void | Promise<void>;
    try {
      pending = fn(tx);
    } catch (err) {
      return Promise.reject(err);
    }
    // A synchronous `fn` keeps its place in the queue among ops issued around it.
    if (pending instanceof Promise) return pending.then(() => this.#commit(tx.close()));
    return this.#commit(tx.close());
  }

  async #commit(ops: CspOp[]): Promise<CspResult[]> {
    if (ops.length === 0) return [];
    const results = await this.#batcher.enqueueAtomic(ops);
    const failedAt = results.findIndex((r) => !isOmaSuccess(r.status));
    if (failedAt === -1) return results;
    const firstReal = results.findIndex((r) => !isOmaSuccess(r.status) && r.status !== 216);
    const at = firstReal === -1 ? failedAt : firstReal;
    const op = ops[at] as CspOp;
    const failed = new CspError(op.verb, op.uri, (results[at] as CspResult).status);
    throw new CspTransactionError(results, failed);
  }

  /** Sends a raw `<SyncBody>` and resolves with the device's raw answer (diagnostics). */
  async rawSyncML(body: string): Promise<string> {
    if (typeof body !== 'string' || body.trim() === '') {
      throw new InvalidArgumentError('body', 'a SyncML <SyncBody> document', body);
    }
    return this.#native.rawSyncML(body);
  }

  async #run(op: CspOp): Promise<CspResult> {
    const result = await this.#batcher.enqueue(op);
    if (!isOmaSuccess(result.status)) throw new CspError(op.verb, op.uri, result.status);
    return result;
  }
}

/** The write side of a transaction: ops are validated at once and sent when `fn` returns. */
export class CspTransaction {
  #ops: CspOp[] | undefined = [];

  add(uri: string, value?: CspValue, options?: WriteOptions): this {
    return this.#push(buildOp('add', uri, value, options));
  }
  replace(uri: string, value: CspValue, options?: WriteOptions): this {
    return this.#push(buildOp('replace', uri, value, options));
  }
  set(uri: string, value: CspValue, options?: WriteOptions): this {
    return this.replace(uri, value, options);
  }
  delete(uri: string): this {
    return this.#push(buildOp('delete', uri));
  }
  exec(uri: string, value?: CspValue, options?: WriteOptions): this {
    return this.#push(buildOp('exec', uri, value, options));
  }

  /** @internal */
  close(): CspOp[] {
    const ops = this.#ops ?? [];
    this.#ops = undefined;
    return ops;
  }

  #push(op: CspOp): this {
    if (!this.#ops)
      throw new InvalidArgumentError('transaction', 'an open transaction', 'a closed one');
    this.#ops.push(op);
    return this;
  }
}
