/**
 * Benchmark: the device-management agent (`iotdm agent`) end to end.
 *
 * - Set-up: the package is compiled with tsc into `dist/` (what users run: the `iotdm` bin is
 *   `dist/lib/cli/main.js`), with the OEM example handler (`examples/oem/branding-handler.ts` →
 *   `dist/examples/oem/branding-handler.js`). A `LocalHub` runs in this process (ephemeral
 *   ports on 127.0.0.1) with one SAS device; the agent runs as a child process
 *   (`node dist/lib/cli/main.js agent ...`), over the real device SDK (MQTT/TLS), the real addon
 *   and the CSP emulator library with its own state file.
 * - Start to ready: from `spawn` to the agent's `ready` log line (connected + reconciled),
 *   median of `starts` fresh processes (and of a few through tsx, for comparison).
 * - Idle memory: VmRSS from /proc/<pid>/status after `idleMs` idle past `ready`, median over the
 *   same processes.
 * - Desired patch → reported `completed`: `patches` sequential patches of
 *   `windows.branding.companyName` through `hub.core.updateTwin` (the service-side update the
 *   REST API performs), each timed from that call to the hub core's `twin` event that stores
 *   `reported.windows.branding` with the same companyName and `lastChange.state: completed`.
 *   The hub's sockets run with TCP_NODELAY: with Nagle's algorithm on, a small publish that
 *   followed an unacknowledged one waited for the device's delayed ACK (~40 ms on Linux).
 *
 * - Method round trip: `methods` sequential `windows.enumDMFolders` direct methods (a built-in
 *   method: the DM folder listed on the device) through `hub.core.invokeMethod` (what the REST
 *   invoke performs), from the call to the device's answer (status 200), after `warmupMethods`.
 *   No issue sets a target for it.
 *
 * Bounded: aborts after `deadlineMs` with the phase it was in; always stops the agent and the
 * hub and removes its folders.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalHub } from '../lib/hub/hub';
import type { TwinState } from '../lib/hub/twin/types';
import { fromPercentile, fromSamples, fromValue, type BenchOptions, type Figure } from './model';
import {
  rssMb,
  spawnUntilReady,
  stopChild,
  type ReadyChild,
  DIST_HANDLER,
  DIST_MAIN,
  ROOT,
} from './children';
import { percentile } from './stats';

export interface DmBenchOptions {
  patches: number;
  warmupPatches: number;
  /** Fresh agent processes for start-to-ready and idle RSS. */
  starts: number;
  /** Of which through tsx (the source) instead of dist, for comparison. */
  tsxStarts: number;
  idleMs: number;
  methods: number;
  warmupMethods: number;
  deadlineMs: number;
}

const DEFAULTS: DmBenchOptions = {
  patches: 1000,
  warmupPatches: 20,
  starts: 5,
  tsxStarts: 3,
  idleMs: 2000,
  methods: 500,
  warmupMethods: 20,
  deadlineMs: 300_000,
};

const QUICK: Partial<DmBenchOptions> = {
  patches: 200,
  starts: 2,
  tsxStarts: 0,
  idleMs: 1000,
  methods: 200,
  deadlineMs: 90_000,
};

const SRC_MAIN = path.join(ROOT, 'lib/cli/main.ts');
const SRC_HANDLER = path.join(ROOT, 'examples/oem/branding-handler.ts');
const DEVICE = 'dm-bench';

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * `tsc` of lib/ and the OEM example into dist/ (type errors elsewhere do not stop the emit).
 * Also used by bench/agent-memory.ts.
 */
export function build(work: string): number {
  const t0 = now();
  const config = path.join(work, 'tsconfig.bench.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { outDir: path.join(ROOT, 'dist'), rootDir: ROOT },
      include: [path.join(ROOT, 'lib/**/*.ts'), SRC_HANDLER],
    }),
  );
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', config], { encoding: 'utf8' });
  if (!existsSync(DIST_MAIN) || !existsSync(DIST_HANDLER)) {
    throw new Error(`build failed: ${r.stdout}${r.stderr}`);
  }
  return now() - t0;
}

