/**
 * A small, strict schema for twin sections and method payloads. Every desired section and
 * method payload is checked before a handler sees it: wrong types, unknown keys, over-long
 * strings and over-deep nesting fail with a message naming the JSON path.
 */
import { InvalidValueError } from '../errors';

export type Schema =
  | {
      type: 'string';
      maxLength?: number;
      pattern?: RegExp;
      enum?: readonly string[];
      nullable?: boolean;
    }
  | { type: 'integer'; min?: number; max?: number; nullable?: boolean }
  | { type: 'number'; min?: number; max?: number; nullable?: boolean }
  | { type: 'boolean'; nullable?: boolean }
  | {
      type: 'object';
      properties: Readonly<Record<string, Schema>>;
      required?: readonly string[];
      /** Schema for keys not in `properties`; `false` (default) refuses them. */
      additional?: Schema | false;
      nullable?: boolean;
    }
  | { type: 'map'; values: Schema; keyPattern?: RegExp; maxKeys?: number; nullable?: boolean }
  | { type: 'oneOf'; of: readonly Schema[]; nullable?: boolean }
  | { type: 'any'; nullable?: boolean };

/** Limits applied to every value, whatever its schema says. */
export const LIMITS = {
  /** Strings without their own `maxLength`. */
  maxStringLength: 1024,
  /** Nesting below the section (the original client's twin schema used at most 5 levels). */
  maxDepth: 5,
  maxKeys: 256,
} as const;

/** Builders for readable schemas. */
export const s = {
  string: (o: Omit<Extract<Schema, { type: 'string' }>, 'type'> = {}): Schema => ({
    type: 'string',
    ...o,
  }),
  integer: (o: Omit<Extract<Schema, { type: 'integer' }>, 'type'> = {}): Schema => ({
    type: 'integer',
    ...o,
  }),
  number: (o: Omit<Extract<Schema, { type: 'number' }>, 'type'> = {}): Schema => ({
    type: 'number',
    ...o,
  }),
  boolean: (o: { nullable?: boolean } = {}): Schema => ({ type: 'boolean', ...o }),
  object: (
    properties: Record<string, Schema>,
    o: Omit<Extract<Schema, { type: 'object' }>, 'type' | 'properties'> = {},
  ): Schema => ({ type: 'object', properties, ...o }),
  map: (
    values: Schema,
    o: Omit<Extract<Schema, { type: 'map' }>, 'type' | 'values'> = {},
  ): Schema => ({
    type: 'map',
    values,
    ...o,
  }),
  oneOf: (...of: Schema[]): Schema => ({ type: 'oneOf', of }),
  enum: (...values: string[]): Schema => ({ type: 'string', enum: values }),
  any: (): Schema => ({ type: 'any' }),
};

/** Every problem found, as `path: reason` lines (empty when the value fits). */
export function check(schema: Schema, value: unknown, path = '$'): string[] {
  const out: string[] = [];
  walk(schema, value, path, 0, out);
  return out;
}

