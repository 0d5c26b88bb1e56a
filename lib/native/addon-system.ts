/**
 * `NativeSystem` over the compiled addon's system part (native/system): on Windows
 * Get/SetDynamicTimeZoneInformation, GetTickCount64 and the service control manager; elsewhere
 * the CSP emulator library's MdmEmulatorSystem* functions, whose emulated time zone, boot time
 * and services live in the emulator's state file (an emulated RebootNow moves the boot time).
 * Loads nothing until the first call.
 */
import { InvalidArgumentError, MdmUnavailableError, fromNativeError } from '../errors';
import type { AddonBinding, AddonSystemSession } from './binding';
import { loadAddon, resolveMdmLibrary } from './load';
import {
  ALLOWED_SERVICES,
  APP_ACTIONS,
  type AppAction,
  type NativeSystem,
  type ServiceChange,
  type ServiceInfo,
  type TimeZoneInfo,
  type TimeZoneTransition,
} from './system-contract';

export interface AddonSystemOptions {
  /** Non-Windows: the CSP emulator library to load; see `resolveMdmLibrary`. */
  libraryPath?: string;
  /** A specific addon `.node` file (default: $WINDOWS_IOT_DM_ADDON, then node-gyp-build). */
  addonPath?: string;
  /** Loader seam for tests. */
  load?: (addonPath?: string) => AddonBinding;
}

/** Longest standardName/daylightName (WCHAR[32] in DYNAMIC_TIME_ZONE_INFORMATION, NUL excluded). */
export const MAX_TIME_ZONE_NAME_LENGTH = 31;
/** Longest keyName (WCHAR[128]). */
export const MAX_TIME_ZONE_KEY_NAME_LENGTH = 127;
/** Largest |bias|, |standardBias| and |daylightBias|, in minutes. */
export const MAX_TIME_ZONE_BIAS = 1440;

export class AddonSystem implements NativeSystem {
  #session: AddonSystemSession | undefined;
  readonly #options: AddonSystemOptions;

  constructor(options: AddonSystemOptions = {}) {
    this.#options = options;
  }

