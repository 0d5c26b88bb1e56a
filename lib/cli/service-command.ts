/**
 * `iotdm service run|install|uninstall|status`: the privileged DM service (docs/service.md).
 * `run` serves the addon on the socket / pipe of the config file until SIGINT/SIGTERM (then
 * stops cleanly); `install` / `uninstall` register it with systemd or the Windows service
 * manager (`--dry-run` prints the steps, for either OS with `--platform`); `status` says whether
 * it is installed, running, its version, and whether this user may use it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { ServiceError } from '../errors';
import { COMMON_OPTIONS, parseCommand } from './args';
import { EXIT, type CliIo } from './io';

export const SERVICE_HELP = `Usage: iotdm service <run|install|uninstall|status> [options]

The privileged half of the host/service split: it holds the native addon (local MDM API, TPM,
system calls) and serves it to unprivileged hosts (connectService()) on a local socket.

Subcommands:
  run         serve until SIGINT/SIGTERM (what the installed service runs)
  install     register it: systemd unit (Linux) or a WinSW-hosted Windows service (LocalSystem)
  uninstall   remove it (--purge also removes the config and saved results)
  status      installed? running? version? socket reachable? allowed for this user?

Options:
  --config FILE      the service config (default /etc/windows-iot-dm/service.json,
                     %ProgramData%\\windows-iot-dm\\service.json on Windows)
  --socket PATH      status: the socket / pipe to try (default: from the config)
  --group NAME       install: the group admitted to the socket (default iotdm)
  --winsw EXE        install (Windows): the WinSW executable that hosts the service
  --dry-run          install/uninstall: print the steps, change nothing
  --platform P       with --dry-run: linux or win32 (default: this system)
  --purge            uninstall: also remove the config file and saved results
  --json             JSON output (status)
  -h, --help         this help

Exit codes: 0 done (status: reachable and allowed), 2 usage, 3 service missing/stopped/refused,
4 other error.`;

function log(io: CliIo): (line: string) => void {
  return (line) => io.err(`iotdm service: ${line}`);
}

async function run(config: string | undefined, io: CliIo): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadServiceConfig } = require('../service/config') as typeof import('../service/config');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startService } = require('../service/server') as typeof import('../service/server');
  const cfg = loadServiceConfig(config);
  const service = await startService({ config: cfg, log: log(io) });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      io.err(`iotdm service: ${signal}: stopping (running requests finish first)`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await service.close();
  return EXIT.ok;
}

async function plan(
  sub: 'install' | 'uninstall',
  values: {
    config?: string;
    group?: string;
    winsw?: string;
    'dry-run': boolean;
    platform?: string;
    purge: boolean;
  },
  io: CliIo,
): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const install = require('../service/install') as typeof import('../service/install');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { defaultConfigPath } = require('../service/config') as typeof import('../service/config');
  const platform = (values.platform ?? (process.platform === 'win32' ? 'win32' : 'linux')) as
    'linux' | 'win32';
  if (platform !== 'linux' && platform !== 'win32') {
    io.err(`iotdm service: --platform must be linux or win32\n\n${SERVICE_HELP}`);
    return EXIT.usage;
  }
  if (values.platform !== undefined && !values['dry-run'] && values.platform !== process.platform) {
    io.err('iotdm service: --platform is only for --dry-run');
    return EXIT.usage;
  }
  const ctx = {
    platform,
    node: process.execPath,
    cli: install.currentCli(),
    config:
      values.config ??
      (platform === process.platform
        ? defaultConfigPath()
        : platform === 'win32'
          ? 'C:\\ProgramData\\windows-iot-dm\\service.json'
          : '/etc/windows-iot-dm/service.json'),
    ...(values.group !== undefined ? { group: values.group } : {}),
    ...(values.winsw !== undefined ? { winsw: values.winsw } : {}),
  };
  if (
    sub === 'install' &&
    platform === 'win32' &&
    values.winsw === undefined &&
    !values['dry-run']
  ) {
    io.err(
      'iotdm service install: on Windows the service is hosted by WinSW (node.exe cannot answer the service manager): download WinSW-x64.exe (https://github.com/winsw/winsw) and pass --winsw PATH',
    );
    return EXIT.usage;
  }
  const steps =
    sub === 'install' ? install.installPlan(ctx) : install.uninstallPlan(ctx, values.purge);
  if (values['dry-run']) {
    io.out(`iotdm service ${sub} (${platform}) would:`);
    for (const step of steps) io.out(`- ${install.describeStep(step)}`);
    return EXIT.ok;
  }
  if (process.platform !== 'win32' && process.getuid?.() !== 0) {
    io.err(`iotdm service ${sub}: run it as root (sudo iotdm service ${sub})`);
    return EXIT.unavailable;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { groupId } = require('../service/peer') as typeof import('../service/peer');
  for (const step of steps) {
    io.err(`iotdm service: ${install.describeStep(step).split('\n')[0]}`);
    switch (step.kind) {
      case 'write':
        if (step.ifMissing && existsSync(step.path)) break;
        mkdirSync(dirname(step.path), { recursive: true });
        writeFileSync(step.path, step.content, { mode: step.mode });
        break;
      case 'remove':
        rmSync(step.path, { recursive: true, force: true });
        break;
      case 'copy':
        mkdirSync(dirname(step.to), { recursive: true });
        cpSync(step.from, step.to);
        break;
      case 'run': {
        if (step.unless?.startsWith('group ') && groupId(values.group ?? 'iotdm') !== undefined)
          break;
        const r = spawnSync(step.argv[0]!, step.argv.slice(1), { stdio: 'inherit' });
        if (r.status !== 0 && !step.ignoreFailure) {
          io.err(
            `iotdm service ${sub}: "${step.argv.join(' ')}" failed (${r.error?.message ?? `exit ${r.status}`})`,
          );
          return EXIT.error;
        }
      }
    }
  }
  return EXIT.ok;
}

function sh(argv: string[]): string | undefined {
  try {
    return execFileSync(argv[0]!, argv.slice(1), {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch (err) {
    const out = (err as { stdout?: string }).stdout;
    return typeof out === 'string' && out !== '' ? out.trim() : undefined;
  }
}

async function status(
  values: { config?: string; socket?: string; json: boolean },
  io: CliIo,
): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadServiceConfig } = require('../service/config') as typeof import('../service/config');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { connectService } = require('../service/client') as typeof import('../service/client');
  const { SYSTEMD_UNIT_PATH, SERVICE_NAME } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../service/install') as typeof import('../service/install');
  let socket = values.socket;
  if (socket === undefined) {
    try {
      socket = loadServiceConfig(values.config).socket;
    } catch (err) {
      io.err(`iotdm service status: ${(err as Error).message}`);
      return EXIT.error;
    }
  }
  const win = process.platform === 'win32';
  const installed = win
    ? sh(['sc.exe', 'query', SERVICE_NAME])?.includes('SERVICE_NAME') === true
    : existsSync(SYSTEMD_UNIT_PATH);
  const active = win
    ? /RUNNING/.test(sh(['sc.exe', 'query', SERVICE_NAME]) ?? '')
    : sh(['systemctl', 'is-active', `${SERVICE_NAME}.service`]);
  const client = connectService({ path: socket, connectTimeoutMs: 3000 });
  const report: Record<string, unknown> = { installed, running: active, socket };
  let code: number = EXIT.ok;
  try {
    const hello = await client.connect();
    report.reachable = true;
    report.version = hello.packageVersion;
    report.allowed = true;
  } catch (err) {
    report.reachable = false;
    if (err instanceof ServiceError) {
      report.error = err.code;
      report.allowed = err.code === 'ERR_SERVICE_ACCESS_DENIED' ? false : undefined;
      report.fix = err.fix;
      report.message = err.message;
    } else {
      report.message = (err as Error).message;
    }
    code = EXIT.unavailable;
  } finally {
    await client.close();
  }
  if (values.json) {
    io.out(JSON.stringify(report, null, 2));
  } else {
    io.out(`installed: ${installed ? 'yes' : 'no'}${win ? '' : ` (${SYSTEMD_UNIT_PATH})`}`);
    io.out(`running:   ${String(active ?? 'unknown')}`);
    io.out(
      `socket:    ${socket} ${report.reachable === true ? 'reachable' : `not reachable (${String(report.error ?? '')})`}`,
    );
    if (report.version !== undefined) io.out(`version:   ${String(report.version)}`);
    io.out(
      `this user: ${report.allowed === true ? 'allowed' : report.allowed === false ? 'refused' : 'unknown'}`,
    );
    if (report.message !== undefined) io.out(`problem:   ${String(report.message)}`);
  }
  return code;
}

export async function runService(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const parsed = parseCommand('service', SERVICE_HELP, io, () =>
    parseArgs({
      args: rest,
      allowPositionals: false,
      options: {
        ...COMMON_OPTIONS,
        config: { type: 'string' },
        socket: { type: 'string' },
        group: { type: 'string' },
        winsw: { type: 'string' },
        platform: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        purge: { type: 'boolean', default: false },
      },
    }),
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  switch (sub) {
    case 'run':
      return run(values.config, io);
    case 'install':
    case 'uninstall':
      return plan(sub, values, io);
    case 'status':
      return status(values, io);
    case undefined:
    case '-h':
    case '--help':
      io.out(SERVICE_HELP);
      return sub === undefined ? EXIT.usage : EXIT.ok;
    default:
      io.err(`iotdm service: unknown subcommand "${sub}"\n\n${SERVICE_HELP}`);
      return EXIT.usage;
  }
}
