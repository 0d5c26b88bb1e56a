/**
 * The chaos run of docs/reliability.md: a `LocalHub` in this process, `iotdm agent` as a child
 * process (real azure-iot-device SDK over TLS MQTT, real addon, CSP emulator library with its own
 * state file), the real azure-iothub service SDK as the operator. A seeded schedule of desired
 * patches (windowsTelemetry, windowsUpdatePolicy, timeInfo) and direct methods (the destructive
 * windows.rebootAsync / startFactoryResetAsync / startRemoteWipeAsync, each with a caller-supplied
 * requestId, retried with the SAME requestId until the device answers) runs while the hub drops
 * connections, delays twin answers, answers 429/500 and swallows desired notifications, and the
 * agent is SIGKILLed at random points and started again.
 *
 * Then, faults off: every section's reported state (read back from the device) must equal
 * desired, the emulator must have run each destructive request at most once, and the last report
 * the agent persisted for each destructive section must be the one the hub holds. `runChaos`
 * returns the counts and the problems found (empty = pass); it never asserts itself.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalHub } from '../../lib/hub/hub';
import { startStage } from './stage';
import { AgentProcess, bundleCli, prng, readEmulatorCounts, type LogLine } from './agent-process';

export const SEED_ENV = 'WINDOWS_IOT_DM_CHAOS_SEED';

export interface ChaosOptions {
  seed: number;
  operations?: number;
  kills?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface ChaosResult {
  seed: number;
  operations: { patches: number; methods: number; duplicates: number };
  faults: Record<string, number>;
  restarts: number;
  crashes: string[];
  /** Service-side errors retried (by kind). */
  retried: Record<string, number>;
  destructive: {
    requests: Record<Kind, number>;
    executedAnswers: Record<Kind, number>;
    wipes: number;
    reboots: number;
  };
  mismatches: string[];
  problems: string[];
  ms: number;
}

