/**
 * `iotdm hub [start]`: runs a `LocalHub` until SIGINT/SIGTERM; `iotdm hub device add|list`:
 * manages devices directly in the hub's store (SQLite in WAL mode, so this works whether the hub
 * is running or not; the running hub reads its registry from the store on every request).
 *
 * While it runs, the hub writes `<data>/hub.json` (host name, ports, pid; no keys) so that
 * `device add` can print a connection string with the right `HostName`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { deviceConnectionString } from '../hub/auth/sas';
import { HubError } from '../hub/errors';
import { DEFAULT_MQTT_PORT, LocalHub } from '../hub/hub';
import { DeviceRegistry } from '../hub/registry/registry';
import { HubStore } from '../hub/store/hub-store';
import { COMMON_OPTIONS, parseCommand } from './args';
import { runEnroll } from './hub-enroll';
import { waitForSignal } from './signals';
import { EXIT, type CliIo } from './io';

export const HUB_HELP = `Usage: iotdm hub [start] [options]
       iotdm hub device add <id> [options]
       iotdm hub device list [options]
       iotdm hub enroll individual|group|list [options] | iotdm hub enroll --from FILE

Runs a local IoT Hub (MQTT over TLS for devices, HTTPS REST for the service SDK) in a data folder,
or manages its devices (directly in the data folder, whether the hub is running or not).

start (default)      start the hub; prints the service connection string, the CA file and the
                     ports; stops cleanly on Ctrl+C (SIGINT) or SIGTERM
device add <id>      create a device with symmetric keys; prints its connection string
device list          list the devices (id, status, connection state; never keys)
enroll individual    add a DPS individual enrollment: --registration-id R and one of
                     --symmetric-key K|auto, --tpm-ek B64 (TPM2B_PUBLIC), --cert-file PEM;
                     optional --device-id D
enroll group         add a DPS enrollment group: --name G and --symmetric-key K|auto or
                     --ca-cert PEM
enroll --from FILE   add the TPM enrollments of "iotdm tpm enrollment-info --format json"
enroll list          list the enrollments and the ID scope (never keys)

Options:
  --data DIR         data folder (default: $XDG_STATE_HOME/windows-iot-dm/hub,
                     or ~/.local/state/windows-iot-dm/hub)
  --host NAME        host name in connection strings and the certificate (default: localhost)
  --mqtt-port N      MQTT/TLS port (default 8883; 0 = any free port)
  --https-port N     HTTPS (REST) port (default 8443; 0 = any free port)
  --dps-port N       also serve the Device Provisioning Service on this HTTPS port (0 = any)
  --json             print JSON
  -h, --help         this help

Exit codes: 0 success, 1 the device already exists, 2 usage error, 4 other error
(port in use, unreadable data folder).
Example: iotdm hub --mqtt-port 0 --https-port 0`;

export interface HubCommandDeps {
  /** Resolves when the running hub should stop (default: SIGINT or SIGTERM). */
  waitForStop?: () => Promise<string>;
}

interface HubRunInfo {
  pid: number;
  hostName: string;
  mqttPort: number;
  httpsPort?: number;
}

export function defaultHubDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'windows-iot-dm', 'hub');
}

export async function runHub(
  argv: string[],
  io: CliIo,
  deps: HubCommandDeps = {},
): Promise<number> {
  const parsed = parseCommand('hub', HUB_HELP, io, () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        data: { type: 'string' },
        host: { type: 'string' },
        'mqtt-port': { type: 'string' },
        'https-port': { type: 'string' },
        'dps-port': { type: 'string' },
        'registration-id': { type: 'string' },
        'symmetric-key': { type: 'string' },
        'tpm-ek': { type: 'string' },
        'cert-file': { type: 'string' },
        'device-id': { type: 'string' },
        name: { type: 'string' },
        'ca-cert': { type: 'string' },
        from: { type: 'string' },
        ...COMMON_OPTIONS,
      },
    }),
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const usage = (why: string): number => {
    io.err(`iotdm hub: ${why}\n\n${HUB_HELP}`);
    return EXIT.usage;
  };
  const ports: { mqtt?: number; https?: number; dps?: number } = {};
  for (const [name, key] of [
    ['mqtt-port', 'mqtt'],
    ['https-port', 'https'],
    ['dps-port', 'dps'],
  ] as const) {
    const v = values[name];
    if (v === undefined) continue;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > 65535) return usage(`--${name} must be a port number, not "${v}"`);
    ports[key] = n;
  }
  const dataDir = path.resolve(values.data ?? defaultHubDataDir());
  const opts = { dataDir, host: values.host, ports, json: values.json };
  const [sub, ...rest] = positionals;
  if (sub === undefined || sub === 'start') {
    if (rest.length > 0) return usage(`unexpected argument "${rest[0]}"`);
    return start(opts, io, deps);
  }
  if (sub === 'enroll') return runEnroll(dataDir, rest, values, io);
  if (sub !== 'device') return usage(`unknown subcommand "${sub}"`);
  const [verb, id, ...extra] = rest;
  if (verb === 'add') {
    if (id === undefined) return usage('missing <id>');
    if (extra.length > 0) return usage(`unexpected argument "${extra[0]}"`);
    return deviceAdd(id, opts, io);
  }
  if (verb === 'list') {
    if (id !== undefined) return usage(`unexpected argument "${id}"`);
    return deviceList(opts, io);
  }
  return usage(verb === undefined ? 'missing device verb (add, list)' : `unknown verb "${verb}"`);
}

