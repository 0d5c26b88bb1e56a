/**
 * How a demo device gets its identity, through the local DPS as a real device would: the demo
 * (playing the operator) enrolls it, then (playing the device) provisions it with the real
 * provisioning client. TPM devices: an individual TPM enrollment of the device's swtpm EK, the
 * key DPS sends imported into TPM slot 0 and the slot's URI set (`iotdm agent --tpm-slot 0`).
 * Other devices: the demo's symmetric-key enrollment group, with the device key derived from the
 * group key (the connection string goes to a 0600 file for `--connection-string-file`).
 * Provisioning runs on every start: the hub's ports may change between runs.
 */
import { writeFileSync, chmodSync } from 'node:fs';
import type { LocalHub } from '../hub/hub';
import { deriveGroupDeviceKey, provisionDevice } from '../provisioning/provision';
import { LimpetTpm } from '../tpm/limpet';
import { TpmProvisioningSecurity } from '../tpm/provisioning-security';
import { TcpTpm } from '../tpm/tcp-transport';

export const DEMO_GROUP = 'iotdm-demo';
export const DEMO_TPM_SLOT = 0;

/** The demo group's key (made once, kept in the hub's store). */
function groupKey(hub: LocalHub): string {
  const existing = hub.enrollments.group(DEMO_GROUP);
  const group =
    existing ?? hub.enrollments.addGroup({ name: DEMO_GROUP, attestation: 'symmetricKey' });
  if (!group.primaryKey) throw new Error(`enrollment group ${DEMO_GROUP} has no symmetric key`);
  return group.primaryKey;
}

/** Symmetric key: provisions `deviceId` as a group member; writes its connection string. */
export async function provisionSymmetric(
  hub: LocalHub,
  deviceId: string,
  connectionStringFile: string,
): Promise<string> {
  const key = deriveGroupDeviceKey(groupKey(hub), deviceId);
  const result = await provisionDevice({
    globalEndpoint: hub.dpsEndpoint,
    idScope: hub.dpsIdScope,
    attestation: { kind: 'symmetricKey', registrationId: deviceId, key },
    ca: hub.tls.caCertPem,
  });
  const cs = `HostName=${result.assignedHub};DeviceId=${result.deviceId};SharedAccessKey=${key}`;
  writeFileSync(connectionStringFile, cs + '\n', { mode: 0o600 });
  chmodSync(connectionStringFile, 0o600);
  return result.deviceId;
}

/** TPM: enrolls the TPM's EK for `deviceId`, provisions it into slot 0. */
export async function provisionTpm(
  hub: LocalHub,
  deviceId: string,
  tpm: { host: string; port: number },
): Promise<string> {
  const native = new TcpTpm({ host: tpm.host, port: tpm.port });
  try {
    const limpet = new LimpetTpm(native);
    const ek = await limpet.endorsementKey();
    const registrationId = await limpet.registrationId();
    hub.enrollments.addIndividual(
      {
        registrationId,
        attestation: 'tpm',
        endorsementKey: ek.tpm2bPublic.toString('base64'),
        deviceId,
      },
      true,
    );
    const result = await provisionDevice({
      globalEndpoint: hub.dpsEndpoint,
      idScope: hub.dpsIdScope,
      attestation: { kind: 'tpm', security: new TpmProvisioningSecurity(limpet, DEMO_TPM_SLOT) },
      ca: hub.tls.caCertPem,
    });
    await limpet.storeUri(DEMO_TPM_SLOT, `${result.assignedHub}/${result.deviceId}`);
    return result.deviceId;
  } finally {
    await native.close().catch(() => undefined);
  }
}
