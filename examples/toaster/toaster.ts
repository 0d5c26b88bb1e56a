/**
 * The toaster itself (the original Toaster sample's "smart toaster"): toasting or not, and a
 * darkness from 1 (light) to 10 (dark). A toast is done after `darkness × msPerLevel`; the
 * person can stop it earlier. Emits `change` on every change.
 */
import { EventEmitter } from 'node:events';

export const DARKNESS_MIN = 1;
export const DARKNESS_MAX = 10;

export interface ToasterState {
  toasting: boolean;
  darkness: number;
  /** When the current toast started / will be done (ISO), while toasting. */
  startedAt?: string;
  doneAt?: string;
  /** How the last toast ended. */
  lastToast?: { endedAt: string; how: 'done' | 'stopped' | 'reboot' };
}

export class ToasterError extends Error {}

export class Toaster extends EventEmitter<{ change: [ToasterState] }> {
  readonly #msPerLevel: number;
  #state: ToasterState = { toasting: false, darkness: 5 };
  #timer: NodeJS.Timeout | undefined;

  constructor(msPerLevel = 10_000) {
    super();
    if (!Number.isFinite(msPerLevel) || msPerLevel <= 0) {
      throw new ToasterError('msPerLevel must be a positive number');
    }
    this.#msPerLevel = msPerLevel;
  }

  get state(): ToasterState {
    return structuredClone(this.#state);
  }

  get toasting(): boolean {
    return this.#state.toasting;
  }

  setDarkness(level: unknown): void {
    if (
      typeof level !== 'number' ||
      !Number.isInteger(level) ||
      level < DARKNESS_MIN ||
      level > DARKNESS_MAX
    ) {
      throw new ToasterError(
        `darkness must be a whole number from ${DARKNESS_MIN} to ${DARKNESS_MAX}, not ${JSON.stringify(level)}`,
      );
    }
    if (this.#state.toasting) throw new ToasterError('the darkness cannot change while toasting');
    this.#state.darkness = level;
    this.emit('change', this.state);
  }

  start(): void {
    if (this.#state.toasting) throw new ToasterError('already toasting');
    const now = Date.now();
    const ms = this.#state.darkness * this.#msPerLevel;
    this.#state = {
      ...this.#state,
      toasting: true,
      startedAt: new Date(now).toISOString(),
      doneAt: new Date(now + ms).toISOString(),
    };
    this.#timer = setTimeout(() => this.#end('done'), ms);
    this.#timer.unref();
    this.emit('change', this.state);
  }

  stop(how: 'stopped' | 'reboot' = 'stopped'): void {
    if (!this.#state.toasting) {
      if (how === 'reboot') return;
      throw new ToasterError('not toasting');
    }
    this.#end(how);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #end(how: 'done' | 'stopped' | 'reboot'): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#state = {
      toasting: false,
      darkness: this.#state.darkness,
      lastToast: { endedAt: new Date().toISOString(), how },
    };
    this.emit('change', this.state);
  }
}
