/**
 * swtpm, the TPM 2.0 simulator, as a child process: `manufactureSwtpm` makes a TPM's factory
 * state in a folder (EKs persisted by `swtpm_setup --createek`), `launchSwtpm` serves a state
 * folder on 127.0.0.1 (a free pair of adjacent ports: data, then control, as tpm2-tools' swtpm
 * TCTI expects) or on a Unix socket. Used by `iotdm demo` (one simulator per TPM device, state
 * kept in the demo's data folder) and, through test/tpm/swtpm.ts, by the tests.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { exited, stopChild, track } from './child';

const execFileAsync = promisify(execFile);

export const SWTPM_INSTALL_HINT = 'sudo apt-get install swtpm swtpm-tools';

export interface SwtpmProcess {
  host: string;
  /** Data port (mssim framing over TCP); 0 when the data channel is a Unix socket. */
  port: number;
  /** Control channel port (data port + 1); 0 with a Unix socket (then `<socketPath>.ctrl`). */
  ctrlPort: number;
  /** The data channel's Unix socket path (raw TPM commands), with `unixSocket: true`. */
  socketPath?: string;
  stateDir: string;
  /** TPM2TOOLS_TCTI value for tpm2-tools: `swtpm:host=127.0.0.1,port=N` (or `swtpm:path=...`). */
  tcti: string;
  pid: number;
  child: ChildProcess;
  /** Stops the simulator (SIGTERM, SIGKILL after 2 s); the state folder stays. */
  stop(): Promise<void>;
}

export interface SwtpmLaunchOptions {
  /** Data channel over a Unix socket (raw command bytes) instead of TCP. */
  unixSocket?: boolean;
}

/** Whether `swtpm` and `swtpm_setup` are on the PATH. */
export function swtpmInstalled(env: NodeJS.ProcessEnv = process.env): boolean {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const has = (name: string): boolean => dirs.some((d) => existsSync(path.join(d, name)));
  return has('swtpm') && has('swtpm_setup');
}

/**
 * Manufactures a TPM in `stateDir` (created when missing): EKs persisted at 0x81010001 /
 * 0x81010016, and with `ekCert` their certificates in NV (swtpm-tools' local CA).
 */
export async function manufactureSwtpm(stateDir: string, ekCert = false): Promise<void> {
  mkdirSync(stateDir, { recursive: true });
  await execFileAsync('swtpm_setup', [
    '--tpm2',
    '--tpmstate',
    stateDir,
    '--createek',
    ...(ekCert ? ['--create-ek-cert'] : []),
    '--overwrite',
  ]);
}

/** Binds `port` (0: any) on 127.0.0.1, then closes; resolves the port, or 0 when taken. */
function probePort(port: number): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(0));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}

/** A port N free at the time of asking with N + 1 free too (the control channel). */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i += 1) {
    const port = await probePort(0);
    if (port > 0 && port < 65535 && (await probePort(port + 1)) === port + 1) return port;
  }
  throw new Error('no free pair of adjacent ports on 127.0.0.1');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function canConnect(target: { host: string; port: number } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket =
      'path' in target ? net.connect(target.path) : net.connect(target.port, target.host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** One attempt: 'clash' when another process took the ports between probing and binding. */
async function launchOnce(
  stateDir: string,
  options: SwtpmLaunchOptions,
): Promise<SwtpmProcess | 'clash'> {
  const host = '127.0.0.1';
  const port = options.unixSocket ? 0 : await freePortPair();
  const ctrlPort = options.unixSocket ? 0 : port + 1;
  const socketPath = options.unixSocket ? path.join(stateDir, 'tpm.sock') : undefined;
  const server = socketPath
    ? `type=unixio,path=${socketPath}`
    : `type=tcp,port=${port},bindaddr=${host}`;
  const logFile = path.join(stateDir, 'swtpm.log');
  const child = spawn(
    'swtpm',
    [
      'socket',
      '--tpm2',
      '--server',
      server,
      '--ctrl',
      socketPath
        ? `type=unixio,path=${socketPath}.ctrl`
        : `type=tcp,port=${ctrlPort},bindaddr=${host}`,
      '--tpmstate',
      `dir=${stateDir}`,
      '--flags',
      'not-need-init,startup-clear',
      '--log',
      `file=${logFile},level=1`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  track(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const target = socketPath ? { path: socketPath } : { host, port };
  for (let i = 0; ; i += 1) {
    if (exited(child)) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (/address already in use|bind/i.test(stderr + log)) return 'clash';
      throw new Error(`swtpm exited (${child.exitCode ?? child.signalCode}): ${stderr}${log}`);
    }
    if (child.pid === undefined) throw await spawnError;
    if (await canConnect(target)) break;
    if (i === 200) {
      child.kill('SIGKILL');
      throw new Error('swtpm did not open its data channel within 5 s');
    }
    await delay(25);
  }
  return {
    host,
    port,
    ctrlPort,
    ...(socketPath ? { socketPath } : {}),
    stateDir,
    tcti: socketPath ? `swtpm:path=${socketPath}` : `swtpm:host=${host},port=${port}`,
    pid: child.pid,
    child,
    stop: () => stopChild(child, 2000),
  };
}

/** Serves the TPM state in `stateDir`; retries when the probed ports were taken meanwhile. */
export async function launchSwtpm(
  stateDir: string,
  options: SwtpmLaunchOptions = {},
): Promise<SwtpmProcess> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const handle = await launchOnce(stateDir, options);
    if (handle !== 'clash') return handle;
  }
  throw new Error('swtpm: no free port pair after 5 attempts');
}
