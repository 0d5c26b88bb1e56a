/**
 * The mock's in-memory OMA-DM tree: nodes by normalized path, each with a format, an access set
 * and a value. Interior nodes are implicit parents or explicit `node`-format entries.
 */
import type { CspFormat, CspVerb } from '../native/contract';

export interface MockNode {
  format: CspFormat;
  access: ReadonlySet<CspVerb>;
  value?: string;
}

export interface MockNodeSpec {
  /** The node's value as SyncML text (numbers and booleans are stringified). */
  value?: string | number | boolean;
  /** Default: `chr` with a value, `node` without one. */
  format?: CspFormat;
  /** Default: get/add/replace/delete (plus exec for `null`-format nodes). */
  access?: readonly CspVerb[];
}

const DEFAULT_ACCESS: readonly CspVerb[] = ['get', 'add', 'replace', 'delete'];

/** `./Vendor/MSFT/...` is Windows' alias of `./Device/Vendor/MSFT/...`. */
export function normalizePath(path: string): string {
  return path.startsWith('./Vendor/') ? './Device' + path.slice(1) : path;
}

export class MockTree {
  #nodes = new Map<string, MockNode>();

  clone(): MockTree {
    const copy = new MockTree();
    copy.#nodes = new Map(this.#nodes);
    return copy;
  }

  restore(from: MockTree): void {
    this.#nodes = new Map(from.#nodes);
  }

  clear(): void {
    this.#nodes.clear();
  }

  set(path: string, spec: MockNodeSpec): void {
    const key = normalizePath(path);
    const format = spec.format ?? (spec.value === undefined ? 'node' : 'chr');
    const access = new Set<CspVerb>(
      spec.access ?? (format === 'null' ? [...DEFAULT_ACCESS, 'exec'] : DEFAULT_ACCESS),
    );
    const node: MockNode = { format, access };
    if (spec.value !== undefined) node.value = String(spec.value);
    this.#ensureParents(key);
    this.#nodes.set(key, node);
  }

  get(path: string): MockNode | undefined {
    const key = normalizePath(path);
    return this.#nodes.get(key) ?? (this.#hasChildren(key) ? implicitInterior() : undefined);
  }

  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  /** Direct child names of an interior node, in insertion order. */
  children(path: string): string[] {
    const prefix = normalizePath(path) + '/';
    const names = new Set<string>();
    for (const key of this.#nodes.keys()) {
      if (key.startsWith(prefix)) names.add(key.slice(prefix.length).split('/')[0] as string);
    }
    return [...names];
  }

  /** The node and every descendant, parents first. */
  subtree(path: string): Array<[string, MockNode]> {
    const key = normalizePath(path);
    const self = this.get(key);
    if (!self) return [];
    const out: Array<[string, MockNode]> = [[key, self]];
    for (const [k, node] of this.#nodes) if (k.startsWith(key + '/')) out.push([k, node]);
    return out;
  }

  delete(path: string): void {
    const key = normalizePath(path);
    for (const k of [...this.#nodes.keys()])
      if (k === key || k.startsWith(key + '/')) this.#nodes.delete(k);
  }

  #ensureParents(key: string): void {
    const parts = key.split('/');
    for (let i = 2; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!this.#nodes.has(parent)) this.#nodes.set(parent, implicitInterior());
    }
  }

  #hasChildren(key: string): boolean {
    for (const k of this.#nodes.keys()) if (k.startsWith(key + '/')) return true;
    return false;
  }
}

function implicitInterior(): MockNode {
  return { format: 'node', access: new Set<CspVerb>(['get', 'add', 'delete']) };
}
