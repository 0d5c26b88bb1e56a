/**
 * Twin operations, pure: each takes a `TwinState` and returns a new one (never mutates its input),
 * plus what the transports need (the desired patch to fan out). Validation and limits first, so a
 * rejected update changes nothing.
 */
import { argumentInvalid } from '../errors';
import { deepClone, mergeInto, metadataFor, replacementPatch, stripNulls } from './merge';
import { checkSection, checkSectionSize, isJsonObject } from './validate';
import type { JsonObject, MetadataNode, SectionState, TwinState } from './types';

const nowIso = (): string => new Date().toISOString();

function newSection(now: string, desired: boolean): SectionState {
  const metadata: MetadataNode = desired
    ? { $lastUpdated: now, $lastUpdatedVersion: 1 }
    : { $lastUpdated: now };
  return { props: {}, metadata, version: 1 };
}

/** The twin of a newly created device: empty sections at `$version` 1, twin version 1. */
export function createTwin(now = nowIso()): TwinState {
  return { tags: {}, desired: newSection(now, true), reported: newSection(now, false), version: 1 };
}

/** Result of an update: the new state, and the desired patch to send to the device (if any). */
export interface TwinUpdate {
  twin: TwinState;
  /** Set when desired properties changed: the patch without `$version` (see `desiredPatchBody`). */
  desiredPatch?: JsonObject;
}

function patchSection(
  section: SectionState,
  patch: JsonObject,
  name: 'desired' | 'reported',
  now: string,
): SectionState {
  const next: SectionState = {
    props: deepClone(section.props),
    metadata: deepClone(section.metadata),
    version: section.version + 1,
  };
  mergeInto(next.props, next.metadata, patch, now, name === 'desired' ? next.version : undefined);
  checkSectionSize(name, next.props);
  return next;
}

function replaceSection(
  section: SectionState,
  doc: JsonObject,
  name: 'desired' | 'reported',
  now: string,
): SectionState {
  const version = section.version + 1;
  const props = stripNulls(doc) as JsonObject;
  checkSectionSize(name, props);
  return {
    props,
    metadata: metadataFor(props, now, name === 'desired' ? version : undefined),
    version,
  };
}

/** Device → hub: merge a reported-properties patch (MQTT `$iothub/twin/PATCH/properties/reported/`). */
export function patchReported(twin: TwinState, patch: unknown, now = nowIso()): TwinUpdate {
  checkSection(patch, 'properties.reported');
  const reported = patchSection(twin.reported, patch as JsonObject, 'reported', now);
  return { twin: { ...twin, reported, version: twin.version + 1 } };
}

/** The service-side body of twin PATCH/PUT: `{tags?, properties?: {desired?}}`. */
export interface ServiceTwinBody {
  tags?: unknown;
  properties?: { desired?: unknown; reported?: unknown };
}

function parseServiceBody(body: unknown): { tags?: JsonObject; desired?: JsonObject } {
  if (!isJsonObject(body)) throw argumentInvalid('The twin body must be a JSON object');
  const b = body as ServiceTwinBody;
  const out: { tags?: JsonObject; desired?: JsonObject } = {};
  if (b.tags !== undefined && b.tags !== null) {
    checkSection(b.tags, 'tags');
    out.tags = b.tags as JsonObject;
  }
  if (b.properties !== undefined && b.properties !== null) {
    if (!isJsonObject(b.properties)) throw argumentInvalid("'properties' must be a JSON object");
    const p = b.properties as { desired?: unknown; reported?: unknown };
    if (p.reported !== undefined && p.reported !== null && Object.keys(p.reported).length > 0) {
      throw argumentInvalid('Reported properties cannot be updated by the service');
    }
    if (p.desired !== undefined && p.desired !== null) {
      checkSection(p.desired, 'properties.desired');
      out.desired = p.desired as JsonObject;
    }
  }
  return out;
}

function withTags(tags: JsonObject): JsonObject {
  // Tags keep no metadata in IoT Hub; a merge patch applies to them the same way.
  return tags;
}

/** Service PATCH `/twins/{id}`: merge tags and desired properties. */
export function patchTwin(twin: TwinState, body: unknown, now = nowIso()): TwinUpdate {
  const { tags, desired } = parseServiceBody(body);
  let next: TwinState = { ...twin };
  let changed = false;
  if (tags) {
    const merged = deepClone(twin.tags);
    mergeInto(merged, { $lastUpdated: now }, tags, now);
    checkSectionSizeTags(merged);
    next.tags = withTags(merged);
    changed = true;
  }
  let desiredPatch: JsonObject | undefined;
  if (desired) {
    next.desired = patchSection(twin.desired, desired, 'desired', now);
    desiredPatch = desired;
    changed = true;
  }
  if (changed) next = { ...next, version: twin.version + 1 };
  return desiredPatch ? { twin: next, desiredPatch } : { twin: next };
}

function checkSectionSizeTags(tags: JsonObject): void {
  checkSectionSize('tags', tags);
}

/**
 * Service PUT `/twins/{id}`: replace tags and desired properties (each only when present in the
 * body). The device is sent the new desired document with `null` for removed keys.
 */
export function replaceTwin(twin: TwinState, body: unknown, now = nowIso()): TwinUpdate {
  const { tags, desired } = parseServiceBody(body);
  const next: TwinState = { ...twin, version: twin.version + 1 };
  if (tags) {
    const t = stripNulls(tags) as JsonObject;
    checkSectionSizeTags(t);
    next.tags = t;
  }
  let desiredPatch: JsonObject | undefined;
  if (desired) {
    next.desired = replaceSection(twin.desired, desired, 'desired', now);
    desiredPatch = replacementPatch(twin.desired.props, next.desired.props);
  }
  return desiredPatch ? { twin: next, desiredPatch } : { twin: next };
}

/** Replaces desired properties only (service `PUT .../properties/desired` style helpers). */
export function replaceDesired(twin: TwinState, desired: unknown, now = nowIso()): TwinUpdate {
  return replaceTwin(twin, { properties: { desired } }, now);
}
