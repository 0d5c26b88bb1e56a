/** Twin merge-patch semantics, as IoT Hub applies a properties patch. */
import type { JsonObject } from './handler';

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Merges `patch` into `target`: objects merge key by key, `null` deletes a key (also inside a
 * new object, where it is simply left out), anything else replaces (copied, never shared).
 */
export function applyTwinPatch(target: JsonObject, patch: JsonObject): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (isJsonObject(v)) {
      const into = target[k];
      if (isJsonObject(into)) applyTwinPatch(into, v);
      else {
        const fresh: JsonObject = {};
        applyTwinPatch(fresh, v);
        target[k] = fresh;
      }
    } else target[k] = structuredClone(v);
  }
}
