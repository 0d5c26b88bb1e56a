import assert from 'node:assert/strict';
import { BUILTIN_SECTIONS, builtinHandlers } from '../../../lib/features';
import { MockSystem } from '../../../lib/testing/mock-system';

describe('features: the built-in list', () => {
  it('BUILTIN_SECTIONS names exactly the sections builtinHandlers() gives, each once', () => {
    const sections = builtinHandlers({ system: new MockSystem() }).map((h) => h.section);
    assert.deepEqual([...sections].sort(), [...BUILTIN_SECTIONS].sort());
    assert.equal(new Set(sections).size, sections.length);
  });

  it('exclude leaves sections out', () => {
    const sections = builtinHandlers({
      system: new MockSystem(),
      exclude: ['timeInfo', 'timeService'],
    }).map((h) => h.section);
    assert.ok(!sections.includes('timeInfo') && !sections.includes('timeService'));
    assert.ok(sections.includes('deviceInfo'));
  });

  it('every method is a windows.* name and unique', () => {
    const names = builtinHandlers({ system: new MockSystem() }).flatMap((h) =>
      (h.methods ?? []).map((m) => m.name),
    );
    assert.ok(names.length >= 4, names.join());
    assert.ok(names.every((n) => n.startsWith('windows.')));
    assert.equal(new Set(names).size, names.length);
  });
});
