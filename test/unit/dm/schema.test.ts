import assert from 'node:assert/strict';
import { InvalidValueError } from '../../../lib/errors';
import { check, LIMITS, s, validate, type Schema } from '../../../lib/dm/schema';
import type { Json } from '../../../lib/dm/handler';

/** `{ a: { a: ... { a: leaf } } }` with `levels` nested objects. */
function nested(levels: number, leaf: Json = 1): Json {
  let v: Json = leaf;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

/** An object schema that mirrors `nested(levels)` exactly. */
function nestedSchema(levels: number, leaf: Schema = s.integer()): Schema {
  let sc = leaf;
  for (let i = 0; i < levels; i++) sc = s.object({ a: sc });
  return sc;
}

describe('dm/schema', () => {
  describe('scalar types', () => {
    it('accepts matching values', () => {
      assert.deepEqual(check(s.string(), 'x'), []);
      assert.deepEqual(check(s.integer(), -3), []);
      assert.deepEqual(check(s.number(), 1.5), []);
      assert.deepEqual(check(s.boolean(), false), []);
    });

    it('names the expected and actual types', () => {
      assert.deepEqual(check(s.string(), 5), ['$: expected a string, got number']);
      assert.deepEqual(check(s.integer(), 'a'), ['$: expected an integer, got string']);
      assert.deepEqual(check(s.number(), [1]), ['$: expected a number, got array']);
      assert.deepEqual(check(s.boolean(), 'true'), ['$: expected a boolean, got string']);
      assert.deepEqual(check(s.object({}), 'x'), ['$: expected an object, got string']);
      assert.deepEqual(check(s.object({}), [1]), ['$: expected an object, got array']);
    });

    it('refuses non-integers, NaN and Infinity', () => {
      assert.equal(check(s.integer(), 1.5).length, 1);
      assert.match(check(s.integer(), 1.5)[0] ?? '', /not an integer/);
      assert.equal(check(s.number(), Number.NaN).length, 1);
      assert.equal(check(s.number(), Number.POSITIVE_INFINITY).length, 1);
    });

    it('checks min and max', () => {
      const sc = s.integer({ min: 1, max: 10 });
      assert.deepEqual(check(sc, 1), []);
      assert.deepEqual(check(sc, 10), []);
      assert.match(check(sc, 0)[0] ?? '', /0 is below 1/);
      assert.match(check(sc, 11)[0] ?? '', /11 is above 10/);
    });

    it('checks enum and pattern', () => {
      const e = s.enum('on', 'off');
      assert.deepEqual(check(e, 'on'), []);
      assert.match(check(e, 'maybe')[0] ?? '', /"maybe" is not one of on\|off/);
      const p = s.string({ pattern: /^\d{2}:\d{2}$/ });
      assert.deepEqual(check(p, '12:30'), []);
      assert.match(check(p, '1230')[0] ?? '', /does not match/);
    });
  });

  describe('string length', () => {
    it(`refuses a 4 KB string over the default ${LIMITS.maxStringLength}`, () => {
      const problems = check(s.object({ name: s.string() }), { name: 'x'.repeat(4096) });
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', /^\$\.name: string of 4096 characters, over 1024$/);
    });

    it('accepts exactly the default limit', () => {
      assert.deepEqual(check(s.string(), 'x'.repeat(LIMITS.maxStringLength)), []);
      assert.equal(check(s.string(), 'x'.repeat(LIMITS.maxStringLength + 1)).length, 1);
    });

    it('honours a larger own maxLength and a smaller one', () => {
      assert.deepEqual(check(s.string({ maxLength: 5000 }), 'x'.repeat(4096)), []);
      assert.equal(check(s.string({ maxLength: 3 }), 'abcd').length, 1);
    });

    it('limits strings inside "any" values too', () => {
      const problems = check(s.object({ blob: s.any() }), { blob: { deep: ['x'.repeat(4096)] } });
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', /^\$\.blob\.deep\.0: string of 4096/);
    });
  });

  describe('nesting depth', () => {
    it('refuses 10 levels of nesting, through "any", "map" and explicit objects', () => {
      assert.match(check(s.any(), nested(10)).join('\n'), /nested deeper than 5 levels/);
      assert.match(check(s.map(s.any()), nested(10)).join('\n'), /nested deeper than 5 levels/);
      assert.match(check(nestedSchema(10), nested(10)).join('\n'), /nested deeper than 5 levels/);
    });

    it(`accepts ${LIMITS.maxDepth} levels and refuses ${LIMITS.maxDepth + 1}, the same way for every schema`, () => {
      const max = LIMITS.maxDepth;
      assert.deepEqual(check(s.any(), nested(max)), []);
      assert.deepEqual(check(nestedSchema(max), nested(max)), []);
      assert.notDeepEqual(check(s.any(), nested(max + 1)), []);
      assert.notDeepEqual(check(nestedSchema(max + 1), nested(max + 1)), []);
    });

    it('names the path where the nesting goes too deep', () => {
      const problems = check(nestedSchema(10), nested(10));
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', /^\$(\.a)+: nested deeper/);
    });
  });

  describe('objects', () => {
    const sc = s.object(
      { name: s.string(), port: s.integer(), opts: s.object({ on: s.boolean() }) },
      { required: ['name'] },
    );

    it('accepts a matching object', () => {
      assert.deepEqual(check(sc, { name: 'a', port: 1, opts: { on: true } }), []);
    });

    it('refuses unknown keys, naming each one', () => {
      assert.deepEqual(check(sc, { name: 'a', extra: 1, opts: { on: true, more: 2 } }), [
        '$.extra: unknown key',
        '$.opts.more: unknown key',
      ]);
    });

    it('reports missing required keys', () => {
      assert.deepEqual(check(sc, {}), ['$.name: required']);
    });

    it('names the JSON path of nested problems', () => {
      assert.deepEqual(check(sc, { name: 'a', opts: { on: 'yes' } }), [
        '$.opts.on: expected a boolean, got string',
      ]);
    });

    it('checks additional keys against `additional`', () => {
      const open = s.object({ a: s.integer() }, { additional: s.string() });
      assert.deepEqual(check(open, { a: 1, b: 'x' }), []);
      assert.deepEqual(check(open, { a: 1, b: 2 }), ['$.b: expected a string, got number']);
    });

    it(`refuses more than ${LIMITS.maxKeys} keys`, () => {
      const many = Object.fromEntries(
        Array.from({ length: LIMITS.maxKeys + 1 }, (_, i) => [`k${i}`, 1]),
      );
      const problems = check(s.object({}, { additional: s.integer() }), many);
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', /257 keys, over 256/);
    });
  });

  describe('maps', () => {
    it('checks every value and names its key', () => {
      const m = s.map(s.integer());
      assert.deepEqual(check(m, { a: 1, b: 2 }), []);
      assert.deepEqual(check(m, { a: 1, b: 'x' }), ['$.b: expected an integer, got string']);
    });

    it('checks keyPattern and maxKeys', () => {
      const m = s.map(s.any(), { keyPattern: /^[a-z]+$/, maxKeys: 2 });
      assert.deepEqual(check(m, { ok: 1 }), []);
      assert.match(check(m, { Bad1: 1 })[0] ?? '', /key "Bad1" does not match/);
      assert.match(check(m, { a: 1, b: 2, c: 3 })[0] ?? '', /3 keys, over 2/);
    });

    it('refuses a non-object', () => {
      assert.deepEqual(check(s.map(s.any()), [1]), ['$: expected an object, got array']);
    });
  });

  describe('oneOf', () => {
    const sc = s.oneOf(s.integer(), s.enum('auto'));
    it('accepts a value matching any alternative', () => {
      assert.deepEqual(check(sc, 5), []);
      assert.deepEqual(check(sc, 'auto'), []);
    });
    it('refuses a value matching none, with each alternative’s reason', () => {
      const problems = check(sc, 'manual');
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', /^\$: matches none of 2 shapes/);
      assert.match(problems[0] ?? '', /expected an integer/);
      assert.match(problems[0] ?? '', /not one of auto/);
    });
  });

  describe('null', () => {
    it('is refused unless the schema is nullable (or any)', () => {
      assert.deepEqual(check(s.string(), null), ['$: null is not allowed here']);
      assert.deepEqual(check(s.string({ nullable: true }), null), []);
      assert.deepEqual(check(s.integer({ nullable: true }), null), []);
      assert.deepEqual(check(s.boolean({ nullable: true }), null), []);
      assert.deepEqual(check(s.any(), null), []);
      assert.deepEqual(check(s.object({ a: s.integer() }), { a: null }), [
        '$.a: null is not allowed here',
      ]);
    });
  });

  describe('validate', () => {
    it('returns quietly for a fitting value', () => {
      validate(s.object({ a: s.integer() }), { a: 1 }, 'windows.x');
    });

    it('throws InvalidValueError naming what and the JSON path', () => {
      assert.throws(
        () => validate(s.object({ a: s.integer() }), { a: 'x' }, 'windows.sec'),
        (err: unknown) => {
          assert.ok(err instanceof InvalidValueError);
          assert.equal(err.code, 'ERR_INVALID_VALUE');
          assert.match(err.message, /^invalid windows\.sec: \$\.a: expected an integer/);
          return true;
        },
      );
    });

    it('lists at most 5 problems and counts the rest', () => {
      const value = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`, 1]));
      assert.throws(
        () => validate(s.object({}), value, 'p'),
        (err: Error) => {
          assert.equal(err.message.match(/unknown key/g)?.length, 5);
          assert.match(err.message, /\(and 3 more\)$/);
          return true;
        },
      );
    });
  });
});
