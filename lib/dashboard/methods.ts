/**
 * Direct methods from the dashboard: only the built-in `windows.*` methods (the allow-list comes
 * from `builtinHandlers()`), payloads checked with each method's schema, the destructive ones
 * (factory reset, remote wipe) only with `confirm` equal to the device id. Calls go through
 * `azure-iothub` `Client.invokeDeviceMethod`.
 */
import { check } from '../dm/schema';
import { catalog } from './catalog';
import { badRequest, fromHubError } from './errors';
import type { HubClients } from './hub-client';
import { isObject, onlyKeys, timeoutSeconds } from './validate';

export const DESTRUCTIVE_METHODS: readonly string[] = [
  'windows.startFactoryResetAsync',
  'windows.startRemoteWipeAsync',
];

export interface MethodCall {
  name: string;
  payload: unknown;
  timeoutSeconds: number;
}

/** Checks the method name and its payload; `undefined` payload stays absent. */
export function methodCall(name: unknown, payload: unknown, timeout: unknown): MethodCall {
  const def = typeof name === 'string' ? catalog().methods.get(name) : undefined;
  if (!def) {
    throw badRequest(
      `${JSON.stringify(name)} is not a known method (known: ${[...catalog().methods.keys()].join(', ')})`,
    );
  }
  if (def.payload && payload !== undefined) {
    const problems = check(def.payload, payload, 'payload');
    if (problems.length > 0) {
      throw badRequest(`invalid payload of ${def.name}: ${problems.slice(0, 3).join('; ')}`);
    }
  } else if (!def.payload && payload !== undefined && payload !== null) {
    throw badRequest(`${def.name} takes no payload`);
  }
  return { name: def.name, payload, timeoutSeconds: timeoutSeconds(timeout) };
}

/** `POST /api/devices/:id/methods/:name` body → the device's `{ status, payload }`. */
export async function invokeMethod(
  hub: HubClients,
  deviceId: string,
  name: string,
  body: unknown,
): Promise<{ status: number; payload: unknown }> {
  const b = body === undefined ? {} : body;
  if (!isObject(b)) throw badRequest('the body must be a JSON object');
  onlyKeys(b, ['payload', 'timeoutSeconds', 'confirm'], 'method request');
  const call = methodCall(name, b.payload, b.timeoutSeconds);
  if (DESTRUCTIVE_METHODS.includes(call.name) && b.confirm !== deviceId) {
    throw badRequest(`${call.name} is destructive: confirm with { "confirm": "${deviceId}" }`);
  }
  try {
    const r = await hub.client.invokeDeviceMethod(deviceId, {
      methodName: call.name,
      payload: call.payload ?? null,
      responseTimeoutInSeconds: call.timeoutSeconds,
      connectTimeoutInSeconds: 0,
    });
    const result = r.result as { status?: unknown; payload?: unknown };
    return { status: Number(result.status), payload: result.payload ?? null };
  } catch (err) {
    throw fromHubError(err, { deviceId });
  }
}
