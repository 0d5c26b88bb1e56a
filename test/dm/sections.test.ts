/**
 * Desired sections the engine must refuse, over the real SDKs, the local hub and the real addon +
 * CSP emulator: malformed content (wrong types, a 4 KB string, deep nesting, unknown keys, a
 * section that is not an object, a section nobody handles) is reported `failed` with a reason
 * while a good section of the same desired update is applied; a handler that touches a CSP node
 * it did not declare fails with 403 and changes nothing on the device.
 */
import assert from 'node:assert/strict';
import { brandingHandler } from '../../examples/oem/branding-handler';
import type { FeatureHandler, Json, JsonObject } from '../../lib/dm/handler';
import { schema as s } from '../../lib/dm';
import { DmEnv, PERSONALIZATION, nextEvent, readNode, unique, useDmEnv } from './helpers';

type Change = { state: string; errCode: number; errSubSystem: string; errContext: string };

/** A handler over LockScreenImageUrl with a typed desired shape; counts applies. */
function settingsHandler(section: string): FeatureHandler & { applies: Json[] } {
  const uri = `${PERSONALIZATION}/LockScreenImageUrl`;
  const h = {
    section,
    nodes: [uri],
    desired: s.object({ label: s.string(), count: s.integer({ min: 0 }), data: s.any() }),
    applies: [] as Json[],
    async apply(desired: JsonObject, ctx: Parameters<NonNullable<FeatureHandler['apply']>>[1]) {
      h.applies.push(desired);
      if (typeof desired.label === 'string') await ctx.csp.put(uri, desired.label);
    },
  };
  return h;
}

/** `{a: {a: ... {v: 1}}}` with `levels` nested objects. */
function nested(levels: number): JsonObject {
  let v: JsonObject = { v: 1 };
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
}

describe('dm sections: malformed content and CSP scope (real SDK, local hub, CSP emulator)', function () {
  this.timeout(30000);
  let env!: DmEnv;
  useDmEnv((e) => (env = e));

  it('reports each malformed section failed with a reason; a good one in the same update completes', async () => {
    const id = 'sec-malformed';
    const names = ['wrongType', 'longString', 'deep', 'unknownKey', 'notObject'];
    const handlers = names.map(settingsHandler);
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers: [brandingHandler, ...handlers] });
    await env.waitForSubscriptions(id);
    const failed = new Map<string, Error>();
    dm.on('failed', (e) => failed.set(e.section, e.error));
    const company = unique('Good').slice(0, 30);
    const done = nextEvent(dm, 'applied', (e) => e.section === 'branding');
    // One desired update, accepted by the hub (4096-byte string, depth 10 are within its limits).
    const version = env.setWindows(id, {
      branding: { companyName: company },
      wrongType: { label: 'x', count: 'three' },
      longString: { label: 'x'.repeat(4096) },
      deep: { data: nested(8) }, // desired.windows.deep.data + 7 objects: depth 10
      unknownKey: { label: 'x', colour: 'red' },
      notObject: 42,
      nobody: { anything: true },
    });
    await done;
    await dm.settled();
    await dm.flushReports();

    assert.deepEqual([...failed.keys()].sort(), [...names, 'nobody'].sort());
    for (const h of handlers) assert.deepEqual(h.applies, [], `${h.section} never applied`);
    const reasons: Record<string, RegExp> = {
      wrongType: /count: expected an integer, got string/,
      longString: /label: string of 4096 characters, over 1024/,
      deep: /nested deeper than 5 levels/,
      unknownKey: /colour: unknown key/,
      notObject: /expected an object.*got number/,
      nobody: /no feature handles this section/,
    };
    for (const [name, reason] of Object.entries(reasons)) {
      const section = env.section(id, name);
      const change = section?.lastChange as Change | undefined;
      assert.ok(change, `reported.windows.${name}.lastChange`);
      assert.equal(change.state, 'failed', name);
      assert.equal(change.errCode, 400, name);
      assert.equal(change.errSubSystem, 'DeviceManagement', name);
      assert.match(change.errContext, reason, name);
      assert.equal(dm.sectionState(name)?.status, 'failed');
      assert.equal(dm.sectionState(name)?.version, version);
    }
    const branding = env.section(id, 'branding')!;
    assert.equal((branding.lastChange as Change).state, 'completed');
    assert.equal((branding.lastChange as Change).errCode, 0);
    assert.equal(branding.companyName, company);
    assert.equal(await readNode(`${PERSONALIZATION}/CompanyName`), company);

    // Fixing a section later applies it and clears its error fields.
    const url = `https://contoso.example/${unique('fixed')}.png`;
    const fixed = nextEvent(dm, 'applied', (e) => e.section === 'wrongType');
    env.setWindows(id, { wrongType: { label: url, count: 3 } });
    await fixed;
    await dm.flushReports();
    const change = env.section(id, 'wrongType')!.lastChange as Change;
    assert.deepEqual(
      { state: change.state, errCode: change.errCode, errContext: change.errContext },
      { state: 'completed', errCode: 0, errContext: '' },
    );
    assert.equal(await readNode(`${PERSONALIZATION}/LockScreenImageUrl`), url);
  });

  it('a handler touching an undeclared node fails with 403 and changes nothing on the device', async () => {
    const id = 'sec-scope';
    const company = `${PERSONALIZATION}/CompanyName`;
    const logo = `${PERSONALIZATION}/CompanyLogoUrl`;
    const sneaky: FeatureHandler = {
      section: 'sneaky',
      nodes: [logo],
      desired: s.object({ name: s.string() }),
      async apply(desired, ctx) {
        await ctx.csp.put(company, desired.name as string);
      },
    };
    const sneakyTx: FeatureHandler = {
      section: 'sneakyTx',
      nodes: [logo],
      desired: s.object({ name: s.string(), url: s.string() }),
      async apply(desired, ctx) {
        // the declared write is in the same atomic transaction: nothing is sent at all
        await ctx.csp.transaction((tx) => {
          tx.replace(logo, desired.url as string);
          tx.replace(company, desired.name as string);
        });
      },
    };
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers: [sneaky, sneakyTx] });
    await env.waitForSubscriptions(id);
    const companyBefore = await readNode(company);
    const logoBefore = await readNode(logo);
    const errors = new Map<string, Error>();
    dm.on('failed', (e) => errors.set(e.section, e.error));
    const both = Promise.all([
      nextEvent(dm, 'failed', (e) => e.section === 'sneaky'),
      nextEvent(dm, 'failed', (e) => e.section === 'sneakyTx'),
    ]);
    env.setWindows(id, {
      sneaky: { name: unique('Evil').slice(0, 30) },
      sneakyTx: { name: unique('EvilTx').slice(0, 30), url: 'https://evil.example/x.png' },
    });
    await both;
    await dm.flushReports();
    for (const name of ['sneaky', 'sneakyTx']) {
      assert.equal((errors.get(name) as { code?: string }).code, 'ERR_CSP_NOT_ALLOWED');
      const change = env.section(id, name)!.lastChange as Change;
      assert.equal(change.state, 'failed');
      assert.equal(change.errCode, 403);
      assert.equal(change.errSubSystem, 'DeviceManagement');
      assert.match(change.errContext, /CompanyName/);
    }
    assert.equal(await readNode(company), companyBefore);
    assert.equal(await readNode(logo), logoBefore);
  });
});
