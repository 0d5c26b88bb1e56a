/**
 * The service's result cache (lib/service/result-cache.ts): settled results expire after the
 * TTL (pruned from an expiry queue, not by scanning), a newer entry under the same key survives
 * the expiry of the one it replaced, and what a clean stop saved is loaded and expires too. The
 * clock is the constructor's seam: no sleeping.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Outcome } from '../../../lib/service/protocol';
import { ResultCache } from '../../../lib/service/result-cache';

const ok = (value: unknown): Outcome => ({ ok: true, value });
/** Lets the cache's `.then` on a settled promise run. */
const settle = () => new Promise((r) => setImmediate(r));

describe('service result cache', () => {
  let t = 0;
  const clock = () => t;
  beforeEach(() => {
    t = 1_000_000;
  });

  it('answers a settled result until its TTL, then forgets it', async () => {
    const cache = new ResultCache('i1', 100, clock);
    cache.track(1000, 'c#1', Promise.resolve(ok('a')));
    await settle();
    t += 100;
    assert.deepEqual(cache.lookup(1000, 'c#1', 'i1', false), { kind: 'cached', outcome: ok('a') });
    assert.deepEqual(cache.lookup(1001, 'c#1', undefined, false), { kind: 'run' }, 'other uid');
    t += 1;
    assert.deepEqual(cache.lookup(1000, 'c#1', 'i1', false), { kind: 'run' });
    assert.equal(cache.size, 0);
  });

  it('keeps a running entry however old, and a newer entry under a reused key', async () => {
    const cache = new ResultCache('i1', 100, clock);
    let finish: (o: Outcome) => void = () => {};
    cache.track(1, 'c#1', new Promise<Outcome>((r) => (finish = r)));
    cache.track(1, 'c#2', Promise.resolve(ok(2)));
    await settle();
    t += 1000;
    assert.equal(cache.lookup(1, 'c#1', 'i1', false).kind, 'running');
    assert.equal(cache.lookup(1, 'c#2', 'i1', false).kind, 'run', 'c#2 expired');
    // c#3 settles, then a later request reuses the key; the first expiry must not drop it.
    cache.track(1, 'c#3', Promise.resolve(ok('old')));
    await settle();
    t += 60;
    cache.track(1, 'c#3', Promise.resolve(ok('new')));
    await settle();
    t += 60; // past the old entry's expiry, not the new one's
    assert.deepEqual(cache.lookup(1, 'c#3', 'i1', false), { kind: 'cached', outcome: ok('new') });
    finish(ok(1));
    await settle();
    assert.deepEqual(cache.lookup(1, 'c#1', 'i1', false), { kind: 'cached', outcome: ok(1) });
    t += 101;
    assert.equal(cache.lookup(1, 'c#1', 'i1', false).kind, 'run');
    assert.equal(cache.size, 0);
  });

  it('prunes many expired entries, and loads what a clean stop saved (which expires too)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wdm-results-'));
    try {
      const file = join(dir, 'results.json');
      const first = new ResultCache('i1', 100, clock);
      for (let i = 0; i < 3000; i++) {
        first.track(1, `c#${i}`, Promise.resolve(ok(i)));
        if (i === 1499) {
          await settle();
          t += 50; // the second half expires 50 ms later than the first
        }
      }
      await settle();
      assert.equal(first.size, 3000);
      first.save(file);
      const second = new ResultCache('i2', 100, clock);
      second.load(file);
      assert.equal(second.previousInstance, 'i1');
      assert.deepEqual(second.lookup(1, 'c#2999', 'i1', false), {
        kind: 'cached',
        outcome: ok(2999),
      });
      t += 51; // the first half expired
      assert.equal(second.lookup(1, 'c#0', 'i1', false).kind, 'run');
      assert.equal(second.size, 1500);
      assert.equal(first.lookup(1, 'c#1500', 'i1', false).kind, 'cached');
      assert.equal(first.size, 1500);
      t += 50;
      assert.equal(second.lookup(1, 'c#2999', 'i1', false).kind, 'run');
      assert.equal(second.size, 0, 'every loaded entry expired');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
