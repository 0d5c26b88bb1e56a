/**
 * `iotdm demo`: the whole system on this machine (lib/demo/run.ts): the local hub with its DPS,
 * Azurite, swtpm when installed, the attestation service, N simulated devices (agent processes
 * provisioned through the DPS) and the dashboard. Prints the dashboard URL and what to try, a
 * status line per device as it reports, and stops everything on Ctrl+C (SIGINT) or SIGTERM.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DemoError, runDemo, type DemoRun } from '../demo/run';
import { COMMON_OPTIONS, parseCommand } from './args';
import { EXIT, type CliIo } from './io';

/** SIGINT, SIGTERM, or SIGHUP (the terminal closed: the children must not outlive the demo). */
function waitForStopSignal(): Promise<string> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  return new Promise((resolve) => {
    const on = (signal: string): void => {
      for (const s of signals) process.off(s, on);
      resolve(signal);
    };
    for (const s of signals) process.on(s, on);
  });
}

export function defaultDemoDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'windows-iot-dm', 'demo');
}

export const DEMO_HELP = `Usage: iotdm demo [--devices N] [--data DIR] [--fresh] [options]

Runs the whole system on this machine: a local IoT Hub with its Device Provisioning Service,
Azurite (blob storage), swtpm TPM simulators when installed, the Device Health Attestation
service, N simulated Windows IoT devices (each an "iotdm agent" process with its own emulated
device, provisioned through the DPS) and the dashboard on 127.0.0.1. Ctrl+C stops everything.

Options:
  --devices N        how many simulated devices (1-50, default 3)
  --data DIR         where everything is kept between runs (default:
                     $XDG_STATE_HOME/windows-iot-dm/demo, or ~/.local/state/windows-iot-dm/demo)
  --fresh            start from scratch: wipe the data folder first
  --port P           dashboard port (default 8080, or a free one when 8080 is taken; 0 = any)
  --no-tpm           symmetric keys only, even when swtpm is installed
  -h, --help         this help

Exit codes: 0 stopped by Ctrl+C / SIGTERM, 2 usage error, 4 could not start (the reason is
printed: a port in use, a data folder another demo uses, a device that failed to provision).`;

const TRY = (url: string): string[] => [
  '',
  `Dashboard: ${url}`,
  'Try:',
  '  • a device → windowsTelemetry: set level "basic" (or "enhanced": the device refuses it) → Apply',
  '  • a device → Methods → windows.rebootAsync: the emulated device records the reboot',
  '  • Jobs → a method (windows.reportAllAsync) or a twin update on every connected device',
  '  • a device → deviceHealthAttestation { "Endpoint": "has.demo.local", "ReportIntervalInSeconds": 0 }:',
  '    the attestation service checks its health report (see the DHA lines below)',
  'Press Ctrl+C to stop everything.',
  '',
];

export interface DemoCommandDeps {
  waitForStop?: () => Promise<string>;
  env?: NodeJS.ProcessEnv;
  /** Receives the run once it is up (tests). */
  started?: (run: DemoRun) => void;
}

export async function runDemoCommand(
  argv: string[],
  io: CliIo,
  deps: DemoCommandDeps = {},
): Promise<number> {
  const parsed = parseCommand('demo', DEMO_HELP, io, () =>
    parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        devices: { type: 'string' },
        data: { type: 'string' },
        fresh: { type: 'boolean', default: false },
        port: { type: 'string' },
        'no-tpm': { type: 'boolean', default: false },
        ...COMMON_OPTIONS,
      },
    }),
  );
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values;
  const usage = (why: string): number => {
    io.err(`iotdm demo: ${why}\n\n${DEMO_HELP}`);
    return EXIT.usage;
  };
  const devices = v.devices === undefined ? 3 : Number(v.devices);
  if (v.devices !== undefined && (!/^\d+$/.test(v.devices) || devices < 1 || devices > 50)) {
    return usage(`--devices must be 1-50, not "${v.devices}"`);
  }
  if (v.port !== undefined && (!/^\d+$/.test(v.port) || Number(v.port) > 65535)) {
    return usage(`--port must be a port number, not "${v.port}"`);
  }
  const dataDir = path.resolve(v.data ?? defaultDemoDataDir(deps.env ?? process.env));
  // A closed terminal or pipe must not end the demo before it has stopped its children.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  // Listening from the start: a Ctrl+C while starting stops what was started.
  const stopped = (deps.waitForStop ?? waitForStopSignal)();
  io.out(`Starting the demo in ${dataDir}${v.fresh ? ' (fresh)' : ''}…`);
  let run: DemoRun;
  try {
    run = await runDemo({
      dataDir,
      devices,
      fresh: v.fresh,
      ...(v['no-tpm'] ? { tpm: false } : {}),
      ...(v.port !== undefined ? { dashboardPort: Number(v.port) } : {}),
      print: (line) => io.out(line),
    });
  } catch (err) {
    io.err(
      `iotdm demo: ${err instanceof DemoError ? '' : 'cannot start: '}${(err as Error).message}`,
    );
    return EXIT.error;
  }
  deps.started?.(run);
  io.out(TRY(run.dashboardUrl).join('\n'));
  const signal = await stopped;
  io.out(`Stopping (${signal})…`);
  // A second Ctrl+C must not kill this process half-way: its children would stay behind.
  const again = (): void => io.out('Still stopping (every child gets at most 5 s)…');
  if (!deps.waitForStop) {
    process.on('SIGINT', again);
    process.on('SIGTERM', again);
    process.on('SIGHUP', again);
  }
  try {
    await run.stop();
  } finally {
    process.off('SIGINT', again);
    process.off('SIGTERM', again);
    process.off('SIGHUP', again);
  }
  io.out('Stopped: every process of the demo has ended.');
  return EXIT.ok;
}
