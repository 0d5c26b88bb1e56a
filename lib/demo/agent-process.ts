/**
 * One `iotdm agent` child process of the demo, supervised: its log (pino JSON lines) is appended
 * to a file, an unexpected exit is reported and the agent restarted after a growing delay (up to
 * `maxRestarts` in a row; an agent that ran for a minute counts as healthy again), an agent whose
 * device asked for a reboot is restarted (the emulated reboot), and `stop()` ends it with
 * SIGTERM, then SIGKILL after a bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { exited, stopChild, track } from './child';

export interface AgentProcessOptions {
  /** Arguments after `iotdm agent`. */
  args: string[];
  /** Extra environment variables. */
  env: Record<string, string>;
  logFile: string;
  /** Tells what happened (a line for the console). */
  notify: (line: string) => void;
  /** Called with the pid each time a process starts. */
  started?: (pid: number) => void;
  maxRestarts?: number;
}

const HEALTHY_MS = 60_000;
const REBOOT_DELAY_MS = 2_000;

/** `node <main> agent` for the CLI this module belongs to: `lib/cli/main.ts` runs through tsx. */
export function agentCommand(): { command: string; args: string[] } {
  const ts = __filename.endsWith('.ts');
  const main = path.join(__dirname, '..', 'cli', ts ? 'main.ts' : 'main.js');
  return {
    command: process.execPath,
    args: ts ? ['--require', require.resolve('tsx/cjs'), main, 'agent'] : [main, 'agent'],
  };
}

/** The last `n` log lines' messages, for a report on a dead agent. */
function tail(file: string, n: number): string {
  if (!existsSync(file)) return '';
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n);
  return lines
    .map((l) => {
      try {
        const j = JSON.parse(l) as { msg?: string; err?: string; errMessage?: string };
        return [j.msg, j.errMessage ?? j.err].filter(Boolean).join(': ');
      } catch {
        return l;
      }
    })
    .filter(Boolean)
    .join(' | ');
}

export class AgentProcess {
  #child: ChildProcess | undefined;
  #stopping = false;
  #restarts = 0;
  #rebooting = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #o: AgentProcessOptions;

  constructor(options: AgentProcessOptions) {
    this.#o = options;
  }

  get pid(): number | undefined {
    return this.#child && !exited(this.#child) ? this.#child.pid : undefined;
  }

  start(): void {
    if (this.#stopping) return;
    const { command, args } = agentCommand();
    let log: number;
    try {
      log = openSync(this.#o.logFile, 'a', 0o600);
    } catch (err) {
      this.#o.notify(`cannot open the agent's log: ${(err as Error).message}`);
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(command, [...args, ...this.#o.args], {
        env: { ...process.env, ...this.#o.env },
        stdio: ['ignore', log, 'pipe'],
        detached: true,
      });
      track(child);
    } finally {
      closeSync(log);
    }
    this.#child = child;
    this.#rebooting = false;
    this.#watchLog(child);
    const since = Date.now();
    child.once('error', (err) => this.#o.notify(`cannot start the agent: ${err.message}`));
    if (child.pid !== undefined) this.#o.started?.(child.pid);
    child.once('exit', (code, signal) => {
      if (this.#stopping) return;
      if (this.#rebooting) {
        this.start();
        return;
      }
      if (Date.now() - since > HEALTHY_MS) this.#restarts = 0;
      const why = tail(this.#o.logFile, 3);
      const max = this.#o.maxRestarts ?? 5;
      if (this.#restarts >= max) {
        this.#o.notify(
          `agent exited (${code ?? signal}) ${max + 1} times in a row; not restarting. ` +
            `Last log: ${why} (full log: ${this.#o.logFile})`,
        );
        return;
      }
      const delay = 1000 * 2 ** this.#restarts;
      this.#restarts += 1;
      this.#o.notify(
        `agent exited (${code ?? signal}): ${why}; restarting in ${delay / 1000} s (log: ${this.#o.logFile})`,
      );
      this.#timer = setTimeout(() => this.start(), delay);
    });
  }

  /**
   * Copies the agent's log lines (stderr) to the log file and watches for "reboot pending": the
   * emulated device records a reboot but nothing restarts, so the demo restarts the agent, as
   * after a real reboot (its `rebootCmd` then reports `completed`).
   */
  #watchLog(child: ChildProcess): void {
    const out = createWriteStream(this.#o.logFile, { flags: 'a', mode: 0o600 });
    let partial = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      out.write(chunk);
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      if (lines.some((l) => l.includes('"msg":"reboot pending"'))) this.#reboot(child);
    });
    child.stderr?.once('end', () => out.end());
  }

  #reboot(child: ChildProcess): void {
    if (this.#stopping || this.#rebooting) return;
    this.#rebooting = true;
    this.#o.notify(
      `rebooting: the agent restarts in ${REBOOT_DELAY_MS / 1000} s, as after a reboot`,
    );
    // Leaves the agent time to Exec RebootNow (which moves the emulated boot time) first.
    this.#timer = setTimeout(() => void stopChild(child), REBOOT_DELAY_MS);
  }

  /** SIGTERM, SIGKILL after `graceMs`; no restart afterwards. */
  async stop(graceMs?: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    if (this.#child) await stopChild(this.#child, graceMs);
  }
}
