/**
 * Device provisioning through the real `azure-iot-provisioning-device` client and its HTTP
 * transport (`azure-iot-provisioning-device-http`), for the three attestations:
 *
 * - symmetric key: `azure-iot-security-symmetric-key` with the device key (an individual
 *   enrollment's key, or a group key derived per device, `deriveGroupDeviceKey`);
 * - X.509: `azure-iot-security-x509` with the device certificate and key (TLS client auth);
 * - TPM: our `TpmProvisioningSecurity` (lib/tpm/provisioning-security.ts) over the TPM layer.
 *
 * The transport gets `DpsHttpBase` so a private DPS (`host:port`, own CA) works too.
 */
import { createHmac } from 'node:crypto';
import type { ProvisioningDeviceClient, RegistrationResult } from 'azure-iot-provisioning-device';
import type { Http } from 'azure-iot-provisioning-device-http';
import type { TpmProvisioningSecurity } from '../tpm/provisioning-security';
import { DpsHttpBase } from './http-base';

export type ProvisionAttestation =
  | { kind: 'symmetricKey'; registrationId: string; key: string }
  | { kind: 'x509'; registrationId: string; cert: string; key: string }
  | { kind: 'tpm'; security: TpmProvisioningSecurity };

export interface ProvisionOptions {
  /** The DPS global endpoint, `host[:port]` (Azure: global.azure-devices-provisioning.net). */
  globalEndpoint: string;
  idScope: string;
  attestation: ProvisionAttestation;
  /** PEM CA to trust (a private DPS). */
  ca?: string;
  /** Custom allocation payload. */
  payload?: Record<string, unknown>;
}

export interface ProvisionResult {
  registrationId: string;
  assignedHub: string;
  deviceId: string;
  status: string;
  substatus?: string;
}

/** base64(HMAC-SHA256(base64decode(groupKey), registrationId)): a group member's device key. */
export function deriveGroupDeviceKey(groupKey: string, registrationId: string): string {
  return createHmac('sha256', Buffer.from(groupKey, 'base64'))
    .update(registrationId, 'utf8')
    .digest('base64');
}

export async function provisionDevice(o: ProvisionOptions): Promise<ProvisionResult> {
  // The provisioning SDK loads here, on first use: importing the package does not pay for it.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const sdk = {
    ...(require('azure-iot-provisioning-device') as typeof import('azure-iot-provisioning-device')),
    ...(require('azure-iot-provisioning-device-http') as typeof import('azure-iot-provisioning-device-http')),
    ...(require('azure-iot-security-symmetric-key') as typeof import('azure-iot-security-symmetric-key')),
    ...(require('azure-iot-security-x509') as typeof import('azure-iot-security-x509')),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const { Http: HttpTransport, SymmetricKeySecurityClient, X509Security } = sdk;
  const transport = new HttpTransport(
    new DpsHttpBase(o.ca ? { ca: o.ca } : {}) as unknown as ConstructorParameters<typeof Http>[0],
  );
  const a = o.attestation;
  const security =
    a.kind === 'symmetricKey'
      ? new SymmetricKeySecurityClient(a.registrationId, a.key)
      : a.kind === 'x509'
        ? new X509Security(a.registrationId, { cert: a.cert, key: a.key })
        : a.security;
  const client = sdk.ProvisioningDeviceClient.create(
    o.globalEndpoint,
    o.idScope,
    transport,
    security as Parameters<typeof ProvisioningDeviceClient.create>[3],
  );
  if (o.payload) client.setProvisioningPayload(o.payload);
  // X.509 and symmetric key registrations resolve with the registration state; the TPM one with
  // the whole operation result ({operationId, status, registrationState}).
  const raw = (await client.register()) as RegistrationResult & {
    registrationState?: RegistrationResult;
  };
  const result = raw.registrationState ?? raw;
  if (!result || result.status !== 'assigned' || !result.assignedHub || !result.deviceId) {
    throw new Error(`DPS did not assign the device (status ${String(result?.status)})`);
  }
  return {
    registrationId: String(result.registrationId ?? ''),
    assignedHub: result.assignedHub,
    deviceId: result.deviceId,
    status: result.status,
    ...(typeof result.substatus === 'string' ? { substatus: result.substatus } : {}),
  };
}
