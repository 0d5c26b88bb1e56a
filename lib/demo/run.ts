/**
 * `runDemo`: the whole system on one machine, in one data folder (`dataDir`, kept between runs
 * unless `fresh`):
 *
 *   <data>/hub/        the local IoT Hub with its DPS (in this process, ephemeral loopback ports;
 *                      `hub.json` while it runs, so `iotdm dashboard|hub --data <data>/hub` work)
 *   <data>/azurite/    Azurite's blob data (child process on 127.0.0.1)
 *   <data>/attest.db   the attestation service's nonces and reports (in this process, local HAS)
 *   <data>/devices/<id>/  one folder per simulated device (lib/demo/device.ts): its profile,
 *                      emulator state, agent state and log, swtpm state or connection string
 *   <data>/demo.json   while it runs: this process's pid, the dashboard URL and every child's pid
 *
 * Devices `demo-01`, `demo-02`, ... are `iotdm agent` child processes provisioned through the
 * local DPS; with swtpm installed, every other device (demo-01, demo-03, ...) keeps its key in
 * its own swtpm and the others use the symmetric-key group, so both paths show. The dashboard
 * listens on 127.0.0.1. `stop()` ends everything in reverse order and removes the run files.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startDashboard, DEFAULT_DASHBOARD_PORT, type Dashboard } from '../dashboard/server';
import { LocalHub } from '../hub/hub';
import { startDemoAttest } from './attest';
import { startAzuriteProcess } from './azurite';
import { DemoDevice } from './device';
import { watchStatus } from './status';
import { SWTPM_INSTALL_HINT, swtpmInstalled } from './swtpm';

export interface DemoOptions {
  dataDir: string;
  /** How many simulated devices (default 3). */
  devices?: number;
  /** Wipe the data folder first. */
  fresh?: boolean;
  /** `false`: symmetric keys only, even with swtpm installed (default: swtpm when installed). */
  tpm?: boolean;
  /** Dashboard port (default 8080; when taken, any free port). 0 = any free port. */
  dashboardPort?: number;
  /** Where swtpm is looked for (`PATH`; default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Where console lines go (default: stdout). */
  print?: (line: string) => void;
}

export interface DemoRun {
  dashboardUrl: string;
  deviceIds: string[];
  /** Devices whose `deviceInfo` is reported `completed`. */
  reporting(): string[];
  /** Stops everything; safe to call twice. */
  stop(): Promise<void>;
}

export class DemoError extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Data folders of the demos running in this process. */
const active = new Set<string>();

