/**
 * Test fixture: a real Azurite blob service (npm `azurite`, `azurite-blob`) in a child process
 * on 127.0.0.1 and an ephemeral port, with its data in a fresh temporary folder. `stop()` sends
 * SIGTERM (SIGKILL after a grace period) and removes the folder.
 *
 *   const azurite = await startAzurite();
 *   const storage = new BlobExternalStorage({ connectionString: azurite.connectionString });
 *   ...
 *   await azurite.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface AzuriteHandle {
  /** Shared-key connection string of the emulator's account (`devstoreaccount1`). */
  connectionString: string;
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  blobEndpoint: string;
  stop(): Promise<void>;
}

/** The emulator's well-known account and key (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 3_000;

/** Children still running; killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHook = false;

function azuriteBlobEntry(): string {
  const pkg = require.resolve('azurite/package.json');
  return path.join(path.dirname(pkg), 'dist', 'src', 'blob', 'main.js');
}

/** Starts azurite-blob and resolves once it listens. */
export async function startAzurite(): Promise<AzuriteHandle> {
  const location = await fsp.mkdtemp(path.join(os.tmpdir(), 'wdm-azurite-'));
  const child = spawn(
    process.execPath,
    [
      azuriteBlobEntry(),
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      '--location',
      location,
      '--silent',
      '--skipApiVersionCheck',
      '--loose',
      '--disableTelemetry',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  let port: number;
  try {
    port = await waitForPort(child);
  } catch (err) {
    await kill(child);
    await fsp.rm(location, { recursive: true, force: true });
    throw err;
  }
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  let stopped: Promise<void> | undefined;
  return {
    blobEndpoint,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};` +
      `AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    stop: () =>
      (stopped ??= (async () => {
        await kill(child);
        await fsp.rm(location, { recursive: true, force: true });
      })()),
  };
}

/** Reads the "successfully listens on http://127.0.0.1:<port>" line. */
function waitForPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => done(new Error(`azurite did not start in ${START_TIMEOUT_MS} ms: ${out}${err}`)),
      START_TIMEOUT_MS,
    );
    const done = (e: Error | undefined, port?: number): void => {
      clearTimeout(timer);
      child.stdout?.removeListener('data', onOut);
      child.removeListener('exit', onExit);
      child.removeListener('error', onError);
      // Keep draining the pipes so the child never blocks on a full one.
      child.stdout?.resume();
      child.stderr?.resume();
      if (e) reject(e);
      else resolve(port!);
    };
    const onOut = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /successfully listens on https?:\/\/[^:\s]+:(\d+)/.exec(out);
      if (m) done(undefined, Number(m[1]));
    };
    const onExit = (code: number | null, signal: string | null): void =>
      done(new Error(`azurite exited (${code ?? signal}) before listening: ${out}${err}`));
    const onError = (e: Error): void => done(e);
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Mocha hooks: one Azurite for the enclosing `describe` (started in `before`, stopped in
 * `after`); `set` receives the handle.
 */
export function useAzurite(set: (azurite: AzuriteHandle) => void): void {
  let handle: AzuriteHandle | undefined;
  before(async () => {
    handle = await startAzurite();
    set(handle);
  });
  after(async () => {
    await handle?.stop();
  });
}
