/**
 * Side-by-side comparison of two builds of the native part (addon + CSP emulator library) in one
 * process: the figures of csp-ops (per-op cost at 1/10/100 ops per message, the batching ratio)
 * and ffi (ours ÷ the FFI alternative at 1 and 10 ops per call), every variant interleaved round
 * by round, so that machine load hits both builds alike (docs/benchmarks-native.md).
 *
 *   npx tsx bench/native-compare.ts <old-dir> [<new-dir>] [--quick]
 *
 * A dir holds windows_iot_dm.node and mdm_emulator.so (<new-dir> default: build/Release). Save
 * the old build first: `cp build/Release/{windows_iot_dm.node,mdm_emulator.so} /tmp/old/`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AddonMdm } from '../lib/native/addon-mdm';
import type { CspOp, NativeMdm } from '../lib/native/contract';
import { Csp } from '../lib/csp/csp';
import { buildSyncBody, KoffiMdm } from './alternatives/ffi-koffi';
import { median, pairedRatio, sampleInterleaved, table } from './stats';

const GET_URI = './DevDetail/SwV';
const POLICY = './Device/Vendor/MSFT/Policy/Config/Update';
const SET_LEAVES = ['ActiveHoursStart', 'ActiveHoursEnd', 'ScheduledInstallTime'];

interface Build {
  name: string;
  native: NativeMdm;
  csp: Csp;
  ffi: KoffiMdm;
}

function open(name: string, dir: string): Build {
  const addonPath = join(dir, 'windows_iot_dm.node');
  const libraryPath = join(dir, 'mdm_emulator.so');
  for (const file of [addonPath, libraryPath]) {
    if (!existsSync(file)) throw new Error(`${name}: ${file} does not exist`);
  }
  const native = new AddonMdm({ addonPath, libraryPath });
  return { name, native, csp: new Csp(native), ffi: new KoffiMdm(libraryPath) };
}

function ops(verb: 'get' | 'replace', size: number, round: number): CspOp[] {
  return Array.from({ length: size }, (_, i) => {
    if (verb === 'get') return { verb, uri: GET_URI };
    const leaf = SET_LEAVES[i % SET_LEAVES.length] as string;
    return { verb, uri: `${POLICY}/${leaf}`, format: 'int', data: String((round + i) % 24) };
  });
}

function check(results: Array<{ status: number }>, what: string): void {
  const bad = results.find((r) => r.status !== 200);
  if (bad) throw new Error(`${what}: status ${bad.status}`);
}

const fmt = (n: number, digits = 1): string => n.toFixed(digits);

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--quick');
  const quick = process.argv.includes('--quick');
  if (args.length < 1) throw new Error('usage: native-compare.ts <old-dir> [<new-dir>] [--quick]');
  process.env.WINDOWS_IOT_DM_EMULATOR_STATE ??= ':memory:';
  const samples = quick ? 41 : 201;
  const warmup = quick ? 10 : 30;
  const builds = [
    open('old', resolve(args[0] as string)),
    open('new', resolve(args[1] ?? 'build/Release')),
  ];
  for (const b of builds) {
    await b.native.apply(SET_LEAVES.map((leaf) => ({ verb: 'delete', uri: `${POLICY}/${leaf}` })));
    const add = SET_LEAVES.map((leaf): CspOp => ({
      verb: 'add',
      uri: `${POLICY}/${leaf}`,
      format: 'int',
      data: '1',
    }));
    check(await b.native.apply(add), `${b.name} set-up`);
  }

  const rows: Array<Array<string | number>> = [];
  // Per-op cost of AddonMdm.apply and ours ÷ FFI (Csp, batched, against koffi async).
  for (const verb of ['get', 'replace'] as const) {
    for (const size of [1, 10, 100]) {
      let round = 0;
      const variants: Record<string, () => Promise<unknown>> = {};
      for (const b of builds) {
        variants[`${b.name}.addon`] = async () =>
          check(await b.native.apply(ops(verb, size, round++)), `${b.name} addon`);
        variants[`${b.name}.csp`] = () =>
          Promise.all(
            ops(verb, size, round++).map((op) =>
              verb === 'get' ? b.csp.get(op.uri) : b.csp.replace(op.uri, Number(op.data)),
            ),
          );
        variants[`${b.name}.ffi`] = async () =>
          check(await b.ffi.apply(ops(verb, size, round++), 'async'), `${b.name} ffi`);
        // The library's own time: a prepared request, synchronous, the answer not parsed.
        variants[`${b.name}.floor`] = () => {
          const answer = b.ffi.callRaw(buildSyncBody(ops(verb, size, round++)));
          if (!answer.includes('<Data>200</Data>')) throw new Error(`${b.name} floor: no 200`);
          return Promise.resolve();
        };
      }
      const runs = await sampleInterleaved(variants, samples, warmup);
      const perOp = (ms: number[]): number => (median(ms) * 1000) / size;
      const series = (k: string): number[] => runs[k] as number[];
      const ratio = (b: string): number =>
        pairedRatio(series(`${b}.ffi`), series(`${b}.csp`)).median;
      rows.push([
        `${verb} × ${size}`,
        fmt(perOp(series('old.addon'))),
        fmt(perOp(series('new.addon'))),
        fmt(pairedRatio(series('old.addon'), series('new.addon')).median, 2) + '×',
        fmt(perOp(series('old.csp'))),
        fmt(perOp(series('new.csp'))),
        fmt(ratio('old'), 2) + '×',
        fmt(ratio('new'), 2) + '×',
        fmt(perOp(series('old.floor'))),
        fmt(perOp(series('new.floor'))),
        fmt(pairedRatio(series('new.ffi'), series('new.floor')).median, 2) + '×',
      ]);
    }
  }
  console.log(
    table(
      [
        'ops/message',
        'AddonMdm.apply µs/op old',
        'new',
        'speed-up (paired)',
        'Csp µs/op old',
        'new',
        'ours ÷ FFI async old',
        'new',
        "library's own µs/op old",
        'new',
        'ceiling of ours ÷ FFI, new',
      ],
      rows,
    ),
  );

  // Batching: one 100-op message against 100 one-op messages.
  const hundred = ops('get', 100, 0);
  const variants: Record<string, () => Promise<unknown>> = {};
  for (const b of builds) {
    variants[`${b.name}.one`] = () => b.native.apply(hundred);
    variants[`${b.name}.many`] = async () => {
      for (const op of hundred) await b.native.apply([op]);
    };
  }
  const runs = await sampleInterleaved(variants, quick ? 21 : 61, quick ? 3 : 10);
  const series = (k: string): number[] => runs[k] as number[];
  console.log('');
  console.log(
    table(
      ['build', '1 × 100 µs/op', '100 × 1 µs/op', 'batching (ops/s of 1 × 100 ÷ 100 × 1)'],
      builds.map((b) => [
        b.name,
        fmt(median(series(`${b.name}.one`)) * 10),
        fmt(median(series(`${b.name}.many`)) * 10),
        fmt(pairedRatio(series(`${b.name}.many`), series(`${b.name}.one`)).median, 2) + '×',
      ]),
    ),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
