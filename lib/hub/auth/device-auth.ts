/**
 * Authentication of a device's MQTT CONNECT, as IoT Hub does it
 * (learn.microsoft.com "Communicate with an IoT hub using the MQTT protocol"; research notes
 * `iot-hub-dps-dha-peers.md` §1.1–1.2):
 *
 * - ClientId = device id (IoT Hub's character set, ≤ 128). `{deviceId}/{moduleId}` (modules) is
 *   not supported by this hub → CONNACK 2 (identifier rejected), as for an invalid id.
 * - Username = `{host}/{deviceId}/?api-version=...` (anything may follow `api-version`); the host
 *   must be one the hub answers to (case-insensitive) and the id must equal the ClientId.
 *   A username that does not have this shape, or a SAS device without a password → CONNACK 4
 *   (bad user name or password: "the data in the user name or password is malformed").
 * - SAS: the password is a device token for `{host}/devices/{deviceId}` signed with the device's
 *   primary or secondary key (see `sas.ts`). Unknown device, disabled device, expired token,
 *   wrong resource, wrong signature → CONNACK 5 (not authorized). IoT Hub answers 5 for these
 *   (the SDKs surface "Connection refused: Not authorized" → `UnauthorizedError`; e.g.
 *   Azure/azure-iot-sdks#844, Azure-Samples/iot-hub-feather-huzzah-client-app#27 "0x5: Not
 *   Authorized").
 * - X.509 (`selfSigned`): no password; the TLS client certificate's SHA-1 or SHA-256 thumbprint
 *   must equal the device's primary or secondary thumbprint. No/mismatching certificate → 5.
 *   `certificateAuthority` devices (CA-signed chains) are not supported yet → 5.
 */
import { normalizeThumbprint, thumbprints } from '../tls';
import { deviceResource, verifySasToken, type SasFailure } from './sas';

/** The registry fields authentication needs (IoT Hub's Device JSON shape). */
export interface DeviceAuthRecord {
  deviceId: string;
  status?: 'enabled' | 'disabled' | string;
  authentication?: {
    type?: 'sas' | 'selfSigned' | 'certificateAuthority' | 'none' | string;
    symmetricKey?: { primaryKey?: string | null; secondaryKey?: string | null } | null;
    x509Thumbprint?: {
      primaryThumbprint?: string | null;
      secondaryThumbprint?: string | null;
    } | null;
  };
}

export type DeviceLookup = (deviceId: string) => DeviceAuthRecord | undefined;

