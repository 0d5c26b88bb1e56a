/**
 * Shared access policies of the service side, as a new IoT Hub has them (learn.microsoft.com
 * `iot-hub-dev-guide-sas` "IoT hub-level shared access policies"). Keys are generated when the hub
 * is created and persisted in the store.
 */
import { generateKey } from './rules';

export type HubRight = 'RegistryRead' | 'RegistryWrite' | 'ServiceConnect' | 'DeviceConnect';

export interface SharedAccessPolicy {
  keyName: string;
  primaryKey: string;
  secondaryKey: string;
  rights: HubRight[];
}

export const DEFAULT_POLICY_RIGHTS: Readonly<Record<string, readonly HubRight[]>> = {
  iothubowner: ['RegistryWrite', 'ServiceConnect', 'DeviceConnect', 'RegistryRead'],
  service: ['ServiceConnect'],
  device: ['DeviceConnect'],
  registryRead: ['RegistryRead'],
  registryReadWrite: ['RegistryWrite', 'RegistryRead'],
};

export function createDefaultPolicies(): SharedAccessPolicy[] {
  return Object.entries(DEFAULT_POLICY_RIGHTS).map(([keyName, rights]) => ({
    keyName,
    primaryKey: generateKey(),
    secondaryKey: generateKey(),
    rights: [...rights],
  }));
}

/** RegistryWrite implies RegistryRead (IoT Hub documents the write right as including read). */
export function hasRight(policy: SharedAccessPolicy, right: HubRight): boolean {
  return (
    policy.rights.includes(right) ||
    (right === 'RegistryRead' && policy.rights.includes('RegistryWrite'))
  );
}
