/**
 * What `iotdm service install|uninstall` does, as a list of steps (files to write, commands to
 * run) built without touching the system, so `--dry-run` prints exactly what would run, for
 * either OS from any OS. Linux: a systemd unit running `node <cli> service run --config ...` as
 * root. Windows: node.exe cannot answer the Service Control Manager itself (a bare
 * `sc.exe create binPath= node.exe ...` is killed after 30 s, error 1053), so the service is
 * hosted by WinSW (as examples/background-agent does) and sc.exe sets LocalSystem, automatic
 * start and recovery.
 */
import { existsSync } from 'node:fs';
import { posix, win32 } from 'node:path';
import { DEFAULT_GROUP } from './config';

export const SERVICE_NAME = 'windows-iot-dm';
export const SYSTEMD_UNIT_PATH = `/etc/systemd/system/${SERVICE_NAME}.service`;

export type InstallStep =
  | { kind: 'write'; path: string; mode: number; content: string; ifMissing?: boolean }
  | { kind: 'remove'; path: string }
  | { kind: 'copy'; from: string; to: string }
  | { kind: 'run'; argv: string[]; ignoreFailure?: boolean; unless?: string };

export interface InstallContext {
  platform: 'linux' | 'win32';
  /** node (or node.exe) to run. */
  node: string;
  /** The iotdm CLI entry (lib/cli/main.js, or main.ts run with --import tsx). */
  cli: string;
  config: string;
  group?: string;
  /** Windows: the WinSW executable to host the service. */
  winsw?: string;
  /** Windows: where the WinSW copy and its XML go. */
  installDir?: string;
}

function cliArgs(ctx: InstallContext): string[] {
  return [
    ...(ctx.cli.endsWith('.ts') ? ['--import', 'tsx'] : []),
    ctx.cli,
    'service',
    'run',
    '--config',
    ctx.config,
  ];
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\$`])/g, '\\$1')}"`;
}

export function systemdUnit(ctx: InstallContext): string {
  return `# windows-iot-dm privileged service (written by "iotdm service install"; docs/service.md).
# Holds the native addon (CSPs, TPM, system calls) as root and serves it on
# /run/windows-iot-dm/dm.sock (0660, group ${ctx.group ?? DEFAULT_GROUP}) to unprivileged hosts.
[Unit]
Description=windows-iot-dm privileged device-management service
After=local-fs.target

[Service]
Type=simple
ExecStart=${[ctx.node, ...cliArgs(ctx)].map(quote).join(' ')}
Restart=on-failure
RestartSec=2
# SIGTERM: no new requests; running ones finish and are answered; results saved for retries.
KillSignal=SIGTERM
TimeoutStopSec=30
RuntimeDirectory=windows-iot-dm
RuntimeDirectoryMode=0755
RuntimeDirectoryPreserve=restart
StateDirectory=windows-iot-dm
StateDirectoryMode=0700
LogsDirectory=windows-iot-dm
LogsDirectoryMode=0750
UMask=0077
NoNewPrivileges=yes
ProtectHome=read-only
PrivateTmp=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_UNIX
RestrictRealtime=yes
LockPersonality=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
`;
}

export function defaultConfigText(group: string): string {
  return `${JSON.stringify({ group, policy: { [group]: { get: ['./'], add: ['./'], replace: ['./'], delete: ['./'], exec: ['./'], system: true, tpm: true } } }, null, 2)}\n`;
}

function winswXml(ctx: InstallContext): string {
  const esc = (s: string) =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const args = cliArgs(ctx)
    .map((a) => (/\s/.test(a) ? `"${a}"` : a))
    .join(' ');
  return `<service>
  <id>${SERVICE_NAME}</id>
  <name>windows-iot-dm privileged device-management service</name>
  <description>Holds the local MDM API, TBS and system calls; serves them on \\\\.\\pipe\\windows-iot-dm.</description>
  <executable>${esc(ctx.node)}</executable>
  <arguments>${esc(args)}</arguments>
  <startmode>Automatic</startmode>
  <stoptimeout>30 sec</stoptimeout>
  <log mode="roll-by-size"><sizeThreshold>10240</sizeThreshold><keepFiles>5</keepFiles></log>
  <onfailure action="restart" delay="2 sec"/>
  <onfailure action="restart" delay="10 sec"/>
  <resetfailure>1 day</resetfailure>
</service>
`;
}