type Kind = 'reboot' | 'factoryReset' | 'remoteWipe';
const METHOD: Record<Kind, string> = {
  reboot: 'windows.rebootAsync',
  factoryReset: 'windows.startFactoryResetAsync',
  remoteWipe: 'windows.startRemoteWipeAsync',
};
const SECTION: Record<Kind, string> = {
  reboot: 'rebootCmd',
  factoryReset: 'factoryReset',
  remoteWipe: 'remoteWipe',
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The converging sections: a random desired value for each. */
const ZONES = [
  'UTC',
  'Pacific Standard Time',
  'Eastern Standard Time',
  'W. Europe Standard Time',
  'Tokyo Standard Time',
  'India Standard Time',
];
const NTP = ['time.windows.com', 'pool.ntp.org', 'time.windows.com,0x9 pool.ntp.org'];
const UPDATE_FIELDS: Array<[string, number, number]> = [
  ['activeHoursStart', 0, 23],
  ['activeHoursEnd', 0, 23],
  ['deferQualityUpdatesPeriod', 0, 30],
  ['deferFeatureUpdatesPeriod', 0, 365],
  ['scheduledInstallDay', 0, 7],
  ['scheduledInstallTime', 0, 23],
  ['pauseQualityUpdates', 0, 1],
];
const SECTIONS = ['windowsTelemetry', 'windowsUpdatePolicy', 'timeInfo'] as const;

function randomSection(r: ReturnType<typeof prng>, section: string): Obj {
  switch (section) {
    case 'windowsTelemetry':
      return { level: r.pick(['security', 'basic', 'full']) };
    case 'windowsUpdatePolicy': {
      const v: Obj = {};
      for (const [k, min, max] of UPDATE_FIELDS) if (r.chance(0.4)) v[k] = r.int(min, max);
      if (Object.keys(v).length === 0) v.activeHoursStart = r.int(0, 23);
      return v;
    }
    default: {
      const v: Obj = { timeZoneKeyName: r.pick(ZONES), dynamicDaylightTimeDisabled: false };
      if (r.chance(0.5)) v.ntpServer = r.pick(NTP);
      return v;
    }
  }
}

/** Differences between desired `windows` and reported `windows` for the converging sections. */
export function divergence(desired: Obj, reported: Obj): string[] {
  const out: string[] = [];
  for (const section of SECTIONS) {
    const d = desired[section];
    if (!isObj(d)) continue;
    const r = reported[section];
    if (!isObj(r)) {
      out.push(`${section}: not reported`);
      continue;
    }
    for (const [k, v] of Object.entries(d)) {
      if (r[k] !== v)
        out.push(`${section}.${k}: desired ${JSON.stringify(v)}, reported ${JSON.stringify(r[k])}`);
    }
    const state = isObj(r.lastChange) ? r.lastChange.state : undefined;
    if (state !== 'completed') out.push(`${section}.lastChange.state: ${JSON.stringify(state)}`);
  }
  return out;
}

function errorKind(err: unknown): string {
  const e = err as {
    responseBody?: unknown;
    message?: unknown;
    name?: unknown;
    response?: { statusCode?: number };
  };
  const body = typeof e.responseBody === 'string' ? e.responseBody : '';
  const m = /ErrorCode:(\w+)/.exec(body) ?? /"errorCode":\s*(\d+)/.exec(body);
  if (m) return m[1]!;
  if (e.response?.statusCode) return `http${e.response.statusCode}`;
  return typeof e.name === 'string' ? e.name : 'error';
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const t0 = Date.now();
  const log = options.log ?? (() => undefined);
  const nOps = options.operations ?? 200;
  const nKills = options.kills ?? 50;
  const r = prng(options.seed);
  const result: ChaosResult = {
    seed: options.seed,
    operations: { patches: 0, methods: 0, duplicates: 0 },
    faults: {},
    restarts: 0,
    crashes: [],
    retried: {},
    destructive: {
      requests: { reboot: 0, factoryReset: 0, remoteWipe: 0 },
      executedAnswers: { reboot: 0, factoryReset: 0, remoteWipe: 0 },
      wipes: 0,
      reboots: 0,
    },
    mismatches: [],
    problems: [],
    ms: 0,
  };
  const fault = (kind: string): void => {
    result.faults[kind] = (result.faults[kind] ?? 0) + 1;
  };
  const retried = (kind: string): void => {
    result.retried[kind] = (result.retried[kind] ?? 0) + 1;
  };

  const { dir, hub, close, deviceId, registry, service } = await startStage(
    'chaos',
    'chaos-device',
  );
  const emulatorState = path.join(dir, 'emulator-state.json');
  const stateDir = path.join(dir, 'dm');
  const errors: LogLine[] = [];
  const bundle = bundleCli();
  const agent = new AgentProcess({
    ...(bundle ? { bundle } : {}),
    connectionString: hub.deviceConnectionString(deviceId),
    caPath: hub.caPath,
    stateDir,
    emulatorState,
    logLevel: process.env.WINDOWS_IOT_DM_CHAOS_LOG ? 'debug' : 'info',
    ...(process.env.WINDOWS_IOT_DM_CHAOS_LOG
      ? { logFile: process.env.WINDOWS_IOT_DM_CHAOS_LOG }
      : {}),
    onLine: (l) => {
      if (l.level >= 50) errors.push(l);
    },
  });

  let stopping = false;
  const pendingMethods: Array<Promise<void>> = [];
  try {
    agent.start();
    await withTimeout(agent.ready, 60_000, 'the agent did not get ready', () => agent.tail());

    // ---- the operator: patches and methods, retried through injected faults
    const patch = async (section: string, value: Obj): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        try {
          await registry.updateTwin(
            deviceId,
            { properties: { desired: { windows: { [section]: value } } } },
            '*',
          );
          return;
        } catch (err) {
          retried(`patch:${errorKind(err)}`);
          if (attempt > 50) throw err;
          await sleep(50 + attempt * 20);
        }
      }
    };
    /** Definitive answers (from the device) per request id. */
    const answers = new Map<string, { kind: Kind; status: number; payload: Obj }>();
    /** Ids answered first-hand "started": both Execs (wipe, RebootNow) were answered 200. */
    const started = new Set<string>();
    const invoke = async (kind: Kind, requestId: string): Promise<void> => {
      const deadline = Date.now() + 120_000;
      for (let attempt = 0; !stopping && Date.now() < deadline; attempt++) {
        try {
          const res = await service.invokeDeviceMethod(deviceId, {
            methodName: METHOD[kind],
            payload: { requestId },
            responseTimeoutInSeconds: 5,
            connectTimeoutInSeconds: 5,
          });
          const { status, payload } = res.result as { status: number; payload: unknown };
          const body = isObj(payload) ? payload : {};
          answers.set(requestId, { kind, status, payload: body });
          if (body.response === 'started' && body.repeated !== true) started.add(requestId);
          return;
        } catch (err) {
          retried(`method:${errorKind(err)}`);
          await sleep(100);
        }
      }
      if (!stopping) result.problems.push(`${METHOD[kind]} ${requestId}: no answer in 120 s`);
    };

    // ---- the schedule: which operations are followed by a kill
    const killAt = new Set<number>();
    while (killAt.size < Math.min(nKills, nOps)) killAt.add(r.int(0, nOps - 1));
    const used: Array<{ kind: Kind; id: string }> = [];

    for (let i = 0; i < nOps; i++) {
      // Faults for this step.
      if (r.chance(0.12)) {
        hub.control.dropConnection(deviceId);
        fault('drop-now');
      } else if (r.chance(0.1)) {
        hub.control.dropConnection(deviceId, { afterMessages: r.int(1, 4) });
        fault('drop-after-messages');
      }
      if (r.chance(0.1)) {
        const ms = r.chance(0.5) ? r.int(50, 500) : 0;
        hub.control.delayTwinResponses(ms);
        if (ms > 0) fault('twin-delay');
      }
      if (r.chance(0.12)) {
        const status = r.pick([429, 500] as const);
        const scope = r.pick(['rest', 'twin', 'all'] as const);
        hub.control.failNext(r.int(1, 3), status, { scope });
        fault(`fail-${status}-${scope}`);
      }
      if (r.chance(0.05)) {
        hub.control.dropDesiredNotifications(1);
        fault('drop-desired-notification');
      }

      // The operation.
      const roll = r.next();
      if (roll < 0.65) {
        const section = r.pick(SECTIONS);
        await patch(section, randomSection(r, section));
        result.operations.patches += 1;
      } else if (roll < 0.93 || used.length === 0) {
        const kind = r.pick(['reboot', 'factoryReset', 'remoteWipe'] as const);
        const id = `chaos-${options.seed}-${i}`;
        used.push({ kind, id });
        result.destructive.requests[kind] += 1;
        pendingMethods.push(invoke(kind, id));
        result.operations.methods += 1;
      } else {
        // A duplicate delivery: the operator sends an old request again.
        const old = r.pick(used);
        pendingMethods.push(invoke(old.kind, old.id));
        result.operations.duplicates += 1;
      }

      await sleep(r.int(0, 250));
      if (killAt.has(i)) {
        await sleep(r.int(0, 600));
        await agent.kill();
        fault('sigkill');
        result.restarts += 1;
        agent.start();
        // Sometimes let it come up before the next step, sometimes not (kills during start-up).
        if (r.chance(0.4))
          await withTimeout(agent.ready, 60_000, 'the agent did not restart', () => agent.tail());
      }
      if (i % 25 === 24) log(`chaos: ${i + 1}/${nOps} operations, ${result.restarts} restarts`);
    }

    // ---- faults off, let everything settle
    hub.control.reset();
    await withTimeout(agent.ready, 60_000, 'the agent did not get ready at the end', () =>
      agent.tail(),
    );
    await withTimeout(Promise.all(pendingMethods), 150_000, 'method calls did not finish');
    log('chaos: schedule done, waiting for convergence');

    const settleBy = Date.now() + 90_000;
    let diff: string[] = [];
    for (;;) {
      const twin = hub.core.getTwin(deviceId);
      const desired = isObj(twin.properties.desired.windows) ? twin.properties.desired.windows : {};
      const reported = isObj(twin.properties.reported.windows)
        ? twin.properties.reported.windows
        : {};
      diff = divergence(desired, reported);
      if (diff.length === 0 || Date.now() > settleBy) break;
      await sleep(250);
    }
    result.mismatches = diff;

    // ---- destructive methods: each request id at most once
    await agent.stop(); // SIGTERM: flushes what is queued; the state file is final
    const counts = readEmulatorCounts(emulatorState);
    result.destructive.wipes = counts.wipes;
    result.destructive.reboots = counts.reboots;
    checkDestructive(result, answers, started, used);

    // ---- no reported patch lost: the agent's last report of each destructive section is at the hub
    const dm = JSON.parse(readFileSync(path.join(stateDir, 'dm-state.json'), 'utf8')) as {
      handlers: Record<string, Obj>;
    };
    checkLastReports(result, hub, deviceId, dm.handlers);
    result.crashes = agent.crashes;
    for (const c of agent.crashes) result.problems.push(`agent crashed: ${c}`);
    for (const e of errors) result.problems.push(`agent logged an error: ${JSON.stringify(e)}`);
  } finally {
    stopping = true;
    await agent.kill();
    await Promise.allSettled(pendingMethods);
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
  result.ms = Date.now() - t0;
  return result;
}

