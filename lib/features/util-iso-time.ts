/**
 * ISO 8601 date-times for the Reboot CSP schedules: validated, then normalized to whole seconds
 * (the device refuses fractions: the original client failed on them). A time with a zone ("Z"
 * or an offset) becomes UTC "YYYY-MM-DDTHH:MM:SSZ"; a time without one is kept as device local
 * time "YYYY-MM-DDTHH:MM:SS".
 */
import { InvalidValueError } from '../errors';

/** The shape the schema checks first (the calendar is checked by `normalizeIsoTime`). */
export const ISO_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;

const PARTS =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?(Z|([+-])(\d{2})(?::?(\d{2}))?)?$/;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** A Date's UTC time as "YYYY-MM-DDTHH:MM:SSZ" (whole seconds, truncated). */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Validates `value` and returns it with whole seconds (fractions truncated). Throws
 * `InvalidValueError` naming `what` when it is not an ISO 8601 date-time or not a real
 * calendar time.
 */
export function normalizeIsoTime(value: string, what: string): string {
  const m = PARTS.exec(value);
  if (!m) {
    throw new InvalidValueError(
      `${what}: ${JSON.stringify(value.slice(0, 60))} is not an ISO 8601 date-time (YYYY-MM-DDTHH:MM:SS[Z|+hh:mm])`,
    );
  }
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const probe = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    year < 1601 ||
    probe.getUTCFullYear() !== year ||
    probe.getUTCMonth() !== month - 1 ||
    probe.getUTCDate() !== day ||
    probe.getUTCHours() !== hour ||
    probe.getUTCMinutes() !== minute ||
    probe.getUTCSeconds() !== second
  ) {
    throw new InvalidValueError(`${what}: ${JSON.stringify(value)} is not a valid calendar time`);
  }
  const zone = m[7];
  if (zone === undefined) {
    return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}`;
  }
  let offsetMin = 0;
  if (zone !== 'Z') {
    const oh = Number(m[9]);
    const om = m[10] === undefined ? 0 : Number(m[10]);
    if (oh > 14 || om > 59) {
      throw new InvalidValueError(`${what}: ${JSON.stringify(value)} has an invalid UTC offset`);
    }
    offsetMin = (m[8] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return isoSeconds(probe.getTime() - offsetMin * 60_000);
}

/** When a normalized time falls, in ms since the epoch (a zone-less time: this host's local time). */
export function isoTimeMs(normalized: string): number {
  return Date.parse(normalized);
}
