/**
 * Shared access signatures as IoT Hub checks them.
 *
 * Token: `SharedAccessSignature sr={url-encoded resource}&sig={url-encoded base64 HMAC}&se={expiry}`
 * `[&skn={policy name}]`, fields in any order (azure-iot-common `SharedAccessSignature.parse` and
 * `create`; `common/core/src/authorization.ts`).
 *
 * Rules implemented here:
 * - `sig` = base64(HMAC-SHA256(key = base64-decode(shared key), `sr` exactly as it appears in the
 *   token (still URL-encoded) + "\n" + `se`)); accepted with the primary OR the secondary key;
 *   compared in constant time.
 * - `se` = seconds since the epoch (UTC); the token is refused when `se <= now`.
 * - `sr`, URL-decoded, must be the target resource or a prefix of it by whole path segments
 *   (IoT Hub docs, "Control access to IoT Hub with SAS": "URI prefix (by segment) of the endpoints
 *   that can be accessed with this token, starting with host name"), compared case-insensitively
 *   (the same docs ask for the lower-cased resource URI, and host names are case-insensitive).
 *   Device resource: `{host}/devices/{deviceId}`; service policy resource: `{host}`.
 * - Device keys sign without `skn`; a token with `skn` is a policy token and needs the policy's key.
 *
 * Failure reasons are for tests and logs; they never contain the token, the signature or a key.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface ParsedSasToken {
  /** `sr` as it appears in the token (URL-encoded): the string that was signed. */
  rawResource: string;
  /** `sr` URL-decoded. */
  resource: string;
  /** `sig` URL-decoded (base64). */
  signature: string;
  /** `se`: expiry, seconds since the epoch. */
  expiry: number;
  /** `se` as it appears in the token (signed verbatim). */
  rawExpiry: string;
  /** `skn`, URL-decoded, when present. */
  keyName?: string;
}

export type SasFailure =
  'malformed' | 'expired' | 'wrong-resource' | 'bad-signature' | 'unexpected-key-name' | 'no-key';

export type SasCheck =
  | { ok: true; token: ParsedSasToken; keyUsed: 'primary' | 'secondary' }
  | {
      ok: false;
      reason: SasFailure;
      /** Human-readable, secret-free explanation. */
      detail: string;
    };

const PREFIX = 'SharedAccessSignature ';

/** Parses a SAS token; `undefined` when it is not one (missing fields, bad numbers, bad escapes). */
export function parseSasToken(token: string): ParsedSasToken | undefined {
  if (typeof token !== 'string' || !token.startsWith(PREFIX)) return undefined;
  const fields = new Map<string, string>();
  for (const part of token.slice(PREFIX.length).split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const name = part.slice(0, eq);
    if (fields.has(name)) return undefined;
    fields.set(name, part.slice(eq + 1));
  }
  const rawResource = fields.get('sr');
  const rawSig = fields.get('sig');
  const rawExpiry = fields.get('se');
  if (!rawResource || !rawSig || !rawExpiry || !/^\d{1,12}$/.test(rawExpiry)) return undefined;
  const resource = safeDecode(rawResource);
  const signature = safeDecode(rawSig);
  if (resource === undefined || signature === undefined) return undefined;
  const parsed: ParsedSasToken = {
    rawResource,
    resource,
    signature,
    expiry: Number(rawExpiry),
    rawExpiry,
  };
  const skn = fields.get('skn');
  if (skn !== undefined) {
    const keyName = safeDecode(skn);
    if (keyName === undefined || keyName === '') return undefined;
    parsed.keyName = keyName;
  }
  return parsed;
}

export interface SasVerifyOptions {
  /** The resource being accessed, e.g. `myhub.azure-devices.net/devices/dev1` (not encoded). */
  target: string;
  /** Base64 shared keys; empty/undefined entries are skipped. */
  primaryKey?: string | undefined;
  secondaryKey?: string | undefined;
  /**
   * For policy tokens: the `skn` the token must carry. Device tokens must carry none
   * (`undefined`, the default).
   */
  keyName?: string | undefined;
  /** Current time in ms (tests). */
  now?: number;
}

