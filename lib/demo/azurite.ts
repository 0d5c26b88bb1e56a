/**
 * Azurite's blob service (npm `azurite`, `azurite-blob`) as a child process on 127.0.0.1 with its
 * data in a given folder: used by `iotdm demo` (devices upload diagnostic logs there) and, through
 * test/storage/azurite.ts, by the tests. `stop()` sends SIGTERM (SIGKILL after a grace period).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { stopChild, track } from './child';

export interface AzuriteProcess {
  /** Shared-key connection string of the emulator's account (`devstoreaccount1`). */
  connectionString: string;
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  blobEndpoint: string;
  port: number;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Azurite's data folder (created when missing). */
  location: string;
  /** Port (default 0: any free port). */
  port?: number;
}

/** The emulator's well-known account and key (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const START_TIMEOUT_MS = 20_000;

/** The `azurite-blob` entry point of the installed package; throws when azurite is missing. */
export function azuriteBlobEntry(): string {
  const pkg = require.resolve('azurite/package.json');
  return path.join(path.dirname(pkg), 'dist', 'src', 'blob', 'main.js');
}

/** Starts azurite-blob and resolves once it listens. */
export async function startAzuriteProcess(o: AzuriteOptions): Promise<AzuriteProcess> {
  mkdirSync(o.location, { recursive: true });
  const child = spawn(
    process.execPath,
    [
      azuriteBlobEntry(),
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(o.port ?? 0),
      '--location',
      o.location,
      '--silent',
      '--skipApiVersionCheck',
      '--loose',
      '--disableTelemetry',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  track(child);
  let port: number;
  try {
    port = await waitForPort(child);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    blobEndpoint,
    port,
    pid: child.pid!,
    child,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};` +
      `AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    stop: () => stopChild(child),
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
    const onExit = (code: number | null, signal: string | null): void => {
      const inUse = /EADDRINUSE/.test(out + err) ? ' (port in use)' : '';
      done(new Error(`azurite exited (${code ?? signal}) before listening${inUse}: ${out}${err}`));
    };
    const onError = (e: Error): void => done(e);
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('exit', onExit);
    child.once('error', onError);
  });
}
