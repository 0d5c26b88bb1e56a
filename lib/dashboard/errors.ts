/**
 * The dashboard API's errors: `ApiError` (HTTP status, short code, message for people) and the one
 * mapping from `azure-iothub` / network failures to API errors (404 unknown device or job, 412
 * etag conflict, 429 throttled, 502 hub unreachable or failing, 504 device offline or timed out).
 * Messages come from the hub's error text (never from the connection string).
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toJSON(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message);
export const notFound = (message: string): ApiError => new ApiError(404, 'NotFound', message);

interface SdkError {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  response?: { statusCode?: number };
  responseBody?: unknown;
}

/** `ErrorCode:Name;text` of an IoT Hub REST error body → `{ name, text }`. */
function hubBody(body: unknown): { name?: string; text?: string } {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return { text: body.slice(0, 300) };
    }
  }
  const m = (parsed as { Message?: unknown } | null)?.Message;
  if (typeof m !== 'string') return {};
  const hit = /^ErrorCode:([A-Za-z]+);([\s\S]*)$/.exec(m);
  return hit ? { name: hit[1]!, text: hit[2]!.slice(0, 300) } : { text: m.slice(0, 300) };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** What the thing asked for was (for messages): `device d1`, `job j1`. */
export interface ErrorSubject {
  deviceId?: string;
  jobId?: string;
}

/** Maps any failure of a hub call to an `ApiError` (an `ApiError` passes through). */
export function fromHubError(err: unknown, subject: ErrorSubject = {}): ApiError {
  if (err instanceof ApiError) return err;
  const e = (err ?? {}) as SdkError;
  const status = e.response?.statusCode;
  const { name, text } = hubBody(e.responseBody);
  const what = subject.deviceId
    ? `device ${subject.deviceId}`
    : subject.jobId
      ? `job ${subject.jobId}`
      : 'the request';
  const detail = text ?? (typeof e.message === 'string' ? e.message.slice(0, 300) : '');
  if (status === undefined) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && NETWORK_CODES.has(code)) {
      return new ApiError(502, 'HubUnreachable', `IoT Hub is unreachable (${code})`);
    }
    return new ApiError(502, 'HubError', `IoT Hub call failed: ${detail || 'unknown error'}`);
  }
  if (name === 'DeviceNotOnline') {
    return new ApiError(504, 'DeviceOffline', `${what} is offline (not connected to IoT Hub)`);
  }
  switch (status) {
    case 400:
      return new ApiError(400, 'BadRequest', `IoT Hub refused ${what}: ${detail}`);
    case 401:
    case 403:
      return new ApiError(
        502,
        'HubUnauthorized',
        `IoT Hub refused the dashboard's credentials: ${detail}`,
      );
    case 404:
      return new ApiError(
        404,
        'NotFound',
        name === 'JobNotFound' || subject.jobId
          ? `${subject.jobId ? what : 'the job'} was not found`
          : `${what} was not found`,
      );
    case 408:
    case 504:
      return new ApiError(504, 'DeviceTimeout', `${what}: the device did not answer in time`);
    case 409:
      return new ApiError(409, 'Conflict', detail || 'conflict');
    case 412:
      return new ApiError(
        412,
        'EtagMismatch',
        `the twin of ${what} changed since it was read; reload and try again`,
      );
    case 429:
      return new ApiError(429, 'Throttled', 'IoT Hub is throttling requests; try again shortly');
    default:
      return new ApiError(502, 'HubError', `IoT Hub answered ${status}: ${detail}`);
  }
}