/** Checks a token against a resource and the keys that may have signed it. */
export function verifySasToken(token: string, options: SasVerifyOptions): SasCheck {
  const parsed = parseSasToken(token);
  if (!parsed) {
    return fail('malformed', 'not a SharedAccessSignature with sr, sig and a numeric se');
  }
  const now = options.now ?? Date.now();
  if (parsed.expiry * 1000 <= now) {
    return fail('expired', `token expired at ${new Date(parsed.expiry * 1000).toISOString()}`);
  }
  if (!resourceCovers(parsed.resource, options.target)) {
    return fail(
      'wrong-resource',
      `token resource ${JSON.stringify(parsed.resource)} does not cover ${JSON.stringify(options.target)}`,
    );
  }
  if ((parsed.keyName ?? '') !== (options.keyName ?? '')) {
    return fail(
      'unexpected-key-name',
      options.keyName === undefined
        ? `a device token carries no skn (got ${JSON.stringify(parsed.keyName)})`
        : `expected skn ${JSON.stringify(options.keyName)}`,
    );
  }
  const keys: Array<['primary' | 'secondary', string | undefined]> = [
    ['primary', options.primaryKey],
    ['secondary', options.secondaryKey],
  ];
  let tried = 0;
  const given = Buffer.from(parsed.signature, 'utf8');
  for (const [which, key] of keys) {
    if (!key) continue;
    tried++;
    const expected = Buffer.from(sign(parsed.rawResource, parsed.rawExpiry, key), 'utf8');
    if (expected.length === given.length && timingSafeEqual(expected, given)) {
      return { ok: true, token: parsed, keyUsed: which };
    }
  }
  if (tried === 0) return fail('no-key', 'the identity has no shared access key');
  return fail('bad-signature', 'signature does not match the primary or the secondary key');
}

/** base64(HMAC-SHA256(base64-decoded key, `${encodedResource}\n${expiry}`)). */
export function sign(encodedResource: string, expiry: string | number, key: string): string {
  return createHmac('sha256', Buffer.from(key, 'base64'))
    .update(`${encodedResource}\n${expiry}`)
    .digest('base64');
}

/** `encodeURIComponent` plus `!'()*`, as the Azure SDKs encode `sr`, `sig` and `skn`. */
export function encodeUriComponentStrict(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16));
}

export interface SasGenerateOptions {
  /** Resource, not encoded (`{host}/devices/{id}` or `{host}`). */
  resource: string;
  /** Base64 shared key. */
  key: string;
  /** `skn`, for policy tokens only. */
  keyName?: string;
  /** Expiry, seconds since the epoch; default now + `ttlSeconds`. */
  expiry?: number;
  /** Default 3600 (the device SDK's token life). */
  ttlSeconds?: number;
  now?: number;
}

/** Builds a token the way azure-iot-common does. */
export function generateSasToken(options: SasGenerateOptions): string {
  const expiry =
    options.expiry ?? Math.floor((options.now ?? Date.now()) / 1000) + (options.ttlSeconds ?? 3600);
  const sr = encodeUriComponentStrict(options.resource);
  const sig = encodeUriComponentStrict(sign(sr, expiry, options.key));
  let token = `${PREFIX}sr=${sr}&sig=${sig}&se=${expiry}`;
  if (options.keyName) token += `&skn=${encodeUriComponentStrict(options.keyName)}`;
  return token;
}

/** `{host}/devices/{deviceId}`. */
export function deviceResource(host: string, deviceId: string): string {
  return `${host}/devices/${deviceId}`;
}

/** A device SAS token (no `skn`). */
export function generateDeviceSasToken(
  host: string,
  deviceId: string,
  key: string,
  options: { expiry?: number; ttlSeconds?: number; now?: number } = {},
): string {
  return generateSasToken({ resource: deviceResource(host, deviceId), key, ...options });
}

/** `HostName=..;DeviceId=..;SharedAccessKey=..` (plus `GatewayHostName=` when given). */
export function deviceConnectionString(
  host: string,
  deviceId: string,
  key: string,
  gatewayHostName?: string,
): string {
  const gateway = gatewayHostName ? `;GatewayHostName=${gatewayHostName}` : '';
  return `HostName=${host};DeviceId=${deviceId};SharedAccessKey=${key}${gateway}`;
}

/** True when `granted` equals `target` or is a prefix of it by whole `/` segments. */
export function resourceCovers(granted: string, target: string): boolean {
  const g = trimSlashes(granted).toLowerCase();
  const t = trimSlashes(target).toLowerCase();
  return g !== '' && (t === g || t.startsWith(g + '/'));
}

function trimSlashes(value: string): string {
  return value.replace(/\/+$/, '');
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

function fail(reason: SasFailure, detail: string): SasCheck {
  return { ok: false, reason, detail };
}