export function installPlan(ctx: InstallContext): InstallStep[] {
  const group = ctx.group ?? DEFAULT_GROUP;
  if (ctx.platform === 'linux') {
    return [
      { kind: 'run', argv: ['groupadd', '--system', group], unless: `group ${group} exists` },
      {
        kind: 'write',
        path: ctx.config,
        mode: 0o644,
        content: defaultConfigText(group),
        ifMissing: true,
      },
      { kind: 'write', path: SYSTEMD_UNIT_PATH, mode: 0o644, content: systemdUnit(ctx) },
      { kind: 'run', argv: ['systemctl', 'daemon-reload'] },
      { kind: 'run', argv: ['systemctl', 'enable', '--now', `${SERVICE_NAME}.service`] },
    ];
  }
  const dir = ctx.installDir ?? win32.join('C:\\ProgramData', 'windows-iot-dm', 'service');
  const exe = win32.join(dir, `${SERVICE_NAME}.exe`);
  return [
    {
      kind: 'write',
      path: ctx.config,
      mode: 0o644,
      content: defaultConfigText(group),
      ifMissing: true,
    },
    { kind: 'copy', from: ctx.winsw ?? '<WinSW.exe: --winsw PATH>', to: exe },
    {
      kind: 'write',
      path: win32.join(dir, `${SERVICE_NAME}.xml`),
      mode: 0o644,
      content: winswXml(ctx),
    },
    { kind: 'run', argv: [exe, 'install'] },
    {
      kind: 'run',
      argv: ['sc.exe', 'config', SERVICE_NAME, 'obj=', 'LocalSystem', 'start=', 'auto'],
    },
    {
      kind: 'run',
      argv: [
        'sc.exe',
        'failure',
        SERVICE_NAME,
        'reset=',
        '86400',
        'actions=',
        'restart/2000/restart/10000/restart/60000',
      ],
    },
    { kind: 'run', argv: ['sc.exe', 'start', SERVICE_NAME] },
  ];
}

export function uninstallPlan(ctx: InstallContext, purge: boolean): InstallStep[] {
  if (ctx.platform === 'linux') {
    const steps: InstallStep[] = [
      {
        kind: 'run',
        argv: ['systemctl', 'disable', '--now', `${SERVICE_NAME}.service`],
        ignoreFailure: true,
      },
      { kind: 'remove', path: SYSTEMD_UNIT_PATH },
      { kind: 'run', argv: ['systemctl', 'daemon-reload'] },
    ];
    if (purge) {
      steps.push(
        { kind: 'remove', path: ctx.config },
        { kind: 'remove', path: '/var/lib/windows-iot-dm' },
      );
    }
    return steps;
  }
  const dir = ctx.installDir ?? win32.join('C:\\ProgramData', 'windows-iot-dm', 'service');
  const exe = win32.join(dir, `${SERVICE_NAME}.exe`);
  const steps: InstallStep[] = [
    { kind: 'run', argv: ['sc.exe', 'stop', SERVICE_NAME], ignoreFailure: true },
    { kind: 'run', argv: [exe, 'uninstall'] },
    { kind: 'remove', path: dir },
  ];
  if (purge) steps.push({ kind: 'remove', path: ctx.config });
  return steps;
}

/** One line per step, as --dry-run prints them. */
export function describeStep(step: InstallStep): string {
  switch (step.kind) {
    case 'write':
      return `write ${step.path} (mode ${step.mode.toString(8)}${step.ifMissing ? ', only if missing' : ''}):\n${step.content.replace(/^/gm, '    ')}`;
    case 'remove':
      return `remove ${step.path}`;
    case 'copy':
      return `copy ${step.from} -> ${step.to}`;
    case 'run':
      return `run ${step.argv.map(quote).join(' ')}${step.unless ? ` (unless ${step.unless})` : ''}${step.ignoreFailure ? ' (failure ignored)' : ''}`;
  }
}

/** The CLI entry that is running (for ExecStart / binPath). */
export function currentCli(): string {
  const entry = process.argv[1] ?? '';
  return existsSync(entry) ? entry : posix.join(__dirname, '..', 'cli', 'main.js');
}
