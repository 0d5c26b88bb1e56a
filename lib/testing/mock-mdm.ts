/**
 * `MockMdm`: an instance-based stand-in for the native MDM layer, for unit tests of TS logic.
 * It keeps an in-memory node tree with OMA-DM semantics (200/404/405/415/418, Atomic with
 * 507/216), records every call, and injects faults: a status per URI, delays, thrown errors.
 */
import type { ApplyOptions, CspOp, CspResult, CspResultItem, NativeMdm } from '../native/contract';
import { MockTree, normalizePath, type MockNode, type MockNodeSpec } from './mock-tree';

export type { MockNodeSpec } from './mock-tree';

/** A scripted answer for a URI: a status, a full result, or a function of the op. */
export type MockResponse =
  | number
  | (Omit<CspResult, 'items'> & { items?: CspResultItem[] })
  | ((op: CspOp) => number | CspResult);

export interface MockMdmOptions {
  /** Nodes to start with, by URI. */
  nodes?: Record<string, MockNodeSpec>;
}

export interface MockCall {
  ops: CspOp[];
  atomic: boolean;
}

export class MockMdm implements NativeMdm {
  /** Every `apply` call, in order, with the ops as sent. */
  readonly calls: MockCall[] = [];
  /** Every `rawSyncML` body, in order. */
  readonly rawCalls: string[] = [];
  /** Exec commands that took effect (uri and data), in order. */
  readonly execLog: Array<{ uri: string; data?: string }> = [];

  readonly #tree = new MockTree();
  readonly #initial: Record<string, MockNodeSpec>;
  #responses = new Map<string, { response: MockResponse; once: boolean }>();
  #delayMs = 0;
  #throwQueue: unknown[] = [];
  #raw: string | ((body: string) => string) = '<SyncML><SyncBody><Final/></SyncBody></SyncML>';

  constructor(options: MockMdmOptions = {}) {
    this.#initial = { ...(options.nodes ?? {}) };
    this.reset();
  }

