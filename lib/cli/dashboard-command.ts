/**
 * `iotdm dashboard`: serves the DM dashboard (lib/dashboard) until SIGINT/SIGTERM. The hub is
 * `--hub "<service connection string>"`, else `$IOTHUB_CONNECTION_STRING`, else the local hub of
 * `iotdm hub` running in the data folder: its `<data>/hub.json` (host, ports, pid), its
 * `iothubowner` key read from the hub's store (as `iotdm hub device add` reads the registry) and
 * its CA `<data>/tls/ca.pem`. The connection string is never printed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DASHBOARD_PORT, startDashboard, type Dashboard } from '../dashboard/server';
import { DeviceRegistry } from '../hub/registry/registry';
import { HubStore } from '../hub/store/hub-store';
import { COMMON_OPTIONS, parseCommand } from './args';
import { defaultHubDataDir } from './hub-command';
import { EXIT, type CliIo } from './io';
import { waitForSignal } from './signals';

export const DASHBOARD_HELP = `Usage: iotdm dashboard [--hub "<service connection string>"] [options]

Serves the device-management dashboard: devices, twins, methods and fleet jobs of an IoT Hub,
through the azure-iothub service SDK. The connection string stays in this process.

Hub (first found):
  --hub CS           an IoT Hub service connection string (iothubowner, or a policy with
                     RegistryRead, RegistryWrite and ServiceConnect)
  $IOTHUB_CONNECTION_STRING
  the local hub      "iotdm hub" running in --data (default: $XDG_STATE_HOME/windows-iot-dm/hub,
                     or ~/.local/state/windows-iot-dm/hub), with its CA

Options:
  --hub-ca FILE      PEM CA to trust for the hub (default: the system's; the local hub's CA
                     for the local hub)
  --data DIR         the local hub's data folder
  --host H           address to listen on (default 127.0.0.1); any other address requires the
                     token printed at start
  --port P           port (default ${DEFAULT_DASHBOARD_PORT}; 0 = any free port)
  --json             print { url, loginUrl?, token?, hub } as JSON
  -h, --help         this help

Exit codes: 0 stopped cleanly, 2 usage error, 4 other error (no hub, port in use).
Example: iotdm dashboard --port 0`;

export interface DashboardCommandDeps {
  /** Resolves when the server should stop (default: SIGINT or SIGTERM). */
  waitForStop?: () => Promise<string>;
  env?: NodeJS.ProcessEnv;
  /** Called once the dashboard listens (tests). */
  started?: (dashboard: Dashboard) => void;
}

interface LocalHubInfo {
  pid?: number;
  hostName?: string;
  httpsPort?: number;
}

class NoHub extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The local hub's service connection string and CA, or `NoHub` saying what to do. */
export function localHubConnection(dataDir: string): { connectionString: string; ca: string } {
  const start = `start one with: iotdm hub --data ${dataDir}  (or give --hub "<connection string>")`;
  let info: LocalHubInfo;
  try {
    info = JSON.parse(fs.readFileSync(path.join(dataDir, 'hub.json'), 'utf8')) as LocalHubInfo;
  } catch {
    throw new NoHub(`no local hub is running in ${dataDir}; ${start}`);
  }
  if (typeof info.pid !== 'number' || !alive(info.pid)) {
    throw new NoHub(`the local hub in ${dataDir} is not running (stale hub.json); ${start}`);
  }
  if (typeof info.httpsPort !== 'number' || typeof info.hostName !== 'string') {
    throw new NoHub(`the local hub in ${dataDir} serves no HTTPS (service) port; restart it`);
  }
  const store = new HubStore(dataDir);
  let key: string;
  try {
    const owner = new DeviceRegistry(store).policy('iothubowner');
    if (!owner) throw new NoHub(`the local hub in ${dataDir} has no iothubowner policy`);
    key = owner.primaryKey;
  } finally {
    store.close();
  }
  const host = info.httpsPort === 443 ? info.hostName : `${info.hostName}:${info.httpsPort}`;
  const ca = fs.readFileSync(path.join(dataDir, 'tls', 'ca.pem'), 'utf8');
  return {
    connectionString: `HostName=${host};SharedAccessKeyName=iothubowner;SharedAccessKey=${key}`,
    ca,
  };
}

export async function runDashboard(
  argv: string[],
  io: CliIo,
  deps: DashboardCommandDeps = {},
): Promise<number> {
  const parsed = parseCommand('dashboard', DASHBOARD_HELP, io, () =>
    parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        hub: { type: 'string' },
        'hub-ca': { type: 'string' },
        data: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        ...COMMON_OPTIONS,
      },
    }),
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const usage = (why: string): number => {
    io.err(`iotdm dashboard: ${why}\n\n${DASHBOARD_HELP}`);
    return EXIT.usage;
  };
  let port = DEFAULT_DASHBOARD_PORT;
  if (values.port !== undefined) {
    if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) {
      return usage(`--port must be a port number, not "${values.port}"`);
    }
    port = Number(values.port);
  }
  if (values.host !== undefined && !/^[A-Za-z0-9.:-]{1,253}$/.test(values.host)) {
    return usage(`--host must be an address or host name, not "${values.host}"`);
  }
  const env = deps.env ?? process.env;
  let connectionString = values.hub ?? env.IOTHUB_CONNECTION_STRING;
  let ca: string | undefined;
  let hubLabel = 'the hub of the connection string';
  try {
    if (values['hub-ca'] !== undefined) ca = fs.readFileSync(values['hub-ca'], 'utf8');
    if (!connectionString) {
      const dataDir = path.resolve(values.data ?? defaultHubDataDir(env));
      const local = localHubConnection(dataDir);
      connectionString = local.connectionString;
      ca ??= local.ca;
      hubLabel = `the local hub in ${dataDir}`;
    }
  } catch (err) {
    io.err(`iotdm dashboard: ${(err as Error).message}`);
    return EXIT.error;
  }
  let dashboard: Dashboard;
  try {
    dashboard = await startDashboard({
      connectionString,
      ...(ca !== undefined ? { ca } : {}),
      port,
      ...(values.host !== undefined ? { host: values.host } : {}),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EADDRINUSE'
        ? `port ${port} is in use (try --port 0)`
        : e.code === 'EADDRNOTAVAIL'
          ? `cannot listen on ${values.host ?? '127.0.0.1'}`
          : e.message;
    io.err(`iotdm dashboard: cannot start: ${why}`);
    return EXIT.error;
  }
  try {
    const stopped = (deps.waitForStop ?? waitForSignal)();
    deps.started?.(dashboard);
    if (values.json) {
      io.out(
        JSON.stringify({
          url: dashboard.url,
          ...(dashboard.token !== undefined
            ? { loginUrl: dashboard.loginUrl, token: dashboard.token }
            : {}),
          hub: hubLabel,
        }),
      );
    } else {
      io.out(
        [
          `DM dashboard for ${hubLabel}`,
          dashboard.loginUrl !== undefined
            ? `Open: ${dashboard.loginUrl}\n  (the token is required: this address is not loopback; keep the URL private)`
            : `Open: ${dashboard.url}`,
          'Press Ctrl+C to stop.',
        ].join('\n'),
      );
    }
    const signal = await stopped;
    if (!values.json) io.out(`Stopping (${signal}).`);
  } finally {
    await dashboard.close();
  }
  return EXIT.ok;
}
