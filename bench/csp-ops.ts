/**
 * Benchmark: per-op cost and ops/s of Get and Replace through the real addon and the CSP
 * emulator library, 1, 10 and 100 ops per SyncML message; `AddonMdm.apply` (the native
 * contract) and `Csp` (validation + automatic batching on top) interleaved. And what batching
 * saves: 100 Gets as one message against 100 one-op messages, side by side (issue 3 target:
 * >= 10× the ops/s).
 */
import { AddonMdm, Csp, type CspOp } from '../lib';
import { fromRatio, fromSamples, type BenchOptions, type Figure } from './model';
import { pairedRatio, sampleInterleaved } from './stats';

const GET_URI = './DevDetail/SwV';
const SET_URI = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart';

export async function benchCspOps(o: BenchOptions): Promise<Figure[]> {
  const samples = o.quick ? 31 : 101;
  const warmup = o.quick ? 5 : 20;
  const native = new AddonMdm();
  const csp = new Csp(native);
  // The policy node exists, so that Replace succeeds.
  await native.apply([{ verb: 'delete', uri: SET_URI }]);
  await native.apply([{ verb: 'add', uri: SET_URI, format: 'int', data: '8' }]);
  const figures: Figure[] = [];
  for (const verb of ['get', 'replace'] as const) {
    for (const size of [1, 10, 100]) {
      const ops: CspOp[] = Array.from({ length: size }, (_, i) =>
        verb === 'get'
          ? { verb, uri: GET_URI }
          : { verb, uri: SET_URI, format: 'int', data: String(i % 24) },
      );
      const runs = await sampleInterleaved(
        {
          native: async () => {
            const results = await native.apply(ops);
            if (results.some((r) => r.status !== 200)) {
              throw new Error(`bench op failed: ${JSON.stringify(results[0])}`);
            }
          },
          csp: () =>
            Promise.all(
              ops.map((op) =>
                verb === 'get' ? csp.get(op.uri) : csp.replace(op.uri, Number(op.data)),
              ),
            ),
        },
        samples,
        warmup,
      );
      const perOp = (ms: number[]): number[] => ms.map((m) => (m * 1000) / size);
      figures.push(
        fromSamples(`${verb} × ${size}/message, AddonMdm.apply, per op`, 'µs', perOp(runs.native)),
        fromSamples(`${verb} × ${size}/message, Csp (batched), per op`, 'µs', perOp(runs.csp)),
      );
    }
  }
  await native.apply([{ verb: 'delete', uri: SET_URI }]);

  const ops: CspOp[] = Array.from({ length: 100 }, () => ({ verb: 'get', uri: GET_URI }));
  const batching = await sampleInterleaved(
    {
      one: () => native.apply(ops),
      many: async () => {
        for (const op of ops) await native.apply([op]);
      },
    },
    samples,
    warmup,
  );
  figures.push(
    fromSamples(
      '100 Gets as 100 one-op messages, per op',
      'µs',
      batching.many.map((m) => m * 10),
    ),
    fromRatio('batching: ops/s of 1 × 100 ÷ 100 × 1', pairedRatio(batching.many, batching.one), {
      target: { op: '>=', value: 10, source: 'issue 3' },
    }),
  );
  return figures;
}
