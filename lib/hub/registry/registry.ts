/**
 * Device identity registry over the store: create, read, update (PUT with `If-Match`), delete,
 * list; the service-side JSON shape of a device (`azure-iothub` `Device`); shared access policies.
 */
import { HubError, argumentInvalid, deviceNotFound } from '../errors';
import type { HubStore } from '../store/hub-store';
import type { AuthType, DeviceRecord } from '../store/types';
import { checkIfMatch } from '../twin/etag';
import { createTwin } from '../twin/twin';
import { createDefaultPolicies, type SharedAccessPolicy } from './policies';
import { checkDeviceId, checkKey, checkThumbprint, deviceEtag, generateKey } from './rules';

/** A device as the service API shows it (`GET /devices/{id}`). */
export interface DeviceJson {
  deviceId: string;
  generationId: string;
  etag: string;
  connectionState: string;
  status: string;
  statusReason: string | null;
  connectionStateUpdatedTime: string;
  statusUpdatedTime: string;
  lastActivityTime: string;
  cloudToDeviceMessageCount: number;
  authentication: {
    symmetricKey: { primaryKey: string | null; secondaryKey: string | null };
    x509Thumbprint: { primaryThumbprint: string | null; secondaryThumbprint: string | null };
    type: AuthType;
  };
  capabilities: { iotEdge: boolean };
}

interface DeviceBody {
  deviceId?: unknown;
  status?: unknown;
  statusReason?: unknown;
  authentication?: {
    type?: unknown;
    symmetricKey?: { primaryKey?: unknown; secondaryKey?: unknown } | null;
    x509Thumbprint?: { primaryThumbprint?: unknown; secondaryThumbprint?: unknown } | null;
  } | null;
}

const AUTH_TYPES: readonly AuthType[] = ['sas', 'selfSigned', 'certificateAuthority', 'none'];
const POLICIES_KEY = 'sharedAccessPolicies';

export function deviceJson(d: DeviceRecord): DeviceJson {
  return {
    deviceId: d.deviceId,
    generationId: d.generationId,
    etag: deviceEtag(d.etagVersion),
    connectionState: d.connectionState,
    status: d.status,
    statusReason: d.statusReason,
    connectionStateUpdatedTime: d.connectionStateUpdatedTime,
    statusUpdatedTime: d.statusUpdatedTime,
    lastActivityTime: d.lastActivityTime,
    cloudToDeviceMessageCount: d.cloudToDeviceMessageCount,
    authentication: {
      symmetricKey: { primaryKey: d.primaryKey, secondaryKey: d.secondaryKey },
      x509Thumbprint: {
        primaryThumbprint: d.primaryThumbprint,
        secondaryThumbprint: d.secondaryThumbprint,
      },
      type: d.authType,
    },
    capabilities: { iotEdge: false },
  };
}

let generationCounter = 0;
function newGenerationId(): string {
  // IoT Hub generation ids are 18-digit numbers, unique per identity incarnation.
  generationCounter = (generationCounter + 1) % 1000;
  return `6${String(Date.now()).padStart(14, '0')}${String(generationCounter).padStart(3, '0')}`;
}

/** The identity fields a body asks for, validated; `existing` fills what the body leaves out. */
function fromBody(
  id: string,
  body: unknown,
  existing: DeviceRecord | undefined,
  now: string,
): DeviceRecord {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw argumentInvalid('The device body must be a JSON object');
  }
  const b = body as DeviceBody;
  if (b.deviceId !== undefined && b.deviceId !== id) {
    throw argumentInvalid(`The deviceId in the body (${String(b.deviceId)}) is not ${id}`);
  }
  const status = b.status ?? existing?.status ?? 'enabled';
  if (status !== 'enabled' && status !== 'disabled') {
    throw argumentInvalid(`status must be enabled or disabled, not ${JSON.stringify(status)}`);
  }
  const auth = b.authentication ?? {};
  const type = (auth.type ?? existing?.authType ?? 'sas') as AuthType;
  if (!AUTH_TYPES.includes(type)) {
    throw argumentInvalid(`authentication.type ${JSON.stringify(type)} is not supported`);
  }
  let primaryKey: string | null = null;
  let secondaryKey: string | null = null;
  let primaryThumbprint: string | null = null;
  let secondaryThumbprint: string | null = null;
  if (type === 'sas') {
    const sk = auth.symmetricKey ?? {};
    primaryKey = sk.primaryKey
      ? checkKey(sk.primaryKey, 'primaryKey')
      : (existing?.primaryKey ?? generateKey());
    secondaryKey = sk.secondaryKey
      ? checkKey(sk.secondaryKey, 'secondaryKey')
      : (existing?.secondaryKey ?? generateKey());
  } else if (type === 'selfSigned') {
    const tp = auth.x509Thumbprint ?? {};
    primaryThumbprint = checkThumbprint(tp.primaryThumbprint, 'primaryThumbprint');
    secondaryThumbprint = checkThumbprint(tp.secondaryThumbprint, 'secondaryThumbprint');
    if (!primaryThumbprint && !secondaryThumbprint) {
      throw argumentInvalid('selfSigned authentication needs at least one thumbprint');
    }
  }
  const statusChanged = existing === undefined || existing.status !== status;
  const reason =
    typeof b.statusReason === 'string' ? b.statusReason : (existing?.statusReason ?? null);
  return {
    deviceId: id,
    status,
    statusReason: reason,
    statusUpdatedTime: statusChanged ? now : existing.statusUpdatedTime,
    authType: type,
    primaryKey,
    secondaryKey,
    primaryThumbprint,
    secondaryThumbprint,
    etagVersion: existing ? existing.etagVersion + 1 : 1,
    generationId: existing?.generationId ?? newGenerationId(),
    connectionState: existing?.connectionState ?? 'Disconnected',
    connectionStateUpdatedTime: existing?.connectionStateUpdatedTime ?? '0001-01-01T00:00:00Z',
    lastActivityTime: existing?.lastActivityTime ?? '0001-01-01T00:00:00Z',
    cloudToDeviceMessageCount: existing?.cloudToDeviceMessageCount ?? 0,
    createdTime: existing?.createdTime ?? now,
  };
}

