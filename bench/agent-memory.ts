/**
 * Benchmark: the idle agent's memory against its floor, and what the agent's memory settings
 * (lib/cli/agent-memory.ts, docs/memory.md) cost in patch latency.
 *
 * - Idle RSS, fresh processes, the variants interleaved round by round (order rotating): the
 *   floor (a bare Node process that only requires azure-iot-device + azure-iot-device-mqtt and
 *   connects to the hub), the floor with the agent's memory settings, `iotdm agent` with
 *   `IOTDM_AGENT_MEMORY=default` (Node's and the SDK's defaults) and `iotdm agent` as shipped.
 *   VmRSS `idleMs` after `ready` (as bench/dm.ts). Agents run `dist/` with the OEM branding
 *   handler, as bench/dm.ts.
 * - Patch latency with and without the settings: two agents connected at once (two devices), each
 *   round one patch to each, in rotating order, timed as in bench/dm.ts (hub.core.updateTwin →
 *   the hub stores `lastChange.state: completed`); p50/p99 of each, and the ratio pair by pair.
 *
 * dist/ is built (bench/dm.ts `build`) when it is missing or older than lib/.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalHub } from '../lib/hub/hub';
import type { TwinState } from '../lib/hub/twin/types';
import {
  newestTsMtime,
  rssMb,
  spawnUntilReady,
  stopChild,
  type ReadyChild,
  DIST_HANDLER,
  DIST_MAIN,
  ROOT,
} from './children';
import { build } from './dm';
import { fromPercentile, fromRatio, fromSamples, type BenchOptions, type Figure } from './model';
import { pairedRatio, percentile } from './stats';

export interface AgentMemoryBenchOptions {
  /** Rounds of fresh processes (one of each variant per round). */
  rounds: number;
  idleMs: number;
  /** Patches per agent (after `warmupPatches`). */
  patches: number;
  warmupPatches: number;
  deadlineMs: number;
}

const DEFAULTS: AgentMemoryBenchOptions = {
  rounds: 5,
  idleMs: 2000,
  patches: 500,
  warmupPatches: 20,
  deadlineMs: 300_000,
};
const QUICK: Partial<AgentMemoryBenchOptions> = {
  rounds: 2,
  idleMs: 1000,
  patches: 100,
  deadlineMs: 120_000,
};

const DIST_MEMORY = path.join(ROOT, 'dist/lib/cli/agent-memory.js');

/** The floor: the device SDK connected, nothing else (optionally with the agent's settings). */
const FLOOR_SCRIPT = `
const { createRequire } = require('node:module');
const req = createRequire(process.env.BENCH_ROOT + '/package.json');
if (process.env.BENCH_SETTINGS === 'agent') req(process.env.BENCH_MEMORY).applyAgentMemorySettings();
const { Client } = req('azure-iot-device');
const { Mqtt } = req('azure-iot-device-mqtt');
const client = Client.fromConnectionString(process.env.IOTDM_CONNECTION_STRING, Mqtt);
client
  .setOptions({ ca: require('node:fs').readFileSync(process.env.BENCH_CA, 'utf8') })
  .then(() => client.open())
  .then(
    () => process.stderr.write('{"msg":"ready"}\\n'),
    (err) => { process.stderr.write(String(err) + '\\n'); process.exit(1); },
  );
const keepAlive = setInterval(() => undefined, 1 << 30);
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  client.close().finally(() => process.exit(0));
});
`;

type Variant = 'floor' | 'floor+settings' | 'agent, defaults' | 'agent';
const VARIANTS: Variant[] = ['floor', 'floor+settings', 'agent, defaults', 'agent'];

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function distUpToDate(): boolean {
  if (![DIST_MAIN, DIST_HANDLER, DIST_MEMORY].every((f) => existsSync(f))) return false;
  return statSync(DIST_MAIN).mtimeMs >= newestTsMtime(path.join(ROOT, 'lib'));
}

interface Proc extends ReadyChild {
  device: string;
  ready: Promise<void>;
}

function start(device: string, argv: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawnUntilReady(argv, env);
  return { device, ...child, ready: child.readyAt.then(() => undefined) };
}

interface Results {
  rss: Record<Variant, number[]>;
  latency: { on: number[]; off: number[] };
}

