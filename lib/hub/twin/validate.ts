/**
 * Key and value rules of tags and properties, as IoT Hub enforces them (`iot-hub-devguide-device-twins`
 * "Tags and properties format"): keys UTF-8, case-sensitive, ≤ 1 KB, no control characters, no
 * `.`, `$` or space; values boolean, number, string (≤ 4 KB), object, arrays (allowed by the current
 * docs and the research notes §1.4; older doc versions said "Arrays are not allowed"); integers in
 * [-2^52, 2^52 - 1]; depth ≤ 10. Violations are 400 `ArgumentInvalid` (400004), as IoT Hub answers
 * `ErrorCode:ArgumentInvalid;Property or Tag value should be maximum ... bytes.`
 */
import { HubError, argumentInvalid } from '../errors';
import { TWIN_LIMITS, twinSize } from './limits';
import type { JsonObject, JsonValue, SectionName } from './types';

const FORBIDDEN_KEY = /[.$ \u0000-\u001f\u007f-\u009f]/; // eslint-disable-line no-control-regex

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Throws 400004 when `key` breaks IoT Hub's key rules. */
export function checkKey(key: string, path: string): void {
  if (key.length === 0) throw argumentInvalid(`Empty property name at '${path}'`);
  const bad = FORBIDDEN_KEY.exec(key);
  if (bad) {
    const ch = JSON.stringify(bad[0]);
    throw argumentInvalid(`Property name '${path}${key}' contains the invalid character ${ch}`);
  }
  if (Buffer.byteLength(key, 'utf8') > TWIN_LIMITS.maxKeyBytes) {
    throw argumentInvalid(
      `Property name '${path}${key.slice(0, 32)}...' should be maximum ${TWIN_LIMITS.maxKeyBytes} bytes`,
    );
  }
}

function checkScalar(value: JsonValue, where: string): void {
  if (typeof value === 'string') {
    if (Buffer.byteLength(value, 'utf8') > TWIN_LIMITS.maxStringBytes) {
      throw argumentInvalid(
        `Property or Tag value '${where}' should be maximum ${TWIN_LIMITS.maxStringBytes} bytes`,
      );
    }
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw argumentInvalid(`Invalid number at '${where}'`);
    if (
      Number.isInteger(value) &&
      (value < TWIN_LIMITS.minInteger || value > TWIN_LIMITS.maxInteger)
    ) {
      throw argumentInvalid(
        `Integer value at '${where}' is outside [${TWIN_LIMITS.minInteger}, ${TWIN_LIMITS.maxInteger}]`,
      );
    }
  } else if (value !== null && typeof value !== 'boolean') {
    throw argumentInvalid(`Invalid value type at '${where}'`);
  }
}

/**
 * Validates a tags/desired/reported object (a patch or a full replacement). `depth` is the number
 * of objects above `obj` below the section root (0 for the root itself).
 */
export function checkSection(obj: unknown, section: string, depth = 0, path = ''): void {
  if (!isJsonObject(obj)) {
    throw argumentInvalid(`'${section}${path ? '.' + path : ''}' must be a JSON object`);
  }
  if (depth > TWIN_LIMITS.maxDepth) {
    throw argumentInvalid(
      `Maximum depth of ${TWIN_LIMITS.maxDepth} exceeded at '${section}.${path.slice(0, -1)}'`,
    );
  }
  for (const [key, value] of Object.entries(obj)) {
    checkKey(key, `${section}.${path}`);
    checkValue(value, section, depth, `${path}${key}`);
  }
}

function checkValue(value: JsonValue, section: string, depth: number, where: string): void {
  if (isJsonObject(value)) {
    checkSection(value, section, depth + 1, `${where}.`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkValue(v, section, depth, `${where}[${i}]`));
  } else {
    checkScalar(value, `${section}.${where}`);
  }
}

const SIZE_NAMES: Record<SectionName, string> = {
  tags: 'Tags',
  desired: 'Properties.Desired',
  reported: 'Properties.Reported',
};

/**
 * Throws when a section would be over IoT Hub's size limit. The code and message follow what IoT
 * Hub answered for an oversized reported section (Azure/iotedge#7035:
 * `{"message":"'Properties.Reported' size should be less than 32768 bytes.","errorCode":403100}`).
 */
export function checkSectionSize(section: SectionName, value: JsonObject): void {
  const limit = TWIN_LIMITS.sectionSize[section];
  const size = twinSize(value);
  if (size > limit) {
    throw new HubError(
      'TwinSizeExceeded',
      `'${SIZE_NAMES[section]}' size should be less than ${limit} bytes.`,
    );
  }
}
