/**
 * IoT Hub's twin limits and how it measures them (learn.microsoft.com
 * `iot-hub-devguide-device-twins` "Tags and properties format" and "Device twin size"; the same
 * numbers in Azure/iotedge PR #1932: depth 10, key 1024, value 4096, section 32 KB).
 */
import type { JsonValue, SectionName } from './types';

export const TWIN_LIMITS = {
  /** Bytes, per section, measured by `twinSize` (not the serialized JSON length). */
  sectionSize: { tags: 8 * 1024, desired: 32 * 1024, reported: 32 * 1024 } as Record<
    SectionName,
    number
  >,
  /** Nested objects below the section root (`tags.one....ten.property` is valid). */
  maxDepth: 10,
  /** UTF-8 bytes. */
  maxKeyBytes: 1024,
  /** UTF-8 bytes. */
  maxStringBytes: 4096,
  minInteger: -4503599627370496,
  maxInteger: 4503599627370495,
} as const;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Characters of a string, UNICODE control characters (C0, C1) not counted. */
export function countedLength(s: string): number {
  return [...s.replace(CONTROL, '')].length;
}

/**
 * IoT Hub's size of a section: for every property, the length of its key plus its value's size;
 * strings by characters (control characters excluded), numbers 8, booleans 4, objects and arrays
 * the sum of what they contain. `null` counts 0 (a stored twin holds none; null means delete).
 */
export function twinSize(value: JsonValue): number {
  if (value === null) return 0;
  switch (typeof value) {
    case 'string':
      return countedLength(value);
    case 'number':
      return 8;
    case 'boolean':
      return 4;
  }
  if (Array.isArray(value)) return value.reduce<number>((n, v) => n + twinSize(v), 0);
  let n = 0;
  for (const [k, v] of Object.entries(value)) n += countedLength(k) + twinSize(v);
  return n;
}