export async function benchAgentMemory(
  b: BenchOptions,
  options: Partial<AgentMemoryBenchOptions> = {},
): Promise<Figure[]> {
  const o = { ...DEFAULTS, ...(b.quick ? QUICK : {}), ...options };
  const work = mkdtempSync(path.join(os.tmpdir(), 'wdm-bench-agent-memory-'));
  const procs: Proc[] = [];
  let hub: LocalHub | undefined;
  let phase = 'building dist/';
  let timer: NodeJS.Timeout | undefined;
  let aborted = false;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      aborted = true;
      reject(new Error(`agent-memory bench aborted after ${o.deadlineMs / 1000} s while ${phase}`));
    }, o.deadlineMs);
  });
  const check = (): void => {
    if (aborted) throw new Error('aborted');
  };

  async function run(): Promise<Results> {
    if (!distUpToDate()) build(work);
    check();
    phase = 'starting the hub';
    hub = await LocalHub.start({
      dataDir: path.join(work, 'hub'),
      mqttPort: 0,
      httpsPort: 0,
      bindAddress: '127.0.0.1',
    });
    const h = hub;
    const floorScript = path.join(work, 'floor.cjs');
    writeFileSync(floorScript, FLOOR_SCRIPT);
    let seq = 0;
    const launch = (variant: Variant | 'agent, defaults, patched' | 'agent, patched'): Proc => {
      const device = `mem-${seq++}`;
      h.core.registry.create(device);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        IOTDM_CONNECTION_STRING: h.deviceConnectionString(device),
        WINDOWS_IOT_DM_EMULATOR_STATE: path.join(work, `${device}-emulator.json`),
        BENCH_ROOT: ROOT,
        BENCH_CA: h.caPath,
        BENCH_MEMORY: DIST_MEMORY,
      };
      delete env.IOTDM_AGENT_MEMORY;
      let argv: string[];
      if (variant.startsWith('floor')) {
        if (variant === 'floor+settings') env.BENCH_SETTINGS = 'agent';
        argv = [floorScript];
      } else {
        if (variant.startsWith('agent, defaults')) env.IOTDM_AGENT_MEMORY = 'default';
        argv = [
          DIST_MAIN,
          'agent',
          '--ca',
          h.caPath,
          '--state-dir',
          path.join(work, device),
          '--handler',
          DIST_HANDLER,
        ];
      }
      const p = start(device, argv, env);
      procs.push(p);
      return p;
    };

    phase = 'idle RSS of fresh processes';
    const rss: Record<Variant, number[]> = {
      floor: [],
      'floor+settings': [],
      'agent, defaults': [],
      agent: [],
    };
    for (let r = 0; r < o.rounds; r++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        check();
        const variant = VARIANTS[(r + k) % VARIANTS.length]!;
        const p = launch(variant);
        await p.ready;
        await sleep(o.idleMs);
        rss[variant].push(rssMb(p.proc.pid!));
        await stopChild(p);
      }
    }

    phase = 'patch latency, settings on and off side by side';
    const on = launch('agent, patched');
    const off = launch('agent, defaults, patched');
    await Promise.all([on.ready, off.ready]);
    let expect: { device: string; value: string } | undefined;
    let seenAt = 0;
    let notify: ((err?: Error) => void) | undefined;
    h.core.on('twin', (e: { deviceId: string; twin: TwinState }) => {
      if (expect === undefined || e.deviceId !== expect.device) return;
      const br = (e.twin.reported.props as { windows?: { branding?: Record<string, unknown> } })
        .windows?.branding;
      if (br?.companyName !== expect.value) return;
      const state = (br.lastChange as { state?: string } | undefined)?.state;
      if (state === 'failed') {
        expect = undefined;
        notify?.(new Error(`patch failed: ${JSON.stringify(br)}`));
      } else if (state === 'completed') {
        seenAt = now();
        expect = undefined;
        notify?.();
      }
    });
    const patch = async (p: Proc): Promise<number> => {
      check();
      const value = `Contoso ${seq++}`;
      const done = new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`patch not reported in 10 s: ${p.stderr().slice(-2000)}`)),
          10_000,
        );
        notify = (err) => {
          clearTimeout(t);
          if (err) reject(err);
          else resolve();
        };
      });
      expect = { device: p.device, value };
      const sent = now();
      h.core.updateTwin(p.device, {
        properties: { desired: { windows: { branding: { companyName: value } } } },
      });
      await done;
      return seenAt - sent;
    };
    const latency = { on: [] as number[], off: [] as number[] };
    for (let k = 0; k < o.warmupPatches + o.patches; k++) {
      const order = k % 2 === 0 ? [on, off] : [off, on];
      const ms = new Map<Proc, number>();
      for (const p of order) ms.set(p, await patch(p));
      if (k < o.warmupPatches) continue;
      latency.on.push(ms.get(on)!);
      latency.off.push(ms.get(off)!);
    }
    return { rss, latency };
  }

  const running = run();
  running.catch(() => undefined);
  try {
    const r = await Promise.race([running, deadline]);
    const idle = `${o.idleMs / 1000} s after ready (VmRSS, fresh processes)`;
    const { on, off } = r.latency;
    return [
      fromSamples(
        `floor: bare Node + azure-iot-device-mqtt, connected, idle RSS ${idle}`,
        'MB',
        r.rss.floor,
      ),
      fromSamples(
        "floor with the agent's memory settings (young generation, MQTT number cache)",
        'MB',
        r.rss['floor+settings'],
      ),
      fromSamples(
        'agent with IOTDM_AGENT_MEMORY=default, idle RSS',
        'MB',
        r.rss['agent, defaults'],
      ),
      fromSamples('agent as shipped, idle RSS', 'MB', r.rss.agent, {
        note: "issue 5's target is judged on dm's figure",
      }),
      fromPercentile(
        `patch → completed p50, settings on (${on.length} patches, interleaved with the next)`,
        'ms',
        on,
        'p50',
        percentile(on, 50),
        { note: "two agents at once; the targets are judged on dm's figures" },
      ),
      fromPercentile('patch → completed p99, settings on', 'ms', on, 'p99', percentile(on, 99)),
      fromPercentile(
        'patch → completed p50, IOTDM_AGENT_MEMORY=default',
        'ms',
        off,
        'p50',
        percentile(off, 50),
      ),
      fromPercentile(
        'patch → completed p99, IOTDM_AGENT_MEMORY=default',
        'ms',
        off,
        'p99',
        percentile(off, 99),
      ),
      fromRatio('patch latency, settings on ÷ defaults (pair by pair)', pairedRatio(on, off)),
    ];
  } finally {
    clearTimeout(timer);
    aborted = true;
    await Promise.all(procs.map((p) => stopChild(p)));
    await hub?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchAgentMemory({ quick: process.argv.includes('--quick') }).then(
    (out) => console.log(JSON.stringify(out, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
