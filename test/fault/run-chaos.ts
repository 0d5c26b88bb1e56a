/**
 * `tsx test/fault/run-chaos.ts [--ops N] [--kills N]`: the chaos run of test/fault/chaos.ts
 * outside mocha (seed from $WINDOWS_IOT_DM_CHAOS_SEED), printing its result as JSON.
 */
import { parseArgs } from 'node:util';
import { chaosSeed, runChaos } from './chaos';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { ops: { type: 'string' }, kills: { type: 'string' } },
  });
  const seed = chaosSeed();
  console.log(`chaos seed ${seed}`);
  const result = await runChaos({
    seed,
    operations: values.ops ? Number(values.ops) : 200,
    kills: values.kills ? Number(values.kills) : 50,
    log: (l) => console.log(l),
  });
  console.log(JSON.stringify({ ...result, crashes: result.crashes.length }, null, 2));
  return result.problems.length + result.mismatches.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
