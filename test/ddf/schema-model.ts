/**
 * The emulator's schema as the agreement test sees it: the DDF facts table (data/ddf-facts.tsv)
 * as a tree, with the same matching rules as native/emulator (case-sensitive, a named child
 * before the dynamic <x> child, ./Vendor = ./Device/Vendor, ancestors no row defines synthesized
 * with Get access). Used to pick nodes for generated lines and to plan the Add that creates a
 * node instance before a Get/Replace/Delete/Exec on it.
 */
import type { Fact } from './facts';

export interface SchemaNode {
  name: string; // "<x>" = dynamic
  path: string; // table path, "<x>" for dynamic segments
  fact?: Fact; // undefined = synthesized ancestor
  parent?: SchemaNode;
  children: Map<string, SchemaNode>;
}

export const access = (n: SchemaNode): string => n.fact?.access ?? 'G';
export const format = (n: SchemaNode): string => n.fact?.format ?? 'node';
export const allows = (n: SchemaNode, letter: string): boolean => access(n).includes(letter);

/** Present without an Add (native/emulator/node_tree.h: SchemaNode::provided_by_csp). */
export function providedByCsp(n: SchemaNode): boolean {
  return (
    n.name !== '<x>' && (n.fact === undefined || n.fact.scope === 'Permanent' || !allows(n, 'A'))
  );
}

export const VERB_LETTER = { Get: 'G', Add: 'A', Replace: 'R', Delete: 'D', Exec: 'E' } as const;
export type Verb = keyof typeof VERB_LETTER;
export const VERBS = Object.keys(VERB_LETTER) as Verb[];

export class SchemaModel {
  readonly root: SchemaNode = { name: '.', path: '.', children: new Map() };
  readonly nodes: SchemaNode[] = [];

  constructor(facts: readonly Fact[]) {
    for (const fact of facts) {
      let node = this.root;
      for (const segment of fact.path.split('/').slice(1)) {
        let next = node.children.get(segment);
        if (!next) {
          next = {
            name: segment,
            path: `${node.path}/${segment}`,
            parent: node,
            children: new Map(),
          };
          node.children.set(segment, next);
        }
        node = next;
      }
      node.fact = fact;
      this.nodes.push(node);
    }
  }

  get(path: string): SchemaNode | undefined {
    let node: SchemaNode | undefined = this.root;
    for (const segment of path.split('/').slice(1)) node = node?.children.get(segment);
    return node;
  }

  /** The node a LocURI addresses (query ignored), with its raw (still %-encoded) segments. */
  resolve(uri: string): { node: SchemaNode; raw: string[] } | undefined {
    const [dot, ...raw] = uri.split('?')[0]!.split('/');
    if (dot !== '.') return undefined;
    if (raw[0] === 'Vendor') raw.unshift('Device');
    let node = this.root;
    for (const segment of raw) {
      let name: string;
      try {
        name = decodeURIComponent(segment);
      } catch {
        return undefined;
      }
      const next = node.children.get(name) ?? node.children.get('<x>');
      if (!next || name === '') return undefined;
      node = next;
    }
    return node === this.root ? undefined : { node, raw };
  }
}

/** A value that fits the node's format and allowed values (as far as the facts tell). */
export function validValue(n: SchemaNode): string | undefined {
  const f = n.fact;
  switch (format(n)) {
    case 'node':
    case 'null':
      return undefined;
    case 'int':
      if (f?.allowedType === 'Range')
        return /^\[\(?(-?\d+)/.exec(f.allowedValues[0] ?? '')?.[1] ?? '0';
      if (f?.allowedType === 'ENUM') return f.allowedValues[0] ?? '0';
      return /^-?[1-9]\d{0,8}$|^0$/.test(f?.defaultValue ?? '') ? f!.defaultValue : '1';
    case 'bool':
      return 'true';
    case 'b64':
    case 'bin':
      return 'QUJD';
    case 'xml':
      return '<a/>';
    case 'time':
      return '12:00:00';
    default:
      if (f?.allowedType === 'ENUM' && f.allowedValues[0]) return f.allowedValues[0];
      if (f?.defaultValue && /^\S(.*\S)?$/.test(f.defaultValue)) return f.defaultValue;
      if (/Time|Date|Single|Recurrent/.test(n.name)) return '2025-01-01T03:00:00';
      return 'value1';
  }
}

export interface PlannedAdd {
  uri: string;
  format: string;
  data?: string;
}

/** A URI for `node` below the LocURI prefix `prefix` (raw segments up to `from`). */
function uriBelow(prefixRaw: string[], from: SchemaNode, node: SchemaNode): string {
  const tail: string[] = [];
  for (let n: SchemaNode | undefined = node; n && n !== from; n = n.parent) {
    tail.unshift(n.name === '<x>' ? 'agree1' : encodeURIComponent(n.name));
  }
  return ['.', ...prefixRaw, ...tail].join('/');
}

function addFor(uri: string, node: SchemaNode): PlannedAdd {
  const data = validValue(node);
  return data === undefined ? { uri, format: format(node) } : { uri, format: format(node), data };
}

/**
 * Adds that can each create the instance the LocURI `raw` (resolved to `target`) addresses,
 * best first: the target itself, else an addable node below it (its ancestors are created
 * implicitly), else, when the target comes with its parent (providedByCsp), the same one level
 * up. At most `limit`.
 */
export function planInstance(raw: string[], target: SchemaNode, limit = 4): PlannedAdd[] {
  const out: PlannedAdd[] = [];
  let node: SchemaNode | undefined = target;
  let prefix = raw;
  while (node && node.parent && out.length < limit) {
    const queue: SchemaNode[] = [node];
    while (queue.length > 0 && out.length < limit) {
      const n = queue.shift()!;
      if (n.fact && allows(n, 'A')) out.push(addFor(uriBelow(prefix, node, n), n));
      else queue.push(...[...n.children.values()].sort((a, b) => (a.name < b.name ? -1 : 1)));
    }
    if (!providedByCsp(node)) break;
    node = node.parent;
    prefix = prefix.slice(0, -1);
  }
  return out;
}
