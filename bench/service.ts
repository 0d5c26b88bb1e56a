/**
 * The price of the privilege split: the same CSP Gets in process (AddonMdm over the CSP
 * emulator) and through `iotdm service` (connectService() → Unix socket → a service child
 * process holding the addon), interleaved round by round so all see the same machine load.
 * Samples are microseconds per op: `single` = one Get per round trip, `batch100` = a 100-Get
 * apply divided by 100. Target (issue 14): a service round trip under 100 us, and a 100-op batch
 * within 1.2x of in process.
 *
 * As deployed: the service child runs compiled JS (dist/, built here with tsconfig.build.json
 * when missing or older than lib/), audit log on, `trustRoot: false` with a policy (so the
 * policy is checked per op, as for a non-root host). The honest floor is a reference row: a bare
 * echo child on a Unix socket, the same request bytes there and back, no work.
 *
 * Options: `--quick`; `--tsx` adds a service child run through tsx (the old set-up), to show
 * what tsx costs; `--baseline DIR` adds the service of another checkout (its dist/ or, failing
 * that, its lib/ through tsx), e.g. a `git worktree` of an earlier commit, for before/after in one
 * run. bench/run.ts calls `benchService`; alone: `npx tsx bench/service.ts [--quick]`.
 * Environment, for experiments: BENCH_NO_AUDIT=1 (no audit log), BENCH_NO_INLINE=1
 * (`inlineReads: false`: every read takes the pool-thread round trip).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddonMdm } from '../lib/native/addon-mdm';
import type { CspOp, NativeMdm } from '../lib/native/contract';
import { connectService } from '../lib/service/client';
import { encodeFrame } from '../lib/service/protocol';
import { newestTsMtime } from './children';
import { median, percentile, table } from './stats';

export interface Samples {
  single: number[];
  batch100: number[];
}

export interface ServiceBenchResult {
  inProcess: Samples;
  service: Samples;
  /** Bare Unix-socket echo of the same request frames (no work): the floor of any split. */
  echo: Samples;
  /** How the service child ran: `compiled` (dist/) or `tsx`. */
  serviceRuns: string;
  /** Extra services measured in the same rounds (`--tsx`, `--baseline`), by label. */
  others: Record<string, Samples>;
}

export interface ServiceBenchOptions {
  quick: boolean;
  /** Also measure the service child under tsx. */
  tsx?: boolean;
  /** Also measure the service of another checkout (its root folder). */
  baseline?: string;
}

const GET: CspOp = { verb: 'get', uri: './DevDetail/SwV' };
const BATCH: CspOp[] = Array.from({ length: 100 }, () => GET);

/** A policy like a deployed host's: a few prefixes per verb, root not trusted. */
const POLICY = {
  '*': {
    get: ['./DevDetail', './DevInfo', './Device/Vendor/MSFT/DeviceStatus', './Vendor/MSFT/Policy'],
    replace: ['./Device/Vendor/MSFT/Policy/Config', './DevDetail/Ext/Microsoft/DeviceName'],
    exec: ['./Device/Vendor/MSFT/Reboot/RebootNow'],
    system: ['getTimeZone', 'bootTime'],
  },
};

/** The one round-trip interface every measured path offers. */
interface Target {
  roundTrip(ops: CspOp[]): Promise<unknown>;
}

async function usPerOp(target: Target, ops: CspOp[], rounds: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await target.roundTrip(ops);
  return Number(process.hrtime.bigint() - t0) / 1e3 / (rounds * ops.length);
}

/** A checkout's CLI through tsx (how the bench ran the service before). */
function tsxCommand(root: string): string[] {
  return ['--import', 'tsx', join(root, 'lib', 'cli', 'main.ts')];
}

/**
 * The command line of a checkout's CLI: compiled (dist/lib/cli/main.js) when it is at least as
 * new as lib/, else built first with tsc when `build`, else lib/cli/main.ts through tsx.
 */
