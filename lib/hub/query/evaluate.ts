/**
 * Evaluation over service-view twins, with the semantics of the engine behind IoT Hub queries
 * (Cosmos DB-style three-valued logic): a comparison whose operands are undefined, of different
 * types, or not primitives is *undefined*; NOT undefined is undefined; AND/OR follow Kleene logic;
 * a twin is selected only when the condition is exactly `true`. Strings compare by code unit
 * (case-sensitive); `<`/`>` order numbers and strings only; `=`/`!=` also compare booleans and null.
 * Property names match exactly, else case-insensitively when one property matches.
 */
import type { CompareOp, Expr, PathExpr, Query } from './parser';

type Value = unknown;

function child(obj: Value, key: string): Value {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const o = obj as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(o, key)) return o[key];
  const lower = key.toLowerCase();
  const hits = Object.keys(o).filter((k) => k.toLowerCase() === lower);
  return hits.length === 1 ? o[hits[0]!] : undefined;
}

export function resolvePath(doc: Value, path: PathExpr): Value {
  let v = doc;
  for (const s of path.segments) {
    v = child(v, s);
    if (v === undefined) return undefined;
  }
  return v;
}

const isPrimitive = (v: Value): boolean =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function compare(op: CompareOp, a: Value, b: Value): boolean | undefined {
  if (a === undefined || b === undefined || !isPrimitive(a) || !isPrimitive(b)) return undefined;
  const ta = a === null ? 'null' : typeof a;
  const tb = b === null ? 'null' : typeof b;
  if (ta !== tb) return undefined;
  if (op === '=') return a === b;
  if (op === '!=') return a !== b;
  if (ta !== 'number' && ta !== 'string') return undefined;
  const x = a as number | string;
  const y = b as number | string;
  switch (op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    default:
      return x >= y;
  }
}

export function evaluate(e: Expr, doc: Value): Value {
  switch (e.type) {
    case 'literal':
      return e.value;
    case 'path':
      return resolvePath(doc, e);
    case 'isDefined':
      return resolvePath(doc, e.path) !== undefined;
    case 'not': {
      const v = evaluate(e.operand, doc);
      return typeof v === 'boolean' ? !v : undefined;
    }
    case 'and': {
      const l = evaluate(e.left, doc);
      if (l === false) return false;
      const r = evaluate(e.right, doc);
      if (r === false) return false;
      return l === true && r === true ? true : undefined;
    }
    case 'or': {
      const l = evaluate(e.left, doc);
      if (l === true) return true;
      const r = evaluate(e.right, doc);
      if (r === true) return true;
      return l === false && r === false ? false : undefined;
    }
    case 'compare':
      return compare(e.op, evaluate(e.left, doc), evaluate(e.right, doc));
  }
}

/** True when the twin satisfies the condition (only an exact `true` selects). */
export function matches(where: Expr | undefined, doc: Value): boolean {
  return where === undefined || evaluate(where, doc) === true;
}

/** One result row for a non-aggregate query: the twin itself or its projection. */
export function project(q: Query, doc: Value): Value {
  if (q.selection.kind !== 'fields') return doc;
  const out: Record<string, unknown> = {};
  for (const f of q.selection.fields) {
    const v = resolvePath(doc, f.path);
    if (v !== undefined) out[f.name] = structuredClone(v);
  }
  return out;
}