function checkDestructive(
  result: ChaosResult,
  answers: Map<string, { kind: Kind; status: number; payload: Obj }>,
  started: Set<string>,
  used: Array<{ kind: Kind; id: string }>,
): void {
  // Upper bound: every request id whose final answer is not a refusal may have run once.
  // Lower bound: every id answered "started" first-hand did run ("completed" only says that
  // the device booted after the request, which another request's reboot may explain).
  let wipeMax = 0;
  let wipeMin = 0;
  let rebootMax = 0;
  let rebootMin = 0;
  const ids = new Map(used.map((u) => [u.id, u.kind]));
  for (const [id, kind] of ids) {
    const a = answers.get(id);
    const response = typeof a?.payload.response === 'string' ? a.payload.response : undefined;
    const refused = response === 'refused'; // 409 "under way" / 501: nothing recorded, nothing run
    // Reboot answers say "scheduled" from before RebootNow on: no lower bound for them.
    const ran = started.has(id);
    if (ran) result.destructive.executedAnswers[kind] += 1;
    if (refused) continue;
    if (kind === 'reboot') {
      rebootMax += 1;
      if (ran) rebootMin += 1;
    } else {
      wipeMax += 1;
      rebootMax += 1;
      if (ran) {
        wipeMin += 1;
        rebootMin += 1;
      }
    }
  }
  const d = result.destructive;
  if (d.wipes > wipeMax)
    result.problems.push(`wipes executed ${d.wipes} > requests that may run ${wipeMax}`);
  if (d.wipes < wipeMin)
    result.problems.push(`wipes executed ${d.wipes} < requests answered as run ${wipeMin}`);
  if (d.reboots > rebootMax)
    result.problems.push(`RebootNow executed ${d.reboots} > requests that may run ${rebootMax}`);
  if (d.reboots < rebootMin)
    result.problems.push(`RebootNow executed ${d.reboots} < requests answered as run ${rebootMin}`);
  // A request answered twice must have the same outcome (the second with repeated: true).
  for (const [id, a] of answers) {
    if (a.status >= 500 && a.payload.response === undefined) {
      result.problems.push(`${id}: the device answered ${a.status} without a request record`);
    }
  }
}

