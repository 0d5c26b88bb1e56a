import assert from 'node:assert/strict';
import type { FeatureHandler, JsonObject } from '../../../lib/dm/handler';
import { s } from '../../../lib/dm/schema';
import { ALPHA_LEVEL, ALPHA_NAME, alphaHandler, Harness } from './fixture';

function bytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v), 'utf8');
}

describe('dm/client: reporting', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });
  afterEach(() => h.cleanup());

  describe('PnP acknowledgements', () => {
    it('reports windows as a component and each written section as {value, ac, av, ad}', async () => {
      const dm = await h.attach([alphaHandler()], { acknowledge: 'pnp' });
      const sent = h.link.setDesired({ windows: { alpha: { name: 'pnp', level: 4 } } });
      await h.idle(dm);
      assert.equal(h.reported.__t, 'c');
      const alpha = h.section('alpha') as JsonObject;
      assert.deepEqual(Object.keys(alpha).sort(), ['ac', 'ad', 'av', 'value']);
      assert.equal(alpha.ac, 200);
      assert.equal(alpha.av, sent.$version);
      assert.equal(alpha.ad, 'completed');
      const value = alpha.value as JsonObject;
      assert.equal(value.name, 'pnp');
      assert.equal(value.level, 4);
      assert.equal((value.lastChange as JsonObject).state, 'completed');
      assert.equal(h.mock.node(ALPHA_NAME)?.value, 'pnp');
    });

    it('acknowledges invalid input with ac 400 and the reason in ad', async () => {
      const dm = await h.attach([alphaHandler()], { acknowledge: 'pnp' });
      const sent = h.link.setDesired({ windows: { alpha: { level: 'high' } } });
      await h.idle(dm);
      const alpha = h.section('alpha') as JsonObject;
      assert.equal(alpha.ac, 400);
      assert.equal(alpha.av, sent.$version);
      assert.match(String(alpha.ad), /\$\.level: expected an integer/);
      assert.equal(((alpha.value as JsonObject).lastChange as JsonObject).state, 'failed');
    });

    it('acknowledges a device failure with ac 500', async () => {
      h.mock.respond(ALPHA_LEVEL, (op) =>
        op.verb === 'get' ? { status: 200, items: [], data: '1', format: 'int' } : 500,
      );
      const dm = await h.attach([alphaHandler()], { acknowledge: 'pnp' });
      h.link.setDesired({ windows: { alpha: { level: 3 } } });
      await h.idle(dm);
      assert.equal((h.section('alpha') as JsonObject).ac, 500);
    });

    it('acknowledges a long-running apply with 202 first', async () => {
      const dm = await h.attach([{ ...alphaHandler(), longRunning: true }], {
        acknowledge: 'pnp',
      });
      await h.idle(dm);
      const mark = h.link.reportedPatches.length;
      h.link.setDesired({ windows: { alpha: { level: 2 } } });
      await h.idle(dm);
      const acs = h.link.reportedPatches
        .slice(mark)
        .map((p) => ((p.windows as JsonObject)?.alpha as JsonObject | undefined)?.ac)
        .filter((x) => x !== undefined);
      assert.deepEqual(acs, [202, 200]);
    });

    it('keeps the ack of the last write when re-reporting after a restart', async () => {
      const dm1 = await h.attach([alphaHandler()], { acknowledge: 'pnp' });
      const good = h.link.setDesired({ windows: { alpha: { level: 'bad' } } });
      await h.idle(dm1);
      assert.equal((h.section('alpha') as JsonObject).ac, 400);
      await dm1.detach();
      h.mock.setNode(ALPHA_NAME, { value: 'changed-meanwhile' });
      const dm2 = await h.attach([alphaHandler()], { acknowledge: 'pnp' });
      await h.idle(dm2);
      const alpha = h.section('alpha') as JsonObject;
      assert.equal((alpha.value as JsonObject).name, 'changed-meanwhile');
      assert.equal(alpha.av, good.$version);
      assert.equal(alpha.ac, 400);
      assert.equal(((alpha.value as JsonObject).lastChange as JsonObject).errCode, 400);

      // Re-reading (windows.reportAllAsync) keeps the ack too.
      h.mock.setNode(ALPHA_NAME, { value: 're-read' });
      assert.equal((await h.link.invoke('windows.reportAllAsync')).status, 200);
      await dm2.flushReports();
      const again = h.section('alpha') as JsonObject;
      assert.equal((again.value as JsonObject).name, 're-read');
      assert.deepEqual([again.ac, again.av], [400, good.$version]);
      assert.match(String(again.ad), /\$\.level: expected an integer/);
    });

    it('plain lastChange mode has no component marker and no ack wrapper', async () => {
      const dm = await h.attach([alphaHandler()]);
      h.link.setDesired({ windows: { alpha: { level: 2 } } });
      await h.idle(dm);
      assert.equal(Object.hasOwn(h.reported, '__t'), false);
      assert.equal(Object.hasOwn(h.section('alpha') as JsonObject, 'ac'), false);
      assert.equal(h.section('alpha')?.level, 2);
    });
  });

  describe('partial reports', () => {
    it('reportPartial merges into the section, keeping what was reported', async () => {
      const dm = await h.attach([
        {
          ...alphaHandler(),
          methods: [
            {
              name: 'windows.alphaProgress',
              async invoke(_p, ctx) {
                await ctx.reportPartial({ progress: { done: 1, of: 2 } });
              },
            },
          ],
        },
      ]);
      await h.idle(dm);
      h.link.setDesired({ windows: { alpha: { level: 3 } } });
      await h.idle(dm);
      const r = await h.link.invoke('windows.alphaProgress');
      assert.equal(r.status, 200);
      await dm.flushReports();
      const alpha = h.section('alpha');
      assert.deepEqual(alpha?.progress, { done: 1, of: 2 });
      assert.equal(alpha?.name, 'initial');
      assert.equal(alpha?.level, 3);
      assert.equal((alpha?.lastChange as JsonObject).state, 'completed');
    });

    it('pending keeps the values last read back until completed replaces them', async () => {
      let during: JsonObject | undefined;
      const base = alphaHandler();
      const dm = await h.attach([
        {
          ...base,
          longRunning: true,
          async apply(desired, ctx) {
            await h.link.waitReported(
              (r) =>
                (((r.windows as JsonObject)?.alpha as JsonObject)?.lastChange as JsonObject)
                  ?.state === 'pending',
            );
            during = structuredClone(h.section('alpha'));
            await base.apply?.(desired, ctx);
          },
        },
      ]);
      await h.idle(dm);
      h.link.setDesired({ windows: { alpha: { level: 8 } } });
      await h.idle(dm);
      assert.equal(during?.name, 'initial');
      assert.equal(during?.level, 1);
      assert.equal(h.section('alpha')?.level, 8);
      assert.equal(h.lastChange('alpha')?.state, 'completed');
    });
  });

  describe('reported-properties budget', () => {
    const big = (size: number): FeatureHandler => ({
      section: 'big',
      nodes: [],
      desired: s.object({ n: s.integer() }),
      async apply() {},
      async report() {
        return { blob: 'x'.repeat(size), note: 'n' };
      },
    });

    it('a section over budget is reported as failed with errCode 413, not dropped', async () => {
      const dm = await h.attach([big(3000), alphaHandler()], { reportBudgetBytes: 2048 });
      await h.idle(dm);
      for (const p of h.link.reportedPatches) assert.ok(bytes(p) <= 2048, `${bytes(p)} bytes`);
      const lc = h.lastChange('big');
      assert.equal(lc?.state, 'failed', JSON.stringify(h.reported.big));
      assert.equal(lc?.errCode, 413);
      assert.match(String(lc?.errContext), /windows\.big/);
      // The other section is intact.
      assert.equal(h.section('alpha')?.name, 'initial');
    });

    it('an apply whose report is over budget says 413 too', async () => {
      const dm = await h.attach([big(3000)], { reportBudgetBytes: 2048 });
      await h.idle(dm);
      h.link.setDesired({ windows: { big: { n: 1 } } });
      await h.idle(dm);
      assert.equal(h.lastChange('big')?.errCode, 413);
      assert.equal(h.lastChange('big')?.state, 'failed');
    });

    it('in PnP mode an over-budget section stays an ack: value is the 413 status, ac 500', async () => {
      const dm = await h.attach([big(3000)], { reportBudgetBytes: 2048, acknowledge: 'pnp' });
      await h.idle(dm);
      const version = h.link.setDesired({ windows: { big: { n: 1 } } }).$version;
      await h.idle(dm);
      const ack = h.reported.big as JsonObject;
      assert.equal(ack.ac, 500);
      assert.equal(ack.av, version);
      assert.match(String(ack.ad), /over the reported-properties budget/);
      const value = ack.value as JsonObject;
      assert.equal((value.lastChange as JsonObject).errCode, 413);
      assert.equal(value.blob, undefined);
    });

    it('several sections that together exceed the budget are split, none lost', async () => {
      const mk = (name: string): FeatureHandler => ({
        section: name,
        nodes: [],
        async report() {
          return { text: name.repeat(150) };
        },
      });
      const names = ['s1', 's2', 's3', 's4', 's5', 's6'];
      const dm = await h.attach(
        names.map((n) => mk(n)),
        { reportBudgetBytes: 2048 },
      );
      await h.idle(dm);
      await dm.reportNow();
      await dm.flushReports();
      for (const p of h.link.reportedPatches) assert.ok(bytes(p) <= 2048);
      for (const n of names) assert.equal(h.section(n)?.text, n.repeat(150));
    });
  });
});
