/**
 * Section ordering (`FeatureHandler.order`) and in-memory sections (`FeatureHandler.volatile`)
 * in the DM engine: a lower order applies before the others of the same patch, equal orders side
 * by side; a volatile section applies again once after a restart although its desired content
 * did not change, a normal one does not.
 */
import assert from 'node:assert/strict';
import type { FeatureHandler } from '../../../lib/dm/handler';
import { s } from '../../../lib/dm/schema';
import { MockTwinLink } from '../../../lib/testing/mock-twin-link';
import { Harness } from './fixture';

/** A handler with no CSP nodes that records when its apply starts and ends. */
function recorder(
  section: string,
  events: string[],
  extra: Partial<FeatureHandler> = {},
  delayMs = 20,
): FeatureHandler {
  return {
    section,
    nodes: [],
    desired: s.object({ v: s.integer() }),
    async apply() {
      events.push(`${section}:start`);
      await new Promise((r) => setTimeout(r, delayMs));
      events.push(`${section}:end`);
    },
    ...extra,
  };
}

describe('dm/client: section order and volatile sections', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });
  afterEach(() => h.cleanup());

  it('applies lower orders first, equal orders side by side, in one patch', async () => {
    const events: string[] = [];
    // Registered in the opposite order of their `order`.
    const dm = await h.attach([
      recorder('late', events, { order: 10 }),
      recorder('mid1', events),
      recorder('mid2', events),
      recorder('early', events, { order: -100 }, 40),
    ]);
    await h.idle(dm);
    h.link.setDesired({
      windows: { late: { v: 1 }, mid1: { v: 1 }, mid2: { v: 1 }, early: { v: 1 } },
    });
    await h.idle(dm);
    assert.deepEqual(events.slice(0, 2), ['early:start', 'early:end']);
    // mid1 and mid2 overlap (same order), both before late.
    assert.deepEqual(events.slice(2, 4).sort(), ['mid1:start', 'mid2:start']);
    assert.deepEqual(events.slice(4, 6).sort(), ['mid1:end', 'mid2:end']);
    assert.deepEqual(events.slice(6), ['late:start', 'late:end']);
    for (const n of ['early', 'mid1', 'mid2', 'late']) {
      assert.equal(h.lastChange(n)?.state, 'completed', n);
    }
  });

  it('a failing early section does not stop the later ones', async () => {
    const events: string[] = [];
    const dm = await h.attach([
      recorder('late', events),
      {
        ...recorder('early', events, { order: -1 }),
        async apply() {
          events.push('early:fail');
          throw new Error('cannot');
        },
      },
    ]);
    h.link.setDesired({ windows: { late: { v: 1 }, early: { v: 1 } } });
    await h.idle(dm);
    assert.deepEqual(events, ['early:fail', 'late:start', 'late:end']);
    assert.equal(h.lastChange('early')?.state, 'failed');
    assert.equal(h.lastChange('late')?.state, 'completed');
  });

  it('applies a volatile section again after a restart, a normal one only when it changes', async () => {
    const events: string[] = [];
    const handlers = () => [
      recorder('mem', events, { volatile: true }, 1),
      recorder('disk', events, {}, 1),
    ];
    h.link.desired = { $version: 3, windows: { mem: { v: 1 }, disk: { v: 1 } } };
    const dm1 = await h.attach(handlers());
    await h.idle(dm1);
    assert.deepEqual(events.filter((e) => e.endsWith(':start')).sort(), [
      'disk:start',
      'mem:start',
    ]);
    // A later patch touching another section does not apply `mem` again.
    h.link.setDesired({ windows: { disk: { v: 2 } } });
    await h.idle(dm1);
    assert.deepEqual(events.filter((e) => e.startsWith('mem:start')).length, 1);
    await dm1.detach(50);

    // Restart: same state folder, same twin.
    events.length = 0;
    const twin = h.link.desired;
    h.link = new MockTwinLink();
    h.link.desired = twin;
    const dm2 = await h.attach(handlers());
    await h.idle(dm2);
    assert.deepEqual(events, ['mem:start', 'mem:end']);
    assert.equal(h.lastChange('mem')?.state, 'completed');
  });
});
