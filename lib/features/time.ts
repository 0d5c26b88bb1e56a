/**
 * `timeInfo` and `timeService`, with the original client's names.
 *
 * timeInfo: the time zone by Windows key name goes through the Policy CSP
 * (`TimeLanguageSettings/ConfigureTimeZone`); explicit rules (biases, names, transition dates,
 * `dynamicDaylightTimeDisabled: true`) go through the native system part
 * (`NativeSystem.setTimeZone`, Win32 SetDynamicTimeZoneInformation), which also gives the
 * read-back. The NTP server goes through the ADMX-backed W32Time policy
 * `ADMX_W32Time/W32TIME_POLICY_CONFIGURE_NTPCLIENT`; `localTime` is DevDetail's LocalTime.
 *
 * Transition dates follow the original's convention: an ISO date-time whose month, day (the
 * week of the month, 1-5, 5 = last) and time of day fill the relative SYSTEMTIME; the weekday
 * comes from `timeZoneStandardDayOfWeek` / `timeZoneDaylightDayOfWeek`. They are reported as
 * `0000-MM-0WTHH:MM:00` (the year means nothing in a yearly rule).
 *
 * timeService: `enabled` is the W32Time NTP client policy (`W32TIME_POLICY_ENABLE_NTPCLIENT`);
 * `startup` (auto | manual) and `started` (yes | no) control the Windows Time service (`w32time`)
 * through the native system part (`NativeSystem.setService`, the service control manager on
 * Windows), which no CSP offers, and are reported from `NativeSystem.getService` (a startup type
 * of "disabled" set by someone else is reported as such). `sourcePriority` (local | remote) is
 * kept by the handler: `local` leaves the device's settings alone (validated, not written).
 */
import { InvalidValueError } from '../errors';
import type { FeatureHandler, HandlerContext, Json, JsonObject } from '../dm/handler';
import { s } from '../dm/schema';
import type {
  NativeSystem,
  ServiceChange,
  TimeZoneInfo,
  TimeZoneTransition,
} from '../native/system-contract';
import { ERROR, NOT_SET } from './util-read';

export const CONFIGURE_TIME_ZONE =
  './Device/Vendor/MSFT/Policy/Config/TimeLanguageSettings/ConfigureTimeZone';
export const NTP_CLIENT_CONFIG =
  './Device/Vendor/MSFT/Policy/Config/ADMX_W32Time/W32TIME_POLICY_CONFIGURE_NTPCLIENT';
export const NTP_CLIENT_ENABLE =
  './Device/Vendor/MSFT/Policy/Config/ADMX_W32Time/W32TIME_POLICY_ENABLE_NTPCLIENT';
export const LOCAL_TIME = './DevDetail/Ext/Microsoft/LocalTime';
/** The Windows Time service, controlled by timeService.startup / started. */
export const TIME_SERVICE = 'w32time';

/** One or more NTP peers, space-separated, each a host name or address with optional `,0x<flags>`. */
const NTP_SERVERS =
  /^[A-Za-z0-9.:[\]-]{1,253}(,0x[0-9A-Fa-f]{1,2})?( [A-Za-z0-9.:[\]-]{1,253}(,0x[0-9A-Fa-f]{1,2})?){0,7}$/;
const RULE_DATE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/;
const BIAS = { min: -1440, max: 1440 } as const;

const timeInfoSchema = s.object({
  ntpServer: s.string({ pattern: NTP_SERVERS, maxLength: 2048 }),
  dynamicDaylightTimeDisabled: s.boolean(),
  timeZoneKeyName: s.string({ pattern: /^[A-Za-z0-9 ().+_-]{1,127}$/, maxLength: 127 }),
  timeZoneBias: s.integer(BIAS),
  timeZoneStandardName: s.string({ maxLength: 31 }),
  timeZoneStandardBias: s.integer(BIAS),
  timeZoneStandardDate: s.string({ pattern: RULE_DATE }),
  timeZoneStandardDayOfWeek: s.integer({ min: 0, max: 6 }),
  timeZoneDaylightName: s.string({ maxLength: 31 }),
  timeZoneDaylightBias: s.integer(BIAS),
  timeZoneDaylightDate: s.string({ pattern: RULE_DATE }),
  timeZoneDaylightDayOfWeek: s.integer({ min: 0, max: 6 }),
});

const EXPLICIT_FIELDS = [
  'timeZoneBias',
  'timeZoneStandardName',
  'timeZoneStandardBias',
  'timeZoneStandardDate',
  'timeZoneStandardDayOfWeek',
  'timeZoneDaylightName',
  'timeZoneDaylightBias',
  'timeZoneDaylightDate',
  'timeZoneDaylightDayOfWeek',
] as const;

const NO_TRANSITION: TimeZoneTransition = { month: 0, week: 0, dayOfWeek: 0, hour: 0, minute: 0 };

