/**
 * Test fixture: a private swtpm TPM 2.0 simulator on 127.0.0.1 (ephemeral ports) or a Unix
 * socket, with a fresh state folder holding the RSA/ECC EKs and EK certificates that
 * `swtpm_setup --createek --create-ek-cert` writes. The manufactured state is made once per process
 * and copied for each start, so every simulator starts from the same factory state.
 */
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface SwtpmHandle {
  host: string;
  /** Data port (mssim framing over TCP); 0 when the data channel is a Unix socket. */
  port: number;
  /** Control channel port (data port + 1, as tpm2-tools' swtpm TCTI expects); 0 with a Unix socket (then `<socketPath>.ctrl`). */
  ctrlPort: number;
  /** The data channel's Unix socket path (raw TPM commands), with `unixSocket: true`. */
  socketPath?: string;
  stateDir: string;
  /** TPM2TOOLS_TCTI value for tpm2-tools: `swtpm:host=127.0.0.1,port=N` (or `swtpm:path=...`). */
  tcti: string;
  stop(): Promise<void>;
}

export interface SwtpmOptions {
  /** Data channel over a Unix socket (raw command bytes) instead of TCP. */
  unixSocket?: boolean;
}

let templateDir: Promise<string> | undefined;

/** Manufactures the TPM state once (EKs persisted at 0x81010001/0x81010016, certs in NV). */
function manufacturedState(): Promise<string> {
  templateDir ??= (async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'iotdm-swtpm-template-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await execFileAsync('swtpm_setup', [
      '--tpm2',
      '--tpmstate',
      dir,
      '--createek',
      '--create-ek-cert',
      '--overwrite',
    ]);
    return dir;
  })();
  return templateDir;
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

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function launch(stateDir: string, options: SwtpmOptions): Promise<SwtpmHandle | 'clash'> {
  const host = '127.0.0.1';
  // tpm2-tools' swtpm TCTI expects the control channel on data port + 1 (or `<path>.ctrl`).
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
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const target = socketPath ? { path: socketPath } : { host, port };
  for (let i = 0; i < 200; i += 1) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (/address already in use|bind/i.test(stderr + log)) return 'clash';
      throw new Error(`swtpm exited (${child.exitCode ?? child.signalCode}): ${stderr}${log}`);
    }
    if (await canConnect(target)) break;
    await delay(25);
    if (i === 199) {
      child.kill('SIGKILL');
      throw new Error('swtpm did not open its data channel within 5 s');
    }
  }
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited(child);
        clearTimeout(timer);
      }
      rmSync(stateDir, { recursive: true, force: true });
    })();
    return stopped;
  };
  return {
    host,
    port,
    ctrlPort,
    ...(socketPath ? { socketPath } : {}),
    stateDir,
    tcti: socketPath ? `swtpm:path=${socketPath}` : `swtpm:host=${host},port=${port}`,
    stop,
  };
}

/** Starts a private swtpm with factory state; `stop()` kills it and removes its folder. */
export async function startSwtpm(options: SwtpmOptions = {}): Promise<SwtpmHandle> {
  const template = await manufacturedState();
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'iotdm-swtpm-'));
    cpSync(template, stateDir, { recursive: true });
    try {
      const handle = await launch(stateDir, options);
      if (handle !== 'clash') return handle;
    } catch (error) {
      rmSync(stateDir, { recursive: true, force: true });
      throw error;
    }
    rmSync(stateDir, { recursive: true, force: true });
  }
  throw new Error('swtpm: no free port pair after 5 attempts');
}
