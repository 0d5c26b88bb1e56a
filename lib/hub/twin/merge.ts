/**
 * JSON merge patch (RFC 7396, as IoT Hub applies twin PATCHes): `null` deletes, objects merge
 * recursively, anything else (scalars, arrays) replaces. Each touched level's `$metadata` gets
 * `$lastUpdated` (and `$lastUpdatedVersion` when a version is given, i.e. desired).
 */
import { isJsonObject } from './validate';
import type { JsonObject, JsonValue, MetadataNode } from './types';

function stamp(now: string, version: number | undefined): MetadataNode {
  return version === undefined
    ? { $lastUpdated: now }
    : { $lastUpdated: now, $lastUpdatedVersion: version };
}

/** A value without `null` members (nulls in a replacement mean "absent"). */
export function stripNulls(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = stripNulls(v);
  return out;
}

/** Fresh metadata for a whole value: every object level stamped. */
export function metadataFor(value: JsonValue, now: string, version?: number): MetadataNode {
  const node = stamp(now, version);
  if (isJsonObject(value)) {
    for (const [k, v] of Object.entries(value)) node[k] = metadataFor(v, now, version);
  }
  return node;
}

function childMeta(meta: MetadataNode, key: string): MetadataNode | undefined {
  const c = meta[key];
  return typeof c === 'object' ? c : undefined;
}

/**
 * Applies `patch` to `target` in place, with its metadata. Returns nothing; callers clone first
 * when they need the old document.
 */
export function mergeInto(
  target: JsonObject,
  meta: MetadataNode,
  patch: JsonObject,
  now: string,
  version?: number,
): void {
  meta.$lastUpdated = now;
  if (version !== undefined) meta.$lastUpdatedVersion = version;
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete target[key];
      delete meta[key];
      continue;
    }
    const current = target[key];
    if (isJsonObject(value) && isJsonObject(current)) {
      let m = childMeta(meta, key);
      if (!m) {
        m = metadataFor(current, now, version);
        meta[key] = m;
      }
      mergeInto(current, m, value, now, version);
    } else {
      const v = stripNulls(value);
      target[key] = v;
      meta[key] = metadataFor(v, now, version);
    }
  }
}

/**
 * The patch a device receives when desired properties are replaced: the whole new document, plus
 * `null` for every key that existed before and is gone (IoT Hub behaviour, explained by Microsoft
 * in Azure/azure-iot-sdk-csharp#954; research notes §1.4).
 */
export function replacementPatch(before: JsonObject, after: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(before)) if (!(key in after)) out[key] = null;
  for (const [key, value] of Object.entries(after)) {
    const old = before[key];
    out[key] = isJsonObject(value) && isJsonObject(old) ? replacementPatch(old, value) : value;
  }
  return out;
}

export function deepClone<T extends JsonValue | MetadataNode>(v: T): T {
  return structuredClone(v);
}
