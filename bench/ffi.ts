/**
 * Benchmark: our path (Csp over AddonMdm: validation, automatic batching, the C++ codec, off the
 * JS thread) against the FFI alternative (bench/alternatives/ffi-koffi.ts: koffi + string
 * templates + fast-xml-parser), the same Gets and Replaces of real nodes on the same emulator
 * library in the same process, 1, 10 and 100 ops per call; the variants' samples interleaved.
 * Target (issue 12): ours >= 2× the FFI path's ops/s at 10 ops per call, >= 1× at 1.
 */
import { existsSync } from 'node:fs';
import { AddonMdm } from '../lib/native/addon-mdm';
import type { CspOp } from '../lib/native/contract';
import { resolveMdmLibrary } from '../lib/native/load';
import { Csp } from '../lib/csp/csp';
import { buildSyncBody, KoffiMdm } from './alternatives/ffi-koffi';
import { fromRatio, fromSamples, type BenchOptions, type Figure } from './model';
import { pairedRatio, sampleInterleaved } from './stats';

/** Real nodes: DevDetail/DevInfo leaves to read, Update policies (with valid values) to write. */
const GET_URIS = [
  './DevDetail/SwV',
  './DevDetail/FwV',
  './DevDetail/HwV',
  './DevDetail/OEM',
  './DevDetail/DevTyp',
  './DevInfo/Lang',
  './DevInfo/DmV',
  './DevInfo/Mod',
  './DevInfo/Man',
  './DevInfo/DevId',
];
const POLICY = './Device/Vendor/MSFT/Policy/Config/Update';
const SET_NODES: Array<[string, number]> = [
  ['ActiveHoursStart', 24],
  ['ActiveHoursEnd', 24],
  ['ScheduledInstallTime', 24],
  ['DeferQualityUpdatesPeriodInDays', 31],
  ['DeferFeatureUpdatesPeriodInDays', 366],
  ['ConfigureDeadlineForQualityUpdates', 31],
  ['ConfigureDeadlineForFeatureUpdates', 31],
  ['ConfigureDeadlineGracePeriod', 8],
  ['DeferUpdatePeriod', 5],
  ['DeferUpgradePeriod', 9],
];

export function ffiUnavailable(): string | undefined {
  for (const mod of ['koffi', 'fast-xml-parser']) {
    try {
      require.resolve(mod);
    } catch {
      return `${mod} is not installed (a devDependency)`;
    }
  }
  const lib = resolveMdmLibrary();
  if (lib === undefined || !existsSync(lib)) {
    return 'the CSP emulator library is not built (npm run build:native)';
  }
  return undefined;
}

function opsFor(verb: 'get' | 'replace', size: number, round: number): CspOp[] {
  return Array.from({ length: size }, (_, i) => {
    if (verb === 'get') return { verb, uri: GET_URIS[i % GET_URIS.length] as string };
    const [leaf, mod] = SET_NODES[i % SET_NODES.length] as [string, number];
    return { verb, uri: `${POLICY}/${leaf}`, format: 'int', data: String((round + i) % mod) };
  });
}

function check(results: Array<{ status: number }>, what: string): void {
  const bad = results.find((r) => r.status !== 200);
  if (bad) throw new Error(`${what}: status ${bad.status}`);
}

export async function benchFfi(o: BenchOptions): Promise<Figure[]> {
  const samples = o.quick ? 41 : 201;
  const warmup = o.quick ? 10 : 30;
  const lib = resolveMdmLibrary() as string;
  const native = new AddonMdm();
  const csp = new Csp(native);
  const ffi = new KoffiMdm(lib);
  // The policy nodes exist, so that every Replace answers 200 both ways.
  await native.apply(SET_NODES.map(([leaf]) => ({ verb: 'delete', uri: `${POLICY}/${leaf}` })));
  check(
    await native.apply(
      SET_NODES.map(([leaf]) => ({
        verb: 'add',
        uri: `${POLICY}/${leaf}`,
        format: 'int',
        data: '1',
      })),
    ),
    'policy set-up',
  );
  const figures: Figure[] = [];
  for (const verb of ['get', 'replace'] as const) {
    for (const size of [1, 10, 100]) {
      let round = 0;
      const ops = (): CspOp[] => opsFor(verb, size, round++);
      const runs = await sampleInterleaved(
        {
          ours: async () => {
            const list = ops();
            await Promise.all(
              list.map((op) =>
                verb === 'get' ? csp.get(op.uri) : csp.replace(op.uri, Number(op.data)),
              ),
            );
          },
          ffiAsync: async () => check(await ffi.apply(ops(), 'async'), 'ffi async'),
          ffiSync: async () => check(await ffi.apply(ops(), 'sync'), 'ffi sync'),
          addon: async () => check(await native.apply(ops()), 'AddonMdm.apply'),
          floor: async () => {
            if (!ffi.callRaw(buildSyncBody(ops())).includes('<Data>200</Data>')) {
              throw new Error('library floor: no 200 status');
            }
          },
        },
        samples,
        warmup,
      );
      const opsPerS = (ms: number[]): number[] => ms.map((m) => (size * 1000) / m);
      const label = `${verb} × ${size}/call`;
      figures.push(
        fromSamples(`${label}: ours (Csp, batched)`, 'ops/s', opsPerS(runs.ours)),
        fromSamples(
          `${label}: FFI (koffi .async + templates + fast-xml-parser)`,
          'ops/s',
          opsPerS(runs.ffiAsync),
        ),
        fromSamples(
          `${label}: FFI, synchronous call (blocks the event loop)`,
          'ops/s',
          opsPerS(runs.ffiSync),
        ),
        fromSamples(`${label}: AddonMdm.apply alone (no Csp)`, 'ops/s', opsPerS(runs.addon)),
        fromSamples(
          `${label}: the library's own time (prepared request, synchronous, not parsed)`,
          'ops/s',
          opsPerS(runs.floor),
        ),
      );
      // What each path adds to the library's own work, per call (a profile of the difference).
      const above = (ms: number[]): number[] =>
        ms.map((m, i) => (m - (runs.floor[i] as number)) * 1000);
      figures.push(
        fromSamples(
          `${label}: ours, time above the library's own per call`,
          'µs',
          above(runs.ours),
        ),
        fromSamples(
          `${label}: FFI async, time above the library's own per call`,
          'µs',
          above(runs.ffiAsync),
        ),
      );
      const target =
        size === 10
          ? { op: '>=' as const, value: 2, source: 'issue 12' }
          : size === 1
            ? { op: '>=' as const, value: 1, source: 'issue 12' }
            : undefined;
      figures.push(
        fromRatio(
          `${label}: ours ÷ FFI async, ops/s`,
          pairedRatio(runs.ffiAsync, runs.ours),
          target ? { target } : {},
        ),
        fromRatio(`${label}: ours ÷ FFI sync, ops/s`, pairedRatio(runs.ffiSync, runs.ours)),
        fromRatio(
          `${label}: ceiling of ours ÷ FFI async (a path costing nothing above the library)`,
          pairedRatio(runs.ffiAsync, runs.floor),
        ),
      );
    }
  }
  await native.apply(SET_NODES.map(([leaf]) => ({ verb: 'delete', uri: `${POLICY}/${leaf}` })));
  return figures;
}
