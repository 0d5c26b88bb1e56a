/**
 * Capped exponential backoff with jitter, for the background agent's reconnect loop: attempt n
 * waits a random time in [d/2, d] with d = min(cap, base * 2^n) ("equal jitter": never a burst
 * of devices retrying in step, never less than half the step). `reset()` after a success.
 */
export interface BackoffOptions {
  /** First step (ms); default 1000. */
  baseMs?: number;
  /** Largest step (ms); default 300000 (5 minutes). */
  capMs?: number;
  /** A number in [0, 1); default Math.random. */
  random?: () => number;
}

export class Backoff {
  readonly baseMs: number;
  readonly capMs: number;
  #attempt = 0;
  readonly #random: () => number;

  constructor(o: BackoffOptions = {}) {
    this.baseMs = o.baseMs ?? 1000;
    this.capMs = o.capMs ?? 300_000;
    this.#random = o.random ?? Math.random;
    if (!(this.baseMs > 0) || !(this.capMs >= this.baseMs)) {
      throw new RangeError('backoff: need 0 < baseMs <= capMs');
    }
  }

  /** How many delays were handed out since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The next delay (ms). */
  next(): number {
    // 2^n overflows nothing below the cap: stop doubling once the cap is reached.
    const step = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.#attempt, 40));
    this.#attempt++;
    return Math.round(step / 2 + this.#random() * (step / 2));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
