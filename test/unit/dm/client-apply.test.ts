import assert from 'node:assert/strict';
import type { FeatureHandler, JsonObject } from '../../../lib/dm/handler';
import {
  type ReconciledEvent,
  type SectionEvent,
  type SectionFailedEvent,
} from '../../../lib/dm/client';
import { s } from '../../../lib/dm/schema';
import {
  ALPHA_LEVEL,
  ALPHA_NAME,
  alphaHandler,
  BASE,
  counters,
  Harness,
  META_DATA,
  metaHandler,
} from './fixture';

function nested(levels: number): JsonObject {
  let v: JsonObject = { leaf: 1 };
  for (let i = 0; i < levels - 1; i++) v = { a: v };
  return v;
}

describe('dm/client: applying desired state', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });
  afterEach(() => h.cleanup());

  it('applies the desired sections found on attach and reports what the device has', async () => {
    h.link.desired = { $version: 4, windows: { alpha: { name: 'fromTwin', level: 3 } } };
    const count = counters();
    const dm = await h.attach([alphaHandler(count)]);
    await h.idle(dm);
    assert.equal(count.apply, 1);
    assert.equal(h.mock.node(ALPHA_NAME)?.value, 'fromTwin');
    assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '3');
    const alpha = h.section('alpha');
    assert.equal(alpha?.name, 'fromTwin');
    assert.equal(alpha?.level, 3);
    assert.deepEqual(
      { ...(alpha?.lastChange as JsonObject), time: 'T' },
      { time: 'T', state: 'completed', errSubSystem: '', errCode: 0, errContext: '' },
    );
    assert.match(
      String((alpha?.lastChange as JsonObject).time),
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    assert.equal(dm.version, 4);
    assert.equal(dm.sectionState('alpha')?.status, 'applied');
    assert.equal(dm.sectionState('alpha')?.version, 4);
  });

  it('reports a section with nothing desired on attach (read-back only)', async () => {
    const count = counters();
    const dm = await h.attach([alphaHandler(count)]);
    await h.idle(dm);
    assert.equal(count.apply, 0);
    assert.equal(h.section('alpha')?.name, 'initial');
    assert.equal(h.section('alpha')?.level, 1);
  });

  it('does not report on attach when reportOnAttach is false', async () => {
    const dm = await h.attach([alphaHandler()], { reportOnAttach: false });
    await h.idle(dm);
    assert.equal(h.section('alpha'), undefined);
  });

  it('applies a desired patch and reports values read back from the device, not echoed', async () => {
    const dm = await h.attach([alphaHandler()]);
    await h.idle(dm);
    // The device ignores the name write (answers 200, keeps its value).
    h.mock.respond(ALPHA_NAME, (op) =>
      op.verb === 'get' ? { status: 200, items: [], data: 'device-says', format: 'chr' } : 200,
    );
    h.link.setDesired({ windows: { alpha: { name: 'wanted', level: 7 } } });
    await h.idle(dm);
    const alpha = h.section('alpha');
    assert.equal(alpha?.name, 'device-says');
    assert.equal(alpha?.level, 7);
    assert.equal((alpha?.lastChange as JsonObject).state, 'completed');
    assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '7');
  });

  it('merges a partial patch into the section before applying it', async () => {
    h.link.desired = { $version: 1, windows: { alpha: { name: 'a', level: 2 } } };
    const seen: JsonObject[] = [];
    const base = alphaHandler();
    const dm = await h.attach([
      {
        ...base,
        async apply(desired, ctx) {
          seen.push(structuredClone(desired));
          await base.apply?.(desired, ctx);
        },
      },
    ]);
    h.link.setDesired({ windows: { alpha: { level: 5 } } });
    await h.idle(dm);
    assert.deepEqual(seen, [
      { name: 'a', level: 2 },
      { name: 'a', level: 5 },
    ]);
  });

  it('sends the ops of one apply in one MockMdm call', async () => {
    const uris = [1, 2, 3, 4, 5].map((i) => `${BASE}/Five/N${i}`);
    for (const u of uris) h.mock.setNode(u, { value: 0, format: 'int' });
    let delta = -1;
    const five: FeatureHandler = {
      section: 'five',
      nodes: [`${BASE}/Five/*`],
      desired: s.object({ v: s.integer() }),
      async apply(desired, ctx) {
        const before = h.mock.calls.length;
        await Promise.all(uris.map((u) => ctx.csp.replace(u, desired.v as number)));
        delta = h.mock.calls.length - before;
      },
    };
    const dm = await h.attach([five]);
    h.link.setDesired({ windows: { five: { v: 9 } } });
    await h.idle(dm);
    assert.equal(delta, 1);
    for (const u of uris) assert.equal(h.mock.node(u)?.value, '9');
    assert.equal(h.lastChange('five')?.state, 'completed');
  });

  describe('malformed sections', () => {
    const cases: Array<{ what: string; section: string; value: unknown; reason: RegExp }> = [
      {
        what: 'a wrong type',
        section: 'alpha',
        value: { name: 5 },
        reason: /windows\.alpha.*\$\.name: expected a string, got number/,
      },
      {
        what: 'a 4 KB string',
        section: 'alpha',
        value: { name: 'x'.repeat(4096) },
        reason: /\$\.name: string of 4096 characters/,
      },
      {
        what: 'an unknown key',
        section: 'alpha',
        value: { name: 'ok', bogus: true },
        reason: /\$\.bogus: unknown key/,
      },
      {
        what: 'an out-of-range number',
        section: 'alpha',
        value: { level: 99 },
        reason: /\$\.level: 99 is above 10/,
      },
      {
        what: '10 levels of nesting',
        section: 'meta',
        value: { data: nested(10) },
        reason: /nested deeper than 5 levels/,
      },
      {
        what: 'no known shape (a number)',
        section: 'alpha',
        value: 42,
        reason: /windows\.alpha: expected an object/,
      },
      {
        what: 'an array',
        section: 'meta',
        value: [1, 2],
        reason: /windows\.meta: expected an object.*array/,
      },
    ];
    for (const c of cases) {
      it(`${c.what}: failed with 400 and a reason, while a valid section still applies`, async () => {
        const alphaCount = counters();
        const metaCount = counters();
        const dm = await h.attach([alphaHandler(alphaCount), metaHandler(metaCount)]);
        await h.idle(dm);
        const failed: SectionFailedEvent[] = [];
        dm.on('failed', (e) => failed.push(e));
        const other = c.section === 'alpha' ? 'meta' : 'alpha';
        const good: JsonObject =
          other === 'alpha' ? { name: 'good', level: 4 } : { data: { ok: [1, 2] } };
        h.link.setDesired({ windows: { [c.section]: c.value as JsonObject, [other]: good } });
        await h.idle(dm);

        const lc = h.lastChange(c.section);
        assert.equal(lc?.state, 'failed');
        assert.equal(lc?.errCode, 400);
        assert.equal(lc?.errSubSystem, 'DeviceManagement');
        assert.match(String(lc?.errContext), c.reason);
        assert.equal((c.section === 'alpha' ? alphaCount : metaCount).apply, 0);
        assert.equal(dm.sectionState(c.section)?.status, 'failed');
        assert.deepEqual(
          failed.map((f) => f.section),
          [c.section],
        );

        assert.equal(h.lastChange(other)?.state, 'completed');
        if (other === 'alpha') assert.equal(h.mock.node(ALPHA_NAME)?.value, 'good');
        else assert.equal(h.mock.node(META_DATA)?.value, JSON.stringify({ ok: [1, 2] }));
      });
    }

    it('a failed section still reports what the device has (read back)', async () => {
      const dm = await h.attach([alphaHandler()]);
      h.link.setDesired({ windows: { alpha: { name: 7 } } });
      await h.idle(dm);
      assert.equal(h.section('alpha')?.name, 'initial');
      assert.equal(h.lastChange('alpha')?.state, 'failed');
    });

    it('is not retried for the same content, but is applied once corrected', async () => {
      const count = counters();
      const dm = await h.attach([alphaHandler(count)]);
      h.link.setDesired({ windows: { alpha: { name: 7 } } });
      await h.idle(dm);
      h.link.disconnect();
      h.link.connect();
      await h.idle(dm);
      assert.equal(count.apply, 0);
      h.link.setDesired({ windows: { alpha: { name: 'fixed' } } });
      await h.idle(dm);
      assert.equal(count.apply, 1);
      const lc = h.lastChange('alpha');
      assert.deepEqual(
        [lc?.state, lc?.errCode, lc?.errContext, lc?.errSubSystem],
        ['completed', 0, '', ''],
      );
    });
  });

  it('reports an unknown section as failed', async () => {
    const dm = await h.attach([alphaHandler()]);
    h.link.setDesired({ windows: { nosuch: { a: 1 }, alpha: { level: 2 } } });
    await h.idle(dm);
    const lc = h.lastChange('nosuch');
    assert.equal(lc?.state, 'failed');
    assert.equal(lc?.errCode, 400);
    assert.match(String(lc?.errContext), /windows\.nosuch: no feature handles this section/);
    assert.equal(h.lastChange('alpha')?.state, 'completed');
  });

  it('a report-only section refuses desired content but honours "no-apply-yes-report"', async () => {
    let reads = 0;
    const ro: FeatureHandler = {
      section: 'info',
      nodes: [ALPHA_NAME],
      async report(ctx) {
        reads++;
        return { name: (await ctx.csp.get(ALPHA_NAME)) as string };
      },
    };
    const dm = await h.attach([ro]);
    h.link.setDesired({ windows: { info: { name: 'x' } } });
    await h.idle(dm);
    assert.equal(h.lastChange('info')?.state, 'failed');
    assert.equal(h.lastChange('info')?.errCode, 400);
    assert.match(String(h.lastChange('info')?.errContext), /report-only/);
    assert.equal(h.mock.node(ALPHA_NAME)?.value, 'initial');

    const before = reads;
    h.link.setDesired({ windows: { info: 'no-apply-yes-report' } });
    await h.idle(dm);
    assert.equal(h.lastChange('info')?.state, 'completed');
    assert.equal(h.section('info')?.name, 'initial');
    assert.ok(reads > before);
  });

  it('a long-running handler reports pending before completed', async () => {
    const base = alphaHandler();
    let progressSeen = false;
    const slow: FeatureHandler = {
      ...base,
      longRunning: true,
      async apply(desired, ctx) {
        await h.link.waitReported(
          (r) =>
            ((r.windows as JsonObject)?.alpha as JsonObject)?.lastChange !== undefined &&
            (((r.windows as JsonObject).alpha as JsonObject).lastChange as JsonObject).state ===
              'pending',
        );
        await ctx.reportPartial({ progress: 50 });
        progressSeen = true;
        await base.apply?.(desired, ctx);
      },
    };
    const dm = await h.attach([slow]);
    await h.idle(dm);
    const mark = h.link.reportedPatches.length;
    h.link.setDesired({ windows: { alpha: { level: 6 } } });
    await h.idle(dm);
    assert.equal(progressSeen, true);
    const states = h.link.reportedPatches
      .slice(mark)
      .map(
        (p) =>
          (
            ((p.windows as JsonObject)?.alpha as JsonObject | undefined)?.lastChange as
              JsonObject | undefined
          )?.state,
      )
      .filter((x) => x !== undefined);
    assert.deepEqual(states, ['pending', 'completed']);
    assert.equal(h.section('alpha')?.level, 6);
  });

  it('null removes the section from reported and calls handler.remove', async () => {
    h.link.desired = { $version: 2, windows: { alpha: { level: 3 } } };
    const count = counters();
    const dm = await h.attach([alphaHandler(count)]);
    await h.idle(dm);
    assert.ok(h.section('alpha'));
    const applied: SectionEvent[] = [];
    dm.on('applied', (e) => applied.push(e));
    h.link.setDesired({ windows: { alpha: null } });
    await h.idle(dm);
    assert.equal(count.remove, 1);
    assert.equal(Object.hasOwn(h.reported, 'alpha'), false);
    assert.equal(dm.sectionState('alpha'), undefined);
    assert.deepEqual(applied, [{ section: 'alpha', version: 3 }]);
  });

  it('"no-apply-no-report" applies nothing and reports "no-report"', async () => {
    const count = counters();
    const dm = await h.attach([alphaHandler(count)]);
    h.link.setDesired({ windows: { alpha: 'no-apply-no-report' } });
    await h.idle(dm);
    assert.equal(count.apply, 0);
    assert.equal(h.reported.alpha, 'no-report');
  });

  it('{applyProperties, reportProperties: "no"} applies and reports "no-report"', async () => {
    const count = counters();
    const dm = await h.attach([alphaHandler(count)]);
    h.link.setDesired({
      windows: { alpha: { applyProperties: { name: 'wrapped' }, reportProperties: 'no' } },
    });
    await h.idle(dm);
    assert.equal(count.apply, 1);
    assert.equal(h.mock.node(ALPHA_NAME)?.value, 'wrapped');
    assert.equal(h.reported.alpha, 'no-report');
  });

  it('hands the "?" enumeration value to the handler, not to apply', async () => {
    const got: unknown[] = [];
    const base = alphaHandler();
    const dm = await h.attach([
      {
        ...base,
        async apply(desired, ctx) {
          got.push(structuredClone(desired), ctx.enumeration);
          await base.apply?.(desired, ctx);
        },
      },
    ]);
    h.link.setDesired({ windows: { alpha: { level: 2, '?': 'all' } } });
    await h.idle(dm);
    assert.deepEqual(got, [{ level: 2 }, 'all']);
    assert.equal(h.lastChange('alpha')?.state, 'completed');
  });

  it('checks the "?" enumeration value against the limits too', async () => {
    const count = counters();
    const dm = await h.attach([alphaHandler(count)]);
    h.link.setDesired({ windows: { alpha: { level: 2, '?': 'x'.repeat(4096) } } });
    await h.idle(dm);
    assert.equal(count.apply, 0);
    const lc = h.lastChange('alpha');
    assert.equal(lc?.state, 'failed');
    assert.equal(lc?.errCode, 400);
    assert.match(String(lc?.errContext), /string of 4096 characters/);
  });

  it('nulls keys that a later report no longer has', async () => {
    let extra = true;
    const h2: FeatureHandler = {
      section: 'keys',
      nodes: [],
      async report(): Promise<JsonObject> {
        return extra ? { a: 1, b: { c: 2, d: 3 } } : { a: 1, b: { c: 2 } };
      },
    };
    const dm = await h.attach([h2]);
    await h.idle(dm);
    assert.deepEqual((h.section('keys')?.b as JsonObject).d, 3);
    extra = false;
    const mark = h.link.reportedPatches.length;
    await dm.reportNow('keys');
    await dm.flushReports();
    assert.deepEqual(h.section('keys')?.b, { c: 2 });
    const sent = h.link.reportedPatches.slice(mark);
    assert.ok(
      sent.some(
        (p) => (((p.windows as JsonObject)?.keys as JsonObject)?.b as JsonObject)?.d === null,
      ),
    );
  });

  it('a handler touching an undeclared node fails, names the handler, and sends nothing', async () => {
    const rogue: FeatureHandler = {
      section: 'rogue',
      nodes: [`${BASE}/Rogue/*`],
      desired: s.object({ v: s.string() }),
      async apply(desired, ctx) {
        await ctx.csp.replace(ALPHA_NAME, desired.v as string);
      },
    };
    const dm = await h.attach([rogue]);
    await h.idle(dm);
    const before = h.mock.calls.length;
    h.link.setDesired({ windows: { rogue: { v: 'pwned' } } });
    await h.idle(dm);
    const lc = h.lastChange('rogue');
    assert.equal(lc?.state, 'failed');
    assert.equal(lc?.errCode, 403);
    assert.match(String(lc?.errContext), /"rogue" handler/);
    assert.equal(h.mock.calls.length, before);
    assert.equal(h.mock.node(ALPHA_NAME)?.value, 'initial');
  });

  it('a CSP failure fails the section with the CSP status', async () => {
    h.mock.respond(ALPHA_LEVEL, (op) =>
      op.verb === 'get' ? { status: 200, items: [], data: '1', format: 'int' } : 500,
    );
    const dm = await h.attach([alphaHandler()]);
    h.link.setDesired({ windows: { alpha: { level: 3 } } });
    await h.idle(dm);
    const lc = h.lastChange('alpha');
    assert.equal(lc?.state, 'failed');
    assert.equal(lc?.errSubSystem, 'CSP');
    assert.equal(lc?.errCode, 500);
  });

  it("emits 'applied', 'failed' and 'reconciled'", async () => {
    h.link.desired = { $version: 3, windows: { alpha: { level: 1 } } };
    const events: string[] = [];
    const reconciled: ReconciledEvent[] = [];
    const dm = await h.attach([alphaHandler(), metaHandler()]);
    dm.on('applied', (e) => events.push(`applied ${e.section} ${e.version}`));
    dm.on('failed', (e) =>
      events.push(`failed ${e.section} ${e.version} ${e.error.message.slice(0, 20)}`),
    );
    dm.on('reconciled', (e) => reconciled.push(e));
    h.link.setDesired({ windows: { alpha: { level: 2 }, meta: 5 as unknown as JsonObject } });
    await h.idle(dm);
    assert.deepEqual(events.sort(), ['applied alpha 4', 'failed meta 4 windows.meta: expect']);
    h.link.disconnect();
    h.link.connect();
    await h.idle(dm);
    assert.deepEqual(reconciled, [{ version: 4, reason: 'reconnect', applied: [] }]);
  });

  it("emits 'connected', 'applied' and 'reconciled' of the attach to listeners given as options", async () => {
    h.link.desired = { $version: 3, windows: { alpha: { level: 1 } } };
    const seen: string[] = [];
    const dm = await h.attach([alphaHandler()], {
      listeners: {
        connected: () => seen.push('connected'),
        applied: (e) => seen.push(`applied ${e.section} ${e.version}`),
        reconciled: (e) => seen.push(`reconciled ${e.reason} ${e.version} ${e.applied.join()}`),
      },
    });
    await h.idle(dm);
    assert.deepEqual(seen, ['applied alpha 3', 'reconciled attach 3 alpha', 'connected']);
  });

  it('refuses a listener that is not a function', async () => {
    await assert.rejects(
      h.attach([alphaHandler()], { listeners: { applied: 'nope' as never } }),
      /listeners.applied: expected a function/,
    );
  });
});
