import assert from 'node:assert/strict';
import { ReportError } from '../../../lib/errors';
import type { Json, JsonObject } from '../../../lib/dm/handler';
import { silentLogger } from '../../../lib/dm/logger';
import {
  canMerge,
  isTransient,
  mergeInto,
  ReportQueue,
  splitPatch,
  type ReportQueueOptions,
} from '../../../lib/dm/report-queue';

function bytes(v: Json): number {
  return Buffer.byteLength(JSON.stringify(v), 'utf8');
}

/** Twin merge-patch semantics, to check that split parts add up to the original. */
function applyMerge(target: JsonObject, patch: JsonObject): JsonObject {
  for (const [k, v] of Object.entries(patch)) {
    const t = target[k];
    if (v === null) delete target[k];
    else if (
      typeof v === 'object' &&
      !Array.isArray(v) &&
      typeof t === 'object' &&
      t &&
      !Array.isArray(t)
    )
      applyMerge(t, v);
    else target[k] = structuredClone(v);
  }
  return target;
}

/** A transport double: records sends, fails from a script. */
class FakeSend {
  readonly sent: JsonObject[] = [];
  readonly failures: unknown[] = [];
  attempts = 0;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  readonly send = async (patch: JsonObject): Promise<void> => {
    this.attempts++;
    if (this.#gate) await this.#gate;
    await Promise.resolve();
    if (this.failures.length > 0) throw this.failures.shift();
    this.sent.push(structuredClone(patch));
  };

  /** Holds every send until `release()`. */
  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }
  release(): void {
    this.#gate = undefined;
    this.#open?.();
  }
}

function queue(fake: FakeSend, extra: Partial<ReportQueueOptions> = {}): ReportQueue {
  return new ReportQueue({
    send: fake.send,
    log: silentLogger(),
    initialDelayMs: 1,
    maxDelayMs: 2,
    ...extra,
  });
}

