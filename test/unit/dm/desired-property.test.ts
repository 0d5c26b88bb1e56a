/**
 * Property-based tests (fast-check, issue 13 item 2): random `windows.*` desired documents through
 * the DM client with every built-in feature, over MockMdm + MockTwinLink + MockSystem. Documents
 * mix plausible section values (from the feature tests) with mutations: wrong types, strings over
 * the limits, deep nesting, unicode with lone surrogates, XML metacharacters and SyncML fragments,
 * nulls, switch strings, unknown keys and unknown sections. For each document:
 *  - the agent neither throws nor leaves an unhandled rejection;
 *  - every built-in section given a value to apply ends `completed` or `failed` in reported state
 *    (never `pending`, never missing);
 *  - every op the mock receives is inside the declared `nodes` of a built-in feature, and every
 *    write inside the nodes of a section the document names (checked by an independent matcher,
 *    not by ScopedCsp's own).
 * The SyncML side (values escaped, no extra elements) needs the addon's encoder:
 * test/native/syncml-escape-property.test.ts (real addon + emulator) and
 * native/fuzz/syncml_encode_fuzz.cc (libFuzzer, EncodeOps -> ParseRequest).
 * fast-check prints the seed and the shrunk counterexample on failure; rerun with
 * FC_SEED=<seed>. FC_RUNS overrides the number of runs.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FeatureHandler, Json, JsonObject } from '../../../lib/dm/handler';
import { BUILTIN_SECTIONS, builtinHandlers } from '../../../lib/features';
import { MockSystem } from '../../../lib/testing/mock-system';
import { featureHarness } from '../features/fixture';

const RUNS = Number(process.env.FC_RUNS ?? 60);
const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;

/** Plausible values per section (as the feature tests use them), the base of mutations. */
const EXAMPLES: Record<string, Json[]> = {
  deviceInfo: [{}],
  windowsTelemetry: [{ level: 'full' }, { level: 'basic' }],
  windowsUpdatePolicy: [{ pauseFeatureUpdates: 1 }],
  windowsUpdates: [{ approved: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' }],
  rebootInfo: [{ singleRebootTime: '2030-01-01T01:00:00Z', dailyRebootTime: '' }],
  rebootCmd: [{}],
  timeInfo: [{ timeZoneKeyName: 'Pacific Standard Time' }],
  timeService: [{ enabled: 'yes', startup: 'auto', started: 'yes' }],
  certificates: [{}],
  apps: [{ a: { pkgFamilyName: 'Contoso.App_8wekyb3d8bbwe', version: '1.0.0.0' } }],
  desktopApps: [
    { '{11111111-2222-3333-4444-555555555555}': { version: '1.0.0', source: 'a.msi' } },
  ],
  wifi: [{ Home: 'remove' }],
  eventTracingCollectors: [{ AzureDM: { applyProperties: { started: false } } }],
  deviceHealthAttestation: [{}],
  factoryReset: [{}],
  remoteWipe: [{}],
  manageAppLifeCycleCmd: [{}],
  externalStorage: [{ connectionString: 'not a connection string' }],
};

const XML_BITS = [
  '<',
  '>',
  '&',
  '"',
  "'",
  ']]>',
  '<![CDATA[',
  '&amp;',
  '&#0;',
  '&lt;Exec&gt;',
  '</Data></Item><Item><Target><LocURI>./Device/Vendor/MSFT/RemoteWipe/doWipe</LocURI></Target></Item>',
  '</Replace><Exec><CmdID>99</CmdID><Item><Target><LocURI>./Device/Vendor/MSFT/Reboot/RebootNow</LocURI></Target></Item></Exec>',
  '\u0000',
  '\uD800',
  '\uDFFF',
  '\uFFFE',
  '../../etc/passwd',
  'C:\\Windows\\System32',
  '\\\\server\\share',
  '%2e%2e%2f',
  './Device/Vendor/MSFT/RemoteWipe/doWipe',
];

/** Any UTF-16 code unit, so lone surrogates appear. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: codeUnit, maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.array(fc.constantFrom(...XML_BITS), { minLength: 1, maxLength: 4 }).map((a) => a.join('')),
  fc.integer({ min: 1020, max: 70_000 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom(...XML_BITS),
);
const leaf: fc.Arbitrary<Json> = fc.oneof(
  nastyString,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('no-apply-no-report', 'no-apply-yes-report', 'yes', 'no', '?'),
);
const anyJson: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(nastyString, fc.constantFrom('?', 'applyProperties')), tie('value'), {
      maxKeys: 3,
    }),
  ),
})).value;
/** Nesting deeper than the schema's limit (5). */
const deep = fc.integer({ min: 4, max: 40 }).chain((depth) =>
  leaf.map((v) => {
    let out: Json = v;
    for (let i = 0; i < depth; i += 1) out = { [`k${i % 3}`]: out };
    return out;
  }),
);

function mutate(example: Json): fc.Arbitrary<Json> {
  if (typeof example !== 'object' || example === null || Array.isArray(example)) {
    return fc.constant(example);
  }
  const keys = Object.keys(example);
  return fc
    .record({
      replace: fc.dictionary(keys.length > 0 ? fc.constantFrom(...keys) : nastyString, anyJson, {
        maxKeys: 2,
      }),
      extra: fc.dictionary(nastyString, leaf, { maxKeys: 2 }),
      wrap: fc.constantFrom('none', 'applyProperties', 'reportNo'),
    })
    .map(({ replace, extra, wrap }) => {
      const content: JsonObject = { ...(example as JsonObject), ...replace, ...extra };
      if (wrap === 'applyProperties') return { applyProperties: content, reportProperties: 'yes' };
      if (wrap === 'reportNo') return { applyProperties: content, reportProperties: 'no' };
      return content;
    });
}

const sectionValue = (section: string): fc.Arbitrary<Json> =>
  fc.oneof(
    fc.constantFrom(...(EXAMPLES[section] ?? [{}])),
    fc.constantFrom(...(EXAMPLES[section] ?? [{}])).chain(mutate),
    anyJson,
    deep,
    leaf,
  );

const windowsDoc: fc.Arbitrary<JsonObject> = fc
  .record({
    known: fc.uniqueArray(fc.constantFrom(...BUILTIN_SECTIONS), { minLength: 1, maxLength: 4 }),
    unknown: fc.dictionary(nastyString, anyJson, { maxKeys: 2 }),
  })
  .chain(({ known, unknown }) =>
    fc
      .tuple(...known.map((section) => sectionValue(section).map((v) => [section, v] as const)))
      .map((entries) => ({ ...unknown, ...Object.fromEntries(entries) }) as JsonObject),
  );

/** Independent of ScopedCsp: `*` one segment, trailing `**` any subtree, ./Vendor = ./Device/Vendor. */
function within(pattern: string, uri: string): boolean {
  const norm = (p: string): string[] =>
    (p.startsWith('./Vendor/') ? `./Device/${p.slice(2)}` : p).split('/');
  const query = uri.indexOf('?');
  const path = norm(query >= 0 ? uri.slice(0, query) : uri);
  const pat = norm(pattern);
  if (pat[pat.length - 1] === '**') {
    const base = pat.slice(0, -1);
    return path.length >= base.length && base.every((s, i) => s === '*' || s === path[i]);
  }
  if (query >= 0) return false;
  return pat.length === path.length && pat.every((s, i) => s === '*' || s === path[i]);
}

function plannedToApply(value: Json): boolean {
  if (value === null || value === 'no-apply-no-report' || value === 'no-apply-yes-report') {
    return false;
  }
  if (typeof value === 'object' && !Array.isArray(value) && value.applyProperties === 'no') {
    return false;
  }
  return true;
}

function reportsNothing(value: Json): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    value.reportProperties === 'no'
  );
}

