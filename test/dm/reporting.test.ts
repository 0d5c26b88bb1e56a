/**
 * Reported properties over the real SDKs and the local hub (which enforces IoT Hub's 32 KB
 * reported-properties limit, 403100): reports over the 32 KB patch budget, PnP writable-property
 * acks, and 429 throttling on reported updates.
 */
import assert from 'node:assert/strict';
import { NoRetry } from 'azure-iot-common';
import { brandingHandler } from '../../examples/oem/branding-handler';
import type { FeatureHandler, JsonObject } from '../../lib/dm/handler';
import { DmEnv, PERSONALIZATION, nextEvent, readNode, unique, waitFor, useDmEnv } from './helpers';
import { schema as s } from '../../lib/dm';

type Change = { state: string; errCode: number; errSubSystem: string; errContext: string };

/** A report-only handler whose read-back is `content()` (plus a real CSP read). */
function bigReport(section: string, content: () => JsonObject): FeatureHandler {
  const uri = `${PERSONALIZATION}/CompanyName`;
  return {
    section,
    nodes: [uri],
    desired: s.object({ refresh: s.integer() }),
    async apply() {},
    async report(ctx) {
      const name = await ctx.csp.get(uri).catch(() => '<not set>');
      return { ...content(), name: name as string };
    },
  };
}

