/**
 * The dashboard API client (docs/dashboard-api.md): fetch with JSON bodies, the session's CSRF
 * token on every changing request, and ApiError objects carrying the server's { code, message },
 * the HTTP status and a sentence for the operator (hub unreachable, throttled, device offline...).
 */

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }

  /** A sentence for the operator: what happened, in words, then the server's message. */
  get explanation() {
    const what = {
      0: 'The dashboard server cannot be reached',
      400: 'Refused',
      401: 'Not signed in (open the login link printed by the server)',
      403: 'Forbidden',
      404: 'Not found',
      409: 'Conflict',
      412: 'The twin changed meanwhile',
      429: 'IoT Hub is throttling requests; try again shortly',
      502: 'IoT Hub is unreachable',
      504: 'The device is offline or did not answer in time',
    }[this.status];
    const head = what ?? (this.status >= 500 ? 'Server error' : `Error ${this.status}`);
    return this.message && this.message !== head ? `${head}: ${this.message}` : head;
  }
}

let session = null;
let sessionPromise = null;

/** GET /api/session once: { csrf, hub: { host }, readOnly }. */
export function getSession() {
  if (session) return Promise.resolve(session);
  if (!sessionPromise) {
    sessionPromise = request('GET', '/api/session')
      .then((s) => {
        session = s;
        return s;
      })
      .finally(() => {
        sessionPromise = null;
      });
  }
  return sessionPromise;
}

/**
 * One request. `body` is sent as JSON; `headers` are added. Resolves with the parsed JSON body
 * (or the text for non-JSON answers); rejects with an ApiError.
 */
export async function request(method, url, { body, headers = {} } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (method !== 'GET' && method !== 'HEAD') {
    const s = await getSession();
    h['X-Csrf-Token'] = s.csrf;
  }
  if (body !== undefined) h['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e));
  }
  const type = res.headers.get('Content-Type') ?? '';
  const data = type.includes('json') ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    const err = data && typeof data === 'object' && data.error ? data.error : {};
    throw new ApiError(
      res.status,
      typeof err.code === 'string' ? err.code : String(res.status),
      typeof err.message === 'string' ? err.message : res.statusText,
    );
  }
  return data;
}

const enc = encodeURIComponent;

/** GET /api/devices with the filters (empty ones left out). */
export function listDevices(filters = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v !== undefined && v !== '') q.set(k, v);
  const qs = q.toString();
  return request('GET', `/api/devices${qs ? `?${qs}` : ''}`);
}

export const getDevice = (id) => request('GET', `/api/devices/${enc(id)}`);

export const patchDesired = (id, etag, windows) =>
  request('PATCH', `/api/devices/${enc(id)}/desired`, {
    body: { windows },
    headers: { 'If-Match': etag },
  });

export const invokeMethod = (id, name, body) =>
  request('POST', `/api/devices/${enc(id)}/methods/${enc(name)}`, { body });

export const getProfile = (id) => request('GET', `/api/devices/${enc(id)}/profile`);

export const putProfile = (id, etag, profile) =>
  request('PUT', `/api/devices/${enc(id)}/profile`, {
    body: profile,
    headers: { 'If-Match': etag },
  });

export const listJobs = () => request('GET', '/api/jobs');
export const getJob = (id) => request('GET', `/api/jobs/${enc(id)}`);
export const createJob = (spec) => request('POST', '/api/jobs', { body: spec });

/** The EventSource URL for one device, or every listed device without `deviceId`. */
export const eventsUrl = (deviceId) =>
  deviceId ? `/api/events?device=${enc(deviceId)}` : '/api/events';