describe('dm/report-queue', () => {
  describe('isTransient', () => {
    it('retries throttling, timeouts, connection loss and 5xx', () => {
      assert.equal(isTransient(Object.assign(new Error('x'), { name: 'ThrottlingError' })), true);
      assert.equal(isTransient(Object.assign(new Error('x'), { name: 'NotConnectedError' })), true);
      assert.equal(isTransient(Object.assign(new Error('x'), { name: 'TimeoutError' })), true);
      assert.equal(isTransient({ statusCode: 429 }), true);
      assert.equal(isTransient({ statusCode: 500 }), true);
      assert.equal(isTransient({ statusCode: 503 }), true);
      assert.equal(isTransient({ response: { statusCode: 502 } }), true);
      assert.equal(isTransient(Object.assign(new Error('x'), { code: 'ECONNRESET' })), true);
      assert.equal(isTransient(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })), true);
    });

    it('does not retry client errors and unknown failures', () => {
      assert.equal(isTransient({ statusCode: 400 }), false);
      assert.equal(isTransient({ statusCode: 413 }), false);
      assert.equal(isTransient(new Error('boom')), false);
      assert.equal(isTransient(Object.assign(new Error('x'), { code: 'ENOENT' })), false);
      assert.equal(isTransient('ThrottlingError'), false);
      assert.equal(isTransient(null), false);
    });
  });

  describe('canMerge / mergeInto', () => {
    it('merges nested patches, later values winning', () => {
      const a: JsonObject = { w: { x: 1, y: { z: 1 } }, k: 'a' };
      assert.equal(canMerge(a, { w: { y: { q: 2 } }, k: 'b' }), true);
      mergeInto(a, { w: { y: { q: 2 } }, k: 'b' });
      assert.deepEqual(a, { w: { x: 1, y: { z: 1, q: 2 } }, k: 'b' });
    });

    it('an object after a null cannot be merged (that would not replace)', () => {
      assert.equal(canMerge({ w: { s: null } }, { w: { s: { a: 1 } } }), false);
      assert.equal(canMerge({ w: { s: null } }, { w: { s: 'x' } }), true);
      assert.equal(canMerge({ w: { s: { a: 1 } } }, { w: { s: null } }), true);
    });

    it('a null after an object replaces it', () => {
      const a: JsonObject = { w: { s: { a: 1 } } };
      mergeInto(a, { w: { s: null } });
      assert.deepEqual(a, { w: { s: null } });
    });

    it('does not alias the merged value', () => {
      const b: JsonObject = { w: { arr: [1, 2] } };
      const a: JsonObject = {};
      mergeInto(a, b);
      ((b.w as JsonObject).arr as number[]).push(3);
      assert.deepEqual(a, { w: { arr: [1, 2] } });
    });
  });

  describe('splitPatch', () => {
    const never = (): Json => {
      throw new Error('nothing is oversize here');
    };

    it('returns a patch under budget unchanged', () => {
      const p = { a: 1, b: { c: 'x' } };
      assert.deepEqual(splitPatch(p, 1000, never), [p]);
    });

    it('splits along keys into parts each within budget that add up to the patch', () => {
      const sections: JsonObject = {};
      for (let i = 0; i < 30; i++) sections[`s${i}`] = { value: 'v'.repeat(100), n: i };
      const patch: JsonObject = { windows: sections };
      const budget = 1024;
      assert.ok(bytes(patch) > budget);
      const parts = splitPatch(patch, budget, never);
      assert.ok(parts.length > 1);
      for (const part of parts) assert.ok(bytes(part) <= budget, `${bytes(part)} > ${budget}`);
      const rebuilt = parts.reduce<JsonObject>((acc, p) => applyMerge(acc, p), {});
      assert.deepEqual(rebuilt, patch);
      // Key order is kept.
      const order = parts.flatMap((p) => Object.keys(p.windows as JsonObject));
      assert.deepEqual(order, Object.keys(sections));
    });

    it('descends into a key whose value alone is over budget', () => {
      const big: JsonObject = {};
      for (let i = 0; i < 10; i++) big[`k${i}`] = 'x'.repeat(200);
      const patch: JsonObject = { windows: { big, small: 1 } };
      const parts = splitPatch(patch, 600, never);
      for (const part of parts) assert.ok(bytes(part) <= 600);
      assert.deepEqual(
        parts.reduce<JsonObject>((acc, p) => applyMerge(acc, p), {}),
        patch,
      );
    });

    it('replaces a single value over budget by what onOversize gives, with its path', () => {
      const seen: Array<{ path: readonly string[]; bytes: number }> = [];
      const patch: JsonObject = { windows: { huge: 'x'.repeat(5000), ok: { a: 1 } } };
      const parts = splitPatch(patch, 1024, (path, n) => {
        seen.push({ path, bytes: n });
        return { error: 'too big' };
      });
      assert.equal(seen.length, 1);
      assert.deepEqual(seen[0]?.path, ['windows', 'huge']);
      assert.ok((seen[0]?.bytes ?? 0) > 5000);
      const rebuilt = parts.reduce<JsonObject>((acc, p) => applyMerge(acc, p), {});
      assert.deepEqual(rebuilt, { windows: { huge: { error: 'too big' }, ok: { a: 1 } } });
      for (const part of parts) assert.ok(bytes(part) <= 1024);
    });

    it('replaces an oversize value under a single-key parent at its own path, not the parent', () => {
      const seen: string[] = [];
      const parts = splitPatch({ windows: { only: 'x'.repeat(3000) } }, 1024, (path) => {
        seen.push(path.join('.'));
        return 'replaced';
      });
      assert.deepEqual(seen, ['windows.only']);
      assert.deepEqual(parts, [{ windows: { only: 'replaced' } }]);
    });
  });

  describe('ReportQueue', () => {
    it('sends patches in order and resolves each push once delivered', async () => {
      const fake = new FakeSend();
      const q = queue(fake);
      await Promise.all([q.push({ a: 1 }), q.push({ b: 2 })]);
      const merged = fake.sent.reduce<JsonObject>((acc, p) => applyMerge(acc, p), {});
      assert.deepEqual(merged, { a: 1, b: 2 });
      await q.idle();
      assert.equal(q.length, 0);
    });

    it('merges patches queued while a send is in flight into one', async () => {
      const fake = new FakeSend();
      const q = queue(fake);
      fake.hold();
      const first = q.push({ w: { a: 1 } });
      await Promise.resolve();
      const rest = [q.push({ w: { b: 2 } }), q.push({ w: { c: 3 } }), q.push({ w: { a: 4 } })];
      fake.release();
      await Promise.all([first, ...rest]);
      assert.deepEqual(fake.sent, [{ w: { a: 1 } }, { w: { b: 2, c: 3, a: 4 } }]);
    });

    it('merges everything queued while offline into one patch, sent on reconnect', async () => {
      const fake = new FakeSend();
      const q = queue(fake);
      q.setConnected(false);
      const pushes = [q.push({ w: { a: 1 } }), q.push({ w: { b: 2 } }), q.push({ w: { a: 3 } })];
      await new Promise((r) => setImmediate(r));
      assert.equal(fake.sent.length, 0);
      q.setConnected(true);
      await Promise.all(pushes);
      assert.deepEqual(fake.sent, [{ w: { a: 3, b: 2 } }]);
    });

    it('keeps a null and a later object as two patches, in order', async () => {
      const fake = new FakeSend();
      const q = queue(fake);
      q.setConnected(false);
      const pushes = [
        q.push({ w: { s: { old: 1 } } }),
        q.push({ w: { s: null } }),
        q.push({ w: { s: { fresh: 2 } } }),
      ];
      q.setConnected(true);
      await Promise.all(pushes);
      const nullAt = fake.sent.findIndex((p) => (p.w as JsonObject).s === null);
      const freshAt = fake.sent.findIndex(
        (p) => JSON.stringify((p.w as JsonObject).s) === '{"fresh":2}',
      );
      assert.ok(nullAt >= 0 && freshAt > nullAt, JSON.stringify(fake.sent));
      const final = fake.sent.reduce<JsonObject>((acc, p) => applyMerge(acc, p), {});
      assert.deepEqual(final, { w: { s: { fresh: 2 } } });
    });

    it('splits a patch over budget into several sends, each within budget', async () => {
      const fake = new FakeSend();
      const q = queue(fake, { budgetBytes: 512 });
      const sections: JsonObject = {};
      for (let i = 0; i < 12; i++) sections[`s${i}`] = { v: 'x'.repeat(80) };
      await q.push({ windows: sections });
      assert.ok(fake.sent.length > 1);
      for (const p of fake.sent) assert.ok(bytes(p) <= 512);
      assert.deepEqual(
        fake.sent.reduce<JsonObject>((acc, p) => applyMerge(acc, p), {}),
        { windows: sections },
      );
    });

    it('replaces a single oversize value via onOversize instead of dropping it', async () => {
      const fake = new FakeSend();
      const q = queue(fake, {
        budgetBytes: 256,
        onOversize: (path) => ({ tooBig: path.join('.') }),
      });
      await q.push({ windows: { s: 'x'.repeat(1000) } });
      assert.deepEqual(fake.sent, [{ windows: { s: { tooBig: 'windows.s' } } }]);
    });

    for (const [what, err] of [
      ['ThrottlingError', Object.assign(new Error('slow down'), { name: 'ThrottlingError' })],
      ['statusCode 429', Object.assign(new Error('429'), { statusCode: 429 })],
      ['statusCode 500', Object.assign(new Error('500'), { statusCode: 500 })],
    ] as const) {
      it(`retries a transient failure (${what}) until it is delivered`, async () => {
        const fake = new FakeSend();
        fake.failures.push(err, err);
        let failed = 0;
        const q = queue(fake, { onFailed: () => failed++ });
        await q.push({ a: 1 });
        assert.equal(fake.attempts, 3);
        assert.deepEqual(fake.sent, [{ a: 1 }]);
        assert.equal(failed, 0);
      });
    }

    it('rejects on a permanent failure, calls onFailed, and goes on with the next patch', async () => {
      const fake = new FakeSend();
      fake.failures.push(Object.assign(new Error('bad request'), { statusCode: 400 }));
      const failures: Array<{ err: ReportError; patch: JsonObject }> = [];
      const q = queue(fake, { onFailed: (err, patch) => failures.push({ err, patch }) });
      const first = q.push({ a: 1 });
      await assert.rejects(first, (err: unknown) => {
        assert.ok(err instanceof ReportError);
        assert.equal(err.code, 'ERR_DM_REPORT');
        assert.match(err.message, /bad request/);
        return true;
      });
      assert.equal(fake.attempts, 1);
      assert.equal(failures.length, 1);
      assert.deepEqual(failures[0]?.patch, { a: 1 });
      await q.push({ b: 2 });
      assert.deepEqual(fake.sent, [{ b: 2 }]);
    });

    it('rejects every merged caller of a failed patch', async () => {
      const fake = new FakeSend();
      const q = queue(fake);
      q.setConnected(false);
      fake.failures.push(new Error('permanent'));
      const a = q.push({ x: 1 });
      const b = q.push({ y: 1 });
      q.setConnected(true);
      const results = await Promise.allSettled([a, b]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['rejected', 'rejected'],
      );
      assert.equal(fake.attempts, 1);
      await q.idle();
    });

    it('pauses while disconnected and resumes when connected', async () => {
      const fake = new FakeSend();
      const q = queue(fake);
      q.setConnected(false);
      let done = false;
      const p = q.push({ a: 1 }).then(() => {
        done = true;
      });
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      assert.equal(done, false);
      assert.equal(fake.sent.length, 0);
      q.setConnected(true);
      await p;
      assert.deepEqual(fake.sent, [{ a: 1 }]);
    });

    it('a transient failure while going offline waits for the reconnect', async () => {
      const fake = new FakeSend();
      const q = queue(fake);
      fake.failures.push(Object.assign(new Error('gone'), { name: 'NotConnectedError' }));
      fake.hold();
      const p = q.push({ a: 1 });
      await Promise.resolve();
      q.setConnected(false);
      fake.release();
      for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 2));
      assert.equal(fake.sent.length, 0);
      q.setConnected(true);
      await p;
      assert.deepEqual(fake.sent, [{ a: 1 }]);
    });

    it('offline with no connect event ever: still tries a send after offlineProbeMs, and is connected again', async () => {
      // The SDK can be connected again without a `connect` event (it emits `disconnect` after
      // its own reconnect, and a later open() of a connected client emits nothing): a queue that
      // waited for the event alone held its patches, and the agent's attach, for ever.
      const fake = new FakeSend();
      let reconnected = 0;
      const q = queue(fake, { offlineProbeMs: 20, onReconnected: () => reconnected++ });
      q.setConnected(false);
      await q.push({ a: 1 });
      assert.deepEqual(fake.sent, [{ a: 1 }]);
      assert.equal(reconnected, 1);
      // Connected again: the next patch goes at once, without another probe.
      const before = fake.attempts;
      await q.push({ b: 2 });
      assert.equal(fake.attempts, before + 1);
      assert.equal(reconnected, 1);
    });

    it('a failed probe keeps the queue offline and probes again', async () => {
      const fake = new FakeSend();
      let reconnected = 0;
      const q = queue(fake, { offlineProbeMs: 10, onReconnected: () => reconnected++ });
      q.setConnected(false);
      const gone = (): Error => Object.assign(new Error('gone'), { name: 'NotConnectedError' });
      fake.failures.push(gone(), gone());
      await q.push({ a: 1 });
      assert.equal(fake.attempts, 3);
      assert.deepEqual(fake.sent, [{ a: 1 }]);
      assert.equal(reconnected, 1);
    });

    it('a send started before the drop and answered after it does not mark the queue connected', async () => {
      const fake = new FakeSend();
      let reconnected = 0;
      const q = queue(fake, { offlineProbeMs: 60_000, onReconnected: () => reconnected++ });
      fake.hold();
      const first = q.push({ a: 1 });
      await Promise.resolve();
      q.setConnected(false);
      fake.release();
      await first;
      assert.equal(reconnected, 0);
      let done = false;
      const second = q.push({ b: 2 }).then(() => {
        done = true;
      });
      for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 2));
      assert.equal(done, false);
      q.setConnected(true);
      await second;
      assert.deepEqual(fake.sent, [{ a: 1 }, { b: 2 }]);
    });

    it('idle() resolves only when nothing is queued or in flight', async () => {
      const fake = new FakeSend();
      const q = queue(fake);
      await q.idle();
      fake.hold();
      const p = q.push({ a: 1 });
      let idle = false;
      const i = q.idle().then(() => {
        idle = true;
      });
      await new Promise((r) => setImmediate(r));
      assert.equal(idle, false);
      fake.release();
      await Promise.all([p, i]);
      assert.equal(fake.sent.length, 1);
    });

    it('close() rejects what is queued, and later pushes', async () => {
      const fake = new FakeSend();
      const q = queue(fake);
      q.setConnected(false);
      const a = q.push({ a: 1 });
      const b = q.push({ b: 1 });
      q.close();
      await assert.rejects(a, ReportError);
      await assert.rejects(b, ReportError);
      await assert.rejects(q.push({ c: 1 }), ReportError);
      await q.idle();
      assert.equal(fake.sent.length, 0);
    });
  });
});