function startAgent(
  viaTsx: boolean,
  env: NodeJS.ProcessEnv,
  args: string[],
  spawnedAt: number,
): ReadyChild {
  const argv = viaTsx
    ? ['--import', 'tsx', SRC_MAIN, 'agent', ...args, '--handler', SRC_HANDLER]
    : [DIST_MAIN, 'agent', ...args, '--handler', DIST_HANDLER];
  return spawnUntilReady(argv, env, spawnedAt);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Figures {
  buildMs: number;
  readyMs: number[];
  readyTsxMs: number[];
  rssMb: number[];
  latencies: number[];
  methodMs: number[];
}

export async function benchDm(
  b: BenchOptions,
  options: Partial<DmBenchOptions> = {},
): Promise<Figure[]> {
  const o = { ...DEFAULTS, ...(b.quick ? QUICK : {}), ...options };
  const work = mkdtempSync(path.join(os.tmpdir(), 'wdm-bench-dm-'));
  let hub: LocalHub | undefined;
  const agents: ReadyChild[] = [];
  let phase = 'building dist/';
  let aborted = false;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      aborted = true;
      reject(new Error(`dm bench aborted after ${o.deadlineMs / 1000} s while ${phase}`));
    }, o.deadlineMs);
  });
  const check = (): void => {
    if (aborted) throw new Error('aborted');
  };

  async function run(): Promise<Figures> {
    const buildMs = build(work);
    check();
    phase = 'starting the hub';
    hub = await LocalHub.start({
      dataDir: path.join(work, 'hub'),
      mqttPort: 0,
      httpsPort: 0,
      bindAddress: '127.0.0.1',
    });
    const h = hub;
    h.core.registry.create(DEVICE);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      IOTDM_CONNECTION_STRING: h.deviceConnectionString(DEVICE),
      WINDOWS_IOT_DM_EMULATOR_STATE: path.join(work, 'emulator-state.json'),
    };
    const args = ['--ca', h.caPath, '--state-dir', path.join(work, 'dm-state')];

    phase = 'agent start to ready';
    const readyMs: number[] = [];
    const readyTsxMs: number[] = [];
    const rss: number[] = [];
    let agent: ReadyChild | undefined;
    for (let i = 0; i < o.tsxStarts + o.starts; i++) {
      check();
      const viaTsx = i < o.tsxStarts;
      const a = startAgent(viaTsx, env, args, now());
      agents.push(a);
      const ms = await a.readyAt;
      if (viaTsx) {
        readyTsxMs.push(ms);
        await stopChild(a);
        continue;
      }
      readyMs.push(ms);
      await sleep(o.idleMs);
      rss.push(rssMb(a.proc.pid!));
      if (i < o.tsxStarts + o.starts - 1) await stopChild(a);
      else agent = a;
    }

    phase = 'desired patch → reported completed';
    let expect: string | undefined;
    let seenAt = 0;
    let notify: ((err?: Error) => void) | undefined;
    h.core.on('twin', (e: { deviceId: string; twin: TwinState }) => {
      if (e.deviceId !== DEVICE || expect === undefined) return;
      const b = (e.twin.reported.props as { windows?: { branding?: Record<string, unknown> } })
        .windows?.branding;
      const state = (b?.lastChange as { state?: string } | undefined)?.state;
      if (b?.companyName !== expect) return;
      if (state === 'failed') {
        expect = undefined;
        notify?.(new Error(`patch failed: ${JSON.stringify(b)}`));
        return;
      }
      if (state !== 'completed') return;
      seenAt = now();
      expect = undefined;
      notify?.();
    });
    let seq = 0;
    const measure = async (count: number): Promise<number[]> => {
      const latencies: number[] = [];
      for (let k = 0; k < o.warmupPatches + count; k++) {
        check();
        const value = `Contoso ${seq++}`;
        const done = new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => {
            reject(
              new Error(`patch ${value} not reported in 10 s: ${agent!.stderr().slice(-2000)}`),
            );
          }, 10_000);
          notify = (err) => {
            clearTimeout(t);
            if (err) reject(err);
            else resolve();
          };
        });
        expect = value;
        const sent = now();
        h.core.updateTwin(DEVICE, {
          properties: { desired: { windows: { branding: { companyName: value } } } },
        });
        await done;
        if (k >= o.warmupPatches) latencies.push(seenAt - sent);
      }
      return latencies;
    };
    const latencies = await measure(o.patches);

    phase = 'method round trip';
    const methodMs: number[] = [];
    for (let k = 0; k < o.warmupMethods + o.methods; k++) {
      check();
      const t0 = now();
      const r = await h.core.invokeMethod(DEVICE, 'windows.enumDMFolders', {}, 30);
      const ms = now() - t0;
      if (r.status !== 200) throw new Error(`windows.enumDMFolders answered ${r.status}`);
      if (k >= o.warmupMethods) methodMs.push(ms);
    }

    return { buildMs, readyMs, readyTsxMs, rssMb: rss, latencies, methodMs };
  }

  const running = run();
  running.catch(() => undefined);
  try {
    const f = await Promise.race([running, deadline]);
    const figures: Figure[] = [
      fromPercentile(
        `desired patch → reported \`completed\` p50 (hub.core.updateTwin → hub stores lastChange, ${f.latencies.length} sequential patches)`,
        'ms',
        f.latencies,
        'p50',
        percentile(f.latencies, 50),
        { target: { op: '<', value: 20, source: 'issue 5' } },
      ),
      fromPercentile(
        'desired patch → reported `completed` p99',
        'ms',
        f.latencies,
        'p99',
        percentile(f.latencies, 99),
        { target: { op: '<', value: 60, source: 'issue 5' } },
      ),
      fromPercentile(
        `method round trip p50 (\`windows.enumDMFolders\` via hub.core.invokeMethod, ${f.methodMs.length} sequential calls)`,
        'ms',
        f.methodMs,
        'p50',
        percentile(f.methodMs, 50),
        { note: 'no target in the issues' },
      ),
      fromPercentile('method round trip p99', 'ms', f.methodMs, 'p99', percentile(f.methodMs, 99)),
      fromSamples(
        `agent idle RSS, ${o.idleMs / 1000} s after ready (VmRSS, fresh processes)`,
        'MB',
        f.rssMb,
        {
          target: { op: '<', value: 80, source: 'issue 5' },
        },
      ),
      fromSamples(
        'agent start → connected + reconciled, `node dist/lib/cli/main.js agent` (fresh processes)',
        'ms',
        f.readyMs,
        { target: { op: '<', value: 1500, source: 'issue 5' } },
      ),
    ];
    if (f.readyTsxMs.length > 0) {
      figures.push(fromSamples('same through tsx (`npm run iotdm -- agent`)', 'ms', f.readyTsxMs));
    }
    figures.push(
      fromValue(
        'set-up: tsc build of lib/ + the OEM example into dist/',
        's',
        f.buildMs / 1000,
        'single run',
      ),
    );
    return figures;
  } finally {
    clearTimeout(timer);
    aborted = true;
    await Promise.all(agents.map((a) => stopChild(a)));
    await hub?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchDm({ quick: false }).then(
    (out) => console.log(JSON.stringify(out, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
