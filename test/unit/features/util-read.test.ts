import assert from 'node:assert/strict';
import { firstValue, toBoolean, toJson } from '../../../lib/features/util-read';

describe('features/util-read', () => {
  it('firstValue: the first read with a value, else <not set> (404 / no value) or <error>', () => {
    assert.equal(
      firstValue([
        { ok: true, value: 3 },
        { ok: true, value: 1 },
      ]),
      3,
    );
    assert.equal(
      firstValue([
        { ok: false, status: 404 },
        { ok: true, value: 1 },
      ]),
      1,
    );
    assert.equal(
      firstValue([
        { ok: true, value: null },
        { ok: true, value: 2 },
      ]),
      2,
    );
    assert.equal(
      firstValue([
        { ok: false, status: 500 },
        { ok: true, value: 2 },
      ]),
      2,
    );
    assert.equal(
      firstValue([
        { ok: false, status: 404 },
        { ok: false, status: 404 },
      ]),
      '<not set>',
    );
    assert.equal(
      firstValue([
        { ok: true, value: null },
        { ok: false, status: 404 },
      ]),
      '<not set>',
    );
    assert.equal(
      firstValue([
        { ok: false, status: 500 },
        { ok: false, status: 404 },
      ]),
      '<error>',
    );
    assert.equal(firstValue([{ ok: false }, { ok: false, status: 404 }]), '<error>');
  });

  it('toJson joins interior-node children with "/"; toBoolean reads 0/1/true/false', () => {
    assert.equal(toJson(['a', 'b']), 'a/b');
    assert.equal(toJson([]), '');
    assert.equal(toJson(Buffer.from('hi')), 'aGk=');
    assert.equal(toBoolean('1'), true);
    assert.equal(toBoolean('false'), false);
    assert.equal(toBoolean(0), false);
    assert.equal(toBoolean('maybe'), undefined);
  });
});