  /** Back to the initial nodes; clears calls, scripts and faults. */
  reset(): this {
    this.#tree.clear();
    for (const [uri, spec] of Object.entries(this.#initial)) this.#tree.set(uri, spec);
    this.calls.length = 0;
    this.rawCalls.length = 0;
    this.execLog.length = 0;
    this.#responses.clear();
    this.#delayMs = 0;
    this.#throwQueue = [];
    return this;
  }

  /** Creates or overwrites a node. */
  setNode(uri: string, spec: MockNodeSpec): this {
    this.#tree.set(uri, spec);
    return this;
  }

  /** The node at `uri` (format, access, value), or undefined. */
  node(uri: string): MockNode | undefined {
    return this.#tree.get(uri);
  }

  /** Answers every op on `uri` (query ignored) with `response` instead of the tree. */
  respond(uri: string, response: MockResponse): this {
    this.#responses.set(normalizePath(uri.split('?')[0] as string), { response, once: false });
    return this;
  }

  /** Like `respond`, for the next op on `uri` only. */
  respondOnce(uri: string, response: MockResponse): this {
    this.#responses.set(normalizePath(uri.split('?')[0] as string), { response, once: true });
    return this;
  }

  /** Every later call waits `ms` before answering. */
  delay(ms: number): this {
    this.#delayMs = ms;
    return this;
  }

  /** The next call (apply or rawSyncML) rejects with `err` (e.g. an `MdmUnavailableError`). */
  throwNext(err: unknown): this {
    this.#throwQueue.push(err);
    return this;
  }

  /** What `rawSyncML` answers: fixed text or a function of the body. */
  setRawResponse(response: string | ((body: string) => string)): this {
    this.#raw = response;
    return this;
  }

  /** All ops sent so far, flattened. */
  get sentOps(): CspOp[] {
    return this.calls.flatMap((c) => c.ops);
  }

  async apply(ops: readonly CspOp[], options: ApplyOptions = {}): Promise<CspResult[]> {
    const atomic = options.atomic === true;
    this.calls.push({ ops: ops.map((op) => ({ ...op })), atomic });
    await this.#preamble();
    if (!atomic) return ops.map((op) => this.#perform(op, false));
    const snapshot = this.#tree.clone();
    const execMark = this.execLog.length;
    const results = ops.map((op) => this.#perform(op, true));
    if (results.every((r) => r.status >= 200 && r.status < 300)) return results;
    this.#tree.restore(snapshot);
    this.execLog.length = execMark;
    return results.map((r) => (r.status >= 200 && r.status < 300 ? { status: 216, items: [] } : r));
  }

  async rawSyncML(body: string): Promise<string> {
    this.rawCalls.push(body);
    await this.#preamble();
    return typeof this.#raw === 'function' ? this.#raw(body) : this.#raw;
  }

  async #preamble(): Promise<void> {
    if (this.#delayMs > 0) await new Promise((r) => setTimeout(r, this.#delayMs));
    if (this.#throwQueue.length > 0) throw this.#throwQueue.shift();
  }

  #perform(op: CspOp, inAtomic: boolean): CspResult {
    const [rawPath, query] = op.uri.split('?') as [string, string | undefined];
    const path = normalizePath(rawPath);
    const scripted = this.#responses.get(path);
    if (scripted) {
      if (scripted.once) this.#responses.delete(path);
      return toResult(
        typeof scripted.response === 'function' ? scripted.response(op) : scripted.response,
      );
    }
    if (inAtomic && op.verb === 'get') return status(500);
    const node = this.#tree.get(path);
    switch (op.verb) {
      case 'get': {
        if (!node) return status(404);
        if (!node.access.has('get')) return status(405);
        if (query !== undefined) return this.#list(path);
        return { status: 200, items: [this.#item(op.uri, path, node)], ...this.#flat(path, node) };
      }
      case 'add': {
        if (node) return status(418);
        const bad = checkData(op);
        if (bad) return status(bad);
        this.#tree.set(
          path,
          op.data === undefined
            ? { format: op.format ?? 'node' }
            : { value: op.data, format: op.format ?? 'chr' },
        );
        return status(200);
      }
      case 'replace': {
        if (!node) return status(404);
        if (!node.access.has('replace')) return status(405);
        const bad = checkData(op, node);
        if (bad) return status(bad);
        this.#tree.set(path, {
          value: op.data ?? '',
          format: node.format,
          access: [...node.access],
        });
        return status(200);
      }
      case 'delete':
        if (!node) return status(404);
        if (!node.access.has('delete')) return status(405);
        this.#tree.delete(path);
        return status(200);
      case 'exec': {
        if (!node) return status(404);
        if (!node.access.has('exec')) return status(405);
        this.execLog.push(op.data === undefined ? { uri: op.uri } : { uri: op.uri, data: op.data });
        return status(200);
      }
    }
  }

  #flat(path: string, node: MockNode): Pick<CspResult, 'data' | 'format'> {
    const data = node.format === 'node' ? this.#tree.children(path).join('/') : node.value;
    return data === undefined ? { format: node.format } : { data, format: node.format };
  }

  #item(uri: string, path: string, node: MockNode): CspResultItem {
    return { uri: uri.split('?')[0] as string, ...this.#flat(path, node) };
  }

  #list(path: string): CspResult {
    const items = this.#tree.subtree(path).map(([p, n]) => this.#item(p, p, n));
    return { status: 200, items };
  }
}

function status(code: number): CspResult {
  return { status: code, items: [] };
}

function toResult(
  r: number | CspResult | (Omit<CspResult, 'items'> & { items?: CspResultItem[] }),
): CspResult {
  if (typeof r === 'number') return status(r);
  return { ...r, items: r.items ?? [] };
}

/** 415 when the data does not fit the format sent or the node's format. */
function checkData(op: CspOp, node?: MockNode): number | undefined {
  const format = op.format ?? node?.format ?? 'chr';
  if (node && op.format !== undefined && op.format !== node.format) return 415;
  const data = op.data;
  if (data === undefined) return undefined;
  if (format === 'int' && !/^-?\d+$/.test(data)) return 415;
  if (format === 'bool' && data !== 'true' && data !== 'false') return 415;
  if (format === 'b64' && (!/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 !== 0))
    return 415;
  return undefined;
}