export function cliCommand(root: string, build: boolean): { args: string[]; runs: string } {
  const compiled = join(root, 'dist', 'lib', 'cli', 'main.js');
  const fresh = () =>
    existsSync(compiled) && statSync(compiled).mtimeMs >= newestTsMtime(join(root, 'lib'));
  if (!fresh() && build) {
    const tsc = join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc');
    process.stderr.write(`bench service: compiling ${root}/lib to dist/ (tsconfig.build.json)\n`);
    spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
      cwd: root,
      stdio: 'inherit',
    });
  }
  if (fresh()) return { args: [compiled], runs: 'compiled' };
  return { args: tsxCommand(root), runs: 'tsx' };
}

interface Child {
  child: ChildProcess;
  exited: Promise<void>;
}

async function startChild(args: string[], cwd: string, ready: string): Promise<Child> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, WINDOWS_IOT_DM_EMULATOR_STATE: ':memory:' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (stderr.includes(ready)) resolve();
    });
    child.once('exit', () => reject(new Error(`a bench child did not start: ${stderr}`)));
  });
  return { child, exited };
}

async function stopChild(c: Child): Promise<void> {
  c.child.kill('SIGTERM');
  await c.exited;
}

/** A service child of the checkout at `root` with its own socket, config and audit log. */
async function startService(
  root: string,
  dir: string,
  name: string,
  args: string[],
): Promise<Child & { socket: string }> {
  const socket = join(dir, `${name}.sock`);
  const config = join(dir, `${name}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      socket,
      auditLog: process.env.BENCH_NO_AUDIT ? '' : join(dir, `${name}-audit.jsonl`),
      resultCacheFile: join(dir, `${name}-results.json`),
      rate: { opsPerSecond: 1e9, burst: 1e9 },
      trustRoot: false,
      policy: POLICY,
      ...(process.env.BENCH_NO_INLINE ? { inlineReads: false } : {}),
    }),
  );
  const c = await startChild([...args, 'service', 'run', '--config', config], root, 'listening on');
  return { ...c, socket };
}

const ECHO_SERVER = `
const s = require('node:net').createServer((c) => c.on('data', (d) => c.write(d)));
s.listen(process.argv[1], () => process.stderr.write('listening\\n'));
process.on('SIGTERM', () => process.exit(0));`;

/** Round trips of the same request frames through a bare echo child: socket and wake-ups only. */
class EchoTarget implements Target {
  #waiting: { bytes: number; resolve: () => void } | undefined;
  #frames = new Map<number, Buffer>();
  #id = 1;
  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const w = this.#waiting;
      if (!w) return;
      w.bytes -= chunk.length;
      if (w.bytes <= 0) {
        this.#waiting = undefined;
        w.resolve();
      }
    });
  }

  roundTrip(ops: CspOp[]): Promise<void> {
    // The bytes connectService() sends for this apply (the id varies; the size barely).
    let frame = this.#frames.get(ops.length);
    if (!frame) {
      frame = encodeFrame({ t: 'req', id: this.#id++, op: 'mdm.apply', args: [ops, {}] });
      this.#frames.set(ops.length, frame);
    }
    const bytes = frame.length;
    return new Promise((resolve) => {
      this.#waiting = { bytes, resolve };
      this.socket.write(frame);
    });
  }
}

const viaMdm = (mdm: NativeMdm): Target => ({ roundTrip: (ops) => mdm.apply(ops) });

export async function benchService(options: ServiceBenchOptions): Promise<ServiceBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'wdm-bench-service-'));
  const root = join(__dirname, '..');
  const main = cliCommand(root, true);
  const children: Child[] = [];
  const closers: Array<() => Promise<void>> = [];
  const prevState = process.env.WINDOWS_IOT_DM_EMULATOR_STATE;
  process.env.WINDOWS_IOT_DM_EMULATOR_STATE = ':memory:';
  const result: ServiceBenchResult = {
    inProcess: { single: [], batch100: [] },
    service: { single: [], batch100: [] },
    echo: { single: [], batch100: [] },
    serviceRuns: main.runs,
    others: {},
  };
  try {
    const targets: Array<[Samples, Target]> = [];
    targets.push([result.inProcess, viaMdm(new AddonMdm())]);
    const echoPath = join(dir, 'echo.sock');
    const echo = await startChild(['-e', ECHO_SERVER, echoPath], root, 'listening');
    children.push(echo);
    const echoSocket = createConnection(echoPath);
    await new Promise((r) => echoSocket.once('connect', r));
    closers.push(async () => {
      echoSocket.destroy();
    });
    targets.push([result.echo, new EchoTarget(echoSocket)]);
    const addService = async (samples: Samples, name: string, at: string, args: string[]) => {
      const s = await startService(at, dir, name, args);
      children.push(s);
      const client = connectService({ path: s.socket });
      closers.push(() => client.close());
      targets.push([samples, viaMdm(client)]);
    };
    await addService(result.service, 'service', root, main.args);
    if (options.tsx) {
      const samples: Samples = { single: [], batch100: [] };
      result.others['service (tsx child)'] = samples;
      await addService(samples, 'tsx', root, tsxCommand(root));
    }
    if (options.baseline !== undefined) {
      const base = cliCommand(options.baseline, true);
      const samples: Samples = { single: [], batch100: [] };
      result.others[`baseline (${base.runs})`] = samples;
      await addService(samples, 'baseline', options.baseline, base.args);
    }
    const samples = options.quick ? 15 : 41;
    const singleRounds = options.quick ? 100 : 400;
    const batchRounds = options.quick ? 5 : 20;
    // Warm-up: load the addon, JIT every path. The service child needs a few thousand requests
    // before V8 has optimized its path (with 200, a quick run measured it at ~3x its steady state).
    for (const [, t] of targets) {
      await usPerOp(t, [GET], 3000);
      await usPerOp(t, BATCH, 30);
    }
    for (let i = 0; i < samples; i++) {
      for (const [s, t] of targets) s.single.push(await usPerOp(t, [GET], singleRounds));
      for (const [s, t] of targets) s.batch100.push(await usPerOp(t, BATCH, batchRounds));
    }
  } finally {
    for (const close of closers) await close();
    for (const c of children) await stopChild(c);
    if (prevState === undefined) delete process.env.WINDOWS_IOT_DM_EMULATOR_STATE;
    else process.env.WINDOWS_IOT_DM_EMULATOR_STATE = prevState;
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

/** A markdown table of medians and p90s (us per op) and the ratios to in process. */
export function formatServiceBench(r: ServiceBenchResult): string {
  const f = (v: number) => v.toFixed(1);
  const paths: Array<[string, Samples]> = [
    ['in process (AddonMdm)', r.inProcess],
    ['Unix socket echo, no work (floor)', r.echo],
    [`service (${r.serviceRuns} child)`, r.service],
    ...Object.entries(r.others),
  ];
  const rows = paths.map(([label, s]) => [
    label,
    f(median(s.single)),
    f(percentile(s.single, 90)),
    f(median(s.batch100)),
    f(percentile(s.batch100, 90)),
    s === r.inProcess || s === r.echo
      ? ''
      : `${(median(s.batch100) / median(r.inProcess.batch100)).toFixed(2)}x`,
  ]);
  const floor = median(r.inProcess.single) + median(r.echo.single);
  return (
    table(
      ['us per op', 'single', 'single p90', '100-Get batch', 'batch p90', 'batch ÷ in process'],
      rows,
    ) +
    `\nfloor of a service round trip (in process + echo medians): ${f(floor)} us; ` +
    `service single Get: ${f(median(r.service.single))} us (target < 100)`
  );
}

if (require.main === module) {
  const argv = process.argv;
  const at = argv.indexOf('--baseline');
  benchService({
    quick: argv.includes('--quick'),
    tsx: argv.includes('--tsx'),
    ...(at !== -1 && argv[at + 1] !== undefined ? { baseline: argv[at + 1] } : {}),
  }).then(
    (r) => console.log(formatServiceBench(r)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