describe('dm reporting (real SDK, local hub)', function () {
  this.timeout(30000);
  let env!: DmEnv;
  useDmEnv((e) => (env = e));

  function reportedUpdates(id: string): { count: number; stop(): void } {
    const counter = {
      count: 0,
      stop: () => env.hub.core.off('twin', listen),
    };
    let last = env.hub.core.getTwin(id).properties.reported.$version as number;
    const listen = (e: { deviceId: string; twin: { reported: { version: number } } }): void => {
      if (e.deviceId === id && e.twin.reported.version !== last) {
        last = e.twin.reported.version;
        counter.count++;
      }
    };
    env.hub.core.on('twin', listen);
    return counter;
  }

  it('a report of ~40 KB that cannot be split: the hub gets an error section (413), not a silent drop', async () => {
    const id = 'rep-oversize';
    const items = Array.from(
      { length: 1000 },
      (_, i) => `item-${String(i).padStart(4, '0')}-${'x'.repeat(30)}`,
    );
    const handler = bigReport('inventory', () => ({ items }));
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers: [handler] });
    const reportFailed: unknown[] = [];
    dm.on('reportFailed', (e) => reportFailed.push(e));
    await env.waitForSubscriptions(id);
    env.setWindows(id, { inventory: { refresh: 1 } });
    const section = await env.waitForState(id, 'inventory', 'failed');
    await dm.flushReports();
    const change = section.lastChange as Change;
    assert.equal(change.errCode, 413);
    assert.equal(change.errSubSystem, 'DeviceManagement');
    assert.match(change.errContext, /bytes, over the reported-properties budget/);
    assert.ok(JSON.stringify(env.reported(id)).length < 32 * 1024);
    assert.deepEqual(reportFailed, []);
  });

  it('a ~40 KB section of long strings (over the 32 KB reported limit of the hub): an error section', async () => {
    const id = 'rep-oversize-twin';
    const chunks = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [`part${i}`, `${i}`.padEnd(3500, 'y')]),
    );
    const handler = bigReport('blobs', () => chunks);
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers: [handler] });
    await env.waitForSubscriptions(id);
    env.setWindows(id, { blobs: { refresh: 1 } });
    const reportFailed: unknown[] = [];
    dm.on('reportFailed', (e) => reportFailed.push(e));
    const section = await env.waitForState(id, 'blobs', 'failed');
    await dm.flushReports();
    assert.equal((section.lastChange as Change).errCode, 413);
    assert.equal(section.part0, undefined);
    assert.deepEqual(reportFailed, [], 'the hub never refused a patch');
  });

  it('large reports of several sections (over the 32 KB patch budget together) arrive whole', async () => {
    const id = 'rep-split';
    // 3 sections of 1000 short properties each: ~13 KB of JSON (~7 KB of twin size) apiece,
    // ~39 KB together; applied by one desired update, so their reports are queued together.
    const sections = ['manyA', 'manyB', 'manyC'];
    const props = (tag: string): JsonObject =>
      Object.fromEntries(
        Array.from({ length: 1000 }, (_, i) => [`${tag}${String(i).padStart(4, '0')}`, 'ab']),
      );
    const handlers = sections.map((name) => bigReport(name, () => props(name.slice(-1))));
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers, reportOnAttach: false });
    await env.waitForSubscriptions(id);
    const updates = reportedUpdates(id);
    const company = await readNode(`${PERSONALIZATION}/CompanyName`);
    env.setWindows(id, Object.fromEntries(sections.map((n) => [n, { refresh: 1 }])));
    for (const name of sections) await env.waitForState(id, name, 'completed');
    await dm.flushReports();
    updates.stop();
    const total = sections.map((n) => JSON.stringify(env.section(id, n))).join('');
    assert.ok(Buffer.byteLength(total) > 32 * 1024);
    assert.ok(updates.count >= 2, `${updates.count} reported updates`);
    for (const name of sections) {
      const { lastChange, name: read, ...rest } = env.section(id, name)!;
      assert.deepEqual(rest, props(name.slice(-1)), name);
      assert.equal(read, company ?? '<not set>');
      assert.equal((lastChange as Change).errCode, 0);
    }
  });

  it('sections each under the budget but together over the twin limit: the refused one reports 413', async () => {
    const id = 'rep-twin-full';
    const part = (tag: string): JsonObject =>
      Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`${tag}${i}`, 'z'.repeat(3000)]));
    const handlers = [bigReport('fullA', () => part('a')), bigReport('fullB', () => part('b'))];
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers, reportOnAttach: false });
    await env.waitForSubscriptions(id);
    const reportFailed: Error[] = [];
    dm.on('reportFailed', (e) => reportFailed.push(e));
    env.setWindows(id, { fullA: { refresh: 1 }, fullB: { refresh: 1 } });
    const failedOf = (n: string): boolean =>
      (env.section(id, n)?.lastChange as Change | undefined)?.state === 'failed';
    const doneOf = (n: string): boolean => env.section(id, n)?.lastChange !== undefined;
    await waitFor(
      () => doneOf('fullA') && doneOf('fullB') && (failedOf('fullA') || failedOf('fullB')),
    );
    const refused = { a: env.section(id, 'fullA')!, b: env.section(id, 'fullB')! };
    await dm.flushReports();
    assert.equal(reportFailed.length, 1, 'the hub refused one patch');
    assert.match(reportFailed[0]!.message, /size/i);
    const [ok, bad] =
      (refused.a.lastChange as Change).state === 'failed'
        ? [refused.b, refused.a]
        : [refused.a, refused.b];
    assert.equal((ok.lastChange as Change).state, 'completed');
    const change = bad.lastChange as Change;
    assert.equal(change.errCode, 413);
    assert.match(change.errContext, /refused the report/);
    assert.deepEqual(Object.keys(bad), ['lastChange'], 'no stale content');
  });

  it('PnP acks: windows.__t is "c" and each section is {value, ac, av, ad} with av the desired $version', async () => {
    const id = 'rep-pnp';
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers: [brandingHandler], acknowledge: 'pnp' });
    await env.waitForSubscriptions(id);
    const company = unique('Pnp').slice(0, 30);
    const applied = nextEvent(dm, 'applied', (e) => e.section === 'branding');
    const version = env.setWindows(id, { branding: { companyName: company } });
    await applied;
    await dm.flushReports();
    const windows = env.reported(id);
    assert.equal(windows.__t, 'c');
    const ack = windows.branding as { value: JsonObject; ac: number; av: number; ad: string };
    assert.deepEqual(Object.keys(ack).sort(), ['ac', 'ad', 'av', 'value']);
    assert.equal(ack.ac, 200);
    assert.equal(ack.av, version);
    assert.equal(ack.av, env.hub.core.getTwin(id).properties.desired.$version);
    assert.equal(ack.ad, 'completed');
    assert.equal(ack.value.companyName, company);
    assert.equal((ack.value.lastChange as unknown as Change).state, 'completed');

    // a refused value is acked 400 with the reason, at its own $version
    const failed = nextEvent(dm, 'failed', (e) => e.section === 'branding');
    const bad = env.setWindows(id, { branding: { companyName: 7 } });
    await failed;
    await dm.flushReports();
    const nack = env.reported(id).branding as { ac: number; av: number; ad: string };
    assert.equal(nack.ac, 400);
    assert.equal(nack.av, bad);
    assert.match(nack.ad, /companyName: expected a string/);
  });

  it('429 on reported updates is retried until the patch is delivered', async () => {
    const id = 'rep-throttle';
    const client = await env.openDevice(id);
    client.setRetryPolicy(new NoRetry()); // the SDK gives up at once: the DM queue retries
    const dm = await env.attach(client, { handlers: [brandingHandler] });
    await env.waitForSubscriptions(id);
    const company = unique('Throttled').slice(0, 30);
    const applied = nextEvent(dm, 'applied', (e) => e.section === 'branding');
    env.hub.control.failNext(3, 429, { scope: 'twin' });
    env.setWindows(id, { branding: { companyName: company } });
    await applied;
    await dm.flushReports();
    assert.equal(env.hub.control.state.failures, null, 'the three 429s were all answered');
    const section = env.section(id, 'branding')!;
    assert.equal(section.companyName, company);
    assert.equal((section.lastChange as Change).state, 'completed');
  });
});
