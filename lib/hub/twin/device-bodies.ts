/** Bodies the device transport sends: twin GET response and desired-property notifications. */

/** `$iothub/twin/PATCH/properties/desired/?$version=N` payload: the patch plus `$version`. */
export type DesiredPatchBody = Record<string, unknown> & { $version: number };
