/**
 * `iotdm agent` as a child process for the fault-injection test and the soak script: spawned
 * through tsx (like `npm run iotdm`), with its own CSP emulator state file and DM state folder,
 * its JSON log lines parsed, killed with SIGKILL (or stopped with SIGTERM) and started again.
 * Also a seeded PRNG (mulberry32) and the emulator state file reader both scripts share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const MAIN = path.join(ROOT, 'lib/cli/main.ts');
let bundled: string | undefined;

/**
 * The CLI as one CommonJS file (esbuild, packages left external), so that each of the many
 * agent starts skips tsx's on-the-fly compilation (about 1 s of every restart). It lives under
 * build/fault/ in the package, so the package root (native addon, emulator library) is found as from
 * lib/. Undefined when esbuild (tsx's own dependency) cannot be loaded: tsx is used instead.
 */
export function bundleCli(): string | undefined {
  if (bundled) return bundled;
  let esbuild: { buildSync(o: Record<string, unknown>): unknown };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional, tsx brings it
    esbuild = require('esbuild') as typeof esbuild;
  } catch {
    return undefined;
  }
  // One file per process (test runs may overlap), removed when the process exits.
  const outfile = path.join(ROOT, 'build/fault', `iotdm-${process.pid}.cjs`);
  esbuild.buildSync({
    entryPoints: [MAIN],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    packages: 'external',
    target: 'node20',
    outfile,
    logLevel: 'warning',
  });
  process.on('exit', () => rmSync(outfile, { force: true }));
  return (bundled = outfile);
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface AgentProcessOptions {
  connectionString: string;
  caPath: string;
  stateDir: string;
  /** The CSP emulator's state file (WINDOWS_IOT_DM_EMULATOR_STATE) of this device. */
  emulatorState: string;
  logLevel?: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Arguments for node itself (before the script), e.g. `--require probe.cjs`. */
  nodeArgs?: string[];
  /** The CLI bundled by `bundleCli()`; without it, lib/cli/main.ts through tsx. */
  bundle?: string;
  /** Appends every log line there (debugging). */
  logFile?: string;
  /** Every parsed log line, from every incarnation. */
  onLine?: (line: LogLine) => void;
}

/** One agent process at a time; `start` again after `kill`/`stop`. */
export class AgentProcess {
  child: ChildProcess | undefined;
  /** Incarnations started. */
  starts = 0;
  /** Unexpected exits (not caused by `kill`/`stop`): code or signal, with the stderr tail. */
  readonly crashes: string[] = [];
  private readyResolve: (() => void) | undefined;
  private readyReject: ((err: Error) => void) | undefined;
  ready: Promise<void> = Promise.resolve();
  private expectedExit = false;
  exited: Promise<void> = Promise.resolve();

  /** The last 4000 characters the current (or last) incarnation wrote to stderr. */
  tail: () => string = () => '';

  constructor(private readonly o: AgentProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.child) throw new Error('agent already running');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.o.env,
      IOTDM_CONNECTION_STRING: this.o.connectionString,
      WINDOWS_IOT_DM_EMULATOR_STATE: this.o.emulatorState,
    };
    const args = [
      ...(this.o.nodeArgs ?? []),
      ...(this.o.bundle ? [this.o.bundle] : ['--import', 'tsx', MAIN]),
      'agent',
      '--ca',
      this.o.caPath,
      '--state-dir',
      this.o.stateDir,
      '--log-level',
      this.o.logLevel ?? 'info',
      ...(this.o.extraArgs ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    this.child = child;
    this.starts += 1;
    this.expectedExit = false;
    this.ready = new Promise<void>((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.ready.catch(() => undefined);
    let buf = '';
    let tail = '';
    this.tail = () => tail;
    child.stderr!.on('data', (c: Buffer) => {
      buf += c.toString();
      tail = (tail + c.toString()).slice(-4000);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!text.startsWith('{')) continue;
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          continue;
        }
        if (line.msg === 'ready') this.readyResolve?.();
        if (this.o.logFile) appendFileSync(this.o.logFile, `${text}\n`);
        this.o.onLine?.(line);
      }
    });
    this.exited = new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        if (!this.expectedExit) {
          const why = `exit code ${String(code)} signal ${String(signal)}:\n${tail}`;
          this.crashes.push(why);
          this.readyReject?.(new Error(`the agent exited before it was ready: ${why}`));
        }
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
  }

  /** SIGKILL, waits for the exit. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectedExit = true;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (the agent flushes its queued reports), waits for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectedExit = true;
    child.kill('SIGTERM');
    await this.exited;
  }
}

/** mulberry32: a small seeded PRNG (same seed, same schedule). */
export function prng(seed: number): {
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
} {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
  };
}

/** What the emulator recorded of reboots and wipes (its state file's `events`). */
export interface EmulatorCounts {
  reboots: number;
  wipes: number;
}

export function readEmulatorCounts(file: string): EmulatorCounts {
  if (!existsSync(file)) return { reboots: 0, wipes: 0 };
  const doc = JSON.parse(readFileSync(file, 'utf8')) as {
    events?: { reboot?: { count?: number }; wipe?: { count?: number } };
  };
  return { reboots: doc.events?.reboot?.count ?? 0, wipes: doc.events?.wipe?.count ?? 0 };
}
