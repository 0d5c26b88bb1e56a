/**
 * The original client's per-section switches, read from a section's desired value:
 * - `null`: stop managing the section and remove it from reported;
 * - `"no-apply-no-report"`: apply nothing, report `"no-report"`;
 * - `"no-apply-yes-report"`: apply nothing, report the device's state;
 * - `{ applyProperties: {...} | "no", reportProperties: "yes" | "no" }`;
 * - any other object: apply it and report.
 * A `"?"` key inside the content to apply is the enumeration switch, handed to the handler
 * separately (`ctx.enumeration`).
 */
import { InvalidValueError } from '../errors';
import type { Json, JsonObject } from './handler';

export interface SectionPlan {
  remove: boolean;
  /** Content to apply, without `"?"`; undefined when nothing is to be applied. */
  apply?: JsonObject;
  enumeration?: Json;
  report: boolean;
}

const SWITCH_KEYS = new Set(['applyProperties', 'reportProperties']);

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function split(content: JsonObject): Pick<SectionPlan, 'apply' | 'enumeration'> {
  if (!Object.hasOwn(content, '?')) return { apply: content };
  const { ['?']: enumeration, ...rest } = content;
  return { apply: rest, enumeration: enumeration as Json };
}

/** Reads a section's desired value; throws `InvalidValueError` for a value of no known shape. */
export function planSection(section: string, value: Json): SectionPlan {
  if (value === null) return { remove: true, report: false };
  if (value === 'no-apply-no-report') return { remove: false, report: false };
  if (value === 'no-apply-yes-report') return { remove: false, report: true };
  if (!isObject(value)) {
    throw new InvalidValueError(
      `windows.${section}: expected an object, null, "no-apply-no-report" or "no-apply-yes-report", got ${
        typeof value === 'string'
          ? JSON.stringify(value.slice(0, 60))
          : Array.isArray(value)
            ? 'an array'
            : typeof value
      }`,
    );
  }
  const keys = Object.keys(value);
  if (keys.length > 0 && keys.every((k) => SWITCH_KEYS.has(k))) {
    const rp = value.reportProperties ?? 'yes';
    if (rp !== 'yes' && rp !== 'no') {
      throw new InvalidValueError(`windows.${section}.reportProperties: expected "yes" or "no"`);
    }
    const ap = value.applyProperties ?? 'no';
    if (ap === 'no') return { remove: false, report: rp === 'yes' };
    if (!isObject(ap)) {
      throw new InvalidValueError(`windows.${section}.applyProperties: expected an object or "no"`);
    }
    return { remove: false, report: rp === 'yes', ...split(ap) };
  }
  return { remove: false, report: true, ...split(value) };
}
