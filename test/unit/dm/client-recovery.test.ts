import assert from 'node:assert/strict';
import { CspTransactionError, MdmUnavailableError } from '../../../lib/errors';
import type { FeatureHandler, JsonObject } from '../../../lib/dm/handler';
import { s } from '../../../lib/dm/schema';
import { ALPHA_LEVEL, ALPHA_NAME, alphaHandler, BASE, counters, Harness } from './fixture';

describe('dm/client: failures and recovery', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });
  afterEach(() => h.cleanup());

  it('resync() applies desired changes whose notifications never arrived', async () => {
    const count = counters();
    const dm = await h.attach([alphaHandler(count)]);
    await h.idle(dm);
    const applied = count.apply;
    // The transport reconnected silently: this patch reaches nobody.
    h.link.connected = false;
    h.link.setDesired({ windows: { alpha: { level: 7 } } });
    h.link.connected = true;
    await h.idle(dm);
    assert.equal(count.apply, applied);
    await dm.resync();
    assert.equal(count.apply, applied + 1);
    assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '7');
  });

  it('attach rejects when the first twin read fails', async () => {
    h.link.connected = false;
    await assert.rejects(h.attach([alphaHandler()]), /not connected/);
  });

  it('a handler whose start throws does not fail the attach', async () => {
    const count = counters();
    const dm = await h.attach([
      {
        ...alphaHandler(count),
        async start() {
          throw new Error('start broke');
        },
      },
    ]);
    h.link.setDesired({ windows: { alpha: { level: 2 } } });
    await h.idle(dm);
    assert.equal(count.apply, 1);
  });

  it('an MDM outage fails the section as transient (503) and it is retried on reconnect', async () => {
    const count = counters();
    const dm = await h.attach([alphaHandler(count)]);
    await h.idle(dm);
    h.mock.throwNext(new MdmUnavailableError('the MDM service is not running'));
    h.link.setDesired({ windows: { alpha: { level: 5 } } });
    await h.idle(dm);
    assert.equal(dm.sectionState('alpha')?.status, 'failed');
    assert.equal(dm.sectionState('alpha')?.retry, true);
    const lc = h.lastChange('alpha');
    assert.equal(lc?.state, 'failed');
    assert.equal(lc?.errSubSystem, 'MDM');
    assert.equal(lc?.errCode, 503);

    h.link.disconnect();
    h.link.connect();
    await h.idle(dm);
    assert.equal(count.apply, 2);
    assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '5');
    assert.equal(h.lastChange('alpha')?.state, 'completed');
    assert.equal(dm.sectionState('alpha')?.status, 'applied');
  });

  it('a rolled-back transaction reports the failing command’s status', async () => {
    h.mock.setNode(`${BASE}/Tx/RO`, { value: 'r', access: ['get'] });
    h.mock.setNode(`${BASE}/Tx/A`, { value: 'a' });
    const tx: FeatureHandler = {
      section: 'tx',
      nodes: [`${BASE}/Tx/*`],
      desired: s.object({ v: s.string() }),
      async apply(desired, ctx) {
        await ctx.csp.transaction((t) => {
          t.replace(`${BASE}/Tx/A`, desired.v as string);
          t.replace(`${BASE}/Tx/RO`, desired.v as string);
        });
      },
    };
    const dm = await h.attach([tx]);
    const failures: Error[] = [];
    dm.on('failed', (e) => failures.push(e.error));
    h.link.setDesired({ windows: { tx: { v: 'new' } } });
    await h.idle(dm);
    assert.equal(h.mock.node(`${BASE}/Tx/A`)?.value, 'a');
    const lc = h.lastChange('tx');
    assert.equal(lc?.state, 'failed');
    assert.equal(lc?.errSubSystem, 'CSP');
    assert.equal(lc?.errCode, 405);
    assert.ok(failures[0] instanceof CspTransactionError);
  });

  it('a read-back failure after apply turns completed into failed', async () => {
    const dm = await h.attach([
      {
        ...alphaHandler(),
        async report(ctx) {
          await ctx.csp.get(`${BASE}/Alpha/Gone`);
          return {};
        },
      },
    ]);
    h.link.setDesired({ windows: { alpha: { level: 3 } } });
    await h.idle(dm);
    assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '3');
    const lc = h.lastChange('alpha');
    assert.equal(lc?.state, 'failed');
    assert.equal(lc?.errCode, 404);
  });

  it('a section removed from desired while offline is removed after the reconnect', async () => {
    h.link.desired = { $version: 2, windows: { alpha: { level: 3 } } };
    const count = counters();
    const dm = await h.attach([alphaHandler(count)]);
    await h.idle(dm);
    h.link.disconnect();
    h.link.setDesired({ windows: { alpha: null } });
    h.link.connect();
    await h.idle(dm);
    assert.equal(count.remove, 1);
    assert.equal(dm.sectionState('alpha'), undefined);
    assert.equal(Object.hasOwn(h.reported, 'alpha'), false);
  });

  it('nulls inside a new section patch are dropped before validation', async () => {
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
    h.link.setDesired({ windows: { alpha: { name: 'n', level: null } } });
    await h.idle(dm);
    assert.deepEqual(seen, [{ name: 'n' }]);
    assert.equal(h.lastChange('alpha')?.state, 'completed');
  });

  it('a failure is reported even with reportProperties "no"', async () => {
    const dm = await h.attach([alphaHandler()]);
    h.link.setDesired({
      windows: { alpha: { applyProperties: { level: 'x' }, reportProperties: 'no' } },
    });
    await h.idle(dm);
    const lc = h.lastChange('alpha');
    assert.equal(lc?.state, 'failed');
    assert.equal(lc?.errCode, 400);
    assert.equal(Object.hasOwn(h.section('alpha') ?? {}, 'name'), false);
  });

  it('lists its sections; a handler whose stop throws does not break detach', async () => {
    const dm = await h.attach([
      {
        ...alphaHandler(),
        stop() {
          throw new Error('stop broke');
        },
      },
    ]);
    assert.deepEqual(dm.sections, ['alpha']);
    await dm.detach();
    h.link.setDesired({ windows: { alpha: { level: 9 } } });
    await dm.settled();
    assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '1');
  });

  it('works over a link that cannot see unknown methods', async () => {
    h.link.onUnknownMethod = () => false;
    const dm = await h.attach([alphaHandler()]);
    h.link.setDesired({ windows: { alpha: { level: 2 } } });
    await h.idle(dm);
    assert.equal(h.lastChange('alpha')?.state, 'completed');
    await assert.rejects(h.link.invoke('windows.nope'), /would time out/);
  });

  it('re-reading a section whose desired value has no known shape still reports it', async () => {
    const dm = await h.attach([alphaHandler()]);
    h.link.setDesired({ windows: { alpha: 42 as unknown as JsonObject } });
    await h.idle(dm);
    h.mock.setNode(ALPHA_NAME, { value: 'still-read' });
    await dm.reportNow('alpha');
    await dm.flushReports();
    assert.equal(h.section('alpha')?.name, 'still-read');
    assert.equal(h.lastChange('alpha')?.state, 'failed');
  });

  it('ctx.notify emits rebootPending for the host', async () => {
    const seen: JsonObject[] = [];
    const dm = await h.attach([
      {
        ...alphaHandler(),
        methods: [
          {
            name: 'windows.alphaReboot',
            async invoke(_p, ctx) {
              if (await ctx.host.isRebootAllowed()) ctx.notify('rebootPending', { in: 30 });
            },
          },
        ],
      },
    ]);
    dm.on('rebootPending', (d) => seen.push(d));
    await h.link.invoke('windows.alphaReboot');
    assert.deepEqual(seen, [{ in: 30 }]);
  });

  it('a desired change during a slow apply is applied after it, with the latest content', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seen: number[] = [];
    const base = alphaHandler();
    const dm = await h.attach([
      {
        ...base,
        async apply(desired, ctx) {
          seen.push(desired.level as number);
          if (seen.length === 1) await gate;
          await base.apply?.(desired, ctx);
        },
      },
    ]);
    h.link.setDesired({ windows: { alpha: { level: 1 } } });
    await new Promise((r) => setImmediate(r));
    h.link.setDesired({ windows: { alpha: { level: 9 } } });
    release();
    await h.idle(dm);
    assert.deepEqual(seen, [1, 9]);
    assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '9');
    assert.equal(h.section('alpha')?.level, 9);
    assert.equal(h.mock.node(ALPHA_NAME)?.value, 'initial');
  });
});
