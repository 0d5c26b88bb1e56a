import assert from 'node:assert/strict';
import { IotDmError } from '../../../lib/errors';
import { planSection } from '../../../lib/dm/switches';

function rejects(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof IotDmError, 'an IotDmError');
    assert.equal(err.code, 'ERR_INVALID_VALUE');
    assert.match(err.message, re);
    return true;
  });
}

describe('dm/switches planSection', () => {
  it('null removes the section and reports nothing', () => {
    const plan = planSection('a', null);
    assert.equal(plan.remove, true);
    assert.equal(plan.report, false);
    assert.equal(plan.apply, undefined);
  });

  it('"no-apply-no-report" applies nothing and reports nothing', () => {
    const plan = planSection('a', 'no-apply-no-report');
    assert.deepEqual(plan, { remove: false, report: false });
  });

  it('"no-apply-yes-report" applies nothing and reports', () => {
    const plan = planSection('a', 'no-apply-yes-report');
    assert.deepEqual(plan, { remove: false, report: true });
  });

  it('a plain object is applied as is and reported', () => {
    const plan = planSection('a', { x: 1, y: { z: 'q' } });
    assert.equal(plan.remove, false);
    assert.equal(plan.report, true);
    assert.deepEqual(plan.apply, { x: 1, y: { z: 'q' } });
    assert.equal(plan.enumeration, undefined);
  });

  it('an empty object is applied (nothing to set) and reported', () => {
    const plan = planSection('a', {});
    assert.deepEqual(plan.apply, {});
    assert.equal(plan.report, true);
  });

  it('{applyProperties, reportProperties} unwraps the content and honours both switches', () => {
    const both = planSection('a', { applyProperties: { x: 1 }, reportProperties: 'no' });
    assert.deepEqual(both.apply, { x: 1 });
    assert.equal(both.report, false);
    assert.equal(both.remove, false);

    const yes = planSection('a', { applyProperties: { x: 2 }, reportProperties: 'yes' });
    assert.deepEqual(yes.apply, { x: 2 });
    assert.equal(yes.report, true);
  });

  it('reportProperties defaults to "yes" and applyProperties to "no"', () => {
    const onlyApply = planSection('a', { applyProperties: { x: 1 } });
    assert.deepEqual(onlyApply.apply, { x: 1 });
    assert.equal(onlyApply.report, true);

    const onlyReport = planSection('a', { reportProperties: 'no' });
    assert.equal(onlyReport.apply, undefined);
    assert.equal(onlyReport.report, false);

    const noApply = planSection('a', { applyProperties: 'no' });
    assert.equal(noApply.apply, undefined);
    assert.equal(noApply.report, true);
  });

  it('takes the "?" enumeration key out of the content to apply', () => {
    const plan = planSection('a', { x: 1, '?': 'all' });
    assert.deepEqual(plan.apply, { x: 1 });
    assert.equal(plan.enumeration, 'all');

    const wrapped = planSection('a', { applyProperties: { '?': { only: ['x'] }, y: true } });
    assert.deepEqual(wrapped.apply, { y: true });
    assert.deepEqual(wrapped.enumeration, { only: ['x'] });
  });

  it('does not modify the desired value it is given', () => {
    const value = { x: 1, '?': 'e' };
    planSection('a', value);
    assert.deepEqual(value, { x: 1, '?': 'e' });
  });

  it('refuses values of no known shape, naming the section', () => {
    rejects(() => planSection('sec', 5), /windows\.sec: expected an object.*number/);
    rejects(() => planSection('sec', true), /windows\.sec: .*boolean/);
    rejects(() => planSection('sec', [1, 2]), /windows\.sec: .*an array/);
    rejects(() => planSection('sec', 'apply-please'), /windows\.sec: .*"apply-please"/);
  });

  it('refuses a bad reportProperties or applyProperties switch', () => {
    rejects(
      () => planSection('sec', { applyProperties: { x: 1 }, reportProperties: 'maybe' }),
      /windows\.sec\.reportProperties/,
    );
    rejects(() => planSection('sec', { reportProperties: true }), /windows\.sec\.reportProperties/);
    rejects(() => planSection('sec', { applyProperties: 'yes' }), /windows\.sec\.applyProperties/);
    rejects(() => planSection('sec', { applyProperties: [1] }), /windows\.sec\.applyProperties/);
  });

  it('treats an object mixing switches and other keys as content (for the schema to judge)', () => {
    const plan = planSection('a', { applyProperties: { x: 1 }, other: 2 });
    assert.deepEqual(plan.apply, { applyProperties: { x: 1 }, other: 2 });
  });
});
