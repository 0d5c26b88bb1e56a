/**
 * `MockSystem`: an in-memory `NativeSystem` for unit tests: a settable time zone, a boot time
 * that `reboot()` moves to now, in-memory services (the allowlist only: w32time, default auto
 * and running; starting a disabled service fails like Windows), every call recorded, and a
 * failure to inject.
 */
import { checkAppLifecycle, checkServiceChange, checkServiceName } from '../native/addon-system';
import { MdmApiError } from '../errors';
import type {
  AppAction,
  NativeSystem,
  ServiceChange,
  ServiceInfo,
  TimeZoneInfo,
} from '../native/system-contract';

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
  /** The services by name (only allowlisted names can be reached through the contract). */
  services: Record<string, ServiceInfo> = {
    w32time: { name: 'w32time', startup: 'auto', running: true },
  };
  /** Installed apps by package family name, and whether each runs (`appLifecycle`). */
  apps: Record<string, { running: boolean }> = {};
  readonly calls: Array<{
    fn: 'getTimeZone' | 'setTimeZone' | 'bootTime' | 'getService' | 'setService' | 'appLifecycle';
    arg?:
      TimeZoneInfo | { name: string; change?: ServiceChange } | { name: string; action: string };
  }> = [];
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

  async getService(name: string): Promise<ServiceInfo> {
    this.calls.push({ fn: 'getService', arg: { name } });
    checkServiceName(name);
    this.#maybeFail();
    return structuredClone(this.#service(name));
  }

  async setService(name: string, change: ServiceChange): Promise<void> {
    this.calls.push({ fn: 'setService', arg: { name, change: structuredClone(change) } });
    checkServiceName(name);
    checkServiceChange(change);
    this.#maybeFail();
    const current = this.#service(name);
    const startup = change.startup ?? current.startup;
    if (change.running === true && !current.running && startup === 'disabled') {
      throw new MdmApiError(
        'StartServiceW',
        0x80070422,
        undefined,
        `the service ${name} cannot be started: its startup type is disabled`,
      );
    }
    this.services[name] = { name, startup, running: change.running ?? current.running };
  }

  async appLifecycle(pkgFamilyName: string, action: AppAction): Promise<void> {
    this.calls.push({ fn: 'appLifecycle', arg: { name: pkgFamilyName, action } });
    checkAppLifecycle(pkgFamilyName, action);
    this.#maybeFail();
    const app = this.apps[pkgFamilyName];
    if (!app) {
      throw new MdmApiError(
        'MdmEmulatorSystemAppLifecycle',
        0x80070490,
        undefined,
        `no package of the family ${pkgFamilyName} is installed`,
      );
    }
    app.running = action === 'start';
  }

  #service(name: string): ServiceInfo {
    return (this.services[name] ??= { name, startup: 'manual', running: false });
  }

  #maybeFail(): void {
    const err = this.#failNext;
    if (err !== undefined) {
      this.#failNext = undefined;
      throw err;
    }
  }
}
