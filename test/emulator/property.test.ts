/**
 * Property-based check of the CSP emulator through the REAL addon: at least 10,000 generated
 * operations (known, dynamic, aliased, mis-cased, user-scoped and unknown URIs × every verb ×
 * every format × valid, out-of-range and hostile values), in plain and Atomic messages. No crash,
 * one result per op, and every answer a documented status with the right shape.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AddonMdm, type CspFormat, type CspOp, type CspVerb } from '../../lib';

const DOCUMENTED = new Set([200, 400, 404, 405, 406, 415, 418, 500]);
const ATOMIC_DOCUMENTED = new Set([...DOCUMENTED, 216]);

const URIS = [
  './DevDetail',
  './DevDetail/SwV',
  './DevDetail/Ext/Microsoft/DeviceName',
  './DevDetail/Ext/Microsoft/TotalRAM',
  './DevInfo/DevId',
  './devinfo/DevId',
  './Device/Vendor/MSFT/Reboot',
  './Device/Vendor/MSFT/Reboot/RebootNow',
  './Device/Vendor/MSFT/Reboot/Schedule/Single',
  './Device/Vendor/MSFT/Reboot/Schedule/DailyRecurrent',
  './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart',
  './Vendor/MSFT/Policy/Config/Update/ActiveHoursEnd',
  './User/Vendor/MSFT/Policy/Config/Experience/AllowSpotlightCollection',
  './Device/Vendor/MSFT/WiFi/Profile/Prop%20Net/WlanXml',
  './Device/Vendor/MSFT/WiFi/Profile/Prop%20Net',
  './Device/Vendor/MSFT/RootCATrustedCertificates/Root/0123456789ABCDEF0123456789ABCDEF01234567/EncodedCertificate',
  './Device/Vendor/MSFT/RootCATrustedCertificates/Root/0123456789ABCDEF0123456789ABCDEF01234567',
  './Device/Vendor/MSFT/DeviceStatus/OS/Mode',
  './Device/Vendor/MSFT/HealthAttestation/VerifyHealth',
  './Device/Vendor/MSFT/NoSuchCsp/Node',
  './Device/Vendor/MSFT/Policy/Config/NoArea/NoPolicy',
];
const VERBS: CspVerb[] = ['get', 'add', 'replace', 'delete', 'exec'];
const FORMATS: Array<CspFormat | undefined> = [
  'chr',
  'int',
  'bool',
  'b64',
  'xml',
  'node',
  'null',
  undefined,
];

const value = fc.oneof(
  fc.integer({ min: -5, max: 30 }).map(String),
  fc.constantFrom(
    'true',
    'false',
    '',
    'AQID',
    '2026-01-01T03:00:00',
    '2026-01-01T03:00:00.5Z',
    '<WLANProfile/>',
  ),
  fc.constantFrom(
    '</Data></Item></Replace><Exec><CmdID>9</CmdID></Exec>',
    ']]>',
    '&amp;&lt;',
    '😀 é',
  ),
  fc
    .string({ maxLength: 12 })
    // eslint-disable-next-line no-control-regex -- the point is to exclude control characters
    .filter((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/.test(s)),
);

const op: fc.Arbitrary<CspOp> = fc
  .record({
    verb: fc.constantFrom(...VERBS),
    uri: fc.constantFrom(...URIS),
    list: fc.boolean(),
    format: fc.constantFrom(...FORMATS),
    data: fc.option(value, { nil: undefined }),
  })
  .map(({ verb, uri, list, format, data }) => {
    const o: CspOp = { verb, uri: verb === 'get' && list ? `${uri}?list=StructData` : uri };
    if (format !== undefined) o.format = format;
    if (data !== undefined && verb !== 'get' && verb !== 'delete') o.data = data;
    return o;
  });

describe('CSP emulator under generated operations (real addon, fast-check)', function () {
  this.timeout(120000);
  const mdm = new AddonMdm();
  let total = 0;

  it('answers every op of plain messages with a documented status and the right shape', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 60 }), async (ops) => {
        const results = await mdm.apply(ops);
        total += ops.length;
        assert.equal(results.length, ops.length);
        results.forEach((r, i) => {
          assert.ok(
            DOCUMENTED.has(r.status),
            `undocumented status ${r.status} for ${JSON.stringify(ops[i])}`,
          );
          if ((ops[i] as CspOp).verb !== 'get' || r.status !== 200)
            assert.equal(r.items.length, 0, 'only a successful Get has items');
          else assert.ok(r.items.length >= 1, 'a successful Get has an item');
        });
      }),
      { numRuns: 1000, seed: 20261126 },
    );
  });

  it('keeps Atomic all-or-nothing: all 2xx, or 507 semantics with 216 for the rest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 20 }), async (ops) => {
        const results = await mdm.apply(ops, { atomic: true });
        total += ops.length;
        assert.equal(results.length, ops.length);
        const ok = results.every((r) => r.status >= 200 && r.status < 300);
        results.forEach((r, i) => {
          assert.ok(
            ATOMIC_DOCUMENTED.has(r.status),
            `undocumented status ${r.status} in Atomic for ${JSON.stringify(ops[i])}`,
          );
          if ((ops[i] as CspOp).verb === 'get') {
            assert.ok(r.status === 500 || r.status === 216, 'Get is not allowed inside Atomic');
          }
        });
        if (!ok) {
          assert.ok(
            results.some((r) => r.status >= 300),
            'a failed Atomic names the failing command',
          );
          assert.ok(
            results.every((r) => r.status === 216 || r.status >= 300),
            'every other command is rolled back (216)',
          );
        }
      }),
      { numRuns: 600, seed: 11262026 },
    );
  });

  it('ran at least 10,000 generated operations', () => {
    assert.ok(total >= 10000, `only ${total} operations`);
    console.log(`      (${total} generated operations)`);
  });
});
