/**
 * The price of the privilege split: the same CSP Gets in process (AddonMdm over the CSP
 * emulator) and through `iotdm service` (connectService() → Unix socket → a service child
 * process holding the addon), interleaved round by round so both see the same machine load.
 * Samples are microseconds per op: `single` = one Get per round trip, `batch100` = a 100-Get
 * apply divided by 100. Target (issue 14): a service round trip under 100 us, and a 100-op batch
 * within 1.2x of in process. The service runs with audit logging on (as deployed).
 * bench/run.ts calls `benchService`; alone: `npx tsx bench/service.ts [--quick]`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddonMdm } from '../lib/native/addon-mdm';
import type { CspOp, NativeMdm } from '../lib/native/contract';
import { connectService } from '../lib/service/client';
import { median, percentile, table } from './stats';

export interface ServiceBenchResult {
  inProcess: { single: number[]; batch100: number[] };
  service: { single: number[]; batch100: number[] };
}

const GET: CspOp = { verb: 'get', uri: './DevDetail/SwV' };
const BATCH: CspOp[] = Array.from({ length: 100 }, () => GET);

async function usPerOp(native: NativeMdm, ops: CspOp[], rounds: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await native.apply(ops);
  return Number(process.hrtime.bigint() - t0) / 1e3 / (rounds * ops.length);
}

export async function benchService(options: { quick: boolean }): Promise<ServiceBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'wdm-bench-service-'));
  const socket = join(dir, 'dm.sock');
  const config = join(dir, 'service.json');
  writeFileSync(
    config,
    JSON.stringify({
      socket,
      auditLog: process.env.BENCH_NO_AUDIT ? '' : join(dir, 'audit.jsonl'),
      resultCacheFile: join(dir, 'results.json'),
      rate: { opsPerSecond: 1e9, burst: 1e9 },
    }),
  );
  const root = join(__dirname, '..');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'lib', 'cli', 'main.ts'), 'service', 'run', '--config', config],
    {
      cwd: root,
      env: { ...process.env, WINDOWS_IOT_DM_EMULATOR_STATE: ':memory:' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (stderr.includes('listening on')) resolve();
    });
    child.once('exit', () => reject(new Error(`the service did not start: ${stderr}`)));
  });
  const prevState = process.env.WINDOWS_IOT_DM_EMULATOR_STATE;
  process.env.WINDOWS_IOT_DM_EMULATOR_STATE = ':memory:';
  const local = new AddonMdm();
  const remote = connectService({ path: socket });
  const result: ServiceBenchResult = {
    inProcess: { single: [], batch100: [] },
    service: { single: [], batch100: [] },
  };
  try {
    const samples = options.quick ? 15 : 41;
    const singleRounds = options.quick ? 100 : 400;
    const batchRounds = options.quick ? 5 : 20;
    // Warm-up: load the addon, JIT both paths.
    await usPerOp(local, [GET], 200);
    await usPerOp(remote, [GET], 200);
    await usPerOp(local, BATCH, 5);
    await usPerOp(remote, BATCH, 5);
    for (let i = 0; i < samples; i++) {
      result.inProcess.single.push(await usPerOp(local, [GET], singleRounds));
      result.service.single.push(await usPerOp(remote, [GET], singleRounds));
      result.inProcess.batch100.push(await usPerOp(local, BATCH, batchRounds));
      result.service.batch100.push(await usPerOp(remote, BATCH, batchRounds));
    }
  } finally {
    await remote.close();
    child.kill('SIGTERM');
    await exited;
    if (prevState === undefined) delete process.env.WINDOWS_IOT_DM_EMULATOR_STATE;
    else process.env.WINDOWS_IOT_DM_EMULATOR_STATE = prevState;
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

/** A markdown table of medians and p90s (us per op) and the ratios. */
export function formatServiceBench(r: ServiceBenchResult): string {
  const f = (v: number) => v.toFixed(1);
  const rows = (['single', 'batch100'] as const).map((k) => [
    k === 'single' ? 'single Get (us/op)' : '100-Get batch (us/op)',
    f(median(r.inProcess[k])),
    f(median(r.service[k])),
    f(percentile(r.service[k], 90)),
    `${(median(r.service[k]) / median(r.inProcess[k])).toFixed(2)}x`,
    f(median(r.service[k]) - median(r.inProcess[k])),
  ]);
  return table(['', 'in process', 'service', 'service p90', 'ratio', 'overhead us/op'], rows);
}

if (require.main === module) {
  benchService({ quick: process.argv.includes('--quick') }).then(
    (r) => console.log(formatServiceBench(r)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
