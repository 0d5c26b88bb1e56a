/**
 * Runs the toaster app (README.md):
 *
 *   npx tsx examples/toaster/main.ts --local
 *       a self-contained try: a local IoT Hub in a temporary folder, a device "toaster" in it,
 *       the DM dashboard over that hub, and the toaster; prints both URLs
 *   IOTDM_CONNECTION_STRING='HostName=...' npx tsx examples/toaster/main.ts --ca ca.pem
 *       against a running hub (`iotdm hub` + `iotdm hub device add toaster`, or Azure IoT Hub)
 *
 * Ctrl+C stops everything it started and removes its temporary folders. The connection string
 * is never printed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startDashboard, type Dashboard, type LogLevel } from '../../lib';
import { LocalHub } from '../../lib/hub/hub';
import { startToaster, type ToasterApp } from './app';

const HELP = `Usage: npx tsx examples/toaster/main.ts [options]

  --local                     start a local IoT Hub (temporary folder), a device "toaster" and the
                              DM dashboard too: a self-contained try
  --connection-string-file F  the device connection string in a file
                              (or $IOTDM_CONNECTION_STRING; --connection-string CS also works)
  --ca FILE                   trust this CA (PEM), e.g. the local hub's <data>/tls/ca.pem
  --state-dir DIR             the DM client's state (default: $XDG_STATE_HOME/windows-iot-dm/toaster)
  --port N                    the toaster page's port on 127.0.0.1 (default 8090; 0 = any)
  --recheck-ms N              how often a refused reboot is asked for again (default 60000)
  --log-level LEVEL           silent, error, warn (default), info, debug
  -h, --help                  this help`;

function fail(message: string): never {
  console.error(`toaster: ${message}\n\n${HELP}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        local: { type: 'boolean', default: false },
        'connection-string': { type: 'string' },
        'connection-string-file': { type: 'string' },
        ca: { type: 'string' },
        'state-dir': { type: 'string' },
        port: { type: 'string' },
        'recheck-ms': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    console.log(HELP);
    return;
  }
  const num = (name: string, v: string | undefined, min: number): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min) fail(`--${name} must be a whole number ≥ ${min}`);
    return Number(v);
  };
  const port = num('port', values.port, 0) ?? 8090;
  const recheckMs = num('recheck-ms', values['recheck-ms'], 1);
  const logLevel = (values['log-level'] ?? 'warn') as LogLevel;
  if (!['silent', 'error', 'warn', 'info', 'debug', 'trace'].includes(logLevel)) {
    fail('--log-level must be silent, error, warn, info, debug or trace');
  }

  const cleanups: Array<() => Promise<void> | void> = [];
  let connectionString: string;
  let ca: string | undefined;
  let dashboard: Dashboard | undefined;
  let stateDir = values['state-dir'];
  if (values.local) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'iotdm-toaster-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const hub = await LocalHub.start({ dataDir: path.join(dir, 'hub'), mqttPort: 0, httpsPort: 0 });
    cleanups.push(() => hub.stop());
    hub.core.registry.create('toaster');
    connectionString = hub.deviceConnectionString('toaster');
    ca = hub.tls.caCertPem;
    stateDir ??= path.join(dir, 'dm');
    dashboard = await startDashboard({ connectionString: hub.connectionString, ca, port: 0 });
    cleanups.push(() => dashboard?.close());
  } else {
    const fromArg = values['connection-string'];
    const fromEnv = process.env.IOTDM_CONNECTION_STRING?.trim();
    const file = values['connection-string-file'];
    if (fromArg) connectionString = fromArg.trim();
    else if (fromEnv) connectionString = fromEnv;
    else if (file) {
      try {
        connectionString = readFileSync(file, 'utf8').trim();
      } catch {
        fail(`cannot read --connection-string-file ${file}`);
      }
    } else {
      fail(
        'no device connection string: give --local, $IOTDM_CONNECTION_STRING or --connection-string-file',
      );
    }
    if (values.ca) {
      try {
        ca = readFileSync(values.ca, 'utf8');
      } catch {
        fail(`cannot read --ca ${values.ca}`);
      }
    }
  }
  stateDir ??= path.join(
    process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'),
    'windows-iot-dm',
    'toaster',
  );

  let app: ToasterApp;
  try {
    app = await startToaster({
      connectionString,
      ...(ca !== undefined ? { ca } : {}),
      stateDir,
      port,
      ...(recheckMs !== undefined ? { recheckMs } : {}),
      logLevel,
    });
  } catch (err) {
    for (const c of cleanups.reverse()) await c();
    const msg = (err as Error).message.split(connectionString).join('[connection string]');
    console.error(`toaster: cannot start: ${msg}`);
    process.exit(5);
  }
  console.log(`Toaster ${app.deviceId}: ${app.url}`);
  if (dashboard) {
    console.log(`DM dashboard:  ${dashboard.url}#/device/${app.deviceId}`);
    console.log(
      'Try: start toasting, then "Reboot now" in the dashboard; allow it in the toaster.',
    );
  }
  console.log('Ctrl+C stops.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await app.close();
  for (const c of cleanups.reverse()) await c();
}

main().catch((err: unknown) => {
  console.error(`toaster: ${(err as Error).message}`);
  process.exit(4);
});