interface Opts {
  dataDir: string;
  host: string | undefined;
  ports: { mqtt?: number; https?: number; dps?: number };
  json: boolean;
}

async function start(o: Opts, io: CliIo, deps: HubCommandDeps): Promise<number> {
  let hub: LocalHub;
  try {
    hub = await LocalHub.start({
      dataDir: o.dataDir,
      ...(o.host ? { hostName: o.host } : {}),
      ...(o.ports.mqtt !== undefined ? { mqttPort: o.ports.mqtt } : {}),
      ...(o.ports.https !== undefined ? { httpsPort: o.ports.https } : {}),
      ...(o.ports.dps !== undefined ? { dpsPort: o.ports.dps } : {}),
    });
  } catch (err) {
    io.err(`iotdm hub: cannot start the hub: ${(err as Error).message}`);
    return EXIT.error;
  }
  const infoPath = path.join(o.dataDir, 'hub.json');
  const info: HubRunInfo = {
    pid: process.pid,
    hostName: hub.hostName,
    mqttPort: hub.ports.mqtt,
    ...(hub.ports.https !== undefined ? { httpsPort: hub.ports.https } : {}),
  };
  try {
    fs.writeFileSync(infoPath, JSON.stringify(info) + '\n', { mode: 0o600 });
    const stopped = (deps.waitForStop ?? waitForSignal)();
    if (o.json) {
      io.out(
        JSON.stringify({
          connectionString: hub.connectionString,
          caPath: hub.caPath,
          hostName: hub.hostName,
          ports: hub.ports,
          dataDir: o.dataDir,
          ...(hub.ports.dps !== undefined
            ? { dps: { globalEndpoint: hub.dpsEndpoint, idScope: hub.dpsIdScope } }
            : {}),
        }),
      );
    } else {
      io.out(
        [
          `Local IoT Hub running (data: ${o.dataDir})`,
          `Service connection string: ${hub.connectionString}`,
          `CA certificate: ${hub.caPath}`,
          `  trust it with setOptions({ ca }) on SDK clients, or NODE_EXTRA_CA_CERTS=${hub.caPath}`,
          `MQTT (devices): ${hub.hostName}:${hub.ports.mqtt}`,
          ...(hub.ports.https !== undefined
            ? [`HTTPS (service REST): ${hub.hostName}:${hub.ports.https}`]
            : []),
          ...(hub.ports.dps !== undefined
            ? [`DPS: global endpoint ${hub.dpsEndpoint}, ID scope ${hub.dpsIdScope}`]
            : []),
          `Add a device: iotdm hub device add <id> --data ${o.dataDir}`,
          'Press Ctrl+C to stop.',
        ].join('\n'),
      );
    }
    const signal = await stopped;
    if (!o.json) io.out(`Stopping (${signal}).`);
  } finally {
    fs.rmSync(infoPath, { force: true });
    await hub.stop();
  }
  return EXIT.ok;
}

/** Host of device connection strings: `--host`/`--mqtt-port`, else the running hub's, else defaults. */
function deviceHost(o: Opts): string {
  let running: Partial<HubRunInfo> = {};
  try {
    running = JSON.parse(
      fs.readFileSync(path.join(o.dataDir, 'hub.json'), 'utf8'),
    ) as Partial<HubRunInfo>;
  } catch {
    // not running
  }
  const host = o.host ?? running.hostName ?? 'localhost';
  const port = o.ports.mqtt ?? running.mqttPort ?? DEFAULT_MQTT_PORT;
  return port === DEFAULT_MQTT_PORT ? host : `${host}:${port}`;
}

function withRegistry<T>(o: Opts, io: CliIo, run: (r: DeviceRegistry) => T): T | number {
  let store: HubStore;
  try {
    store = new HubStore(o.dataDir);
  } catch (err) {
    io.err(`iotdm hub: cannot open the hub data in ${o.dataDir}: ${(err as Error).message}`);
    return EXIT.error;
  }
  try {
    return run(new DeviceRegistry(store));
  } finally {
    store.close();
  }
}

function deviceAdd(id: string, o: Opts, io: CliIo): number {
  const r = withRegistry(o, io, (registry) => {
    try {
      const d = registry.create(id, { deviceId: id });
      const cs = deviceConnectionString(deviceHost(o), d.deviceId, d.primaryKey!);
      io.out(o.json ? JSON.stringify({ deviceId: d.deviceId, connectionString: cs }) : cs);
      return EXIT.ok;
    } catch (err) {
      if (!(err instanceof HubError)) throw err;
      io.err(`iotdm hub: ${err.message}`);
      return err.errorCode === 409001 ? 1 : err.status === 400 ? EXIT.usage : EXIT.error;
    }
  });
  return r;
}

function deviceList(o: Opts, io: CliIo): number {
  return withRegistry(o, io, (registry) => {
    const rows = registry.list().map((d) => ({
      deviceId: d.deviceId,
      status: d.status,
      authType: d.authType,
      connectionState: d.connectionState,
    }));
    if (o.json) io.out(JSON.stringify(rows));
    else if (rows.length === 0) io.out('(no devices)');
    else
      for (const d of rows)
        io.out(`${d.deviceId}\t${d.status}\t${d.authType}\t${d.connectionState}`);
    return EXIT.ok;
  });
}
