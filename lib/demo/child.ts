/**
 * Child processes of the demo: started in their own process group (`detached`), so a Ctrl+C in
 * the terminal reaches only the demo, which then stops them in order; `track` kills whatever is
 * still running if this process exits without stopping them. `stopChild`: SIGTERM, then SIGKILL
 * after a bound; resolves once the process is gone.
 */
import type { ChildProcess } from 'node:child_process';

export const STOP_GRACE_MS = 5_000;

const running = new Set<ChildProcess>();
let exitHook = false;

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Kills `child` (SIGKILL) if this process exits while it still runs. */
export function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
}

export function stopChild(child: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (exited(child) || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
