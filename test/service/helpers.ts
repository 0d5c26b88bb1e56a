/**
 * Helpers for the service tests: a temporary service config, a service started in process or as
 * a child (`iotdm service run`), a raw protocol client (to send what connectService never would),
 * and the emulator's persisted reboot counter (the Exec count that survives a service restart).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServiceConfig, type ServiceConfig } from '../../lib/service/config';
import { FrameDecoder, encodeFrame, PROTOCOL_VERSION } from '../../lib/service/protocol';

export const ROOT = join(__dirname, '..', '..');
export const CLI = join(ROOT, 'lib', 'cli', 'main.ts');

export interface TempService {
  dir: string;
  socket: string;
  audit: string;
  config(extra?: Record<string, unknown>): ServiceConfig;
  configFile(extra?: Record<string, unknown>): string;
  cleanup(): void;
}

/** A temp folder (mode 0755 so an unprivileged child reaches the socket) with file names. */
export function tempService(): TempService {
  const dir = mkdtempSync(join(tmpdir(), 'wdm-service-'));
  chmodSync(dir, 0o755);
  const socket = join(dir, 'dm.sock');
  const audit = join(dir, 'audit.jsonl');
  const raw = (extra: Record<string, unknown> = {}) => ({
    socket,
    auditLog: audit,
    resultCacheFile: join(dir, 'results.json'),
    ...extra,
  });
  return {
    dir,
    socket,
    audit,
    config: (extra) => parseServiceConfig(raw(extra)),
    configFile: (extra) => {
      const file = join(dir, 'service.json');
      writeFileSync(file, JSON.stringify(raw(extra)));
      return file;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `iotdm service run --config FILE` as a child; resolves once it listens. */
export async function startChildService(
  configFile: string,
  env: NodeJS.ProcessEnv,
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'service', 'run', '--config', configFile],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the service exited (${code}): ${stderr}`)));
  });
  return child;
}

export function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}

/** The emulator's persisted reboot count (one per successful RebootNow Exec, every process). */
export function rebootCount(stateFile: string): number {
  try {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      events?: { reboot?: { count?: number } };
    };
    return state.events?.reboot?.count ?? 0;
  } catch {
    return 0;
  }
}

/** A client speaking the wire protocol by hand. */
export class RawClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  readonly #decoder = new FrameDecoder(64 * 1024 * 1024);
  readonly #queue: unknown[] = [];
  #waiters: Array<(m: unknown) => void> = [];

  constructor(path: string) {
    this.socket = createConnection(path);
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('data', (chunk: Buffer) => {
      for (const e of this.#decoder.push(chunk)) {
        if (e.kind !== 'message') continue;
        const w = this.#waiters.shift();
        if (w) w(e.value);
        else this.#queue.push(e.value);
      }
    });
  }

  send(message: unknown): void {
    this.socket.write(encodeFrame(message));
  }

  next(): Promise<Record<string, unknown>> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued as Record<string, unknown>);
    return new Promise((resolve) => this.#waiters.push(resolve as (m: unknown) => void));
  }

  async hello(
    clientId = 'raw-client',
    protocol = PROTOCOL_VERSION,
  ): Promise<Record<string, unknown>> {
    this.send({ t: 'hello', protocol, packageVersion: 'test', clientId });
    return this.next();
  }
}
