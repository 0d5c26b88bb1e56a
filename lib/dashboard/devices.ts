/**
 * Devices through `azure-iothub` `Registry`: the list (filters → an IoT Hub query, the query text
 * returned so the operator sees it), one device with its `windows` twin sections, desired patches
 * with If-Match, and the desired profile (download, apply).
 */
import { catalog } from './catalog';
import { badRequest, fromHubError } from './errors';
import type { HubClients } from './hub-client';
import { deviceId as checkDeviceId, desiredWindows, isObject, onlyKeys } from './validate';

export const SECTION_STATES = ['completed', 'failed', 'pending'] as const;
export const CONNECTION_STATES = ['Connected', 'Disconnected'] as const;

export interface DeviceFilter {
  section?: string;
  state?: string;
  connection?: string;
  deviceIds?: string[];
}

export interface DeviceRow {
  deviceId: string;
  connectionState: string;
  lastActivityTime: string | null;
  sections: Record<string, string>;
}

export interface DeviceView {
  deviceId: string;
  connectionState: string;
  lastActivityTime: string | null;
  etag: string;
  version: number | null;
  desired: Record<string, unknown>;
  reported: Record<string, unknown>;
}

type TwinJson = Record<string, unknown> & {
  deviceId: string;
  etag?: string;
  version?: number;
  connectionState?: string;
  lastActivityTime?: string;
  properties?: { desired?: Record<string, unknown>; reported?: Record<string, unknown> };
};

/**
 * The WHERE condition of a filter (checked against known values; ids validated), or `undefined`
 * for no filter. Device ids go in as `deviceId = '...' OR ...` (the local hub has no IN).
 */
export function filterCondition(f: DeviceFilter): string | undefined {
  const parts: string[] = [];
  if (f.state !== undefined && f.section === undefined) {
    throw badRequest('state needs a section');
  }
  if (f.section !== undefined) {
    if (!catalog().sections.includes(f.section)) {
      throw badRequest(`section ${JSON.stringify(f.section)} is not a known section`);
    }
    const path = `properties.reported.windows.${f.section}`;
    if (f.state === undefined) parts.push(`IS_DEFINED(${path})`);
    else if (!(SECTION_STATES as readonly string[]).includes(f.state)) {
      throw badRequest(`state must be one of ${SECTION_STATES.join(', ')}`);
    } else parts.push(`${path}.lastChange.state = '${f.state}'`);
  }
  if (f.connection !== undefined) {
    if (!(CONNECTION_STATES as readonly string[]).includes(f.connection)) {
      throw badRequest(`connection must be ${CONNECTION_STATES.join(' or ')}`);
    }
    parts.push(`connectionState = '${f.connection}'`);
  }
  if (f.deviceIds !== undefined) {
    if (!Array.isArray(f.deviceIds) || f.deviceIds.length === 0 || f.deviceIds.length > 100) {
      throw badRequest('deviceIds must be a list of 1 to 100 device ids');
    }
    const ids = f.deviceIds.map((id) => `deviceId = '${checkDeviceId(id, 'deviceIds entry')}'`);
    parts.push(ids.length === 1 ? ids[0]! : `(${ids.join(' OR ')})`);
  }
  return parts.length > 0 ? parts.join(' AND ') : undefined;
}

function sectionsOf(reported: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(reported)) return out;
  for (const [name, v] of Object.entries(reported)) {
    const state = isObject(v) && isObject(v.lastChange) ? v.lastChange.state : undefined;
    if (typeof state === 'string' && (SECTION_STATES as readonly string[]).includes(state)) {
      out[name] = state;
    }
  }
  return out;
}

const windowsOf = (props: Record<string, unknown> | undefined): Record<string, unknown> => {
  const w = props?.windows;
  return isObject(w) ? w : {};
};

export function deviceView(t: TwinJson): DeviceView {
  return {
    deviceId: t.deviceId,
    connectionState: t.connectionState ?? 'Disconnected',
    lastActivityTime: t.lastActivityTime ?? null,
    etag: t.etag ?? '',
    version: typeof t.version === 'number' ? t.version : null,
    desired: windowsOf(t.properties?.desired),
    reported: windowsOf(t.properties?.reported),
  };
}

const one = (q: URLSearchParams, name: string): string | undefined => {
  const all = q.getAll(name);
  if (all.length > 1) throw badRequest(`${name} given more than once`);
  return all[0] === '' ? undefined : all[0];
};

