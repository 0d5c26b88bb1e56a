/**
 * Benchmark: the local IoT Hub under 1,000 devices (issue 4 figures).
 *
 * - The hub (`LocalHub`) runs in a child process (`bench/hub-child.ts`) so that its RSS is its
 *   own; devices are registered there through the store. This process is the load: one real
 *   `azure-iot-device` + `azure-iot-device-mqtt` client per device, MQTT over TLS to
 *   127.0.0.1, opened in parallel batches.
 * - Desired-patch latency: from the service-side `Registry.updateTwin` (real `azure-iothub`,
 *   REST over HTTPS, one keep-alive connection) to the device's `properties.desired` event, one
 *   patch at a time, spread over the devices.
 * - Scheduled method job over every device (`JobClient.scheduleDeviceMethod`, polled with
 *   `getJob`) when `lib/hub/jobs` exists; otherwise the row says it was not measured.
 *
 * Bounded: aborts after `deadlineMs` with the phase it was in; always closes every client, stops
 * the hub child and removes its data folder. Only 127.0.0.1 is ever dialled.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Client, type Twin } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { JobClient, Registry } from 'azure-iothub';
import type { HubChildReply, HubChildRequest, HubChildStarted } from './hub-child';
import { fromPercentile, fromSamples, fromValue, type BenchOptions, type Figure } from './model';
import { median, percentile } from './stats';

export interface HubBenchOptions {
  devices: number;
  /** Clients opened in parallel per batch. */
  batch: number;
  patches: number;
  warmupPatches: number;
  deadlineMs: number;
}

const DEFAULTS: HubBenchOptions = {
  devices: 1000,
  batch: 50,
  patches: 200,
  warmupPatches: 20,
  deadlineMs: 120_000,
};

const JOBS_DIR = path.resolve(__dirname, '../lib/hub/jobs');
const MB = 1024 * 1024;

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

function bounded<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** IPC to the hub child: one request at a time, answers matched by id. */
class HubChild {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: HubChildReply) => void>();
  readonly exited: Promise<void>;

  constructor(readonly proc: ChildProcess) {
    proc.on('message', (r: HubChildReply) => this.waiting.get(r.id)?.(r));
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    void this.exited.then(() => {
      for (const w of this.waiting.values()) w({ id: 0, ok: false, error: 'hub child exited' });
    });
  }

  static spawn(): HubChild {
    const proc = fork(path.join(__dirname, 'hub-child.ts'), [], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new HubChild(proc);
  }

  request<T>(msg: Record<string, unknown> & { cmd: HubChildRequest['cmd'] }): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, (r) => {
        this.waiting.delete(id);
        if (r.ok) resolve(r.value as T);
        else reject(new Error(`hub child: ${r.error}`));
      });
      this.proc.send({ ...msg, id });
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.connected) {
      await bounded(
        this.request({ cmd: 'stop' }).catch(() => undefined),
        5000,
      );
      this.proc.disconnect();
    }
    if ((await bounded(this.exited, 5000)) === undefined && this.proc.exitCode === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** An agent that sends every service request to the hub's HTTPS port on 127.0.0.1. */
function hubAgent(port: number): https.Agent {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 4 });
  (agent as unknown as { createConnection: unknown }).createConnection = (
    options: tls.ConnectionOptions,
    callback?: () => void,
  ) => {
    const rest: tls.ConnectionOptions = { ...options, host: '127.0.0.1', port };
    delete rest.servername;
    return tls.connect(rest, callback);
  };
  return agent;
}

function trust<T>(sdkObject: T, ca: string, agent: https.Agent): T {
  (
    sdkObject as unknown as { _restApiClient: { setOptions(o: unknown): void } }
  )._restApiClient.setOptions({ ca, http: { agent } });
  return sdkObject;
}

interface Figures {
  connectTotalMs: number;
  connectMedianMs: number;
  rssIdleMb: number;
  rssConnectedMb: number;
  patchP50: number;
  patchP99: number;
  patchCount: number;
  latencies: number[];
  perDevice: number[];
  job: string;
  jobSeconds?: number;
}