  async getTimeZone(): Promise<TimeZoneInfo> {
    const session = this.#open();
    try {
      return await session.getTimeZone();
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  /**
   * By key name when `keyName` is not empty and `dynamicDaylightTimeDisabled` is false: the
   * system's rules for that zone are used and the other fields are ignored (the CSP emulator
   * knows a few common zones and refuses others with HRESULT 0x80070490). Otherwise every field
   * is used as given.
   */
  async setTimeZone(tz: TimeZoneInfo): Promise<void> {
    checkTimeZone(tz);
    const session = this.#open();
    try {
      await session.setTimeZone(tz);
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  async bootTime(): Promise<number> {
    const session = this.#open();
    try {
      return await session.bootTime();
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  /** Only the names of `ALLOWED_SERVICES` (InvalidArgumentError otherwise, nothing is called). */
  async getService(name: string): Promise<ServiceInfo> {
    checkServiceName(name);
    const session = this.#open();
    try {
      return await session.getService(name);
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  /** Names as for `getService`; `change` is `{ startup?: auto | manual | disabled, running? }`. */
  async setService(name: string, change: ServiceChange): Promise<void> {
    checkServiceName(name);
    checkServiceChange(change);
    const session = this.#open();
    try {
      await session.setService(name, change);
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  /** `pkgFamilyName` `<Name>_<PublisherId>`, `action` start | stop (InvalidArgumentError). */
  async appLifecycle(pkgFamilyName: string, action: AppAction): Promise<void> {
    checkAppLifecycle(pkgFamilyName, action);
    const session = this.#open();
    try {
      await session.appLifecycle(pkgFamilyName, action);
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  #open(): AddonSystemSession {
    if (this.#session) return this.#session;
    const binding = (this.#options.load ?? loadAddon)(this.#options.addonPath);
    if (typeof binding.SystemSession !== 'function') {
      throw new MdmUnavailableError(
        'the windows-iot-dm addon that was loaded has no system part (SystemSession); it is from an older version: rebuild it with "npm run build:native"',
      );
    }
    const libraryPath = resolveMdmLibrary(this.#options.libraryPath);
    try {
      this.#session = new binding.SystemSession(libraryPath === undefined ? {} : { libraryPath });
    } catch (err) {
      throw fromNativeError(err);
    }
    return this.#session;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(name, `an integer from ${min} to ${max}`, value);
  }
}

function checkName(name: string, value: unknown, max: number): void {
  if (typeof value !== 'string' || value.length > max || value.includes('\0')) {
    throw new InvalidArgumentError(
      name,
      `a string of at most ${max} UTF-16 code units without U+0000`,
      value,
    );
  }
  if (LONE_SURROGATE.test(value)) {
    throw new InvalidArgumentError(name, 'well-formed UTF-16 (no lone surrogate)', value);
  }
}

function checkDate(name: string, value: unknown): TimeZoneTransition {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(name, 'a transition date object', value);
  }
  const date = value as TimeZoneTransition;
  checkInteger(`${name}.month`, date.month, 0, 12);
  checkInteger(`${name}.week`, date.week, date.month === 0 ? 0 : 1, 5);
  checkInteger(`${name}.dayOfWeek`, date.dayOfWeek, 0, 6);
  checkInteger(`${name}.hour`, date.hour, 0, 23);
  checkInteger(`${name}.minute`, date.minute, 0, 59);
  return date;
}

/**
 * The checks the native side applies too (native/system/time_zone.h): names fit the Win32
 * struct, biases within +-1440 minutes, transition dates in range and either both set or both
 * unset. By key name, only `keyName` and `dynamicDaylightTimeDisabled` are required.
 */
export function checkTimeZone(tz: unknown): asserts tz is TimeZoneInfo {
  if (typeof tz !== 'object' || tz === null || Array.isArray(tz)) {
    throw new InvalidArgumentError('timeZone', 'a TimeZoneInfo object', tz);
  }
  const t = tz as Partial<TimeZoneInfo>;
  checkName('timeZone.keyName', t.keyName, MAX_TIME_ZONE_KEY_NAME_LENGTH);
  if (typeof t.dynamicDaylightTimeDisabled !== 'boolean') {
    throw new InvalidArgumentError(
      'timeZone.dynamicDaylightTimeDisabled',
      'a boolean',
      t.dynamicDaylightTimeDisabled,
    );
  }
  const byKeyName = t.keyName !== '' && !t.dynamicDaylightTimeDisabled;
  const present = (value: unknown) => !byKeyName || value !== undefined;
  const B = MAX_TIME_ZONE_BIAS;
  if (present(t.bias)) checkInteger('timeZone.bias', t.bias, -B, B);
  if (present(t.standardBias)) checkInteger('timeZone.standardBias', t.standardBias, -B, B);
  if (present(t.daylightBias)) checkInteger('timeZone.daylightBias', t.daylightBias, -B, B);
  if (present(t.standardName))
    checkName('timeZone.standardName', t.standardName, MAX_TIME_ZONE_NAME_LENGTH);
  if (present(t.daylightName))
    checkName('timeZone.daylightName', t.daylightName, MAX_TIME_ZONE_NAME_LENGTH);
  const standard = present(t.standardDate)
    ? checkDate('timeZone.standardDate', t.standardDate)
    : undefined;
  const daylight = present(t.daylightDate)
    ? checkDate('timeZone.daylightDate', t.daylightDate)
    : undefined;
  if (standard && daylight && (standard.month === 0) !== (daylight.month === 0)) {
    throw new InvalidArgumentError(
      'timeZone.daylightDate',
      `a date set exactly when standardDate is set (standardDate.month is ${standard.month})`,
      daylight,
    );
  }
}

/** The service name must be one of `ALLOWED_SERVICES` (exact spelling). */
export function checkServiceName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !(ALLOWED_SERVICES as readonly string[]).includes(name)) {
    throw new InvalidArgumentError(
      'name',
      `a service that may be controlled (${ALLOWED_SERVICES.join(', ')})`,
      name,
    );
  }
}

const STARTUP_TYPES: readonly string[] = ['auto', 'manual', 'disabled'];

/** `{ startup?: 'auto' | 'manual' | 'disabled', running?: boolean }`, nothing else. */
export function checkServiceChange(change: unknown): asserts change is ServiceChange {
  if (typeof change !== 'object' || change === null || Array.isArray(change)) {
    throw new InvalidArgumentError('change', 'a { startup?, running? } object', change);
  }
  for (const key of Object.keys(change)) {
    if (key !== 'startup' && key !== 'running') {
      throw new InvalidArgumentError('change', 'only the members startup and running', change);
    }
  }
  const c = change as ServiceChange;
  if (c.startup !== undefined && !STARTUP_TYPES.includes(c.startup)) {
    throw new InvalidArgumentError('change.startup', '"auto", "manual" or "disabled"', c.startup);
  }
  if (c.running !== undefined && typeof c.running !== 'boolean') {
    throw new InvalidArgumentError('change.running', 'a boolean', c.running);
  }
}

let shared: AddonSystem | undefined;

/** The process-wide default `NativeSystem` (created lazily; loads nothing until first use). */
export function defaultNativeSystem(): NativeSystem {
  return (shared ??= new AddonSystem());
}

/** A package family name and start | stop, as `appLifecycle` takes them. */
export function checkAppLifecycle(pkgFamilyName: unknown, action: unknown): void {
  if (
    typeof pkgFamilyName !== 'string' ||
    !/^[A-Za-z0-9][A-Za-z0-9.-]{2,49}_[a-z0-9]{13}$/.test(pkgFamilyName)
  ) {
    throw new InvalidArgumentError('pkgFamilyName', 'a package family name', pkgFamilyName);
  }
  if (!(APP_ACTIONS as readonly unknown[]).includes(action)) {
    throw new InvalidArgumentError('action', APP_ACTIONS.join(' | '), action);
  }
}