/** A rule date + weekday → the relative SYSTEMTIME fields. */
export function parseRuleDate(value: string, dayOfWeek: number, what: string): TimeZoneTransition {
  const m = RULE_DATE.exec(value);
  if (!m)
    throw new InvalidValueError(`${what}: expected an ISO date-time, got ${JSON.stringify(value)}`);
  const month = Number(m[2]);
  const week = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  if (month < 1 || month > 12) throw new InvalidValueError(`${what}: month ${month} is not 1-12`);
  if (week < 1 || week > 5) {
    throw new InvalidValueError(
      `${what}: the day (${week}) is the week of the month and must be 1-5`,
    );
  }
  if (hour > 23 || minute > 59)
    throw new InvalidValueError(`${what}: ${m[4]}:${m[5]} is not a time of day`);
  return { month, week, dayOfWeek, hour, minute };
}

/** The relative SYSTEMTIME → `0000-MM-0WTHH:MM:00` ("" when the zone has no transition). */
export function formatRuleDate(t: TimeZoneTransition): string {
  if (t.month === 0) return '';
  const two = (n: number): string => String(n).padStart(2, '0');
  return `0000-${two(t.month)}-${two(t.week)}T${two(t.hour)}:${two(t.minute)}:00`;
}

function xmlAttr(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** The ADMX payload of the NTP client policy for `servers`. */
export function ntpClientPayload(servers: string): string {
  return [
    '<enabled/>',
    `<data id="W32TIME_NtpServer" value="${xmlAttr(servers)}"/>`,
    '<data id="W32TIME_Type" value="NTP"/>',
    '<data id="W32TIME_CrossSiteSyncFlags" value="2"/>',
    '<data id="W32TIME_ResolvePeerBackoffMinutes" value="15"/>',
    '<data id="W32TIME_ResolvePeerBackoffMaxTimes" value="7"/>',
    '<data id="W32TIME_SpecialPollInterval" value="3600"/>',
    '<data id="W32TIME_NtpClientEventLogFlags" value="0"/>',
  ].join('');
}

/** The NTP servers of an NTP client policy payload, or undefined. */
export function ntpServersOf(payload: string): string | undefined {
  if (!/<enabled\s*\/>/.test(payload)) return undefined;
  const m = /<data\s+id="W32TIME_NtpServer"\s+value="([^"]*)"\s*\/>/.exec(payload);
  if (!m) return undefined;
  return (m[1] as string)
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

async function readString(ctx: HandlerContext, uri: string): Promise<string | undefined> {
  try {
    const v = await ctx.csp.get(uri);
    return typeof v === 'string' ? v : undefined;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return undefined;
    throw err;
  }
}

async function deleteIfPresent(ctx: HandlerContext, uri: string): Promise<void> {
  try {
    await ctx.csp.delete(uri);
  } catch (err) {
    if ((err as { status?: number }).status !== 404) throw err;
  }
}

export interface TimeHandlersOptions {
  /** The native system part (time zone read-back and explicit rules, the time service). */
  system: NativeSystem;
}

const STORE_PRIORITY = 'sourcePriority';