export interface RegistryChange {
  before?: DeviceRecord;
  after?: DeviceRecord;
}

export class DeviceRegistry {
  constructor(private readonly store: HubStore) {}

  get(deviceId: string): DeviceRecord {
    const d = this.store.getDevice(deviceId);
    if (!d) throw deviceNotFound(deviceId);
    return d;
  }

  find(deviceId: string): DeviceRecord | undefined {
    return this.store.getDevice(deviceId);
  }

  list(): DeviceRecord[] {
    return this.store.listDevices();
  }

  /** Creates a device (and its twin). 409001 `DeviceAlreadyExists` when the id is taken. */
  create(deviceId: string, body: unknown = {}, now = new Date().toISOString()): DeviceRecord {
    checkDeviceId(deviceId);
    return this.store.transaction(() => {
      if (this.store.getDevice(deviceId)) {
        throw new HubError(
          'DeviceAlreadyExists',
          `A device with ID '${deviceId}' is already registered`,
        );
      }
      const d = fromBody(deviceId, body, undefined, now);
      this.store.insertDevice(d, createTwin(now));
      return d;
    });
  }

  /**
   * `PUT /devices/{id}` as IoT Hub answers it: without `If-Match` it creates (409 when the device
   * exists); with `If-Match` (`*` or the device etag) it updates an existing device (404 when
   * missing, 412 on etag mismatch).
   */
  createOrUpdate(
    deviceId: string,
    body: unknown,
    ifMatch?: string,
    now = new Date().toISOString(),
  ): RegistryChange & { after: DeviceRecord } {
    checkDeviceId(deviceId);
    if (ifMatch === undefined || ifMatch.trim() === '') {
      return { after: this.create(deviceId, body, now) };
    }
    return this.store.transaction(() => {
      const before = this.get(deviceId);
      checkIfMatch(ifMatch, deviceEtag(before.etagVersion));
      const after = fromBody(deviceId, body, before, now);
      this.store.updateDevice(after);
      return { before, after };
    });
  }

  /** Deletes a device, its twin and queue; `If-Match` as for updates. */
  delete(deviceId: string, ifMatch?: string): DeviceRecord {
    return this.store.transaction(() => {
      const d = this.get(deviceId);
      checkIfMatch(ifMatch, deviceEtag(d.etagVersion));
      this.store.deleteDevice(deviceId);
      return d;
    });
  }

  /** Records a connection state change (no etag change, as IoT Hub). */
  setConnectionState(deviceId: string, connected: boolean, now = new Date().toISOString()): void {
    const d = this.store.getDevice(deviceId);
    if (!d) return;
    this.store.updateDevice({
      ...d,
      connectionState: connected ? 'Connected' : 'Disconnected',
      connectionStateUpdatedTime: now,
      lastActivityTime: now,
    });
  }

  /** The hub's shared access policies, generated (and persisted) on first use. */
  policies(): SharedAccessPolicy[] {
    return this.store.transaction(() => {
      let p = this.store.getMeta<SharedAccessPolicy[]>(POLICIES_KEY);
      if (!p) {
        p = createDefaultPolicies();
        this.store.setMeta(POLICIES_KEY, p);
      }
      return p;
    });
  }

  policy(keyName: string): SharedAccessPolicy | undefined {
    return this.policies().find((p) => p.keyName === keyName);
  }

  /** The device registered for an X.509 thumbprint (selfSigned), if any. */
  findByThumbprint(thumbprint: string): DeviceRecord | undefined {
    const t = thumbprint.toUpperCase();
    return this.list().find(
      (d) =>
        d.authType === 'selfSigned' && (d.primaryThumbprint === t || d.secondaryThumbprint === t),
    );
  }
}
