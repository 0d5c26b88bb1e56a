import assert from 'node:assert/strict';
import { Csp } from '../../../lib/csp/csp';
import { CspError, CspNotAllowedError, CspTransactionError, IotDmError } from '../../../lib/errors';
import {
  compilePatterns,
  isAllowed,
  ScopedCsp,
  ScopedTransaction,
} from '../../../lib/dm/scoped-csp';
import { MockMdm } from '../../../lib/testing/mock-mdm';

const BASE = './Device/Vendor/MSFT/Thing';

function allowed(patterns: string[], uri: string): boolean {
  return isAllowed(compilePatterns(patterns), uri);
}

function notAllowed(err: unknown): boolean {
  assert.ok(err instanceof CspNotAllowedError, `expected CspNotAllowedError, got ${String(err)}`);
  assert.equal(err.code, 'ERR_CSP_NOT_ALLOWED');
  return true;
}

describe('dm/scoped-csp', () => {
  describe('patterns', () => {
    it('an exact pattern matches only that node', () => {
      assert.equal(allowed([`${BASE}/A`], `${BASE}/A`), true);
      assert.equal(allowed([`${BASE}/A`], `${BASE}/B`), false);
      assert.equal(allowed([`${BASE}/A`], `${BASE}/A/x`), false);
      assert.equal(allowed([`${BASE}/A`], BASE), false);
    });

    it('"*" matches exactly one segment', () => {
      const p = [`${BASE}/*`];
      assert.equal(allowed(p, `${BASE}/A`), true);
      assert.equal(allowed(p, `${BASE}/B`), true);
      assert.equal(allowed(p, BASE), false);
      assert.equal(allowed(p, `${BASE}/A/B`), false);
      assert.equal(allowed(p, './Device/Vendor/MSFT/ThingOther/A'), false);
    });

    it('"*" in the middle matches one segment there', () => {
      const p = [`${BASE}/*/Value`];
      assert.equal(allowed(p, `${BASE}/one/Value`), true);
      assert.equal(allowed(p, `${BASE}/one/Other`), false);
      assert.equal(allowed(p, `${BASE}/one/two/Value`), false);
    });

    it('"**" matches the node itself and any depth below it, nothing beside it', () => {
      const p = [`${BASE}/**`];
      assert.equal(allowed(p, BASE), true);
      assert.equal(allowed(p, `${BASE}/A`), true);
      assert.equal(allowed(p, `${BASE}/A/B/C`), true);
      assert.equal(allowed(p, './Device/Vendor/MSFT/Thingy'), false);
      assert.equal(allowed(p, './Device/Vendor/MSFT'), false);
    });

    it('./Vendor/MSFT and ./Device/Vendor/MSFT name the same nodes', () => {
      assert.equal(allowed(['./Vendor/MSFT/Thing/*'], `${BASE}/A`), true);
      assert.equal(allowed([`${BASE}/*`], './Vendor/MSFT/Thing/A'), true);
      assert.equal(allowed(['./Vendor/MSFT/Thing/**'], './Vendor/MSFT/Thing/A/B'), true);
      assert.equal(allowed(['./Vendor/MSFT/Thing/*'], './User/Vendor/MSFT/Thing/A'), false);
    });

    it('a ?list= read is allowed only under a "/**" pattern', () => {
      assert.equal(allowed([`${BASE}/**`], `${BASE}?list=StructData`), true);
      assert.equal(allowed([`${BASE}/**`], `${BASE}/A?list=Struct`), true);
      assert.equal(allowed([`${BASE}/*`], `${BASE}?list=StructData`), false);
      assert.equal(allowed([`${BASE}/*`], `${BASE}/A?list=StructData`), false);
      assert.equal(allowed([BASE], `${BASE}?list=StructData`), false);
      assert.equal(allowed([`${BASE}/A/**`], `${BASE}?list=StructData`), false);
    });

    it('refuses malformed patterns', () => {
      assert.throws(() => compilePatterns([`${BASE}/**/A`]), IotDmError);
      assert.throws(() => compilePatterns(['Thing/*']), IotDmError);
      assert.throws(() => compilePatterns([5 as unknown as string]), IotDmError);
    });

    it('no patterns allow nothing', () => {
      assert.equal(allowed([], `${BASE}/A`), false);
    });
  });

  describe('ScopedCsp', () => {
    let mock: MockMdm;
    let scoped: ScopedCsp;
    beforeEach(() => {
      mock = new MockMdm({
        nodes: {
          [`${BASE}/A`]: { value: 'a' },
          [`${BASE}/N`]: { value: 7, format: 'int' },
          [`${BASE}/Sub/X`]: { value: 'x' },
          [`${BASE}/RO`]: { value: 'r', access: ['get'] },
          './Device/Vendor/MSFT/Other/Secret': { value: 's' },
        },
      });
      scoped = new ScopedCsp(new Csp(mock), 'thing', [`${BASE}/*`, `${BASE}/Sub/**`]);
    });

    it('lets allowed ops through to the native layer', async () => {
      assert.equal(await scoped.get(`${BASE}/A`), 'a');
      assert.equal(await scoped.get('./Vendor/MSFT/Thing/N'), 7);
      await scoped.replace(`${BASE}/A`, 'b');
      assert.equal(mock.node(`${BASE}/A`)?.value, 'b');
      const items = await scoped.list(`${BASE}/Sub`);
      assert.ok(items.some((i) => i.uri.endsWith('/Sub/X')));
    });

    it('rejects an op outside the patterns with ERR_CSP_NOT_ALLOWED naming the section', async () => {
      await assert.rejects(scoped.get('./Device/Vendor/MSFT/Other/Secret'), (err: unknown) => {
        notAllowed(err);
        assert.match((err as Error).message, /"thing" handler/);
        assert.equal((err as CspNotAllowedError).section, 'thing');
        return true;
      });
      assert.equal(mock.calls.length, 0);
    });

    it('every verb is checked', async () => {
      const out = './Device/Vendor/MSFT/Other/Secret';
      await assert.rejects(scoped.getResult(out), notAllowed);
      await assert.rejects(scoped.add(out, 'x'), notAllowed);
      await assert.rejects(scoped.replace(out, 'x'), notAllowed);
      await assert.rejects(scoped.set(out, 'x'), notAllowed);
      await assert.rejects(scoped.put(out, 'x'), notAllowed);
      await assert.rejects(scoped.delete(out), notAllowed);
      await assert.rejects(scoped.exec(out), notAllowed);
      await assert.rejects(scoped.list(BASE), notAllowed);
      await assert.rejects(scoped.list(`${BASE}/A`), notAllowed);
      assert.equal(mock.calls.length, 0);
      assert.equal(mock.node(out)?.value, 's');
    });

    it('a refused op issued with allowed ones never reaches the mock', async () => {
      const results = await Promise.allSettled([
        scoped.get(`${BASE}/A`),
        scoped.replace('./Device/Vendor/MSFT/Other/Secret', 'pwned'),
        scoped.get(`${BASE}/N`),
      ]);
      assert.equal(results[0]?.status, 'fulfilled');
      assert.equal(results[1]?.status, 'rejected');
      assert.equal(results[2]?.status, 'fulfilled');
      assert.equal(mock.calls.length, 1);
      assert.deepEqual(
        mock.sentOps.map((o) => o.uri),
        [`${BASE}/A`, `${BASE}/N`],
      );
      assert.equal(mock.node('./Device/Vendor/MSFT/Other/Secret')?.value, 's');
    });

    it('an invalid URI rejects (does not throw synchronously)', async () => {
      const p = scoped.get('not-a-uri');
      await assert.rejects(p, IotDmError);
      assert.equal(mock.calls.length, 0);
    });

    it('checks every op of a transaction; a refused one sends nothing at all', async () => {
      await assert.rejects(
        scoped.transaction((tx) => {
          tx.replace(`${BASE}/A`, 'changed');
          tx.delete('./Device/Vendor/MSFT/Other/Secret');
        }),
        notAllowed,
      );
      assert.equal(mock.calls.length, 0);
      assert.equal(mock.node(`${BASE}/A`)?.value, 'a');

      const steps: Array<(tx: ScopedTransaction) => void> = [
        (tx) => void tx.add('./Device/Vendor/MSFT/Other/New', 'x'),
        (tx) => void tx.set('./Device/Vendor/MSFT/Other/Secret', 'x'),
        (tx) => void tx.exec('./Device/Vendor/MSFT/Other/Secret'),
      ];
      for (const step of steps) {
        await assert.rejects(scoped.transaction(step), notAllowed);
      }
      assert.equal(mock.calls.length, 0);
    });

    it('an allowed transaction travels as one atomic call', async () => {
      await scoped.transaction((tx) => {
        tx.replace(`${BASE}/A`, 'one');
        tx.add(`${BASE}/Sub/Y`, 'y');
      });
      assert.equal(mock.calls.length, 1);
      assert.equal(mock.calls[0]?.atomic, true);
      assert.equal(mock.calls[0]?.ops.length, 2);
      assert.equal(mock.node(`${BASE}/A`)?.value, 'one');
      assert.equal(mock.node(`${BASE}/Sub/Y`)?.value, 'y');
    });

    it('an async transaction body is checked too', async () => {
      await assert.rejects(
        scoped.transaction(async (tx) => {
          await Promise.resolve();
          tx.replace('./Device/Vendor/MSFT/Other/Secret', 'x');
        }),
        notAllowed,
      );
      assert.equal(mock.calls.length, 0);
    });

    it('a failed transaction rolls back', async () => {
      await assert.rejects(
        scoped.transaction((tx) => {
          tx.replace(`${BASE}/A`, 'one');
          tx.replace(`${BASE}/RO`, 'no');
        }),
        CspTransactionError,
      );
      assert.equal(mock.node(`${BASE}/A`)?.value, 'a');
    });

    describe('put', () => {
      it('replaces an existing node with a single op', async () => {
        await scoped.put(`${BASE}/A`, 'new');
        assert.deepEqual(
          mock.sentOps.map((o) => o.verb),
          ['replace'],
        );
        assert.equal(mock.node(`${BASE}/A`)?.value, 'new');
      });

      it('adds the node when replace answers 404', async () => {
        await scoped.put(`${BASE}/Fresh`, 'v');
        assert.deepEqual(
          mock.sentOps.map((o) => `${o.verb} ${o.uri}`),
          [`replace ${BASE}/Fresh`, `add ${BASE}/Fresh`],
        );
        assert.equal(mock.node(`${BASE}/Fresh`)?.value, 'v');
      });

      it('does not add on other failures', async () => {
        await assert.rejects(scoped.put(`${BASE}/RO`, 'x'), (err: unknown) => {
          assert.ok(err instanceof CspError);
          assert.equal(err.status, 405);
          return true;
        });
        assert.deepEqual(
          mock.sentOps.map((o) => o.verb),
          ['replace'],
        );
      });
    });
  });
});
