/** Shapes of twin documents as the hub stores them (one `TwinState` per device). */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * `$metadata` node: `$lastUpdated` at every level, `$lastUpdatedVersion` (desired only) at every
 * level; children for object-valued properties.
 */
export interface MetadataNode {
  $lastUpdated: string;
  $lastUpdatedVersion?: number;
  [key: string]: MetadataNode | string | number | undefined;
}

/** One properties section (desired or reported). */
export interface SectionState {
  props: JsonObject;
  metadata: MetadataNode;
  /** `$version`: 1 for a new twin, +1 per update of this section. */
  version: number;
}

/** Everything the hub keeps of a device twin besides the registry identity. */
export interface TwinState {
  tags: JsonObject;
  desired: SectionState;
  reported: SectionState;
  /** Twin `version`: +1 per update of any part of the twin; the twin etag is derived from it. */
  version: number;
}

export type SectionName = 'tags' | 'desired' | 'reported';