/** Refuses a data folder a running demo (this process's or another's) uses. */
function checkNotRunning(dataDir: string): void {
  if (active.has(dataDir)) {
    throw new DemoError(`a demo is already running in ${dataDir} (this process)`);
  }
  const file = path.join(dataDir, 'demo.json');
  if (!existsSync(file)) return;
  let pid: unknown;
  try {
    pid = (JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid;
  } catch {
    return;
  }
  if (typeof pid === 'number' && pid !== process.pid && alive(pid)) {
    throw new DemoError(
      `a demo is already running in ${dataDir} (pid ${pid}); stop it, or use another --data`,
    );
  }
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

export async function runDemo(options: DemoOptions): Promise<DemoRun> {
  const t0 = Date.now();
  const dataDir = path.resolve(options.dataDir);
  const count = options.devices ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 50) {
    throw new DemoError(`the number of devices must be 1-50, not ${count}`);
  }
  const print = options.print ?? ((line: string) => process.stdout.write(line + '\n'));
  checkNotRunning(dataDir);
  if (options.fresh) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const runFile = path.join(dataDir, 'demo.json');
  const hubInfo = path.join(dataDir, 'hub', 'hub.json');
  const children = new Map<string, number>();
  let dashboardUrl = '';
  const writeRun = (): void =>
    writeFileSync(
      runFile,
      JSON.stringify({ pid: process.pid, dashboardUrl, children: Object.fromEntries(children) }) +
        '\n',
      { mode: 0o600 },
    );
  const started = (what: string, pid: number): void => {
    children.set(what, pid);
    writeRun();
  };

  // Everything started so far, stopped in reverse order.
  const closers: Array<() => Promise<void> | void> = [
    () => {
      active.delete(dataDir);
      rmSync(runFile, { force: true });
      rmSync(hubInfo, { force: true });
    },
  ];
  active.add(dataDir);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const close of closers.reverse()) {
        try {
          await close();
        } catch (err) {
          print(`demo: while stopping: ${(err as Error).message}`);
        }
      }
    })());

  try {
    writeRun();
    const hub = await LocalHub.start({
      dataDir: path.join(dataDir, 'hub'),
      mqttPort: 0,
      httpsPort: 0,
      dpsPort: 0,
      dps: { retryAfterSeconds: 0.25 },
    }).catch((err: Error) => {
      throw new DemoError(`cannot start the local hub: ${err.message}`);
    });
    closers.push(() => hub.stop());
    writeFileSync(
      hubInfo,
      JSON.stringify({
        pid: process.pid,
        hostName: hub.hostName,
        mqttPort: hub.ports.mqtt,
        httpsPort: hub.ports.https,
      }) + '\n',
      { mode: 0o600 },
    );
    print(
      `Local IoT Hub: MQTT ${hub.deviceHost}, DPS ${hub.dpsEndpoint} (ID scope ${hub.dpsIdScope})`,
    );

    let storage: string | undefined;
    try {
      const azurite = await startAzuriteProcess({ location: path.join(dataDir, 'azurite') });
      closers.push(() => azurite.stop());
      started('azurite', azurite.pid);
      storage = azurite.connectionString;
      print(`Azurite (blob storage for the devices' files): ${azurite.blobEndpoint}`);
    } catch (err) {
      print(
        `Azurite did not start (${(err as Error).message.split('\n')[0]}); devices run without ` +
          'external storage (install the dev dependencies: npm ci)',
      );
    }

    const attest = await startDemoAttest({
      connectionString: hub.connectionString,
      ca: hub.tls.caCertPem,
      dbFile: path.join(dataDir, 'attest.db'),
      logFile: path.join(dataDir, 'attest.log'),
      notify: print,
    });
    closers.push(() => attest.close());
    print(`Attestation service: local HAS ${attest.hasUrl}`);

    const useSwtpm = options.tpm !== false && swtpmInstalled(options.env);
    if (options.tpm !== false && !useSwtpm) {
      print(
        `swtpm is not installed: every device uses a symmetric key. For TPM devices: ${SWTPM_INSTALL_HINT}`,
      );
    }
    const deviceIds = Array.from({ length: count }, (_, i) => `demo-${pad(i + 1)}`);
    const status = watchStatus(hub, deviceIds, print, t0);
    closers.push(() => status.close());
    const devices = deviceIds.map(
      (deviceId, index) =>
        new DemoDevice({
          hub,
          deviceId,
          index,
          dir: path.join(dataDir, 'devices', deviceId),
          useTpm: useSwtpm && index % 2 === 0,
          ...(storage ? { storageConnectionString: storage } : {}),
          notify: print,
          started,
        }),
    );
    // Agents first to go: their hub connection closes cleanly while the hub still runs.
    closers.push(() => Promise.all(devices.map((d) => d.stop())).then(() => undefined));
    await Promise.all(
      devices.map((d) =>
        d.start().catch((err: Error) => {
          throw new DemoError(`${d.deviceId}: cannot start: ${err.message}`);
        }),
      ),
    );
    for (const d of devices) print(`${d.deviceId}: agent started (${d.credentials})`);

    let dashboard: Dashboard;
    const port = options.dashboardPort ?? DEFAULT_DASHBOARD_PORT;
    const open = (p: number): Promise<Dashboard> =>
      startDashboard({ connectionString: hub.connectionString, ca: hub.tls.caCertPem, port: p });
    try {
      dashboard = await open(port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      if (options.dashboardPort !== undefined) {
        throw new DemoError(`port ${port} is in use: choose another --port (0 = any free port)`);
      }
      print(`Port ${port} is in use: the dashboard takes a free port instead.`);
      dashboard = await open(0);
    }
    closers.push(() => dashboard.close());
    dashboardUrl = dashboard.url;
    writeRun();
    return { dashboardUrl, deviceIds, reporting: () => status.reporting(), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
