/**
 * Child processes of the benches that run the CLI: spawned until they log `ready`, stopped
 * (SIGTERM, then SIGKILL), their VmRSS read; and whether a compiled dist/ is older than lib/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The checkout, and the compiled CLI and OEM handler the agent benches run. */
export const ROOT = path.resolve(__dirname, '..');
export const DIST_MAIN = path.join(ROOT, 'dist/lib/cli/main.js');
export const DIST_HANDLER = path.join(ROOT, 'dist/examples/oem/branding-handler.js');

export interface ReadyChild {
  proc: ChildProcess;
  /** Milliseconds from `spawnedAt` to the `"msg":"ready"` log line; rejects if it exits first. */
  readyAt: Promise<number>;
  exited: Promise<number | null>;
  stderr(): string;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** `node argv…` with stderr watched for the pino line `"msg":"ready"`. */
export function spawnUntilReady(
  argv: string[],
  env: NodeJS.ProcessEnv,
  spawnedAt: number = now(),
): ReadyChild {
  const proc = spawn(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  const readyAt = new Promise<number>((resolve, reject) => {
    proc.stderr!.on('data', (c: Buffer) => {
      const t = now();
      err += c.toString();
      if (/"msg":"ready"/.test(err)) resolve(t - spawnedAt);
    });
    void exited.then((code) =>
      reject(new Error(`exited (${code}) before ready: ${err.slice(-2000)}`)),
    );
  });
  readyAt.catch(() => undefined);
  return { proc, readyAt, exited, stderr: () => err };
}

/** SIGTERM, then SIGKILL after 5 s. */
export async function stopChild(a: {
  proc: ChildProcess;
  exited: Promise<unknown>;
}): Promise<void> {
  if (a.proc.exitCode !== null || a.proc.signalCode !== null) return;
  a.proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = await Promise.race([
    a.exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), 5000);
    }),
  ]);
  clearTimeout(timer);
  if (killed) {
    a.proc.kill('SIGKILL');
    await a.exited;
  }
}

/** VmRSS of a process, in MB (Linux). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) / 1024;
}

/** The newest modification time of the .ts files under `dir`. */
export function newestTsMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (name.endsWith('.ts')) newest = Math.max(newest, statSync(path.join(dir, name)).mtimeMs);
  }
  return newest;
}
