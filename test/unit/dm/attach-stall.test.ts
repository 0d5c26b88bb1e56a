/**
 * An `attach` that cannot finish (found with `iotdm agent` and a connection dropped during the
 * start-up reports, test/fault/agent-drop.test.ts): the reports held while the link is down must
 * not wait for a `connect` event alone, and `options.signal` must end the attach at once,
 * whatever it waits for.
 */
import assert from 'node:assert/strict';
import type { FeatureHandler, JsonObject } from '../../../lib/dm/handler';
import type { TwinSnapshot } from '../../../lib/dm/twin-link';
import { MockTwinLink } from '../../../lib/testing/mock-twin-link';
import { alphaHandler, Harness } from './fixture';

/** A link whose full reads are never answered (the answer was lost). */
class SilentLink extends MockTwinLink {
  reads = 0;
  override getTwin(): Promise<TwinSnapshot> {
    this.reads++;
    return new Promise<never>(() => undefined);
  }
}

describe('dm: an attach that cannot finish', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });
  afterEach(() => h.cleanup());

  it('a drop during the start-up reports with no connect event after it: attach still completes', async () => {
    // The SDK may be connected again without a `connect` event (a `disconnect` it emits after
    // its own reconnect; open() on a connected client emits nothing).
    const link = h.link;
    const started: string[] = [];
    const starter: FeatureHandler = {
      section: 'starter',
      nodes: [],
      async start(ctx) {
        link.disconnect();
        link.connected = true; // back, silently
        await ctx.reportPartial({ startedAt: 'boot' });
        started.push('starter');
      },
    };
    const dm = await h.attach([alphaHandler(), starter], { offlineProbeMs: 20 });
    assert.deepEqual(started, ['starter']);
    assert.deepEqual(h.section('starter'), { startedAt: 'boot' });
    // The client knows it is connected again: later reports go at once.
    await dm.reportNow('alpha');
    assert.ok(h.section('alpha'));
  });

  it('options.signal aborts an attach waiting for a twin answer: rejects with the reason, nothing starts', async () => {
    const link = new SilentLink();
    h.link = link;
    let starts = 0;
    let stops = 0;
    const handler: FeatureHandler = {
      ...alphaHandler(),
      start() {
        starts++;
        return Promise.resolve();
      },
      stop() {
        stops++;
      },
    };
    const abort = new AbortController();
    const reason = new Error('stopped (SIGTERM) during start-up');
    const attach = h.attach([handler], { signal: abort.signal });
    while (link.reads === 0) await new Promise((r) => setImmediate(r));
    abort.abort(reason);
    await assert.rejects(attach, (err) => err === reason);
    assert.equal(starts, 0);
    assert.equal(stops, 1);
    assert.equal(link.reported.windows, undefined);
  });

  it('options.signal aborts an attach whose start-up reports are held while disconnected', async () => {
    const link = h.link;
    const handler: FeatureHandler = {
      section: 'starter',
      nodes: [],
      async start(ctx) {
        link.disconnect(); // gone for good
        await ctx.reportPartial({ startedAt: 'boot' } as JsonObject);
      },
    };
    const abort = new AbortController();
    const attach = h.attach([handler], { signal: abort.signal, offlineProbeMs: 60_000 });
    await new Promise((r) => setTimeout(r, 20));
    abort.abort(new Error('stop'));
    await assert.rejects(attach, /stop/);
  });

  it('an already aborted signal: attach rejects before anything is sent', async () => {
    const abort = new AbortController();
    abort.abort(new Error('too late'));
    await assert.rejects(h.attach([alphaHandler()], { signal: abort.signal }), /too late/);
    assert.equal(h.link.twinReads, 0);
  });
});
