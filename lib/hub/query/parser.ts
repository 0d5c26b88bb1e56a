/**
 * Recursive-descent parser of the supported IoT Hub query subset. Keywords are case-insensitive.
 *
 * ```
 * query      := SELECT [TOP number] selection FROM devices[.jobs] [WHERE condition] EOF
 * selection  := '*' | COUNT '(' ')' [AS ident] | field (',' field)*
 * field      := path [AS ident]
 * path       := ident ( '.' ident | '[' string ']' )*        (a leading `devices.` is dropped;
 *                                                               `devices.jobs.` too FROM devices.jobs)
 * condition  := and (OR and)*
 * and        := not (AND not)*
 * not        := NOT not | comparison
 * comparison := operand [ ('=' | '!=' | '<>' | '<' | '<=' | '>' | '>=') operand ]
 * operand    := literal | path | IS_DEFINED '(' path ')' | '(' condition ')'
 * literal    := string | ['-'] number | TRUE | FALSE | NULL | UNDEFINED
 * ```
 */
import type { JsonPrimitive } from '../twin/types';
import { QueryError, expected } from './errors';
import { tokenize, type Token } from './tokenizer';

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface PathExpr {
  type: 'path';
  segments: string[];
  pos: number;
}

export type Expr =
  | { type: 'literal'; value: JsonPrimitive | undefined }
  | PathExpr
  | { type: 'isDefined'; path: PathExpr }
  | { type: 'not'; operand: Expr }
  | { type: 'and' | 'or'; left: Expr; right: Expr }
  | { type: 'compare'; op: CompareOp; left: Expr; right: Expr };

export interface Field {
  path: PathExpr;
  /** Output key: the alias, else the path's last segment. */
  name: string;
}

export type Selection =
  { kind: 'star' } | { kind: 'count'; name: string } | { kind: 'fields'; fields: Field[] };

export interface Query {
  selection: Selection;
  top?: number;
  /** `devices` (twins) or `devices.jobs` (per-device job rows, `lib/hub/jobs/device-jobs.ts`). */
  from: 'devices' | 'devices.jobs';
  where?: Expr;
}

/**
 * Key of an unaliased `COUNT()`: the engine behind IoT Hub names unaliased expressions `$1`, as
 * Cosmos DB does (the `az iot hub query -q "select count() from devices"` output shape).
 */
export const UNALIASED_COUNT_KEY = '$1';

const RESERVED = new Set([
  'select',
  'from',
  'where',
  'as',
  'and',
  'or',
  'not',
  'true',
  'false',
  'null',
  'undefined',
  'top',
  'group',
  'by',
  'in',
  'nin',
]);

const describe = (t: Token): string =>
  t.kind === 'eof'
    ? 'end of query'
    : t.kind === 'string'
      ? `string ${JSON.stringify(t.text)}`
      : `'${t.text}'`;

class Parser {
  private i = 0;
  /** Inside a `FROM devices.jobs` query: a leading `jobs.` of paths is dropped too. */
  private jobs = false;
  constructor(private readonly toks: Token[]) {}

  private get t(): Token {
    return this.toks[this.i]!;
  }

  private next(): Token {
    return this.toks[this.i++]!;
  }

  private isKw(kw: string): boolean {
    return this.t.kind === 'ident' && this.t.text.toLowerCase() === kw;
  }

  private acceptKw(kw: string): boolean {
    if (!this.isKw(kw)) return false;
    this.i++;
    return true;
  }

  private expectKw(kw: string): void {
    if (!this.acceptKw(kw)) throw expected(kw.toUpperCase(), describe(this.t), this.t.pos);
  }

  private isPunct(p: string): boolean {
    return this.t.kind === 'punct' && this.t.text === p;
  }

  private expectPunct(p: string, what = `'${p}'`): void {
    if (!this.isPunct(p)) throw expected(what, describe(this.t), this.t.pos);
    this.i++;
  }

  query(): Query {
    this.expectKw('select');
    let top: number | undefined;
    if (this.acceptKw('top')) {
      const n = this.t;
      if (n.kind !== 'number' || !Number.isInteger(n.num) || n.num! < 0) {
        throw expected('a non-negative integer after TOP', describe(n), n.pos);
      }
      top = n.num!;
      this.i++;
    }
    const selection = this.selection();
    this.expectKw('from');
    const from = this.t;
    if (from.kind !== 'ident' || from.text.toLowerCase() !== 'devices') {
      throw expected('devices', describe(from), from.pos);
    }
    this.i++;
    if (this.isPunct('.')) {
      const sub = this.toks[this.i + 1];
      if (sub?.kind !== 'ident' || sub.text.toLowerCase() !== 'jobs') {
        throw new QueryError(
          'Query not supported: only FROM devices and FROM devices.jobs are implemented',
          from.pos,
        );
      }
      this.i += 2;
      this.jobs = true;
      if (selection.kind === 'fields') {
        for (const f of selection.fields) dropJobsPrefix(f.path);
      }
    }
    let where: Expr | undefined;
    if (this.acceptKw('where')) where = this.condition();
    if (this.isKw('group')) {
      throw new QueryError('Query not supported: GROUP BY is not implemented', this.t.pos);
    }
    if (this.t.kind !== 'eof') {
      throw expected(
        where ? 'AND, OR or end of query' : 'WHERE or end of query',
        describe(this.t),
        this.t.pos,
      );
    }
    return {
      selection,
      ...(top !== undefined ? { top } : {}),
      from: this.jobs ? 'devices.jobs' : 'devices',
      ...(where ? { where } : {}),
    };
  }