function checkLastReports(
  result: ChaosResult,
  hub: LocalHub,
  deviceId: string,
  handlers: Record<string, Obj>,
): void {
  const reported = hub.core.getTwin(deviceId).properties.reported.windows;
  const windows = isObj(reported) ? reported : {};
  for (const kind of ['reboot', 'factoryReset', 'remoteWipe'] as const) {
    const section = SECTION[kind];
    const store = handlers[section] ?? {};
    const atHub = isObj(windows[section]) ? windows[section] : undefined;
    let expectedId: unknown;
    if (kind === 'reboot') {
      const reqs = Array.isArray(store.requests) ? (store.requests as Obj[]) : [];
      expectedId = reqs.at(-1)?.id;
    } else {
      const body = isObj(store.section) ? store.section : undefined;
      expectedId = body?.requestId;
      if (body && atHub && body.response !== atHub.response) {
        result.problems.push(
          `${section}: the agent last reported response ${JSON.stringify(body.response)}, the hub has ${JSON.stringify(atHub.response)}`,
        );
      }
    }
    if (expectedId === undefined) continue;
    if (atHub?.requestId !== expectedId) {
      result.problems.push(
        `${section}: the agent last reported requestId ${JSON.stringify(expectedId)}, the hub has ${JSON.stringify(atHub?.requestId)}`,
      );
    }
  }
}

async function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  what: string,
  detail: () => string = () => '',
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} (${ms} ms)\n${detail()}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The seed: $WINDOWS_IOT_DM_CHAOS_SEED, else a random one. */
export function chaosSeed(env: NodeJS.ProcessEnv = process.env): number {
  const v = env[SEED_ENV];
  if (v !== undefined && v !== '') {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw new Error(`${SEED_ENV} must be an integer 0..4294967295, not ${JSON.stringify(v)}`);
    }
    return n;
  }
  return Math.floor(Math.random() * 0x100000000);
}