/** Throws `InvalidValueError` listing the problems (at most 5) when the value does not fit. */
export function validate(schema: Schema, value: unknown, what: string): void {
  const problems = check(schema, value);
  if (problems.length === 0) return;
  const shown = problems.slice(0, 5).join('; ');
  const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
  throw new InvalidValueError(`invalid ${what}: ${shown}${more}`);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function depthOf(v: unknown, limit: number): number {
  if (typeof v !== 'object' || v === null) return 0;
  if (limit <= 0) return 1;
  let max = 0;
  for (const child of Object.values(v)) max = Math.max(max, depthOf(child, limit - 1));
  return max + 1;
}

function walk(schema: Schema, v: unknown, path: string, depth: number, out: string[]): void {
  if (v === null) {
    if (!schema.nullable && schema.type !== 'any') out.push(`${path}: null is not allowed here`);
    return;
  }
  if (depth > LIMITS.maxDepth) {
    out.push(`${path}: nested deeper than ${LIMITS.maxDepth} levels`);
    return;
  }
  switch (schema.type) {
    case 'any':
      if (depth + depthOf(v, LIMITS.maxDepth + 1 - depth) > LIMITS.maxDepth) {
        out.push(`${path}: nested deeper than ${LIMITS.maxDepth} levels`);
      } else checkStrings(v, path, out);
      return;
    case 'string': {
      if (typeof v !== 'string')
        return void out.push(`${path}: expected a string, got ${typeName(v)}`);
      const max = schema.maxLength ?? LIMITS.maxStringLength;
      if (v.length > max)
        return void out.push(`${path}: string of ${v.length} characters, over ${max}`);
      if (schema.enum && !schema.enum.includes(v)) {
        return void out.push(
          `${path}: ${JSON.stringify(v)} is not one of ${schema.enum.join('|')}`,
        );
      }
      if (schema.pattern && !schema.pattern.test(v)) {
        out.push(`${path}: ${JSON.stringify(v.slice(0, 60))} does not match ${schema.pattern}`);
      }
      return;
    }
    case 'integer':
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        return void out.push(
          `${path}: expected ${schema.type === 'integer' ? 'an integer' : 'a number'}, got ${typeName(v)}`,
        );
      }
      if (schema.type === 'integer' && !Number.isInteger(v))
        return void out.push(`${path}: ${v} is not an integer`);
      if (schema.min !== undefined && v < schema.min)
        out.push(`${path}: ${v} is below ${schema.min}`);
      if (schema.max !== undefined && v > schema.max)
        out.push(`${path}: ${v} is above ${schema.max}`);
      return;
    }
    case 'boolean':
      if (typeof v !== 'boolean') out.push(`${path}: expected a boolean, got ${typeName(v)}`);
      return;
    case 'object': {
      if (typeName(v) !== 'object')
        return void out.push(`${path}: expected an object, got ${typeName(v)}`);
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj);
      if (keys.length > LIMITS.maxKeys)
        return void out.push(`${path}: ${keys.length} keys, over ${LIMITS.maxKeys}`);
      for (const key of keys) {
        const sub = Object.hasOwn(schema.properties, key)
          ? schema.properties[key]
          : schema.additional;
        if (!sub) {
          out.push(`${path}.${key}: unknown key`);
          continue;
        }
        walk(sub, obj[key], `${path}.${key}`, depth + 1, out);
      }
      for (const key of schema.required ?? []) {
        if (!Object.hasOwn(obj, key)) out.push(`${path}.${key}: required`);
      }
      return;
    }
    case 'map': {
      if (typeName(v) !== 'object')
        return void out.push(`${path}: expected an object, got ${typeName(v)}`);
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj);
      const maxKeys = schema.maxKeys ?? LIMITS.maxKeys;
      if (keys.length > maxKeys)
        return void out.push(`${path}: ${keys.length} keys, over ${maxKeys}`);
      for (const key of keys) {
        if (schema.keyPattern && !schema.keyPattern.test(key)) {
          out.push(
            `${path}: key ${JSON.stringify(key.slice(0, 60))} does not match ${schema.keyPattern}`,
          );
          continue;
        }
        walk(schema.values, obj[key], `${path}.${key}`, depth + 1, out);
      }
      return;
    }
    case 'oneOf': {
      const attempts = schema.of.map((alt) => check(alt, v, path));
      if (attempts.some((a) => a.length === 0)) return;
      out.push(
        `${path}: matches none of ${schema.of.length} shapes (${attempts.map((a) => a[0]).join(' / ')})`,
      );
      return;
    }
  }
}

function checkStrings(v: unknown, path: string, out: string[]): void {
  if (typeof v === 'string') {
    if (v.length > LIMITS.maxStringLength)
      out.push(`${path}: string of ${v.length} characters, over ${LIMITS.maxStringLength}`);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, child] of Object.entries(v)) checkStrings(child, `${path}.${k}`, out);
  }
}
