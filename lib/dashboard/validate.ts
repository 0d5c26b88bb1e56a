/**
 * Server-side checks of what the UI sends: desired `windows` sections (each checked with its
 * built-in handler's desired schema, after the section switches of `lib/dm/switches.ts`; unknown
 * or report-only sections refused), device and job ids, and small helpers for JSON bodies.
 * Every failure is a 400 `ApiError` with a message naming the field.
 */
import { planSection } from '../dm/switches';
import { check } from '../dm/schema';
import type { Json } from '../dm/handler';
import { catalog } from './catalog';
import { badRequest } from './errors';

/** IoT Hub device ids (no quote: ids are spliced into queries only after this check). */
const DEVICE_ID = /^[A-Za-z0-9\-.%_*?!(),:=@$]{1,128}$/;
const JOB_ID = /^[A-Za-z0-9\-_.]{1,128}$/;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deviceId(v: unknown, what = 'device id'): string {
  if (typeof v !== 'string' || !DEVICE_ID.test(v)) {
    throw badRequest(
      `${what} must be an IoT Hub device id (letters, digits, -.%_*?!(),:=@$; 1-128)`,
    );
  }
  return v;
}

export function jobId(v: unknown): string {
  if (typeof v !== 'string' || !JOB_ID.test(v)) {
    throw badRequest('job id must be 1-128 letters, digits, -, _ or .');
  }
  return v;
}

/** Refuses keys other than `allowed` in a body object. */
export function onlyKeys(
  body: Record<string, unknown>,
  allowed: readonly string[],
  what: string,
): void {
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw badRequest(
      `${what}: unknown field ${JSON.stringify(extra[0])} (allowed: ${allowed.join(', ')})`,
    );
  }
}

/**
 * A desired `windows` patch: `{ <section>: <value|null> }`. Returns it unchanged when every
 * section is a known built-in section with desired content and its value fits the schema.
 */
export function desiredWindows(v: unknown, what = 'windows'): Record<string, Json> {
  if (!isObject(v)) throw badRequest(`${what} must be an object of sections`);
  const names = Object.keys(v);
  if (names.length === 0) throw badRequest(`${what} is empty: nothing to change`);
  const { desired, sections } = catalog();
  for (const name of names) {
    const schema = desired.get(name);
    if (!schema) {
      throw badRequest(
        sections.includes(name)
          ? `${what}.${name} is reported by the device only (no desired properties)`
          : `${what}.${name} is not a known section`,
      );
    }
    let plan;
    try {
      plan = planSection(name, v[name] as Json);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    if (plan.apply === undefined) continue;
    const problems = check(schema, plan.apply, `${what}.${name}`);
    if (problems.length > 0) {
      const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
      throw badRequest(`invalid ${what}.${name}: ${problems.slice(0, 3).join('; ')}${more}`);
    }
  }
  return v as Record<string, Json>;
}

/** `timeoutSeconds`: 5-300, default 30 (IoT Hub's direct method limits). */
export function timeoutSeconds(v: unknown): number {
  if (v === undefined) return 30;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 5 || v > 300) {
    throw badRequest('timeoutSeconds must be an integer from 5 to 300');
  }
  return v;
}
