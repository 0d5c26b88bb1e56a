/**
 * `MockSystem`: an in-memory `NativeSystem` for unit tests: a settable time zone, a boot time
 * that `reboot()` moves to now, every call recorded, and a failure to inject.
 */
import type { NativeSystem, TimeZoneInfo } from '../native/system-contract';

export const UTC_ZONE: TimeZoneInfo = {
  keyName: 'UTC',
  bias: 0,
  standardName: 'Coordinated Universal Time',
  standardBias: 0,
  standardDate: { month: 0, week: 0, dayOfWeek: 0, hour: 0, minute: 0 },
  daylightName: 'Coordinated Universal Time',
  daylightBias: 0,
  daylightDate: { month: 0, week: 0, dayOfWeek: 0, hour: 0, minute: 0 },
  dynamicDaylightTimeDisabled: false,
};

export class MockSystem implements NativeSystem {
  timeZone: TimeZoneInfo = structuredClone(UTC_ZONE);
  bootTimeMs: number;
  readonly calls: Array<{ fn: 'getTimeZone' | 'setTimeZone' | 'bootTime'; arg?: TimeZoneInfo }> =
    [];
  #failNext: unknown;

  constructor(bootTimeMs = Date.now() - 3_600_000) {
    this.bootTimeMs = bootTimeMs;
  }

  /** The next call rejects with `err`. */
  failNext(err: unknown): this {
    this.#failNext = err;
    return this;
  }

  /** The system "restarts": the boot time becomes now. */
  reboot(at = Date.now()): void {
    this.bootTimeMs = at;
  }

  async getTimeZone(): Promise<TimeZoneInfo> {
    this.calls.push({ fn: 'getTimeZone' });
    this.#maybeFail();
    return structuredClone(this.timeZone);
  }

  async setTimeZone(tz: TimeZoneInfo): Promise<void> {
    this.calls.push({ fn: 'setTimeZone', arg: structuredClone(tz) });
    this.#maybeFail();
    this.timeZone = structuredClone(tz);
  }

  async bootTime(): Promise<number> {
    this.calls.push({ fn: 'bootTime' });
    this.#maybeFail();
    return this.bootTimeMs;
  }

  #maybeFail(): void {
    const err = this.#failNext;
    if (err !== undefined) {
      this.#failNext = undefined;
      throw err;
    }
  }
}
