import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ReconciledEvent } from '../../../lib/dm/client';
import type { FeatureHandler, JsonObject } from '../../../lib/dm/handler';
import { s } from '../../../lib/dm/schema';
import { STATE_FILE } from '../../../lib/dm/state-store';
import { MockTwinLink } from '../../../lib/testing/mock-twin-link';
import { ALPHA_LEVEL, ALPHA_NAME, alphaHandler, counters, Harness, metaHandler } from './fixture';

describe('dm/client: $version, reconnects and restarts', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });
  afterEach(() => h.cleanup());

  describe('$version', () => {
    it('ignores duplicate and out-of-order patches', async () => {
      const count = counters();
      const dm = await h.attach([alphaHandler(count)]);
      const sent = h.link.setDesired({ windows: { alpha: { level: 2 } } });
      await h.idle(dm);
      assert.equal(count.apply, 1);
      const v = sent.$version as number;
      const reads = h.link.twinReads;

      h.link.deliver({ $version: v, windows: { alpha: { level: 8 } } });
      h.link.deliver({ $version: v - 1, windows: { alpha: { level: 9 } } });
      await h.idle(dm);
      assert.equal(count.apply, 1);
      assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '2');
      assert.equal(h.link.twinReads, reads);
      assert.equal(dm.version, v);
    });

    it('a gap triggers a full re-read of the twin', async () => {
      const count = counters();
      const dm = await h.attach([alphaHandler(count)]);
      await h.idle(dm);
      const reconciled: ReconciledEvent[] = [];
      dm.on('reconciled', (e) => reconciled.push(e));
      const reads = h.link.twinReads;
      // Two changes on the service side; only the second patch arrives.
      h.link.desired = { $version: 3, windows: { alpha: { name: 'missed', level: 4 } } };
      h.link.deliver({ $version: 3, windows: { alpha: { level: 4 } } });
      await h.idle(dm);
      assert.equal(h.link.twinReads, reads + 1);
      assert.equal(h.mock.node(ALPHA_NAME)?.value, 'missed');
      assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '4');
      assert.equal(count.apply, 1);
      assert.equal(dm.version, 3);
      assert.deepEqual(reconciled, [{ version: 3, reason: 'gap', applied: ['alpha'] }]);
    });

    it('a patch without $version triggers a full re-read', async () => {
      const dm = await h.attach([alphaHandler()]);
      const reads = h.link.twinReads;
      h.link.deliver({ windows: { alpha: { level: 5 } } });
      await h.idle(dm);
      assert.equal(h.link.twinReads, reads + 1);
      // The twin did not say level 5: nothing applied.
      assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '1');
    });

    it('a patch without windows only advances the version', async () => {
      const count = counters();
      const dm = await h.attach([alphaHandler(count)]);
      h.link.setDesired({ other: { x: 1 } });
      await h.idle(dm);
      assert.equal(dm.version, 2);
      assert.equal(count.apply, 0);
      // The next patch is in sequence (no re-read).
      const reads = h.link.twinReads;
      h.link.setDesired({ windows: { alpha: { level: 3 } } });
      await h.idle(dm);
      assert.equal(h.link.twinReads, reads);
      assert.equal(count.apply, 1);
    });

    it('windows: null removes every managed section', async () => {
      h.link.desired = { $version: 2, windows: { alpha: { level: 3 } } };
      const count = counters();
      const dm = await h.attach([alphaHandler(count)]);
      await h.idle(dm);
      h.link.setDesired({ windows: null });
      await h.idle(dm);
      assert.equal(count.remove, 1);
      assert.equal(dm.sectionState('alpha'), undefined);
      assert.equal(Object.hasOwn(h.reported, 'alpha'), false);
    });

    it('patches are applied one job at a time, in order', async () => {
      const seen: number[] = [];
      const base = alphaHandler();
      const dm = await h.attach([
        {
          ...base,
          async apply(desired, ctx) {
            seen.push(desired.level as number);
            await new Promise((r) => setImmediate(r));
            await base.apply?.(desired, ctx);
          },
        },
      ]);
      for (const level of [1, 2, 3, 4]) h.link.setDesired({ windows: { alpha: { level } } });
      await h.idle(dm);
      assert.deepEqual(seen, [1, 2, 3, 4]);
      assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '4');
      assert.equal(h.section('alpha')?.level, 4);
    });
  });

  describe('connection', () => {
    it('applies a change made while offline after the reconnect', async () => {
      const count = counters();
      const dm = await h.attach([alphaHandler(count)]);
      await h.idle(dm);
      const events: string[] = [];
      dm.on('connected', () => events.push('connected'));
      dm.on('disconnected', () => events.push('disconnected'));
      h.link.disconnect();
      h.link.setDesired({ windows: { alpha: { name: 'offline' } } });
      await dm.settled();
      assert.equal(count.apply, 0);
      const reads = h.link.twinReads;
      h.link.connect();
      await h.idle(dm);
      assert.equal(h.link.twinReads, reads + 1);
      assert.equal(count.apply, 1);
      assert.equal(h.mock.node(ALPHA_NAME)?.value, 'offline');
      assert.equal(h.section('alpha')?.name, 'offline');
      assert.deepEqual(events, ['disconnected', 'connected']);
    });

    it('holds reports while offline and sends them merged after the reconnect', async () => {
      const dm = await h.attach([alphaHandler()]);
      await h.idle(dm);
      h.link.disconnect();
      const mark = h.link.reportedPatches.length;
      h.mock.setNode(ALPHA_NAME, { value: 'one' });
      void dm.reportNow('alpha');
      await dm.settled();
      h.mock.setNode(ALPHA_NAME, { value: 'two' });
      void dm.reportNow('alpha');
      h.mock.setNode(ALPHA_NAME, { value: 'three' });
      const last = dm.reportNow('alpha');
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      assert.equal(h.link.reportedPatches.length, mark);
      h.link.connect();
      await last;
      await h.idle(dm);
      assert.equal(h.section('alpha')?.name, 'three');
      // Everything queued while offline went out as one patch.
      assert.equal(h.link.reportedPatches.length - mark, 1);
    });

    it('retries a transient reported failure, and emits reportFailed for a permanent one', async () => {
      const dm = await h.attach([alphaHandler()]);
      await h.idle(dm);
      h.link.failReported.push(Object.assign(new Error('slow'), { name: 'ThrottlingError' }));
      h.mock.setNode(ALPHA_NAME, { value: 'after-throttle' });
      await dm.reportNow('alpha');
      await dm.flushReports();
      assert.equal(h.section('alpha')?.name, 'after-throttle');

      const failures: Error[] = [];
      dm.on('reportFailed', (e) => failures.push(e));
      h.link.failReported.push(Object.assign(new Error('too large'), { statusCode: 400 }));
      h.mock.setNode(ALPHA_NAME, { value: 'lost' });
      await dm.reportNow('alpha');
      await dm.flushReports();
      assert.equal(failures.length, 1);
      assert.match(failures[0]?.message ?? '', /too large/);
      assert.equal(h.section('alpha')?.name, 'after-throttle');
    });
  });

  describe('restart', () => {
    it('does not re-apply unchanged sections, but applies one changed meanwhile', async () => {
      h.link.desired = {
        $version: 5,
        windows: { alpha: { name: 'kept', level: 2 }, beta: { name: 'b' } },
      };
      const betaHandler = (count = counters()): FeatureHandler => ({
        ...alphaHandler(count),
        section: 'beta',
        nodes: ['./Device/Vendor/MSFT/Test/Alpha/Name'],
        async apply(desired, ctx) {
          count.apply++;
          await ctx.csp.put(ALPHA_NAME, `beta:${String(desired.name)}`);
        },
        async report(ctx) {
          return { name: (await ctx.csp.get(ALPHA_NAME)) as string };
        },
      });
      const first = { alpha: counters(), beta: counters() };
      const dm1 = await h.attach([alphaHandler(first.alpha), betaHandler(first.beta)]);
      await h.idle(dm1);
      assert.deepEqual([first.alpha.apply, first.beta.apply], [1, 1]);
      await dm1.detach();

      // While the client is down, the service changes beta only.
      h.link.desired = {
        $version: 7,
        windows: { alpha: { level: 2, name: 'kept' }, beta: { name: 'changed' } },
      };
      const second = { alpha: counters(), beta: counters() };
      const dm2 = await h.attach([alphaHandler(second.alpha), betaHandler(second.beta)]);
      await h.idle(dm2);
      assert.equal(second.alpha.apply, 0, 'alpha unchanged (key order is irrelevant)');
      assert.equal(second.beta.apply, 1);
      assert.equal(h.mock.node(ALPHA_NAME)?.value, 'beta:changed');
      assert.equal(dm2.version, 7);
      assert.equal(dm2.sectionState('beta')?.version, 7);
      assert.equal(dm2.sectionState('alpha')?.version, 5);
    });

    it('a section no handler knew is applied after a restart that brings its handler', async () => {
      h.link.desired = { $version: 3, windows: { alpha: { level: 2 } } };
      const dm1 = await h.attach([]);
      await h.idle(dm1);
      assert.equal(h.lastChange('alpha')?.state, 'failed');
      await dm1.detach();

      const count = counters();
      const dm2 = await h.attach([alphaHandler(count)]);
      await h.idle(dm2);
      assert.equal(count.apply, 1);
      assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '2');
      assert.equal(h.lastChange('alpha')?.state, 'completed');
    });

    it('a section refused by an older schema is applied after a restart with a newer one', async () => {
      h.link.desired = { $version: 3, windows: { alpha: { level: 2, name: 'n' } } };
      const old = alphaHandler();
      const dm1 = await h.attach([{ ...old, desired: s.object({ level: s.integer() }) }]);
      await h.idle(dm1);
      assert.equal(h.lastChange('alpha')?.errCode, 400);
      await dm1.detach();

      const count = counters();
      const dm2 = await h.attach([alphaHandler(count)]);
      await h.idle(dm2);
      assert.equal(count.apply, 1);
      assert.equal(h.mock.node(ALPHA_NAME)?.value, 'n');
      assert.equal(h.lastChange('alpha')?.state, 'completed');
    });

    it('a "no-report" section stays unreported after a restart and on reportAllAsync', async () => {
      h.link.desired = {
        $version: 3,
        windows: {
          alpha: 'no-apply-no-report',
          meta: { applyProperties: 'no', reportProperties: 'no' },
        },
      };
      const dm1 = await h.attach([alphaHandler(), metaHandler()]);
      await h.idle(dm1);
      assert.equal(h.reported.alpha, 'no-report');
      assert.equal(h.reported.meta, 'no-report');
      await dm1.detach();

      const dm2 = await h.attach([alphaHandler(), metaHandler()]);
      await h.idle(dm2);
      assert.equal(h.reported.alpha, 'no-report');
      assert.equal(h.reported.meta, 'no-report');
      await h.link.invoke('windows.reportAllAsync');
      await dm2.flushReports();
      assert.equal(h.reported.alpha, 'no-report');
      assert.equal(h.reported.meta, 'no-report');
    });

    it('persists applied versions and hashes in the state folder', async () => {
      h.link.desired = { $version: 3, windows: { alpha: { level: 2 } } };
      const dm = await h.attach([alphaHandler()]);
      await h.idle(dm);
      await dm.detach();
      const saved = JSON.parse(readFileSync(path.join(h.stateDir, STATE_FILE), 'utf8')) as {
        lastVersion: number;
        sections: Record<string, { status: string; version: number; hash: string }>;
      };
      assert.equal(saved.lastVersion, 3);
      assert.equal(saved.sections.alpha?.status, 'applied');
      assert.equal(saved.sections.alpha?.version, 3);
      assert.match(saved.sections.alpha?.hash ?? '', /^[0-9a-f]{64}$/);
    });

    it('re-applies a section left "applying" by a client that never finished', async () => {
      let entered!: () => void;
      const inApply = new Promise<void>((r) => {
        entered = r;
      });
      const hang: FeatureHandler = {
        ...alphaHandler(),
        apply: () => {
          entered();
          return new Promise<void>(() => undefined);
        },
      };
      const dm1 = await h.attach([hang]);
      h.link.setDesired({ windows: { alpha: { level: 6 } } });
      await inApply;
      assert.equal(dm1.sectionState('alpha')?.status, 'applying');
      // detach must not wait for the stuck apply past its timeout.
      await dm1.detach(20);

      const count = counters();
      const dm2 = await h.attach([alphaHandler(count)]);
      await h.idle(dm2);
      assert.equal(count.apply, 1);
      assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '6');
      assert.equal(dm2.sectionState('alpha')?.status, 'applied');
      assert.equal(h.lastChange('alpha')?.state, 'completed');
    });

    it('re-applies everything when the twin was re-created ($version went back)', async () => {
      h.link.desired = { $version: 9, windows: { alpha: { level: 2 } } };
      const dm1 = await h.attach([alphaHandler()]);
      await h.idle(dm1);
      await dm1.detach();
      h.link = new MockTwinLink();
      h.link.desired = { $version: 2, windows: { alpha: { level: 2 } } };
      const count = counters();
      const dm2 = await h.attach([alphaHandler(count)]);
      await h.idle(dm2);
      assert.equal(count.apply, 1);
      assert.equal(dm2.version, 2);
    });

    it('keeps handler store values across a restart', async () => {
      const seen: unknown[] = [];
      const storing = (): FeatureHandler => ({
        section: 'storing',
        nodes: [],
        async start(ctx) {
          seen.push(ctx.store.get('boots') ?? 0);
          await ctx.store.set('boots', ((ctx.store.get<number>('boots') ?? 0) + 1) as number);
          await ctx.store.set('temp', { a: [1] });
          await ctx.store.set('temp', undefined);
        },
      });
      const dm1 = await h.attach([storing()]);
      await dm1.detach();
      const dm2 = await h.attach([storing()]);
      await dm2.detach();
      const dm3 = await h.attach([storing()]);
      await dm3.detach();
      assert.deepEqual(seen, [0, 1, 2]);
      const saved = JSON.parse(readFileSync(path.join(h.stateDir, STATE_FILE), 'utf8')) as {
        handlers: Record<string, JsonObject>;
      };
      assert.deepEqual(saved.handlers.storing, { boots: 3 });
    });

    it('a value read from the handler store is a copy: only set() changes what persists', async () => {
      const dm1 = await h.attach([
        {
          section: 'storing',
          nodes: [],
          async start(ctx) {
            await ctx.store.set('list', [1]);
            const list = ctx.store.get<number[]>('list');
            list?.push(2);
          },
        },
      ]);
      await dm1.detach();
      const seen: unknown[] = [];
      const dm2 = await h.attach([
        {
          section: 'storing',
          nodes: [],
          async start(ctx) {
            seen.push(ctx.store.get('list'));
          },
        },
      ]);
      await dm2.detach();
      assert.deepEqual(seen, [[1]]);
    });

    it('calls start once after attach and stop on detach', async () => {
      const count = counters();
      const dm = await h.attach([
        {
          ...alphaHandler(count),
          async start() {
            count.start++;
          },
          stop() {
            count.stop++;
          },
        },
      ]);
      assert.equal(count.start, 1);
      await dm.detach();
      await dm.detach();
      assert.equal(count.stop, 1);
    });

    it('after detach, desired patches are no longer applied', async () => {
      const count = counters();
      const dm = await h.attach([alphaHandler(count)]);
      await dm.detach();
      h.link.setDesired({ windows: { alpha: { level: 4 } } });
      await dm.settled();
      assert.equal(count.apply, 0);
      assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '1');
    });
  });
});
