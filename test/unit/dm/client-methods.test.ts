import assert from 'node:assert/strict';
import { InvalidValueError } from '../../../lib/errors';
import type { FeatureHandler, JsonObject } from '../../../lib/dm/handler';
import { s } from '../../../lib/dm/schema';
import { ALPHA_NAME, alphaHandler, BASE, counters, Harness } from './fixture';

function lastChangeOf(body: unknown): JsonObject {
  return (body as JsonObject).lastChange as JsonObject;
}

describe('dm/client: direct methods', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });
  afterEach(() => h.cleanup());

  const tools = (): FeatureHandler => ({
    ...alphaHandler(),
    methods: [
      {
        name: 'windows.alphaPing',
        payload: s.object({ count: s.integer({ min: 1 }) }, { required: ['count'] }),
        async invoke(payload, ctx) {
          const name = await ctx.csp.get(ALPHA_NAME);
          return { pong: (payload as JsonObject).count as number, name: name as string };
        },
      },
      {
        name: 'windows.alphaMissing',
        async invoke(_payload, ctx) {
          await ctx.csp.get(`${BASE}/Alpha/Missing`);
          return {};
        },
      },
      {
        name: 'windows.alphaOutside',
        async invoke(_payload, ctx) {
          await ctx.csp.get('./DevDetail/SwV');
          return {};
        },
      },
      {
        name: 'windows.alphaBadArg',
        async invoke() {
          throw new InvalidValueError('count must be even');
        },
      },
      {
        name: 'windows.alphaVoid',
        async invoke() {
          return undefined;
        },
      },
      {
        name: 'windows.alphaStatus',
        async invoke() {
          return { status: 202, body: { accepted: true } };
        },
      },
      {
        name: 'windows.rebootCheck',
        async invoke(_payload, ctx) {
          return { allowed: await ctx.host.isRebootAllowed() };
        },
      },
    ],
  });

  it('answers a known method with 200 and its body', async () => {
    await h.attach([tools()]);
    const r = await h.link.invoke('windows.alphaPing', { count: 3 });
    assert.deepEqual(r, { status: 200, body: { pong: 3, name: 'initial' } });
  });

  it('answers an unknown windows.* method with 404', async () => {
    await h.attach([tools()]);
    const r = await h.link.invoke('windows.nope');
    assert.equal(r.status, 404);
    const lc = lastChangeOf(r.body);
    assert.equal(lc.state, 'failed');
    assert.equal(lc.errCode, 404);
    assert.match(String(lc.errContext), /windows\.nope/);
  });

  it('answers 400 with the schema message when the payload does not fit', async () => {
    await h.attach([tools()]);
    const payloads: Array<JsonObject | undefined> = [
      { count: 0 },
      { count: 'x' },
      {},
      { count: 1, extra: 1 },
      undefined,
    ];
    for (const payload of payloads) {
      const r = await h.link.invoke('windows.alphaPing', payload);
      assert.equal(r.status, 400, JSON.stringify(payload));
      const lc = lastChangeOf(r.body);
      assert.equal(lc.state, 'failed');
      assert.equal(lc.errCode, 400);
      assert.match(String(lc.errContext), /windows\.alphaPing payload: \$/);
    }
    const r = await h.link.invoke('windows.alphaPing', { count: 'x' });
    assert.match(String(lastChangeOf(r.body).errContext), /\$\.count: expected an integer/);
  });

  it('applies the string and depth limits to a payload even without a schema', async () => {
    await h.attach([tools()]);
    let deep: JsonObject = { leaf: 1 };
    for (let i = 0; i < 10; i++) deep = { a: deep };
    for (const payload of [{ text: 'x'.repeat(4096) }, deep]) {
      const r = await h.link.invoke('windows.alphaVoid', payload);
      assert.equal(r.status, 400);
      assert.match(String(lastChangeOf(r.body).errContext), /windows\.alphaVoid payload/);
    }
    assert.equal((await h.link.invoke('windows.alphaVoid', { small: [1, 'two'] })).status, 200);
    assert.equal((await h.link.invoke('windows.alphaVoid')).status, 200);
  });

  it('answers 500 when the method fails on a CSP error', async () => {
    await h.attach([tools()]);
    const r = await h.link.invoke('windows.alphaMissing');
    assert.equal(r.status, 500);
    const lc = lastChangeOf(r.body);
    assert.equal(lc.errSubSystem, 'CSP');
    assert.equal(lc.errCode, 404);
  });

  it('a method gets the scoped Csp of its handler', async () => {
    await h.attach([tools()]);
    const before = h.mock.calls.length;
    const r = await h.link.invoke('windows.alphaOutside');
    assert.equal(r.status, 500);
    assert.match(String(lastChangeOf(r.body).errContext), /"alpha" handler/);
    assert.equal(h.mock.calls.length, before);
  });

  it('answers 400 when the method throws InvalidValueError', async () => {
    await h.attach([tools()]);
    const r = await h.link.invoke('windows.alphaBadArg');
    assert.equal(r.status, 400);
    assert.match(String(lastChangeOf(r.body).errContext), /count must be even/);
  });

  it('a method returning nothing answers 200 completed; a {status, body} is passed through', async () => {
    await h.attach([tools()]);
    const v = await h.link.invoke('windows.alphaVoid');
    assert.equal(v.status, 200);
    assert.equal(lastChangeOf(v.body).state, 'completed');
    const st = await h.link.invoke('windows.alphaStatus');
    assert.deepEqual(st, { status: 202, body: { accepted: true } });
  });

  it('reaches the isRebootAllowed hook through ctx.host (default: allowed)', async () => {
    await h.attach([tools()]);
    assert.deepEqual((await h.link.invoke('windows.rebootCheck')).body, { allowed: true });
  });

  it('reaches the host’s isRebootAllowed through ctx.host', async () => {
    let asked = 0;
    await h.attach([tools()], {
      isRebootAllowed: async () => {
        asked++;
        return false;
      },
    });
    assert.deepEqual((await h.link.invoke('windows.rebootCheck')).body, { allowed: false });
    assert.equal(asked, 1);
  });

  it('refuses a method name outside windows.* and duplicate handlers', async () => {
    await assert.rejects(
      h.attach([{ ...alphaHandler(), methods: [{ name: 'reboot', invoke: async () => ({}) }] }]),
      /must start with "windows\."/,
    );
    await assert.rejects(h.attach([alphaHandler(), alphaHandler()]), /two handlers/);
    await assert.rejects(h.attach([{ ...alphaHandler(), section: 'bad-name' }]), /not valid/);
  });

  it('windows.reportAllAsync re-reads every section', async () => {
    const count = counters();
    await h.attach([alphaHandler(count)]);
    await h.clients[0]?.flushReports();
    const reads = count.report;
    h.mock.setNode(ALPHA_NAME, { value: 'changed-on-device' });
    const r = await h.link.invoke('windows.reportAllAsync');
    assert.equal(r.status, 200);
    assert.equal(lastChangeOf(r.body).state, 'completed');
    await h.clients[0]?.flushReports();
    assert.equal(count.report, reads + 1);
    assert.equal(h.section('alpha')?.name, 'changed-on-device');
  });

  it('windows.reportAllAsync keeps the last lastChange of each section', async () => {
    const dm = await h.attach([alphaHandler()]);
    h.link.setDesired({ windows: { alpha: { name: 5 } } });
    await h.idle(dm);
    assert.equal(h.lastChange('alpha')?.state, 'failed');
    await h.link.invoke('windows.reportAllAsync');
    await dm.flushReports();
    assert.equal(h.lastChange('alpha')?.state, 'failed');
    assert.equal(h.lastChange('alpha')?.errCode, 400);
  });

  it('windows.clearReportedPropertiesAsync makes reported.windows disappear', async () => {
    const dm = await h.attach([alphaHandler()]);
    await h.idle(dm);
    assert.ok(h.link.reported.windows);
    const r = await h.link.invoke('windows.clearReportedPropertiesAsync');
    assert.equal(r.status, 200);
    assert.equal(Object.hasOwn(h.link.reported, 'windows'), false);
    // A later report starts again from scratch.
    await dm.reportNow('alpha');
    await dm.flushReports();
    assert.equal(h.section('alpha')?.name, 'initial');
  });

  it('reportNow refuses an unknown section', async () => {
    const dm = await h.attach([alphaHandler()]);
    await assert.rejects(dm.reportNow('nosuch'), InvalidValueError);
  });
});