/** `GET /api/devices?search=&section=&state=&connection=&top=&continuation=`. */
export async function listDevices(
  hub: HubClients,
  q: URLSearchParams,
): Promise<{ devices: DeviceRow[]; continuation?: string; query: string }> {
  for (const k of q.keys()) {
    if (!['search', 'section', 'state', 'connection', 'top', 'continuation'].includes(k)) {
      throw badRequest(`unknown parameter ${JSON.stringify(k)}`);
    }
  }
  const search = one(q, 'search');
  if (search !== undefined && search.length > 128) throw badRequest('search is too long (128)');
  const topText = one(q, 'top');
  const top = topText === undefined ? 100 : Number(topText);
  if (!Number.isInteger(top) || top < 1 || top > 1000) {
    throw badRequest('top must be an integer from 1 to 1000');
  }
  const continuation = one(q, 'continuation');
  if (continuation !== undefined && continuation.length > 4096) {
    throw badRequest('continuation is too long');
  }
  const condition = filterCondition({
    ...(one(q, 'section') !== undefined ? { section: one(q, 'section')! } : {}),
    ...(one(q, 'state') !== undefined ? { state: one(q, 'state')! } : {}),
    ...(one(q, 'connection') !== undefined ? { connection: one(q, 'connection')! } : {}),
  });
  const sql = `SELECT * FROM devices${condition ? ` WHERE ${condition}` : ''}`;
  let rows: TwinJson[];
  let next: string | undefined;
  try {
    const query = hub.registry.createQuery(sql, top);
    const page = continuation ? await query.next(continuation) : await query.next();
    rows = page.result as TwinJson[];
    next = query.hasMoreResults ? query.continuationToken : undefined;
  } catch (err) {
    throw fromHubError(err);
  }
  const needle = search?.toLowerCase();
  const devices = rows
    .filter((t) => !needle || t.deviceId.toLowerCase().includes(needle))
    .map((t) => ({
      deviceId: t.deviceId,
      connectionState: t.connectionState ?? 'Disconnected',
      lastActivityTime: t.lastActivityTime ?? null,
      sections: sectionsOf(t.properties?.reported?.windows),
    }));
  return { devices, ...(next ? { continuation: next } : {}), query: sql };
}

export async function getDevice(hub: HubClients, id: string): Promise<DeviceView> {
  try {
    const { responseBody } = await hub.registry.getTwin(id);
    return deviceView(responseBody as unknown as TwinJson);
  } catch (err) {
    throw fromHubError(err, { deviceId: id });
  }
}

/** The `If-Match` header's etag (quotes dropped); required. */
export function ifMatch(header: string | undefined): string {
  const v = header
    ?.trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
  if (!v) throw badRequest('If-Match with the twin etag is required');
  if (v.length > 128 || !/^[A-Za-z0-9+/=_\-:.]+$/.test(v))
    throw badRequest('If-Match is not an etag');
  return v;
}

async function patchDesired(
  hub: HubClients,
  id: string,
  windows: Record<string, unknown>,
  etag: string,
): Promise<DeviceView> {
  try {
    const { responseBody } = await hub.registry.updateTwin(
      id,
      { properties: { desired: { windows } } },
      etag,
    );
    return deviceView(responseBody as unknown as TwinJson);
  } catch (err) {
    throw fromHubError(err, { deviceId: id });
  }
}

/** `PATCH /api/devices/:id/desired` body `{ windows: {...} }`. */
export async function updateDesired(
  hub: HubClients,
  id: string,
  body: unknown,
  etagHeader: string | undefined,
): Promise<DeviceView> {
  const etag = ifMatch(etagHeader);
  if (!isObject(body)) throw badRequest('the body must be { "windows": { <section>: <value> } }');
  onlyKeys(body, ['windows'], 'desired patch');
  return patchDesired(hub, id, desiredWindows(body.windows), etag);
}

/** `GET /api/devices/:id/profile`: the desired `windows` object. */
export async function getProfile(hub: HubClients, id: string): Promise<Record<string, unknown>> {
  return (await getDevice(hub, id)).desired;
}

/** `PUT /api/devices/:id/profile`: a profile (`{ <section>: ... }` or `{ windows: {...} }`). */
export async function putProfile(
  hub: HubClients,
  id: string,
  body: unknown,
  etagHeader: string | undefined,
): Promise<DeviceView> {
  const etag = ifMatch(etagHeader);
  if (!isObject(body)) throw badRequest('a profile is a JSON object of windows sections');
  const keys = Object.keys(body);
  const windows = keys.length === 1 && keys[0] === 'windows' ? body.windows : body;
  return patchDesired(hub, id, desiredWindows(windows, 'profile'), etag);
}
