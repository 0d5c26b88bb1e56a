/**
 * Benchmark 1: per-op cost and ops/s of get and replace through the real addon and the CSP
 * emulator library, with 1, 10 and 100 ops per SyncML message; once through `AddonMdm.apply`
 * (the native contract) and once through `Csp` (validation + automatic batching on top).
 */
import { AddonMdm, Csp, type CspOp } from '../lib';
import { median, sample, table } from './stats';

const GET_URI = './DevDetail/SwV';
const SET_URI = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart';

export async function benchCspOps(samples = 31): Promise<string> {
  const native = new AddonMdm();
  const csp = new Csp(native);
  // Make sure the policy node exists so that Replace succeeds.
  await native.apply([{ verb: 'add', uri: SET_URI, format: 'int', data: '8' }]);
  const rows: Array<Array<string | number>> = [];
  for (const verb of ['get', 'replace'] as const) {
    for (const size of [1, 10, 100]) {
      const ops: CspOp[] = Array.from({ length: size }, (_, i) =>
        verb === 'get'
          ? { verb, uri: GET_URI }
          : { verb, uri: SET_URI, format: 'int', data: String(i % 24) },
      );
      const viaNative = median(
        await sample(
          async () => {
            const results = await native.apply(ops);
            if (results.some((r) => r.status !== 200))
              throw new Error(`bench op failed: ${JSON.stringify(results[0])}`);
          },
          samples,
          5,
        ),
      );
      const viaCsp = median(
        await sample(
          () =>
            Promise.all(
              ops.map((op) =>
                verb === 'get' ? csp.get(op.uri) : csp.replace(op.uri, Number(op.data)),
              ),
            ),
          samples,
          5,
        ),
      );
      for (const [layer, ms] of [
        ['AddonMdm.apply', viaNative],
        ['Csp (batched)', viaCsp],
      ] as const) {
        rows.push([
          verb,
          size,
          layer,
          ms.toFixed(3),
          ((ms * 1000) / size).toFixed(1),
          Math.round((size * 1000) / ms),
        ]);
      }
    }
  }
  await native.apply([{ verb: 'delete', uri: SET_URI }]);
  rows.push(...(await batchingRatio(native, samples)));
  return table(['verb', 'ops/message', 'layer', 'median ms/message', 'µs/op', 'ops/s'], rows);
}

/** 100 gets as one message vs as 100 sequential messages: what batching saves. */
async function batchingRatio(
  native: AddonMdm,
  samples: number,
): Promise<Array<Array<string | number>>> {
  const ops: CspOp[] = Array.from({ length: 100 }, () => ({ verb: 'get', uri: GET_URI }));
  const one = median(await sample(() => native.apply(ops), samples, 5));
  const many = median(
    await sample(
      async () => {
        for (const op of ops) await native.apply([op]);
      },
      samples,
      5,
    ),
  );
  return [
    [
      'get',
      '100 × 1 (unbatched)',
      'AddonMdm.apply',
      many.toFixed(3),
      ((many * 1000) / 100).toFixed(1),
      Math.round(100000 / many),
    ],
    ['get', `batching speed-up ${(many / one).toFixed(1)}×`, '', '', '', ''],
  ];
}