export function createTimeHandlers(options: TimeHandlersOptions): FeatureHandler[] {
  const { system } = options;

  const timeInfo: FeatureHandler = {
    section: 'timeInfo',
    nodes: [CONFIGURE_TIME_ZONE, NTP_CLIENT_CONFIG, LOCAL_TIME],
    desired: timeInfoSchema,

    async apply(desired, ctx) {
      const explicit = EXPLICIT_FIELDS.some((f) => Object.hasOwn(desired, f));
      const disabled = desired.dynamicDaylightTimeDisabled === true;
      const keyName =
        typeof desired.timeZoneKeyName === 'string' ? desired.timeZoneKeyName : undefined;
      // Everything is checked before anything is written.
      const tz =
        explicit || disabled
          ? explicitZone(desired, await system.getTimeZone(), keyName)
          : undefined;
      const ops: Array<Promise<unknown>> = [];
      if (typeof desired.ntpServer === 'string') {
        ops.push(ctx.csp.put(NTP_CLIENT_CONFIG, ntpClientPayload(desired.ntpServer)));
      }
      if (tz) {
        // Explicit rules: the policy would override them, so it goes.
        ops.push(deleteIfPresent(ctx, CONFIGURE_TIME_ZONE));
        await Promise.all(ops);
        await system.setTimeZone(tz);
        return;
      }
      if (keyName !== undefined) ops.push(ctx.csp.put(CONFIGURE_TIME_ZONE, keyName));
      await Promise.all(ops);
    },

    async report(ctx) {
      const [ntpPayload, localTime, tz] = await Promise.all([
        readString(ctx, NTP_CLIENT_CONFIG).catch(() => ERROR),
        readString(ctx, LOCAL_TIME).catch(() => ERROR),
        system.getTimeZone().catch(() => undefined),
      ]);
      const out: JsonObject = {
        ntpServer:
          ntpPayload === ERROR
            ? ERROR
            : ntpPayload === undefined
              ? NOT_SET
              : (ntpServersOf(ntpPayload) ?? NOT_SET),
        localTime: localTime ?? NOT_SET,
      };
      if (!tz) {
        out.timeZoneKeyName = ERROR;
        return out;
      }
      Object.assign(out, {
        dynamicDaylightTimeDisabled: tz.dynamicDaylightTimeDisabled,
        timeZoneKeyName: tz.keyName,
        timeZoneBias: tz.bias,
        timeZoneStandardName: tz.standardName,
        timeZoneStandardBias: tz.standardBias,
        timeZoneStandardDate: formatRuleDate(tz.standardDate),
        timeZoneStandardDayOfWeek: tz.standardDate.dayOfWeek,
        timeZoneDaylightName: tz.daylightName,
        timeZoneDaylightBias: tz.daylightBias,
        timeZoneDaylightDate: formatRuleDate(tz.daylightDate),
        timeZoneDaylightDayOfWeek: tz.daylightDate.dayOfWeek,
      } satisfies JsonObject);
      return out;
    },
  };

  const timeService: FeatureHandler = {
    section: 'timeService',
    nodes: [NTP_CLIENT_ENABLE],
    desired: s.object({
      enabled: s.enum('yes', 'no'),
      startup: s.enum('auto', 'manual'),
      started: s.enum('yes', 'no'),
      sourcePriority: s.enum('local', 'remote'),
    }),

    async apply(desired, ctx) {
      if (typeof desired.sourcePriority === 'string') {
        await ctx.store.set(STORE_PRIORITY, desired.sourcePriority);
      }
      if (ctx.store.get<string>(STORE_PRIORITY) === 'local') {
        ctx.log.info('timeService: sourcePriority is local; the device settings are kept');
        return;
      }
      if (typeof desired.enabled === 'string') {
        await ctx.csp.put(
          NTP_CLIENT_ENABLE,
          desired.enabled === 'yes' ? '<enabled/>' : '<disabled/>',
        );
      }
      const change: ServiceChange = {};
      if (desired.startup === 'auto' || desired.startup === 'manual') {
        change.startup = desired.startup;
      }
      if (typeof desired.started === 'string') change.running = desired.started === 'yes';
      if (change.startup !== undefined || change.running !== undefined) {
        await system.setService(TIME_SERVICE, change);
      }
    },

    async report(ctx) {
      const [value, service] = await Promise.all([
        readString(ctx, NTP_CLIENT_ENABLE).catch(() => ERROR),
        system.getService(TIME_SERVICE).catch(() => undefined),
      ]);
      const enabled =
        value === ERROR
          ? ERROR
          : value === undefined
            ? NOT_SET
            : /<enabled\s*\/>/.test(value)
              ? 'yes'
              : /<disabled\s*\/>/.test(value)
                ? 'no'
                : ERROR;
      return {
        enabled,
        startup: service ? service.startup : ERROR,
        started: service ? (service.running ? 'yes' : 'no') : ERROR,
        sourcePriority: ctx.store.get<string>(STORE_PRIORITY) ?? 'remote',
      };
    },
  };

  return [timeInfo, timeService];
}

function num(v: Json | undefined, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

function str(v: Json | undefined, fallback: string): string {
  return typeof v === 'string' ? v : fallback;
}

/** Desired explicit fields over the zone in effect (fields not given keep their value). */
function explicitZone(
  desired: JsonObject,
  current: TimeZoneInfo,
  keyName: string | undefined,
): TimeZoneInfo {
  const standardDate =
    typeof desired.timeZoneStandardDate === 'string'
      ? desired.timeZoneStandardDate === ''
        ? NO_TRANSITION
        : parseRuleDate(
            desired.timeZoneStandardDate,
            num(desired.timeZoneStandardDayOfWeek, current.standardDate.dayOfWeek),
            'timeInfo.timeZoneStandardDate',
          )
      : {
          ...current.standardDate,
          dayOfWeek: num(desired.timeZoneStandardDayOfWeek, current.standardDate.dayOfWeek),
        };
  const daylightDate =
    typeof desired.timeZoneDaylightDate === 'string'
      ? desired.timeZoneDaylightDate === ''
        ? NO_TRANSITION
        : parseRuleDate(
            desired.timeZoneDaylightDate,
            num(desired.timeZoneDaylightDayOfWeek, current.daylightDate.dayOfWeek),
            'timeInfo.timeZoneDaylightDate',
          )
      : {
          ...current.daylightDate,
          dayOfWeek: num(desired.timeZoneDaylightDayOfWeek, current.daylightDate.dayOfWeek),
        };
  if ((standardDate.month === 0) !== (daylightDate.month === 0)) {
    throw new InvalidValueError(
      'timeInfo: a zone with daylight saving time needs both timeZoneStandardDate and timeZoneDaylightDate',
    );
  }
  return {
    keyName: keyName ?? '',
    bias: num(desired.timeZoneBias, current.bias),
    standardName: str(desired.timeZoneStandardName, current.standardName),
    standardBias: num(desired.timeZoneStandardBias, current.standardBias),
    standardDate,
    daylightName: str(desired.timeZoneDaylightName, current.daylightName),
    daylightBias: num(desired.timeZoneDaylightBias, current.daylightBias),
    daylightDate,
    dynamicDaylightTimeDisabled: desired.dynamicDaylightTimeDisabled === true,
  };
}
