/**
 * `ScopedCsp`: the `Csp` a feature handler gets. Every URI is checked against the handler's
 * declared node patterns before anything is queued; an op outside them rejects with
 * `CspNotAllowedError` (`ERR_CSP_NOT_ALLOWED`) and never reaches native code.
 *
 * Patterns are CSP paths whose segments may be `*` (exactly one segment) or, as the last
 * segment, `**` (any number of segments, none included). `./Vendor/MSFT/...` and
 * `./Device/Vendor/MSFT/...` name the same nodes. A `?list=` read of a subtree is allowed only
 * when the whole subtree is (the matching pattern ends in `/**`).
 */
import { CspError, CspNotAllowedError, InvalidArgumentError } from '../errors';
import type { CspResult, CspResultItem, CspVerb } from '../native/contract';
import { Csp, CspTransaction, type CspReadValue, type WriteOptions } from '../csp/csp';
import { parseCspUri } from '../csp/uri';
import { captureOp } from './op-capture';
import type { CspValue } from '../csp/values';

type Pattern = readonly string[];

function segmentsOf(path: string): string[] {
  const normalized = path.startsWith('./Vendor/') ? `./Device/${path.slice(2)}` : path;
  return normalized.split('/');
}

/** Compiles patterns once; throws on a malformed one. */
export function compilePatterns(patterns: readonly string[]): Pattern[] {
  return patterns.map((p) => {
    if (typeof p !== 'string') throw new InvalidArgumentError('nodes', 'URI patterns', p);
    const concrete = p.replace(/\/\*\*$/, '/x').replace(/\/\*(?=\/|$)/g, '/x');
    parseCspUri(concrete);
    const segs = segmentsOf(p);
    if (segs.slice(0, -1).includes('**')) {
      throw new InvalidArgumentError('nodes', '"**" only as the last segment', p);
    }
    return segs;
  });
}

function matches(pattern: Pattern, segs: readonly string[], subtree: boolean): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '**') return true;
    if (i >= segs.length) return false;
    if (p !== '*' && p !== segs[i]) return false;
  }
  return !subtree && pattern.length === segs.length;
}

/** True when `uri` (node path, optional `?list=` query) is within `patterns`. */
export function isAllowed(patterns: readonly Pattern[], uri: string): boolean {
  const parsed = parseCspUri(uri);
  const segs = segmentsOf(parsed.path);
  const subtree = parsed.list !== undefined;
  return patterns.some((p) => matches(p, segs, subtree));
}

export class ScopedCsp {
  readonly section: string;
  readonly #csp: Csp;
  readonly #patterns: Pattern[];

  constructor(csp: Csp, section: string, patterns: readonly string[]) {
    this.#csp = csp;
    this.section = section;
    this.#patterns = compilePatterns(patterns);
  }

  /** Throws `CspNotAllowedError` unless `uri` is within the declared nodes. */
  check(verb: CspVerb, uri: string): void {
    if (!isAllowed(this.#patterns, uri)) throw new CspNotAllowedError(this.section, verb, uri);
    captureOp(this.section, verb, uri);
  }

  get(uri: string): Promise<CspReadValue> {
    return this.#guard('get', uri, () => this.#csp.get(uri));
  }
  getResult(uri: string): Promise<CspResult> {
    return this.#guard('get', uri, () => this.#csp.getResult(uri));
  }
  list(uri: string): Promise<CspResultItem[]> {
    const path = parseCspUri(uri).path;
    return this.#guard('get', `${path}?list=StructData`, () => this.#csp.list(uri));
  }
  add(uri: string, value?: CspValue, options?: WriteOptions): Promise<CspResult> {
    return this.#guard('add', uri, () => this.#csp.add(uri, value, options));
  }
  replace(uri: string, value: CspValue, options?: WriteOptions): Promise<CspResult> {
    return this.#guard('replace', uri, () => this.#csp.replace(uri, value, options));
  }
  set(uri: string, value: CspValue, options?: WriteOptions): Promise<CspResult> {
    return this.replace(uri, value, options);
  }
  /**
   * Sets a leaf whether or not it exists yet: Replace, then Add when the node is absent (404).
   * Many CSP leaves (Personalization, Policy) have no value until first written.
   */
  async put(uri: string, value: CspValue, options?: WriteOptions): Promise<CspResult> {
    try {
      return await this.replace(uri, value, options);
    } catch (err) {
      if (err instanceof CspError && err.status === 404) return this.add(uri, value, options);
      throw err;
    }
  }
  delete(uri: string): Promise<CspResult> {
    return this.#guard('delete', uri, () => this.#csp.delete(uri));
  }
  exec(uri: string, value?: CspValue, options?: WriteOptions): Promise<CspResult> {
    return this.#guard('exec', uri, () => this.#csp.exec(uri, value, options));
  }

  /** An atomic transaction whose every op is checked as it is added. */
  transaction(fn: (tx: ScopedTransaction) => void | Promise<void>): Promise<CspResult[]> {
    return this.#csp.transaction((tx) => fn(new ScopedTransaction(tx, this)));
  }

  #guard<T>(verb: CspVerb, uri: string, run: () => Promise<T>): Promise<T> {
    try {
      this.check(verb, uri);
    } catch (err) {
      return Promise.reject(err);
    }
    return run();
  }
}

/** The write side of a scoped transaction. */
export class ScopedTransaction {
  readonly #tx: CspTransaction;
  readonly #scope: ScopedCsp;
  constructor(tx: CspTransaction, scope: ScopedCsp) {
    this.#tx = tx;
    this.#scope = scope;
  }
  add(uri: string, value?: CspValue, options?: WriteOptions): this {
    this.#scope.check('add', uri);
    this.#tx.add(uri, value, options);
    return this;
  }
  replace(uri: string, value: CspValue, options?: WriteOptions): this {
    this.#scope.check('replace', uri);
    this.#tx.replace(uri, value, options);
    return this;
  }
  set(uri: string, value: CspValue, options?: WriteOptions): this {
    return this.replace(uri, value, options);
  }
  delete(uri: string): this {
    this.#scope.check('delete', uri);
    this.#tx.delete(uri);
    return this;
  }
  exec(uri: string, value?: CspValue, options?: WriteOptions): this {
    this.#scope.check('exec', uri);
    this.#tx.exec(uri, value, options);
    return this;
  }
}
