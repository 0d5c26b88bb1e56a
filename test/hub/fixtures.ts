/** Shared fixtures of the hub core tests. */
import type { DeviceRecord } from '../../lib/hub/store';

const T = '2026-01-01T00:00:00.000Z';

export function deviceRecord(deviceId: string, over: Partial<DeviceRecord> = {}): DeviceRecord {
  return {
    deviceId,
    status: 'enabled',
    statusReason: null,
    statusUpdatedTime: T,
    authType: 'sas',
    primaryKey: 'cHJpbWFyeWtleXByaW1hcnk=',
    secondaryKey: 'c2Vjb25kYXJ5a2V5c2Vjb25k',
    primaryThumbprint: null,
    secondaryThumbprint: null,
    etagVersion: 1,
    generationId: '638000000000000001',
    connectionState: 'Disconnected',
    connectionStateUpdatedTime: T,
    lastActivityTime: T,
    cloudToDeviceMessageCount: 0,
    createdTime: T,
    ...over,
  };
}
