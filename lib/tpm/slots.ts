/**
 * Limpet slot and URI rules: slot numbers 0-9, the stored service URI
 * `<hubHost>/<deviceId>[/<moduleId>]`, and parsing of the device/module SharedAccessKey
 * connection strings `-PCS` imports. Errors never echo keys or connection strings.
 */
import { InvalidArgumentError, TpmError } from '../errors';
import { SLOT_COUNT } from './api';

/** Longest service URI stored (bytes of UTF-8). */
export const MAX_URI_BYTES = 1024;

export function checkSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) {
    throw new InvalidArgumentError('slot', `an integer slot 0-${SLOT_COUNT - 1}`, slot);
  }
}

export function checkUri(uri: string): Buffer {
  if (typeof uri !== 'string' || uri.length === 0 || uri.includes('\0')) {
    throw new InvalidArgumentError('uri', 'a non-empty "<hubHost>/<deviceId>[/<moduleId>]"', uri);
  }
  const parts = uri.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new InvalidArgumentError('uri', '"<hubHost>/<deviceId>[/<moduleId>]"', uri);
  }
  const data = Buffer.from(uri, 'utf8');
  if (data.length > MAX_URI_BYTES) {
    throw new InvalidArgumentError('uri', `at most ${MAX_URI_BYTES} bytes of UTF-8`, uri);
  }
  return data;
}

export function splitUri(
  slot: number,
  uri: string,
): { host: string; deviceId: string; moduleId?: string } {
  const [host, deviceId, moduleId, ...rest] = uri.split('/');
  if (!host || !deviceId || rest.length > 0 || moduleId === '') {
    throw new TpmError(
      'TPM2_NV_Read',
      0,
      'MALFORMED',
      `Slot ${slot}'s stored URI is not "<hubHost>/<deviceId>[/<moduleId>]"`,
    );
  }
  return moduleId ? { host, deviceId, moduleId } : { host, deviceId };
}

export interface DeviceConnectionString {
  host: string;
  deviceId: string;
  moduleId?: string;
  key: Buffer;
}

/** Parses a device/module SharedAccessKey connection string; errors never echo the key. */
export function parseDeviceConnectionString(connectionString: string): DeviceConnectionString {
  const bad = (what: string): InvalidArgumentError =>
    new InvalidArgumentError(
      'connectionString',
      `a HostName=..;DeviceId=..[;ModuleId=..];SharedAccessKey=.. connection string (${what})`,
      '(connection string not shown)',
    );
  if (typeof connectionString !== 'string') throw bad('not a string');
  const fields = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad('a field without a name');
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const host = fields.get('HostName');
  const deviceId = fields.get('DeviceId');
  const moduleId = fields.get('ModuleId');
  const keyText = fields.get('SharedAccessKey');
  if (!host) throw bad('no HostName');
  if (!deviceId) throw bad('no DeviceId');
  if (fields.has('SharedAccessKeyName'))
    throw bad('a policy (SharedAccessKeyName) connection string');
  if (!keyText) throw bad('no SharedAccessKey');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyText) || keyText.length % 4 !== 0) {
    throw bad('SharedAccessKey is not base64');
  }
  if ([host, deviceId, moduleId ?? 'x'].some((v) => v.includes('/'))) throw bad('a "/" in a name');
  const key = Buffer.from(keyText, 'base64');
  return moduleId ? { host, deviceId, moduleId, key } : { host, deviceId, key };
}
