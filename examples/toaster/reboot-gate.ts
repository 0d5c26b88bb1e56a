/**
 * The toaster's answer to `isRebootAllowed()` (the original's `IsSystemRebootAllowed()`, which
 * popped a Yes/No dialog). The DM client awaits the hook inside the work it gates, so it must
 * answer at once: while toasting it answers false and raises a prompt for the person at the
 * device; `allow()` makes the next answer true (once) and asks the DM client to check again
 * right away (`recheck`, which runs the reboot feature's recheck through a `rebootInfo` report);
 * `deny()` dismisses the prompt: the request keeps waiting (the reboot feature asks again every
 * `recheckMs`) and goes through once the toaster is idle. When not toasting, reboots are allowed.
 */
import { EventEmitter } from 'node:events';

export interface RebootPrompt {
  /** When a refused reboot was first seen. */
  since: string;
  /** `asking`: the prompt is shown; `denied`: dismissed, the reboot waits for the toast. */
  state: 'asking' | 'denied';
}

export class RebootGateError extends Error {}

export class RebootGate extends EventEmitter<{ change: [] }> {
  readonly #busy: () => boolean;
  readonly #recheck: () => Promise<void>;
  #prompt: RebootPrompt | undefined;
  #allowOnce = false;

  /**
   * `busy`: true while a reboot must be asked for (toasting). `recheck`: makes the DM client ask
   * again now (the app passes `() => dm.reportNow('rebootInfo')`).
   */
  constructor(busy: () => boolean, recheck: () => Promise<void>) {
    super();
    this.#busy = busy;
    this.#recheck = recheck;
  }

  get prompt(): RebootPrompt | undefined {
    return this.#prompt ? { ...this.#prompt } : undefined;
  }

  /** The `isRebootAllowed` hook. */
  isRebootAllowed = (): boolean => {
    if (!this.#busy()) {
      this.#setPrompt(undefined);
      return true;
    }
    if (this.#allowOnce) {
      this.#allowOnce = false;
      this.#setPrompt(undefined);
      return true;
    }
    if (!this.#prompt) this.#setPrompt({ since: new Date().toISOString(), state: 'asking' });
    return false;
  };

  /** The person allowed the waiting reboot: it goes through now. */
  async allow(): Promise<void> {
    if (!this.#prompt) throw new RebootGateError('no reboot is waiting for permission');
    this.#allowOnce = true;
    try {
      await this.#recheck();
    } finally {
      // An allowance is for the reboot that waited, never for a later one.
      this.#allowOnce = false;
    }
  }

  /** The person said not now: the prompt goes away, the reboot waits until the toast is done. */
  deny(): void {
    if (!this.#prompt) throw new RebootGateError('no reboot is waiting for permission');
    this.#setPrompt({ ...this.#prompt, state: 'denied' });
  }

  /** The toaster went idle: a waiting reboot may go through now. */
  async idle(): Promise<void> {
    if (!this.#prompt) return;
    await this.#recheck();
  }

  #setPrompt(p: RebootPrompt | undefined): void {
    if (p === undefined && this.#prompt === undefined) return;
    this.#prompt = p;
    this.emit('change');
  }
}
