import assert from 'node:assert/strict';
import { InvalidValueError } from '../../lib';
import { decodeValue, encodeValue, inferFormat } from '../../lib/csp/values';

describe('CSP values', () => {
  it('infers formats from JS types', () => {
    assert.equal(inferFormat('x'), 'chr');
    assert.equal(inferFormat(1), 'int');
    assert.equal(inferFormat(true), 'bool');
    assert.equal(inferFormat(Buffer.from('x')), 'b64');
    assert.equal(inferFormat(new Uint8Array([1])), 'b64');
  });

  it('encodes each format', () => {
    assert.equal(encodeValue(42, 'int', 'u'), '42');
    assert.equal(encodeValue('-7', 'int', 'u'), '-7');
    assert.equal(encodeValue(false, 'bool', 'u'), 'false');
    assert.equal(encodeValue(Buffer.from([1, 2, 255]), 'b64', 'u'), 'AQL/');
    assert.equal(encodeValue('<a>&</a>', 'xml', 'u'), '<a>&</a>', 'escaping is the codec’s job');
    assert.equal(encodeValue(3, 'chr', 'u'), '3');
  });

  const bad: Array<[unknown, string, RegExp]> = [
    [1.5, 'int', /integer/],
    ['12a', 'int', /integer/],
    [2 ** 33, 'int', /out of range/],
    ['yes', 'bool', /true or false/],
    ['not base64!', 'b64', /base64/],
    ['abc', 'b64', /base64/],
    [{}, 'chr', /string/],
    ['a\u0001b', 'chr', /XML cannot carry/],
    ['\ud800', 'chr', /XML cannot carry/],
    ['x', 'node', /no value/],
    ['x', 'null', /no value/],
  ];
  for (const [value, format, why] of bad) {
    it(`rejects ${JSON.stringify(value)} as ${format}`, () => {
      assert.throws(
        () => encodeValue(value as string, format as 'chr', './X'),
        (e: unknown) =>
          e instanceof InvalidValueError && why.test(e.message) && e.message.includes('./X'),
      );
    });
  }

  it('keeps a valid surrogate pair', () => {
    assert.equal(encodeValue('😀', 'chr', 'u'), '😀');
  });

  it('decodes by the reported format', () => {
    assert.equal(decodeValue({ status: 200, items: [], data: '8', format: 'int' }), 8);
    assert.equal(decodeValue({ status: 200, items: [], data: 'true', format: 'bool' }), true);
    assert.deepEqual(
      decodeValue({ status: 200, items: [], data: 'AQL/', format: 'b64' }),
      Buffer.from([1, 2, 255]),
    );
    assert.deepEqual(decodeValue({ status: 200, items: [], data: 'A/B', format: 'node' }), [
      'A',
      'B',
    ]);
    assert.deepEqual(decodeValue({ status: 200, items: [], format: 'node' }), []);
    assert.equal(decodeValue({ status: 200, items: [], format: 'null' }), null);
    assert.equal(decodeValue({ status: 200, items: [], data: 'x' }), 'x');
    assert.equal(decodeValue({ status: 200, items: [], data: 'n/a', format: 'int' }), 'n/a');
  });
});
