/** Bodies the device transport sends: twin GET response and desired-property notifications. */
import type { JsonObject, MetadataNode, SectionState, TwinState } from './types';

/** `$iothub/twin/PATCH/properties/desired/?$version=N` payload: the patch plus `$version`. */
export type DesiredPatchBody = Record<string, unknown> & { $version: number };

/** A section as the device and the service see it: properties plus `$version` (+ `$metadata`). */
export function sectionView(
  s: SectionState,
  withMetadata: boolean,
): JsonObject & { $version: number } {
  const out: Record<string, unknown> = { ...s.props };
  if (withMetadata) out.$metadata = s.metadata as MetadataNode;
  out.$version = s.version;
  return out as JsonObject & { $version: number };
}

/**
 * Body of the device's twin GET (MQTT `$iothub/twin/res/200/?$rid=`):
 * `{"desired":{...,"$version":N},"reported":{...,"$version":M}}` — properties only, no tags.
 * IoT Hub includes `$metadata` here too; `withMetadata: false` leaves it out.
 */
export function deviceTwinBody(
  twin: TwinState,
  withMetadata = true,
): { desired: JsonObject; reported: JsonObject } {
  return {
    desired: sectionView(twin.desired, withMetadata),
    reported: sectionView(twin.reported, withMetadata),
  };
}

/** Body of a desired-properties notification: the patch plus the new desired `$version`. */
export function desiredPatchBody(patch: JsonObject, version: number): DesiredPatchBody {
  return { ...patch, $version: version };
}
