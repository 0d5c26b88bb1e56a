/**
 * The native system contract: the few Windows facts and settings that no CSP covers, used by
 * the time and reboot features. On Windows the addon's system part calls Win32
 * (Get/SetDynamicTimeZoneInformation, GetTickCount64, the service control manager); elsewhere
 * it calls the CSP emulator
 * library's system functions, which keep an emulated system state beside the emulator's state
 * (an emulated RebootNow moves the emulated boot time). `MockSystem` (windows-iot-dm/testing)
 * implements it for unit tests.
 */

/** A SYSTEMTIME-style transition date as DYNAMIC_TIME_ZONE_INFORMATION carries it. */
export interface TimeZoneTransition {
  /** 1-12; 0 when the zone has no daylight saving time. */
  month: number;
  /** 1-5: the n-th `dayOfWeek` of the month (5 = last). */
  week: number;
  /** 0 = Sunday ... 6 = Saturday. */
  dayOfWeek: number;
  hour: number;
  minute: number;
}

/** DYNAMIC_TIME_ZONE_INFORMATION, in minutes (UTC = local time + bias). */
export interface TimeZoneInfo {
  /** Windows time zone key name, e.g. "Pacific Standard Time" ("" when set by explicit rules). */
  keyName: string;
  bias: number;
  standardName: string;
  standardBias: number;
  standardDate: TimeZoneTransition;
  daylightName: string;
  daylightBias: number;
  daylightDate: TimeZoneTransition;
  dynamicDaylightTimeDisabled: boolean;
}

/** The services that may be queried and changed (a device twin must not be able to stop any other). */
export const ALLOWED_SERVICES = ['w32time'] as const;
export type ServiceName = (typeof ALLOWED_SERVICES)[number];

export type ServiceStartup = 'auto' | 'manual' | 'disabled';

/** A service's startup type and whether it runs (not stopped or stopping). */
export interface ServiceInfo {
  name: string;
  startup: ServiceStartup;
  running: boolean;
}

/** What `setService` changes; an absent member stays as it is. */
export interface ServiceChange {
  startup?: ServiceStartup;
  running?: boolean;
}

export interface NativeSystem {
  /** The time zone in effect. */
  getTimeZone(): Promise<TimeZoneInfo>;
  /**
   * Sets the time zone: by `keyName` (rules looked up by the system) when only it is given with
   * `dynamicDaylightTimeDisabled: false`, else from the explicit fields.
   */
  setTimeZone(tz: TimeZoneInfo): Promise<void>;
  /** When the system last started, in ms since the epoch. */
  bootTime(): Promise<number>;
  /**
   * A service's startup type and state. Only the names of `ALLOWED_SERVICES` (`w32time`, the
   * Windows Time service) are accepted; others are refused before anything is called.
   */
  getService(name: string): Promise<ServiceInfo>;
  /**
   * Changes the startup type (first) and/or starts (`running: true`) or stops the service,
   * resolving once it runs or has stopped (bounded wait). Starting a running service or
   * stopping a stopped one succeeds; starting a service whose startup type is disabled fails
   * (HRESULT 0x80070422). Names as for `getService`.
   */
  setService(name: string, change: ServiceChange): Promise<void>;
  /**
   * Starts or stops the app of a package family (`windows.manageAppLifeCycleAsync`; no CSP does
   * it). The CSP emulator records it (the app must be installed there, else HRESULT
   * 0x80070490); on Windows it is not implemented in this version (HRESULT 0x80004001).
   */
  appLifecycle(pkgFamilyName: string, action: AppAction): Promise<void>;
}

export const APP_ACTIONS = ['start', 'stop'] as const;
export type AppAction = (typeof APP_ACTIONS)[number];
