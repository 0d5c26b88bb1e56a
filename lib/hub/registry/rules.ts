/**
 * Device identity rules as IoT Hub documents them (REST `Devices - Create Or Update Identity`,
 * `iot-hub-devguide-identity-registry`): device ids up to 128 characters of ASCII letters, digits
 * and `- : . + % _ # * ? ! ( ) , = @ $ '`; symmetric keys base64 of 16 to 64 bytes (IoT Hub
 * generates 32-byte keys when none are given); X.509 thumbprints SHA-1 (40 hex) or SHA-256 (64 hex).
 */
import { randomBytes } from 'node:crypto';
import { argumentInvalid } from '../errors';

const DEVICE_ID = /^[A-Za-z0-9\-:.+%_#*?!(),=@$']{1,128}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const THUMBPRINT = /^([0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$/;

export function checkDeviceId(id: unknown): string {
  if (typeof id !== 'string' || !DEVICE_ID.test(id)) {
    throw argumentInvalid(
      `DeviceId ${JSON.stringify(id)} is invalid: up to 128 characters of letters, digits and -:.+%_#*?!(),=@$'`,
    );
  }
  return id;
}

export function generateKey(): string {
  return randomBytes(32).toString('base64');
}

export function checkKey(key: unknown, name: string): string {
  if (typeof key !== 'string' || key.length % 4 !== 0 || !BASE64.test(key)) {
    throw argumentInvalid(`${name} is not a valid base64 string`);
  }
  const n = Buffer.from(key, 'base64').length;
  if (n < 16 || n > 64) throw argumentInvalid(`${name} must be 16 to 64 bytes long, not ${n}`);
  return key;
}

export function checkThumbprint(value: unknown, name: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || !THUMBPRINT.test(value)) {
    throw argumentInvalid(`${name} must be a SHA-1 or SHA-256 thumbprint in hex`);
  }
  return value.toUpperCase();
}

/** The device etag IoT Hub style: base64 of the ASCII digits of a counter. */
export function deviceEtag(version: number): string {
  return Buffer.from(String(version), 'ascii').toString('base64');
}
