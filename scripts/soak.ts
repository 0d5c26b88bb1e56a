/**
 * `npm run soak -- [--minutes 30] [--renew-seconds 120] [--sample-seconds 10]
 * [--patch-seconds 2] [--method-seconds 5]` (docs/reliability.md): a long run of `iotdm agent`
 * (child process, real SDK over TLS MQTT, real addon + CSP emulator with its own state file)
 * against a local hub in this process, with a new SAS token every `--renew-seconds`
 * (`iotdm agent --sas-renewal`), steady desired patches (windowsTelemetry, windowsUpdatePolicy,
 * timeInfo) and direct methods (windows.rebootAsync with a fresh requestId,
 * windows.reportAllAsync). Every `--sample-seconds` the agent's RSS (/proc/<pid>/status), open
 * descriptors (/proc/<pid>/fd), V8 heap and active handles (a probe preloaded into the agent
 * with --require, writing one JSON line to stderr) are sampled. Prints a table, the growth
 * (median of the first 5 minutes vs the last 5, shorter windows for short runs) and whether the
 * desired state converged; exits 1 when RSS grows 10 MB or more or the run did not converge.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startStage } from '../test/fault/stage';
import { AgentProcess, bundleCli, prng, type LogLine } from '../test/fault/agent-process';
import { divergence } from '../test/fault/chaos';

const TARGET_MB = 10;

interface Sample {
  t: number;
  rssMb: number;
  fds: number;
  heapMb?: number;
  handles?: number;
}

const PROBE = `
const ms = Number(process.env.WDM_SOAK_PROBE_MS || 10000);
setInterval(() => {
  const m = process.memoryUsage();
  process.stderr.write(JSON.stringify({ level: 30, msg: 'soak-probe', rss: m.rss,
    heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external,
    handles: process._getActiveHandles().length }) + '\\n');
}, ms).unref();
`;

function num(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function procSample(pid: number): { rssMb: number; fds: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return { rssMb: kb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      'renew-seconds': { type: 'string' },
      'sample-seconds': { type: 'string' },
      'patch-seconds': { type: 'string' },
      'method-seconds': { type: 'string' },
    },
  });
  const minutes = num(values.minutes, 'minutes', 30);
  const renew = num(values['renew-seconds'], 'renew-seconds', 120);
  const sampleS = num(values['sample-seconds'], 'sample-seconds', 10);
  const patchS = num(values['patch-seconds'], 'patch-seconds', 2);
  const methodS = num(values['method-seconds'], 'method-seconds', 5);
  const seed = 1;
  const r = prng(seed);
  console.log(
    `soak: ${minutes} min, SAS renewal every ${renew} s, a patch every ${patchS} s, a method every ${methodS} s, samples every ${sampleS} s`,
  );

  const { dir, hub, close, deviceId, registry, service } = await startStage('soak', 'soak-device');
  const probe = path.join(dir, 'probe.cjs');
  writeFileSync(probe, PROBE);
  let connections = 0;
  hub.core.on('connection', (e: { deviceId: string; connected: boolean }) => {
    if (e.deviceId === deviceId && e.connected) connections += 1;
  });

  const samples: Sample[] = [];
  let lastProbe: { heapMb: number; handles: number } | undefined;
  const errors: LogLine[] = [];
  const bundle = bundleCli();
  const agent = new AgentProcess({
    ...(bundle ? { bundle } : {}),
    connectionString: hub.deviceConnectionString(deviceId),
    caPath: hub.caPath,
    stateDir: path.join(dir, 'dm'),
    emulatorState: path.join(dir, 'emulator-state.json'),
    logLevel: 'info',
    extraArgs: ['--sas-renewal', String(renew)],
    nodeArgs: ['--require', probe],
    env: { WDM_SOAK_PROBE_MS: String(sampleS * 1000) },
    onLine: (l) => {
      if (l.msg === 'soak-probe') {
        lastProbe = {
          heapMb: Number(l.heapUsed) / 1048576,
          handles: Number(l.handles),
        };
      } else if (l.level >= 50) errors.push(l);
    },
  });
  const t0 = Date.now();
  const ops = { patches: 0, methods: 0, failed: 0 };
  try {
    agent.start();
    await agent.ready;
    const end = t0 + minutes * 60_000;
    let nextPatch = Date.now();
    let nextMethod = Date.now();
    let nextSample = Date.now();
    let i = 0;
    const sections = ['windowsTelemetry', 'windowsUpdatePolicy', 'timeInfo'] as const;
    while (Date.now() < end) {
      const now = Date.now();
      if (now >= nextPatch) {
        nextPatch += patchS * 1000;
        const section = r.pick(sections);
        const value =
          section === 'windowsTelemetry'
            ? { level: r.pick(['security', 'basic', 'full']) }
            : section === 'windowsUpdatePolicy'
              ? { activeHoursStart: r.int(0, 23), scheduledInstallTime: r.int(0, 23) }
              : {
                  timeZoneKeyName: r.pick(['UTC', 'Tokyo Standard Time', 'India Standard Time']),
                  dynamicDaylightTimeDisabled: false,
                };
        await registry
          .updateTwin(deviceId, { properties: { desired: { windows: { [section]: value } } } }, '*')
          .then(() => (ops.patches += 1))
          .catch(() => (ops.failed += 1));
      }
      if (now >= nextMethod) {
        nextMethod += methodS * 1000;
        i += 1;
        const methodName = i % 2 ? 'windows.rebootAsync' : 'windows.reportAllAsync';
        const payload = i % 2 ? { requestId: `soak-${i}` } : {};
        await service
          .invokeDeviceMethod(deviceId, { methodName, payload, responseTimeoutInSeconds: 30 })
          .then(() => (ops.methods += 1))
          .catch(() => (ops.failed += 1));
      }
      if (now >= nextSample) {
        nextSample += sampleS * 1000;
        const p = agent.pid !== undefined ? procSample(agent.pid) : undefined;
        if (p) {
          const s: Sample = { t: (now - t0) / 60_000, ...p };
          if (lastProbe) Object.assign(s, lastProbe);
          samples.push(s);
          console.log(
            `${s.t.toFixed(2).padStart(6)} min  rss ${s.rssMb.toFixed(1).padStart(6)} MB  heap ${
              s.heapMb !== undefined ? s.heapMb.toFixed(1).padStart(5) : '    ?'
            } MB  fds ${String(s.fds).padStart(4)}  handles ${String(s.handles ?? '?').padStart(4)}  connections ${connections}`,
          );
        }
      }
      await sleep(Math.max(10, Math.min(nextPatch, nextMethod, nextSample) - Date.now()));
    }

    // Did the desired state converge (reported read back = desired)?
    let diff: string[] = [];
    for (const by = Date.now() + 30_000; ;) {
      const twin = hub.core.getTwin(deviceId);
      diff = divergence(
        (twin.properties.desired.windows ?? {}) as Record<string, unknown>,
        (twin.properties.reported.windows ?? {}) as Record<string, unknown>,
      );
      if (diff.length === 0 || Date.now() > by) break;
      await sleep(250);
    }

    const span = Math.min(5, minutes / 3);
    const first = samples.filter((s) => s.t <= span);
    const last = samples.filter((s) => s.t >= minutes - span);
    const growth = (key: 'rssMb' | 'heapMb' | 'fds' | 'handles'): number =>
      median(last.map((s) => s[key] ?? NaN)) - median(first.map((s) => s[key] ?? NaN));
    const rss = growth('rssMb');
    console.log('');
    console.log(
      `growth (median of the first ${span.toFixed(1)} min vs the last ${span.toFixed(1)} min): ` +
        `rss ${rss.toFixed(1)} MB, heap ${growth('heapMb').toFixed(1)} MB, fds ${growth('fds')}, handles ${growth('handles')}`,
    );
    console.log(
      `operations: ${ops.patches} patches, ${ops.methods} methods, ${ops.failed} failed calls; ` +
        `${connections} MQTT connections (SAS renewals reconnect), ${agent.crashes.length} crashes, ` +
        `${errors.length} error lines; desired state ${diff.length === 0 ? 'converged' : `diverged: ${diff.join('; ')}`}`,
    );
    const ok =
      rss < TARGET_MB && diff.length === 0 && agent.crashes.length === 0 && errors.length === 0;
    console.log(ok ? `PASS (target: rss growth < ${TARGET_MB} MB)` : 'FAIL');
    for (const e of errors.slice(0, 5)) console.log(JSON.stringify(e));
    return ok ? 0 : 1;
  } finally {
    await agent.stop();
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
