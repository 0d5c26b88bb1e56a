/**
 * Typed CSP values: how JS values become SyncML data with a Meta/Format, and how a Get's
 * data is turned back into a JS value.
 */
import { InvalidValueError } from '../errors';
import type { CspFormat, CspResult } from '../native/contract';

/** What a CSP node may hold from JS: chr/xml text, int, bool, or b64 bytes. */
export type CspValue = string | number | boolean | Buffer | Uint8Array;

// XML 1.0 cannot carry these code points even as entities: such data must travel as b64.
const NON_XML_CHARS =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const INT_MIN = -2147483648;
export const INT_MAX = 4294967295;

/** The format a JS value travels as when none is given. */
export function inferFormat(value: CspValue): CspFormat {
  if (typeof value === 'string') return 'chr';
  if (typeof value === 'number') return 'int';
  if (typeof value === 'boolean') return 'bool';
  return 'b64';
}

/** Encodes `value` as SyncML data for `format`; throws `InvalidValueError` when it cannot be. */
export function encodeValue(value: CspValue, format: CspFormat, uri: string): string {
  const fail = (why: string): never => {
    throw new InvalidValueError(`value for ${uri} (${format}): ${why}`);
  };
  switch (format) {
    case 'int': {
      const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) fail('expected an integer');
      if ((n as number) < INT_MIN || (n as number) > INT_MAX)
        fail(`out of range ${INT_MIN}..${INT_MAX}`);
      return String(n);
    }
    case 'bool':
      if (typeof value === 'boolean') return value ? 'true' : 'false';
      if (value === 'true' || value === 'false') return value;
      return fail('expected true or false');
    case 'b64':
      if (typeof value === 'string') {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
          fail('expected bytes (Buffer) or a base64 string');
        }
        return value;
      }
      if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
      return fail('expected bytes (Buffer) or a base64 string');
    case 'chr':
    case 'xml': {
      if (typeof value !== 'string') {
        if (format === 'chr' && (typeof value === 'number' || typeof value === 'boolean')) {
          return String(value);
        }
        fail('expected a string');
      }
      if (NON_XML_CHARS.test(value as string)) {
        fail(
          'contains characters XML cannot carry (control characters or lone surrogates); send it as b64',
        );
      }
      return value as string;
    }
    case 'node':
    case 'null':
      return fail(`a ${format} node carries no value`);
  }
}

/** A Get result's data as a JS value, by the format the device reported (or `fallback`). */
export function decodeValue(result: CspResult, fallback?: CspFormat): CspValue | string[] | null {
  const format = result.format ?? fallback ?? 'chr';
  const data = result.data;
  if (format === 'node') return data === undefined || data === '' ? [] : data.split('/');
  if (data === undefined || format === 'null') return null;
  switch (format) {
    case 'int': {
      const n = Number(data.trim());
      return Number.isInteger(n) && data.trim() !== '' ? n : data;
    }
    case 'bool':
      return data === 'true' ? true : data === 'false' ? false : data;
    case 'b64':
      return Buffer.from(data, 'base64');
    default:
      return data;
  }
}
