/**
 * The seam between the transport-free hub core (`lib/hub/core.ts`) and the device transport
 * (`lib/hub/mqtt/`). The core never opens a socket: everything it needs to say to a connected
 * device goes through a `DeviceConnector`, which the MQTT layer implements and hands to
 * `HubCore.attachConnector()`. Everything a device says to the hub goes the other way, through the
 * `HubDeviceSide` methods of `HubCore`.
 *
 * Direction core → device (implemented by the MQTT layer):
 *
 * | call | MQTT it becomes |
 * |---|---|
 * | `isConnected(id)` | is there a live, authenticated session for clientId `id` |
 * | `onDesiredPatch(id, body)` | publish `$iothub/twin/PATCH/properties/desired/?$version={body.$version}`, payload `JSON.stringify(body)` (QoS 0), only if the device subscribed to that topic; never queued |
 * | `invoke(id, name, payload, rid)` | publish `$iothub/methods/POST/{name}/?$rid={rid}`, payload `JSON.stringify(payload)` (empty when `undefined`); resolve when the device publishes `$iothub/methods/res/{status}/?$rid={rid}` with `{status, payload: JSON.parse(body) or null when empty}`; reject with `DeviceNotOnlineError` when the device is not connected or has not subscribed to `$iothub/methods/POST/#` |
 * | `disconnect(id)` | close the device's connection (registry disable/delete, key change) |
 * | `sendC2D(id, msg)` | publish on `devices/{id}/messages/devicebound/{property-bag}` (QoS 1); the connector calls `HubCore.completeC2D(id, msg.lockToken)` on PUBACK |
 *
 * The core owns timeouts: it rejects the method call with 504 `GatewayTimeout` after
 * `timeoutSeconds` and then aborts `options.signal`, so the connector can forget the `$rid`. A
 * late response after that is dropped by the connector.
 */
import type { DesiredPatchBody } from './twin/device-bodies';

/** A device's answer to a direct method. `payload` is the parsed JSON body (`null` when empty). */
export interface MethodResponse {
  status: number;
  payload: unknown;
}

export interface InvokeOptions {
  /** Aborted by the core when it gives up (timeout) — drop the pending `$rid`. */
  signal?: AbortSignal;
}

/** IoT Hub system properties of a cloud-to-device message (MQTT property-bag names in comments). */
export interface C2DSystemProperties {
  /** `$.mid` */
  messageId: string;
  /** `$.cid` */
  correlationId?: string;
  /** `$.to` — `/devices/{id}/messages/devicebound` */
  to: string;
  /** `$.exp` — ISO 8601 */
  expiryTimeUtc?: string;
  /** `$.ct` */
  contentType?: string;
  /** `$.ce` */
  contentEncoding?: string;
  /** `$.uid` */
  userId?: string;
  /** `iothub-ack`: none | positive | negative | full */
  ack?: string;
}

/** A cloud-to-device message as the core hands it to the transport. */
export interface C2DMessage {
  /** Identifies this delivery; pass it back to `completeC2D` / `abandonC2D` / `rejectC2D`. */
  lockToken: string;
  body: Buffer;
  /** Application properties (MQTT property bag, url-encoded by the transport). */
  properties: Record<string, string>;
  systemProperties: C2DSystemProperties;
  /** 1 on the first delivery. */
  deliveryCount: number;
  /** ISO 8601 */
  enqueuedTimeUtc: string;
}

/** Implemented by the device transport (MQTT). Every method must be safe to call for any id. */
export interface DeviceConnector {
  /** True when the device has a live, authenticated connection. */
  isConnected(deviceId: string): boolean;
  /**
   * Fan-out of a desired-properties update: the patch (merge-patch semantics, `null` = deleted)
   * with `"$version"` set to the new desired version. Fire and forget; not queued when offline.
   */
  onDesiredPatch(deviceId: string, patchBody: DesiredPatchBody): void;
  /** Sends a direct method request and resolves with the device's response. */
  invoke(
    deviceId: string,
    methodName: string,
    payload: unknown,
    rid: string,
    options?: InvokeOptions,
  ): Promise<MethodResponse>;
  /** Closes the device's connection, if any (device disabled, deleted, or keys changed). */
  disconnect(deviceId: string): void;
  /**
   * Delivers a C2D message. Returns false when it could not be handed to a live session (the
   * message stays queued and is offered again on the next connection).
   */
  sendC2D(deviceId: string, message: C2DMessage): boolean;
}

/** A device-to-cloud message as the transport hands it to the core. */
export interface D2CMessageInput {
  body: Buffer;
  /** Application properties from the topic's property bag. */
  properties: Record<string, string>;
  /** System properties from the property bag (`$.mid` → `messageId`, `$.cid` → `correlationId`, ...). */
  systemProperties?: Record<string, string>;
}

/**
 * What the transport calls on the core (all implemented by `HubCore`). Errors are `HubError`s
 * (`lib/hub/errors.ts`): use `err.toMqttBody()` for `{"errorCode":...,"message":...}` bodies and
 * `err.status` for the `$iothub/twin/res/{status}` topic.
 */
export interface HubDeviceSide {
  /** The device's twin as the device sees it: `{desired, reported}` (MQTT twin GET, status 200). */
  getDeviceTwin(deviceId: string): { desired: unknown; reported: unknown };
  /** Applies a reported-properties patch; returns the new reported `$version` (MQTT 204 `&$version=`). */
  updateReportedProperties(deviceId: string, patch: unknown): number;
  /** Records a telemetry message (stored and emitted as `'d2c'`). */
  receiveD2C(deviceId: string, message: D2CMessageInput): void;
  /** The device connected (after authentication); pending C2D messages are offered again. */
  deviceConnected(deviceId: string): void;
  /** The device's connection ended. */
  deviceDisconnected(deviceId: string): void;
  /** The device acknowledged a C2D message (MQTT PUBACK). */
  completeC2D(deviceId: string, lockToken: string): void;
}
