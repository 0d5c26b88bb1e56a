/**
 * Pure twin helpers shared by the views (no DOM): section status, desired/reported differences,
 * patches between two desired objects, profile validation and form value parsing. Importable from
 * Node for the unit tests (test/dashboard/ui-lib.test.ts).
 */

/** The built-in sections (lib/features/index.ts BUILTIN_SECTIONS), in display order. */
export const SECTIONS = Object.freeze([
  'externalStorage',
  'deviceInfo',
  'windowsTelemetry',
  'windowsUpdatePolicy',
  'windowsUpdates',
  'rebootInfo',
  'rebootCmd',
  'factoryReset',
  'remoteWipe',
  'timeInfo',
  'timeService',
  'deviceHealthAttestation',
  'certificates',
  'apps',
  'manageAppLifeCycleCmd',
  'desktopApps',
  'wifi',
  'eventTracingCollectors',
]);

/** Sections that only report (a desired value is refused or meaningless). */
export const REPORT_ONLY = Object.freeze([
  'rebootCmd',
  'factoryReset',
  'remoteWipe',
  'manageAppLifeCycleCmd',
]);

export const STATES = Object.freeze(['completed', 'failed', 'pending']);

/** Keys of a reported section that are bookkeeping, not values to compare with desired. */
const META_KEYS = new Set(['lastChange']);

export function isPlainObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep equality for JSON values. */
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

/** The `lastChange.state` of a reported section, or undefined. */
export function sectionState(reportedSection) {
  if (!isPlainObject(reportedSection)) return undefined;
  const lc = reportedSection.lastChange;
  return isPlainObject(lc) && typeof lc.state === 'string' ? lc.state : undefined;
}

/** `{ section: state }` for every reported section that has a lastChange. */
export function sectionStates(reportedWindows) {
  const out = {};
  if (!isPlainObject(reportedWindows)) return out;
  for (const [name, value] of Object.entries(reportedWindows)) {
    const st = sectionState(value);
    if (st) out[name] = st;
  }
  return out;
}

/**
 * The keys where a desired section and its reported counterpart differ, one entry per key
 * present in desired: `{ key, desired, reported, same }`. `lastChange` is left out. A desired
 * value that is not an object (a switch such as "no-apply-yes-report") is compared as a whole
 * under the key "".
 */
export function diffSection(desired, reported) {
  if (desired === undefined) return [];
  if (!isPlainObject(desired)) {
    return [{ key: '', desired, reported, same: jsonEqual(desired, reported) }];
  }
  const rep = isPlainObject(reported) ? reported : {};
  return Object.keys(desired)
    .filter((k) => !META_KEYS.has(k))
    .map((key) => ({
      key,
      desired: desired[key],
      reported: rep[key],
      same: Object.hasOwn(rep, key) && jsonEqual(desired[key], rep[key]),
    }));
}

/**
 * The twin patch (`{ windows: {...} }`) that turns desired `before` into `after`: sections that
 * changed or were added carry their new value, sections removed carry null (a twin null deletes
 * the key). Returns null when nothing changed.
 */
export function buildPatch(before, after) {
  const b = isPlainObject(before) ? before : {};
  const a = isPlainObject(after) ? after : {};
  const windows = {};
  for (const [k, v] of Object.entries(a)) if (!jsonEqual(b[k], v)) windows[k] = v;
  for (const k of Object.keys(b)) if (!Object.hasOwn(a, k)) windows[k] = null;
  return Object.keys(windows).length ? { windows } : null;
}

/**
 * Checks a desired `windows` object (a loaded profile or the raw editor's text once parsed):
 * an object whose keys are known sections and whose values are objects, strings (switches such as
 * "no-apply-yes-report") or null. Returns the problems, `[]` when it fits. The server checks
 * each section against the feature schemas; this catches what can be seen without them.
 */
export function validateDesiredWindows(value, known = SECTIONS) {
  if (!isPlainObject(value)) return ['the profile must be a JSON object of sections'];
  const problems = [];
  const names = Object.keys(value);
  if (names.length === 0) problems.push('the profile has no section');
  for (const name of names) {
    if (!known.includes(name)) problems.push(`${name}: unknown section`);
    else if (REPORT_ONLY.includes(name) && value[name] !== null)
      problems.push(`${name}: report-only section, it takes no desired value`);
    else {
      const v = value[name];
      if (!(v === null || typeof v === 'string' || isPlainObject(v)))
        problems.push(`${name}: expected an object, a string switch or null`);
    }
  }
  return problems;
}

