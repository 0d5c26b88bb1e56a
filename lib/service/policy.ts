/**
 * The service's policy: may this caller do this? A caller is allowed what the rules of its
 * groups (and the "*" rule) allow together; root (uid 0) is allowed everything when
 * `trustRoot`. URIs are compared segment by segment after %-decoding each segment; a segment
 * that decodes to "/", "." or ".." matches nothing (no escaping a prefix).
 *
 * Cost per request: the prefixes are split once (construction), a caller's rules gathered once
 * per connection, and a (verb, URI) decision remembered per connection (bounded), so a host
 * repeating the same nodes pays a map lookup per op.
 */
import type { CspOp, CspVerb } from '../native/contract';
import type { PolicyRule, ServiceConfig } from './config';
import type { Caller } from './peer';

/** Node path segments for matching: `./Vendor/MSFT` is `./Device/Vendor/MSFT`; no query. */
export function uriSegments(uri: string): string[] | undefined {
  const q = uri.indexOf('?');
  let path = q === -1 ? uri : uri.slice(0, q);
  if (path === './Vendor' || path.startsWith('./Vendor/')) path = './Device' + path.slice(1);
  const out: string[] = [];
  for (const raw of path.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (seg.includes('/') || (out.length > 0 && (seg === '.' || seg === '..' || seg === ''))) {
      return undefined;
    }
    out.push(seg);
  }
  return out;
}

/** A rule with its URI prefixes split into segments once (at construction, not per op). */
interface CompiledRule {
  prefixes: Partial<Record<CspVerb, string[][]>>;
  rawSyncML: boolean;
  tpm: boolean;
  system: true | ReadonlySet<string>;
}

const VERBS: readonly CspVerb[] = ['get', 'add', 'replace', 'delete', 'exec'];
const MAX_DECISIONS = 2048;

function compile(rule: PolicyRule): CompiledRule {
  const prefixes: Partial<Record<CspVerb, string[][]>> = {};
  for (const verb of VERBS) {
    const list = (rule[verb] ?? [])
      .map((p) => uriSegments(p.endsWith('/') ? p.slice(0, -1) : p))
      .filter((p): p is string[] => p !== undefined);
    if (list.length > 0) prefixes[verb] = list;
  }
  return {
    prefixes,
    rawSyncML: rule.rawSyncML === true,
    tpm: rule.tpm === true,
    system: rule.system === true ? true : new Set(Array.isArray(rule.system) ? rule.system : []),
  };
}

function startsWith(uri: readonly string[], prefix: readonly string[]): boolean {
  if (prefix.length > uri.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== uri[i]) return false;
  return true;
}

export class Policy {
  readonly #trustRoot: boolean;
  readonly #rules = new Map<string, CompiledRule>();
  /** The rules that apply to a caller, gathered once per caller object (one per connection). */
  readonly #perCaller = new WeakMap<Caller, CompiledRule[]>();
  /** Per rule list: "verb uri" → allowed, for URIs seen before (bounded: cleared when full). */
  readonly #decisions = new WeakMap<readonly CompiledRule[], Map<string, boolean>>();

  constructor(config: ServiceConfig) {
    this.#trustRoot = config.trustRoot;
    for (const [name, rule] of Object.entries(config.policy)) this.#rules.set(name, compile(rule));
  }

  #rulesOf(caller: Caller): CompiledRule[] {
    let rules = this.#perCaller.get(caller);
    if (rules) return rules;
    rules = [];
    const star = this.#rules.get('*');
    if (star) rules.push(star);
    for (const group of caller.groupNames) {
      const rule = this.#rules.get(group);
      if (rule) rules.push(rule);
    }
    const user = caller.user !== undefined ? this.#rules.get(`user:${caller.user}`) : undefined;
    if (user) rules.push(user);
    this.#perCaller.set(caller, rules);
    return rules;
  }

  #root(caller: Caller): boolean {
    return this.#trustRoot && caller.uid === 0;
  }

  /** The first op this caller may not perform, or undefined when all are allowed. */
  deniedOp(caller: Caller, ops: readonly CspOp[]): CspOp | undefined {
    if (this.#root(caller)) return undefined;
    const rules = this.#rulesOf(caller);
    let decisions = this.#decisions.get(rules);
    if (!decisions) this.#decisions.set(rules, (decisions = new Map()));
    const known = decisions;
    return ops.find((op) => {
      const key = `${op.verb} ${op.uri}`;
      let allowed = known.get(key);
      if (allowed === undefined) {
        allowed = this.#allowsUri(rules, op.verb, op.uri);
        if (known.size >= MAX_DECISIONS) known.clear();
        known.set(key, allowed);
      }
      return !allowed;
    });
  }

  #allowsUri(rules: readonly CompiledRule[], verb: CspVerb, uri: string): boolean {
    const segments = uriSegments(uri);
    if (!segments) return false;
    return rules.some((r) => r.prefixes[verb]?.some((p) => startsWith(segments, p)) === true);
  }

  allowsRaw(caller: Caller): boolean {
    return this.#root(caller) || this.#rulesOf(caller).some((r) => r.rawSyncML);
  }

  allowsSystem(caller: Caller, method: string): boolean {
    if (this.#root(caller)) return true;
    return this.#rulesOf(caller).some((r) => r.system === true || r.system.has(method));
  }

  allowsTpm(caller: Caller): boolean {
    return this.#root(caller) || this.#rulesOf(caller).some((r) => r.tpm);
  }
}
