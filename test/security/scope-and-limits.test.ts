/**
 * docs/security.md claims, tested: a feature reaches only its declared nodes (URIs outside them,
 * traversal segments, encodings, case variants, user scope, subtree listings are refused before
 * anything is queued; a fast-check property over random URIs), and oversized or too deep twin
 * values and method payloads are refused with a clear 400 that does not echo the value.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Csp } from '../../lib/csp/csp';
import { ScopedCsp } from '../../lib/dm/scoped-csp';
import type { FeatureHandler, JsonObject } from '../../lib/dm/handler';
import { s } from '../../lib/dm/schema';
import { builtinHandlers } from '../../lib/features';
import { MockMdm } from '../../lib/testing/mock-mdm';
import { MockSystem } from '../../lib/testing/mock-system';
import { featureHarness, type Harness } from '../unit/features/fixture';

const BASE = './Device/Vendor/MSFT/Test/Alpha';
/** Outside the scope (ScopedCsp) or not a CSP URI at all (lib/csp/uri.ts), both before queueing. */
const REFUSED = new Set(['ERR_CSP_NOT_ALLOWED', 'ERR_INVALID_URI', 'ERR_INVALID_ARG']);

describe('security: a feature reaches only its declared nodes', () => {
  let mock: MockMdm;
  let scoped: ScopedCsp;
  beforeEach(() => {
    mock = new MockMdm({ nodes: { [`${BASE}/Name`]: { value: 'n' } } });
    scoped = new ScopedCsp(new Csp(mock), 'alpha', [`${BASE}/*`]);
  });

  const outside = [
    './Device/Vendor/MSFT/Test/Beta/Name',
    './Device/Vendor/MSFT/Test/Alpha',
    `${BASE}/Name/Deeper`,
    `${BASE}/../../RemoteWipe/doWipe`,
    `${BASE}/./Name`,
    `${BASE}/%2E%2E/%2E%2E/RemoteWipe/doWipe`,
    './device/vendor/msft/test/alpha/name',
    './User/Vendor/MSFT/Test/Alpha/Name',
    `${BASE}?list=Struct`,
    `${BASE}/Name?list=Struct`,
    './Device/Vendor/MSFT/RemoteWipe/doWipe',
    '/Device/Vendor/MSFT/Test/Alpha/Name',
    `${BASE}/Name\u0000`,
    `${BASE}//Name`,
  ];
  for (const uri of outside) {
    it(`refuses ${JSON.stringify(uri)} for every verb, nothing reaches the device`, async () => {
      for (const op of [
        () => scoped.get(uri),
        () => scoped.add(uri, 'x'),
        () => scoped.replace(uri, 'x'),
        () => scoped.delete(uri),
        () => scoped.exec(uri),
      ]) {
        await assert.rejects(op(), (err: unknown) => {
          const code = (err as { code?: string }).code;
          assert.ok(REFUSED.has(String(code)), String(code));
          return true;
        });
      }
      assert.equal(mock.calls.length, 0);
    });
  }

  it('an escaped "../" is one node name under the folder, never a parent reference', async () => {
    const uri = `${BASE}/..%2F..%2FRemoteWipe`;
    await scoped.get(uri).catch(() => undefined);
    assert.deepEqual(
      mock.sentOps.map((o) => o.uri),
      [uri],
    );
  });

  it('property: any URI the scope lets through is one segment below the declared folder', async () => {
    const segment = fc.oneof(
      fc.constantFrom('Name', '..', '.', '', '%2E%2E', 'Alpha', '*', '?list=Struct', 'RemoteWipe'),
      fc.string({ maxLength: 8 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(BASE, './Device/Vendor/MSFT/Test', './Vendor/MSFT/Test/Alpha', '.'),
        fc.array(segment, { minLength: 0, maxLength: 4 }),
        async (prefix, segs) => {
          const uri = [prefix, ...segs].join('/');
          mock.calls.length = 0;
          let allowed = true;
          await scoped.get(uri).catch((err: { code?: string }) => {
            allowed = !REFUSED.has(String(err.code));
          });
          if (!allowed) {
            assert.equal(mock.calls.length, 0);
            return;
          }
          const sent = mock.sentOps.map((o) => o.uri);
          for (const u of sent) {
            const parts = u.replace(/^\.\/Vendor\//, './Device/Vendor/').split('/');
            assert.equal(parts.length, BASE.split('/').length + 1, u);
            assert.equal(parts.slice(0, -1).join('/'), BASE, u);
            assert.ok(!['..', '.', ''].includes(parts.at(-1)!), u);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('security: oversized and too deep values are refused with a clear 400', () => {
  let h: Harness;
  beforeEach(() => {
    h = featureHarness();
  });
  afterEach(() => h.cleanup());

  /** A section and a method without a schema of their own: only the generic limits apply. */
  const free: FeatureHandler = {
    section: 'free',
    nodes: [],
    desired: s.object({ data: s.any() }),
    async apply() {},
    async report() {
      return {};
    },
    methods: [{ name: 'windows.free', invoke: async () => ({}) }],
  };
  const attach = () =>
    h.attach([...builtinHandlers({ system: new MockSystem(), stateDir: h.stateDir }), free]);
  const deep = (n: number): JsonObject => {
    let v: JsonObject = { leaf: 'x' };
    for (let i = 0; i < n; i += 1) v = { k: v };
    return v;
  };
  const huge = 'A'.repeat(200_000);

  const twinCases: Array<[string, JsonObject, RegExp]> = [
    ['a 200 KB string', { timeInfo: { timeZoneKeyName: huge } }, /longer|length|1024|characters/i],
    ['nesting 12 deep', { free: { data: deep(12) } }, /deep|depth|nest/i],
    [
      '300 keys',
      {
        windowsTelemetry: Object.fromEntries(
          Array.from({ length: 300 }, (_, i) => [`k${i}`, 1]),
        ) as JsonObject,
      },
      /keys|propert/i,
    ],
  ];
  for (const [what, windows, reason] of twinCases) {
    it(`twin: ${what} fails the section (400), nothing written, the value not echoed`, async () => {
      const dm = await attach();
      h.mock.calls.length = 0;
      h.link.setDesired({ windows });
      await h.idle(dm);
      const section = Object.keys(windows)[0]!;
      const lc = h.lastChange(section);
      assert.equal(lc?.state, 'failed', JSON.stringify(lc));
      assert.equal(lc?.errCode, 400);
      assert.match(String(lc?.errContext), reason);
      assert.ok(String(lc?.errContext).length < 2000, 'errContext stays short');
      assert.equal(h.mock.sentOps.filter((o) => o.verb !== 'get').length, 0);
      assert.ok(!JSON.stringify(h.reported).includes(huge.slice(0, 2000)));
    });
  }

  const methodCases: Array<[string, JsonObject, RegExp]> = [
    ['a 200 KB file name', { folder: 'logs', fileName: huge }, /longer|length|characters/i],
    ['nesting 12 deep', deep(12), /deep|depth|nest/i],
  ];
  for (const [what, payload, reason] of methodCases) {
    it(`method: ${what} answers 400 with the reason, the value not echoed`, async () => {
      await attach();
      const name = what.startsWith('nesting') ? 'windows.free' : 'windows.deleteDMFile';
      const res = await h.link.invoke(name, payload);
      assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
      const text = JSON.stringify(res.body);
      assert.match(text, reason);
      assert.ok(text.length < 2000, 'the answer stays short');
    });
  }
});
