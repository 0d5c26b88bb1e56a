/**
 * Service-side authorization of the local IoT Hub's REST API: the `Authorization` header carries a
 * policy SAS token (`SharedAccessSignature sr={host}&sig=..&se=..&skn={policy}`, as
 * `azure-iothub` builds it from a `SharedAccessKeyName=` connection string). The token must name
 * one of the hub's shared access policies (`skn`), be signed with that policy's primary or
 * secondary key, cover the resource (`sr` = the hub's host name, optionally with a port, or a
 * prefix of `{host}/devices/{id}`), and the policy must hold the operation's right
 * (RegistryRead, RegistryWrite, ServiceConnect; RegistryWrite implies RegistryRead).
 *
 * Every refusal is 401 `IotHubUnauthorizedAccess`, as IoT Hub answers; the message says why
 * without repeating the token or a key.
 */
import { HubError } from '../errors';
import { hasRight, type HubRight, type SharedAccessPolicy } from '../registry/policies';
import { parseSasToken, verifySasToken } from '../auth/sas';

export interface ServiceAuthInput {
  /** The `Authorization` header, if any. */
  authorization: string | undefined;
  /** The hub's policies. */
  policies: readonly SharedAccessPolicy[];
  /** Host names (with or without `:port`) the token's `sr` may start with; case-insensitive. */
  hostNames: readonly string[];
  /** Resource path below the host, e.g. `devices/dev1` (not encoded). */
  resourcePath: string;
  /** The right the operation needs. */
  right: HubRight;
  now?: number;
}

const unauthorized = (why: string): HubError =>
  new HubError('IotHubUnauthorizedAccess', `Unauthorized: ${why}`);

/** Returns the policy that authorized the call; throws 401 `IotHubUnauthorizedAccess` otherwise. */
export function authorizeService(input: ServiceAuthInput): SharedAccessPolicy {
  const header = input.authorization;
  if (!header) throw unauthorized('no Authorization header');
  const parsed = parseSasToken(header);
  if (!parsed) throw unauthorized('the Authorization header is not a SharedAccessSignature');
  if (parsed.keyName === undefined) {
    throw unauthorized('the token names no shared access policy (skn)');
  }
  const policy = input.policies.find((p) => p.keyName === parsed.keyName);
  if (!policy) throw unauthorized(`no shared access policy named ${parsed.keyName}`);
  const host = parsed.resource.split('/')[0]!.toLowerCase();
  if (!input.hostNames.some((h) => h.toLowerCase() === host)) {
    throw unauthorized(`the token's resource ${JSON.stringify(parsed.resource)} is not this hub`);
  }
  const check = verifySasToken(header, {
    target: `${host}/${input.resourcePath}`,
    primaryKey: policy.primaryKey,
    secondaryKey: policy.secondaryKey,
    keyName: policy.keyName,
    ...(input.now !== undefined ? { now: input.now } : {}),
  });
  if (!check.ok) throw unauthorized(`${check.reason}: ${check.detail}`);
  if (!hasRight(policy, input.right)) {
    throw unauthorized(`policy ${policy.keyName} does not have the ${input.right} right`);
  }
  return policy;
}
