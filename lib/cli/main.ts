#!/usr/bin/env node
/**
 * `iotdm`: the package's command line. Each command lives in its own module, loaded only when
 * that command runs (the agent is a long-running process: it must not carry the hub's
 * MQTT broker, SQLite and certificate code, nor their start-up time).
 */
import { EXIT, processIo, type CliIo } from './io';
import { applyAgentMemorySettings } from './agent-memory';

/* eslint-disable @typescript-eslint/no-require-imports -- lazy, synchronous loading of commands */
const commands = {
  agent: (): typeof import('./agent-command') => require('./agent-command'),
  attest: (): typeof import('./attest-command') => require('./attest-command'),
  csp: (): typeof import('./csp-command') => require('./csp-command'),
  dashboard: (): typeof import('./dashboard-command') => require('./dashboard-command'),
  demo: (): typeof import('./demo-command') => require('./demo-command'),
  hub: (): typeof import('./hub-command') => require('./hub-command'),
  provision: (): typeof import('./provision-command') => require('./provision-command'),
  service: (): typeof import('./service-command') => require('./service-command'),
  tpm: (): typeof import('./tpm-command') => require('./tpm-command'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export const MAIN_HELP = `Usage: iotdm <command> [options]

Commands:
  agent    run the device-management agent (IoT Hub twin and methods → CSPs) until stopped
  attest   run the Device Health Attestation service (nonces, reports, remediation)
  csp      perform CSP operations (get, list, add, set, delete, exec, syncml)
  dashboard  serve the device-management dashboard (web UI) for an IoT Hub or the local hub
  demo     run the whole system locally: hub, DPS, storage, TPMs, devices, dashboard
  hub      run a local IoT Hub, manage its devices (start, device add, device list)
  provision  register with a Device Provisioning Service (symmetric key, X.509, TPM)
  service  the privileged DM service for unprivileged hosts (run, install, uninstall, status)
  tpm      the TPM: EK, registration id, slots, keys, SAS tokens (Limpet's commands)

Run "iotdm <command> --help" for a command's options.`;

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'agent':
      return commands.agent().runAgent(rest, io);
    case 'attest':
      return commands.attest().runAttest(rest, io);
    case 'csp':
      return commands.csp().runCsp(rest, io);
    case 'dashboard':
      return commands.dashboard().runDashboard(rest, io);
    case 'demo':
      return commands.demo().runDemoCommand(rest, io);
    case 'hub':
      return commands.hub().runHub(rest, io);
    case 'tpm':
      return commands.tpm().runTpm(rest, io);
    case 'provision':
      return commands.provision().runProvision(rest, io);
    case 'service':
      return commands.service().runService(rest, io);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      io.out(MAIN_HELP);
      return command === undefined ? EXIT.usage : EXIT.ok;
    default:
      io.err(`iotdm: unknown command "${command}"\n\n${MAIN_HELP}`);
      return EXIT.usage;
  }
}

if (require.main === module) {
  // The agent is a long-running process: its memory settings (docs/memory.md) are made here,
  // before its modules load and its first MQTT packet, and only when it runs as the program.
  if (process.argv[2] === 'agent') applyAgentMemorySettings();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`iotdm: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = EXIT.error;
    },
  );
}