/**
 * Parses profile text: accepts a bare `windows` object or the original dashboard's
 * `{ "properties": { "desired": { "windows": ... } } }` / `{ "windows": ... }` wrappers.
 * Returns `{ windows }` or `{ errors }`.
 */
export function parseProfile(text) {
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { errors: [`not valid JSON: ${e instanceof Error ? e.message : String(e)}`] };
  }
  let windows = json;
  if (
    isPlainObject(json) &&
    isPlainObject(json.properties) &&
    isPlainObject(json.properties.desired)
  )
    windows = json.properties.desired.windows;
  else if (isPlainObject(json) && Object.keys(json).length === 1 && Object.hasOwn(json, 'windows'))
    windows = json.windows;
  const errors = validateDesiredWindows(windows);
  return errors.length ? { errors } : { windows };
}

/**
 * Converts a form field's text to its JSON value by field type. Returns `{ value }` (undefined
 * value = leave the key out) or `{ error }`.
 */
export function parseField(field, raw) {
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (field.type) {
    case 'checkbox':
      return { value: Boolean(raw) };
    case 'boolean':
      if (text === '' || text === undefined) return { value: undefined };
      if (text === 'true' || text === true) return { value: true };
      if (text === 'false' || text === false) return { value: false };
      return { error: `${field.label}: "${text}" is not true or false` };
    case 'integer':
    case 'number': {
      if (text === '' || text === undefined) return { value: undefined };
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: `${field.label}: "${text}" is not a number` };
      if (field.type === 'integer' && !Number.isInteger(n))
        return { error: `${field.label}: ${n} is not a whole number` };
      if (field.min !== undefined && n < field.min)
        return { error: `${field.label}: ${n} is below ${field.min}` };
      if (field.max !== undefined && n > field.max)
        return { error: `${field.label}: ${n} is above ${field.max}` };
      return { value: n };
    }
    case 'json': {
      if (text === '' || text === undefined) return { value: undefined };
      try {
        return { value: JSON.parse(text) };
      } catch (e) {
        return { error: `${field.label}: not valid JSON (${e instanceof Error ? e.message : e})` };
      }
    }
    default: {
      if (text === '' || text === undefined) return { value: field.allowEmpty ? '' : undefined };
      if (field.pattern && !new RegExp(`^(?:${field.pattern})$`).test(text))
        return { error: `${field.label}: "${text}" ${field.patternHint ?? 'has the wrong form'}` };
      if (field.number) return { value: Number(text) };
      return { value: text };
    }
  }
}

/**
 * Builds an object from form fields: `values` maps field keys to raw input values. Returns
 * `{ value, errors }`; keys whose value is undefined are left out.
 */
export function buildObject(fields, values) {
  const value = {};
  const errors = [];
  for (const f of fields) {
    const r = parseField(f, values[f.key]);
    if (r.error) errors.push(r.error);
    else if (r.value !== undefined) value[f.key] = r.value;
  }
  for (const f of fields) {
    if (f.required && value[f.key] === undefined && !errors.some((e) => e.startsWith(f.label)))
      errors.push(`${f.label}: required`);
  }
  return { value, errors };
}

/** "3 s ago" style age of an ISO time relative to `now` (ms). */
export function formatAge(iso, now = Date.now()) {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (!Number.isFinite(t) || t <= 0) return 'never';
  const s = Math.round((now - t) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** Job progress as a percentage (0-100) of finished devices. */
export function jobPercent(progress) {
  if (!isPlainObject(progress)) return 0;
  const total = Number(progress.total) || 0;
  if (total <= 0) return 0;
  const done = (Number(progress.succeeded) || 0) + (Number(progress.failed) || 0);
  return Math.min(100, Math.round((done * 100) / total));
}

/** Whether a job status is final. */
export function jobFinished(status) {
  return ['completed', 'failed', 'cancelled'].includes(String(status));
}

/** Splits a comma/space/newline separated device id list, dropping empties and duplicates. */
export function parseDeviceIds(text) {
  return [
    ...new Set(
      String(text ?? '')
        .split(/[\s,]+/)
        .filter(Boolean),
    ),
  ];
}