export async function benchHub(
  b: BenchOptions,
  options: Partial<HubBenchOptions> = {},
): Promise<Figure[]> {
  const o = { ...DEFAULTS, ...(b.quick ? { patches: 100 } : { patches: 500 }), ...options };
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wdm-bench-hub-'));
  const child = HubChild.spawn();
  const clients: Client[] = [];
  let agent: https.Agent | undefined;
  let phase = 'starting the hub';
  let aborted = false;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      aborted = true;
      reject(
        new Error(`hub bench aborted after ${o.deadlineMs / 1000} s (time limit) while ${phase}`),
      );
    }, o.deadlineMs);
  });
  const check = (): void => {
    if (aborted) throw new Error('aborted');
  };

  async function run(): Promise<Figures> {
    const hub = await child.request<HubChildStarted>({
      cmd: 'start',
      dataDir,
      devices: o.devices,
    });
    const rssIdleMb = (await child.request<number>({ cmd: 'rss' })) / MB;

    phase = `connecting ${o.devices} devices`;
    const perDevice: number[] = [];
    const t0 = now();
    for (let i = 0; i < hub.devices.length; i += o.batch) {
      check();
      await Promise.all(
        hub.devices.slice(i, i + o.batch).map(async (d) => {
          const client = Client.fromConnectionString(
            `HostName=127.0.0.1:${hub.mqttPort};DeviceId=${d.id};SharedAccessKey=${d.key}`,
            Mqtt,
          );
          client.on('error', () => undefined);
          clients.push(client);
          await client.setOptions({ ca: hub.caCertPem });
          const start = now();
          await client.open();
          perDevice.push(now() - start);
        }),
      );
    }
    const connectTotalMs = now() - t0;

    phase = 'measuring hub memory';
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) samples.push(await child.request<number>({ cmd: 'rss' }));
    const rssConnectedMb = median(samples) / MB;

    phase = 'desired-patch latency';
    agent = hubAgent(hub.httpsPort);
    const registry = trust(
      Registry.fromConnectionString(hub.serviceConnectionString),
      hub.caCertPem,
      agent,
    );
    const total = o.warmupPatches + o.patches;
    const stride = Math.max(1, Math.floor(clients.length / total));
    const targets: Array<{ id: string; twin: Twin }> = [];
    const arrived = new Map<number, number>();
    for (let k = 0; k < total; k++) {
      check();
      const idx = (k * stride) % clients.length;
      const twin = await clients[idx]!.getTwin();
      twin.on('properties.desired', (delta: { benchSeq?: number }) => {
        if (typeof delta.benchSeq === 'number') arrived.set(delta.benchSeq, now());
      });
      targets.push({ id: hub.devices[idx]!.id, twin });
    }
    const latencies: number[] = [];
    for (let k = 0; k < total; k++) {
      check();
      const target = targets[k]!;
      const sent = now();
      await registry.updateTwin(target.id, { properties: { desired: { benchSeq: k } } }, '*');
      while (!arrived.has(k)) {
        check();
        if (now() - sent > 10_000) throw new Error(`desired patch ${k} never reached ${target.id}`);
        await new Promise((r) => setImmediate(r));
      }
      if (k >= o.warmupPatches) latencies.push(arrived.get(k)! - sent);
    }

    let job = 'not measured: jobs engine not present';
    let jobSeconds: number | undefined;
    if (existsSync(JOBS_DIR)) {
      phase = 'scheduled method job';
      for (const c of clients) {
        c.onDeviceMethod('benchPing', (_req, res) => {
          res.send(200, { ok: true }, () => undefined);
        });
      }
      const jobs = trust(
        JobClient.fromConnectionString(hub.serviceConnectionString),
        hub.caCertPem,
        agent,
      );
      const jobId = `bench-job-${Date.now()}`;
      const j0 = now();
      try {
        await jobs.scheduleDeviceMethod(jobId, "tags.bench = 'hub'", {
          methodName: 'benchPing',
          payload: {},
          responseTimeoutInSeconds: 30,
        });
        let status = '';
        let stats: unknown;
        while (!['completed', 'failed', 'cancelled'].includes(status)) {
          check();
          await new Promise((r) => setTimeout(r, 50));
          const { jobStatus } = (await jobs.getJob(jobId)) as {
            jobStatus: { status: string; deviceJobStatistics?: unknown };
          };
          status = jobStatus.status;
          stats = jobStatus.deviceJobStatistics;
        }
        jobSeconds = (now() - j0) / 1000;
        const st = stats as { succeededCount?: number; failedCount?: number } | undefined;
        job = `${status}${st ? `, ${st.succeededCount ?? '?'} succeeded, ${st.failedCount ?? '?'} failed` : ''}`;
      } catch (err) {
        if (aborted) throw err;
        job = `not measured: ${err instanceof Error ? err.message : String(err)}`;
      }
    }

    return {
      connectTotalMs,
      connectMedianMs: median(perDevice),
      rssIdleMb,
      rssConnectedMb,
      patchP50: percentile(latencies, 50),
      patchP99: percentile(latencies, 99),
      patchCount: latencies.length,
      latencies,
      perDevice,
      job,
      ...(jobSeconds !== undefined ? { jobSeconds } : {}),
    };
  }

  const running = run();
  running.catch(() => undefined);
  try {
    const f = await Promise.race([running, deadline]);
    return [
      fromValue(
        `connect ${o.devices} devices (real device SDK, MQTT/TLS, batches of ${o.batch})`,
        's',
        f.connectTotalMs / 1000,
        'total',
      ),
      fromSamples('per-device `client.open()`', 'ms', f.perDevice),
      fromPercentile(
        `desired-patch delivery p50 (updateTwin → 'properties.desired', ${f.patchCount} patches)`,
        'ms',
        f.latencies,
        'p50',
        f.patchP50,
        { target: { op: '<', value: 5, source: 'issue 4' } },
      ),
      fromPercentile('desired-patch delivery p99', 'ms', f.latencies, 'p99', f.patchP99),
      fromValue(
        `hub RSS, ${o.devices} registered, none connected`,
        'MB',
        f.rssIdleMb,
        'single run',
      ),
      fromValue(
        `hub RSS, ${o.devices} connected (median of 5 readings, after GC)`,
        'MB',
        f.rssConnectedMb,
        'median',
        { target: { op: '<', value: 300, source: 'issue 4' } },
      ),
      fromValue(
        `scheduled method job over ${o.devices} devices, creation → completed`,
        's',
        f.jobSeconds ?? Number.NaN,
        'single run',
        { target: { op: '<', value: 10, source: 'issue 4' }, note: f.job },
      ),
    ];
  } finally {
    clearTimeout(timer);
    aborted = true;
    await Promise.all(
      clients.map((c) =>
        bounded(
          c.close().catch(() => undefined),
          5000,
        ),
      ),
    );
    agent?.destroy();
    await child.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