/** MQTT 3.1.1 CONNACK return codes used by the hub. */
export const CONNACK = {
  ACCEPTED: 0,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;

export type ConnectRefusal =
  | SasFailure
  | 'invalid-client-id'
  | 'modules-unsupported'
  | 'bad-username'
  | 'unknown-host'
  | 'missing-password'
  | 'unknown-device'
  | 'device-disabled'
  | 'no-client-certificate'
  | 'thumbprint-mismatch'
  | 'unsupported-auth-type';

export type ConnectAuthResult =
  | { ok: true; deviceId: string; method: 'sas' | 'x509'; host: string }
  | { ok: false; returnCode: 2 | 4 | 5; reason: ConnectRefusal; detail: string };

export interface ConnectAuthInput {
  clientId: string;
  username: string | undefined;
  password: Buffer | string | undefined;
  /** DER of the TLS client certificate, when the client sent one. */
  clientCertificate?: Buffer | undefined;
  /** Host names (optionally with `:port`) the hub answers to; compared case-insensitively. */
  hostNames: readonly string[];
  lookup: DeviceLookup;
  now?: number;
}

const DEVICE_ID = /^[A-Za-z0-9\-:.+%_#*?!(),=@$']{1,128}$/;

/** True for a valid IoT Hub device id (ASCII alphanumerics and `- : . + % _ # * ? ! ( ) , = @ $ '`). */
export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID.test(id);
}

export function authenticateConnect(input: ConnectAuthInput): ConnectAuthResult {
  const { clientId } = input;
  if (clientId.includes('/')) {
    return refuse(2, 'modules-unsupported', 'module identities are not supported by this hub');
  }
  if (!isValidDeviceId(clientId)) {
    return refuse(
      2,
      'invalid-client-id',
      `client id ${JSON.stringify(clientId)} is not a device id`,
    );
  }
  const user = parseUsername(input.username);
  if (!user || user.deviceId !== clientId) {
    return refuse(
      4,
      'bad-username',
      'username must be {host}/{deviceId}/?api-version=... with the client id as device id',
    );
  }
  const host = input.hostNames.find((h) => h.toLowerCase() === user.host.toLowerCase());
  if (host === undefined) {
    return refuse(5, 'unknown-host', `this hub is not ${JSON.stringify(user.host)}`);
  }
  const device = input.lookup(clientId);
  if (!device) return refuse(5, 'unknown-device', `device ${clientId} is not registered`);
  if (device.status !== undefined && device.status !== 'enabled') {
    return refuse(5, 'device-disabled', `device ${clientId} is disabled`);
  }
  const auth = device.authentication ?? {};
  const type = auth.type ?? 'sas';
  const password =
    input.password === undefined
      ? undefined
      : Buffer.isBuffer(input.password)
        ? input.password.toString('utf8')
        : input.password;

  if (type === 'sas') {
    if (!password) {
      return refuse(4, 'missing-password', 'a SAS device must send a SharedAccessSignature');
    }
    const check = verifySasToken(password, {
      target: deviceResource(user.host, clientId),
      primaryKey: auth.symmetricKey?.primaryKey ?? undefined,
      secondaryKey: auth.symmetricKey?.secondaryKey ?? undefined,
      now: input.now,
    });
    if (!check.ok) {
      return refuse(check.reason === 'malformed' ? 4 : 5, check.reason, check.detail);
    }
    return { ok: true, deviceId: clientId, method: 'sas', host: user.host };
  }
  if (type === 'selfSigned') {
    if (!input.clientCertificate || input.clientCertificate.length === 0) {
      return refuse(5, 'no-client-certificate', 'an X.509 device must present its certificate');
    }
    const t = thumbprints(input.clientCertificate);
    const allowed = [
      auth.x509Thumbprint?.primaryThumbprint,
      auth.x509Thumbprint?.secondaryThumbprint,
    ]
      .filter((v): v is string => typeof v === 'string' && v !== '')
      .map(normalizeThumbprint);
    if (!allowed.includes(t.thumbprintSha1) && !allowed.includes(t.thumbprintSha256)) {
      return refuse(5, 'thumbprint-mismatch', 'client certificate thumbprint is not registered');
    }
    return { ok: true, deviceId: clientId, method: 'x509', host: user.host };
  }
  return refuse(
    5,
    'unsupported-auth-type',
    `authentication type ${JSON.stringify(type)} is not supported`,
  );
}

/** `{host}/{deviceId}/?api-version=...` → parts; `undefined` when it has another shape. */
export function parseUsername(
  username: string | undefined,
): { host: string; deviceId: string; query: URLSearchParams } | undefined {
  if (!username) return undefined;
  const q = username.indexOf('/?');
  if (q < 0) return undefined;
  const pathPart = username.slice(0, q);
  const slash = pathPart.indexOf('/');
  if (slash <= 0) return undefined;
  const host = pathPart.slice(0, slash);
  const deviceId = pathPart.slice(slash + 1);
  const query = new URLSearchParams(username.slice(q + 2));
  if (!deviceId || !query.get('api-version')) return undefined;
  return { host, deviceId, query };
}

function refuse(returnCode: 2 | 4 | 5, reason: ConnectRefusal, detail: string): ConnectAuthResult {
  return { ok: false, returnCode, reason, detail };
}