  private selection(): Selection {
    if (this.isPunct('*')) {
      this.i++;
      return { kind: 'star' };
    }
    if (this.isKw('count')) {
      const pos = this.t.pos;
      this.i++;
      this.expectPunct('(');
      this.expectPunct(')');
      const name = this.alias() ?? UNALIASED_COUNT_KEY;
      if (this.isPunct(',')) {
        throw new QueryError(
          'Query not supported: COUNT() cannot be combined with other projections without GROUP BY',
          pos,
        );
      }
      return { kind: 'count', name };
    }
    const fields: Field[] = [];
    const names = new Set<string>();
    for (;;) {
      const path = this.path('*, COUNT() or a property path');
      const name = this.alias() ?? path.segments[path.segments.length - 1]!;
      if (names.has(name)) {
        throw new QueryError(`Query error: duplicate projection name '${name}'`, path.pos);
      }
      names.add(name);
      fields.push({ path, name });
      if (!this.isPunct(',')) break;
      this.i++;
    }
    return { kind: 'fields', fields };
  }

  private alias(): string | undefined {
    if (!this.acceptKw('as')) return undefined;
    const t = this.t;
    if (t.kind !== 'ident' || RESERVED.has(t.text.toLowerCase())) {
      throw expected('an alias name', describe(t), t.pos);
    }
    this.i++;
    return t.text;
  }

  private path(what = 'a property path'): PathExpr {
    const first = this.t;
    if (first.kind !== 'ident' || RESERVED.has(first.text.toLowerCase())) {
      throw expected(what, describe(first), first.pos);
    }
    this.i++;
    const segments = [first.text];
    for (;;) {
      if (this.isPunct('.')) {
        this.i++;
        const s = this.t;
        if (s.kind !== 'ident') throw expected('a property name after .', describe(s), s.pos);
        this.i++;
        segments.push(s.text);
      } else if (this.isPunct('[')) {
        this.i++;
        const s = this.t;
        if (s.kind !== 'string') throw expected('a quoted property name', describe(s), s.pos);
        this.i++;
        segments.push(s.text);
        this.expectPunct(']');
      } else break;
    }
    if (segments.length > 1 && segments[0]!.toLowerCase() === 'devices') segments.shift();
    const path: PathExpr = { type: 'path', segments, pos: first.pos };
    if (this.jobs) dropJobsPrefix(path);
    return path;
  }

  condition(): Expr {
    let left = this.and();
    while (this.acceptKw('or')) left = { type: 'or', left, right: this.and() };
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.acceptKw('and')) left = { type: 'and', left, right: this.not() };
    return left;
  }

  private not(): Expr {
    if (this.acceptKw('not')) return { type: 'not', operand: this.not() };
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.operand();
    if (this.t.kind !== 'op') {
      if (this.isKw('in') || this.isKw('nin')) {
        throw new QueryError(
          `Query not supported: ${this.t.text.toUpperCase()} is not implemented`,
          this.t.pos,
        );
      }
      return left;
    }
    const raw = this.next().text;
    const op: CompareOp = raw === '<>' ? '!=' : (raw as CompareOp);
    return { type: 'compare', op, left, right: this.operand() };
  }

  private operand(): Expr {
    const t = this.t;
    const what = 'a value, a property path, IS_DEFINED( or (';
    if (t.kind === 'string') {
      this.i++;
      return { type: 'literal', value: t.text };
    }
    if (t.kind === 'number') {
      this.i++;
      return { type: 'literal', value: t.num! };
    }
    if (this.isPunct('-')) {
      this.i++;
      const n = this.t;
      if (n.kind !== 'number') throw expected('a number after -', describe(n), n.pos);
      this.i++;
      return { type: 'literal', value: -n.num! };
    }
    if (this.isPunct('(')) {
      this.i++;
      const e = this.condition();
      this.expectPunct(')', "')'");
      return e;
    }
    if (t.kind === 'ident') {
      const kw = t.text.toLowerCase();
      if (kw === 'true' || kw === 'false') {
        this.i++;
        return { type: 'literal', value: kw === 'true' };
      }
      if (kw === 'null') {
        this.i++;
        return { type: 'literal', value: null };
      }
      if (kw === 'undefined') {
        this.i++;
        return { type: 'literal', value: undefined };
      }
      if (kw === 'is_defined') {
        this.i++;
        this.expectPunct('(');
        const path = this.path();
        this.expectPunct(')');
        return { type: 'isDefined', path };
      }
      if (this.toks[this.i + 1]?.kind === 'punct' && this.toks[this.i + 1]!.text === '(') {
        throw new QueryError(`Query not supported: function ${t.text} is not implemented`, t.pos);
      }
      return this.path(what);
    }
    throw expected(what, describe(t), t.pos);
  }

  end(): void {
    if (this.t.kind !== 'eof')
      throw expected('AND, OR or end of condition', describe(this.t), this.t.pos);
  }
}

/** `jobs.x` → `x` (a field of a `devices.jobs` row). */
function dropJobsPrefix(path: PathExpr): void {
  if (path.segments.length > 1 && path.segments[0]!.toLowerCase() === 'jobs') path.segments.shift();
}

/** Parses a full query (`SELECT ... FROM devices [WHERE ...]`). */
export function parseQuery(sql: string): Query {
  if (typeof sql !== 'string' || sql.trim() === '') {
    throw new QueryError('Query error: the query text is empty');
  }
  return new Parser(tokenize(sql)).query();
}

/** Parses a bare condition (a job's `queryCondition`, the text after WHERE). */
export function parseCondition(text: string): Expr {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new QueryError('Query error: the condition is empty');
  }
  const p = new Parser(tokenize(text));
  const e = p.condition();
  p.end();
  return e;
}
