/**
 * Unit tests of the dashboard UI's pure helpers (ui/dashboard/lib/twin.js, an ES module loaded
 * with a dynamic import): desired/reported differences, patches, profile validation, form value
 * parsing, job progress.
 */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILTIN_SECTIONS } from '../../lib/features/index';

type Twin = Record<string, (...args: never[]) => unknown> & { SECTIONS: readonly string[] };

const modulePath = pathToFileURL(path.join(__dirname, '../../ui/dashboard/lib/twin.js')).href;
let t: Twin;

describe('dashboard UI helpers (ui/dashboard/lib/twin.js)', () => {
  before(async () => {
    t = (await import(modulePath)) as Twin;
  });
  const call = (name: string, ...args: unknown[]): unknown =>
    (t[name] as (...a: unknown[]) => unknown)(...args);

  it('lists the built-in sections as lib/features does', () => {
    assert.deepEqual([...t.SECTIONS].sort(), [...BUILTIN_SECTIONS].sort());
  });

  it('diffs desired against reported, ignoring lastChange', () => {
    const d = call(
      'diffSection',
      { level: 'full', other: { a: 1 } },
      { level: 'basic', other: { a: 1 }, lastChange: { state: 'completed' } },
    );
    assert.deepEqual(d, [
      { key: 'level', desired: 'full', reported: 'basic', same: false },
      { key: 'other', desired: { a: 1 }, reported: { a: 1 }, same: true },
    ]);
    assert.deepEqual(call('diffSection', 'no-apply-yes-report', { x: 1 }), [
      { key: '', desired: 'no-apply-yes-report', reported: { x: 1 }, same: false },
    ]);
    assert.deepEqual(call('diffSection', { k: 1 }, undefined), [
      { key: 'k', desired: 1, reported: undefined, same: false },
    ]);
    assert.deepEqual(call('diffSection', undefined, { k: 1 }), []);
  });

  it('builds a patch of changed, added and removed sections', () => {
    const before = { timeInfo: { ntpServer: 'a' }, wifi: 'no-apply-yes-report', apps: {} };
    const after = { timeInfo: { ntpServer: 'b' }, apps: {}, windowsTelemetry: { level: 'full' } };
    assert.deepEqual(call('buildPatch', before, after), {
      windows: { timeInfo: { ntpServer: 'b' }, windowsTelemetry: { level: 'full' }, wifi: null },
    });
    assert.equal(call('buildPatch', before, structuredClone(before)), null);
  });

  it('validates a desired windows object', () => {
    assert.deepEqual(call('validateDesiredWindows', { windowsTelemetry: { level: 'full' } }), []);
    assert.deepEqual(call('validateDesiredWindows', [1]), [
      'the profile must be a JSON object of sections',
    ]);
    assert.deepEqual(
      call('validateDesiredWindows', { bogus: {}, rebootCmd: {}, timeInfo: 5, wifi: null }),
      [
        'bogus: unknown section',
        'rebootCmd: report-only section, it takes no desired value',
        'timeInfo: expected an object, a string switch or null',
      ],
    );
    assert.deepEqual(call('validateDesiredWindows', {}), ['the profile has no section']);
  });

  it('parses profiles in the bare and wrapped forms and reports bad ones', () => {
    const w = { rebootInfo: { dailyRebootTime: '' } };
    assert.deepEqual(call('parseProfile', JSON.stringify(w)), { windows: w });
    assert.deepEqual(call('parseProfile', JSON.stringify({ windows: w })), { windows: w });
    assert.deepEqual(
      call('parseProfile', JSON.stringify({ properties: { desired: { windows: w } } })),
      { windows: w },
    );
    const bad = call('parseProfile', '{"rebootInfo": ') as { errors: string[] };
    assert.equal(bad.errors.length, 1);
    assert.match(bad.errors[0] ?? '', /^not valid JSON/);
    assert.deepEqual(call('parseProfile', '{"nope": {}}'), { errors: ['nope: unknown section'] });
  });

  it('parses form fields by type, with ranges and patterns', () => {
    const int = { key: 'h', label: 'Hour', type: 'integer', min: 0, max: 23 };
    assert.deepEqual(call('parseField', int, ' 7 '), { value: 7 });
    assert.deepEqual(call('parseField', int, ''), { value: undefined });
    assert.deepEqual(call('parseField', int, '25'), { error: 'Hour: 25 is above 23' });
    assert.deepEqual(call('parseField', int, '1.5'), { error: 'Hour: 1.5 is not a whole number' });
    assert.deepEqual(call('parseField', int, 'x'), { error: 'Hour: "x" is not a number' });
    const b = { key: 'b', label: 'B', type: 'boolean' };
    assert.deepEqual(call('parseField', b, 'false'), { value: false });
    assert.deepEqual(call('parseField', b, ''), { value: undefined });
    const text = { key: 's', label: 'S', type: 'text', allowEmpty: true, pattern: '\\d+' };
    assert.deepEqual(call('parseField', text, ''), { value: '' });
    assert.deepEqual(call('parseField', text, '12'), { value: '12' });
    assert.deepEqual(call('parseField', text, '12a'), { error: 'S: "12a" has the wrong form' });
    const sel = { key: 'n', label: 'N', type: 'select', number: true };
    assert.deepEqual(call('parseField', sel, '16'), { value: 16 });
  });

  it('builds an object from fields, leaving out empty ones and naming missing required ones', () => {
    const fields = [
      { key: 'level', label: 'Level', type: 'select', required: true },
      { key: 'n', label: 'N', type: 'integer' },
    ];
    assert.deepEqual(call('buildObject', fields, { level: 'full', n: '' }), {
      value: { level: 'full' },
      errors: [],
    });
    assert.deepEqual(call('buildObject', fields, { level: '', n: 'q' }), {
      value: {},
      errors: ['N: "q" is not a number', 'Level: required'],
    });
  });

  it('reads section states, job progress and device id lists', () => {
    assert.deepEqual(
      call('sectionStates', {
        rebootInfo: { lastChange: { state: 'failed' } },
        wifi: { x: '' },
        timeInfo: { lastChange: { state: 'completed' } },
      }),
      { rebootInfo: 'failed', timeInfo: 'completed' },
    );
    assert.equal(call('jobPercent', { total: 20, succeeded: 9, failed: 1 }), 50);
    assert.equal(call('jobPercent', { total: 0 }), 0);
    assert.equal(call('jobFinished', 'completed'), true);
    assert.equal(call('jobFinished', 'running'), false);
    assert.deepEqual(call('parseDeviceIds', 'a, b\nc a ,,'), ['a', 'b', 'c']);
    assert.equal(
      call('formatAge', '2026-01-01T00:00:30Z', Date.parse('2026-01-01T00:01:00Z')),
      '30 s ago',
    );
    assert.equal(call('formatAge', '0001-01-01T00:00:00Z'), 'never');
  });
});