describe('property: random windows.* desired documents through the DM client', function () {
  this.timeout(60_000);
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    rejections.push(reason);
  };
  before(() => process.on('unhandledRejection', onRejection));
  after(() => process.off('unhandledRejection', onRejection));

  it('never crash or leak a rejection, end every section completed/failed, stay in declared nodes', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(windowsDoc, async (doc) => {
        runs += 1;
        const h = featureHarness();
        const handlers: FeatureHandler[] = builtinHandlers({
          system: new MockSystem(),
          stateDir: h.stateDir,
        });
        const nodesOf = new Map(handlers.map((x) => [x.section, x.nodes]));
        try {
          const dm = await h.attach(handlers);
          h.link.setDesired({ windows: doc });
          await h.idle(dm);
          await new Promise((resolve) => setImmediate(resolve));
          assert.deepEqual(rejections, [], 'unhandled rejections');

          for (const section of BUILTIN_SECTIONS) {
            if (!Object.hasOwn(doc, section) || !plannedToApply(doc[section] as Json)) continue;
            const state = h.lastChange(section)?.state;
            // reportProperties "no": "no-report" once applied, a failed lastChange otherwise.
            if (reportsNothing(doc[section] as Json) && h.reported[section] === 'no-report')
              continue;
            assert.ok(
              state === 'completed' || state === 'failed',
              `${section}: lastChange.state is ${String(state)}`,
            );
          }
          const all = [...nodesOf.values()].flat();
          const named = BUILTIN_SECTIONS.filter((x) => Object.hasOwn(doc, x)).flatMap(
            (x) => nodesOf.get(x) ?? [],
          );
          for (const op of h.mock.sentOps) {
            assert.ok(
              all.some((p) => within(p, op.uri)),
              `${op.verb} ${op.uri} is outside every feature's nodes`,
            );
            if (op.verb !== 'get') {
              assert.ok(
                named.some((p) => within(p, op.uri)),
                `${op.verb} ${op.uri} is outside the nodes of the sections desired`,
              );
            }
          }
        } finally {
          await h.cleanup();
        }
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
    assert.equal(runs >= RUNS, true);
  });
});
