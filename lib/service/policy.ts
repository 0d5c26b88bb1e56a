/**
 * The service's policy: may this caller do this? A caller is allowed what the rules of its
 * groups (and the "*" rule) allow together; root (uid 0) is allowed everything when
 * `trustRoot`. URIs are compared segment by segment after %-decoding each segment; a segment
 * that decodes to "/", "." or ".." matches nothing (no escaping a prefix).
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

function matchesPrefix(uri: string, prefix: string): boolean {
  const u = uriSegments(uri);
  const p = uriSegments(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  if (!u || !p || p.length > u.length) return false;
  return p.every((seg, i) => seg === u[i]);
}

export class Policy {
  readonly #config: ServiceConfig;

  constructor(config: ServiceConfig) {
    this.#config = config;
  }

  #rules(caller: Caller): PolicyRule[] {
    const rules: PolicyRule[] = [];
    const star = this.#config.policy['*'];
    if (star) rules.push(star);
    for (const group of caller.groupNames) {
      const rule = this.#config.policy[group];
      if (rule) rules.push(rule);
    }
    const user = caller.user !== undefined ? this.#config.policy[`user:${caller.user}`] : undefined;
    if (user) rules.push(user);
    return rules;
  }

  #root(caller: Caller): boolean {
    return this.#config.trustRoot && caller.uid === 0;
  }

  /** The first op this caller may not perform, or undefined when all are allowed. */
  deniedOp(caller: Caller, ops: readonly CspOp[]): CspOp | undefined {
    if (this.#root(caller)) return undefined;
    const rules = this.#rules(caller);
    return ops.find((op) => !this.allowsUri(rules, op.verb, op.uri));
  }

  allowsUri(rules: readonly PolicyRule[], verb: CspVerb, uri: string): boolean {
    return rules.some((r) => (r[verb] ?? []).some((prefix) => matchesPrefix(uri, prefix)));
  }

  allowsRaw(caller: Caller): boolean {
    return this.#root(caller) || this.#rules(caller).some((r) => r.rawSyncML === true);
  }

  allowsSystem(caller: Caller, method: string): boolean {
    if (this.#root(caller)) return true;
    return this.#rules(caller).some(
      (r) => r.system === true || (Array.isArray(r.system) && r.system.includes(method)),
    );
  }

  allowsTpm(caller: Caller): boolean {
    return this.#root(caller) || this.#rules(caller).some((r) => r.tpm === true);
  }
}
