/** The full twin JSON the service side sees (`GET /twins/{id}`, query results). */
import { sectionView } from './device-bodies';
import { twinEtag } from './etag';
import type { JsonObject, TwinState } from './types';

/** Identity fields of the twin, from the registry. */
export interface TwinIdentity {
  deviceId: string;
  /** The device identity's etag (`deviceEtag` in the twin). */
  deviceEtag: string;
  status: 'enabled' | 'disabled';
  statusReason?: string;
  statusUpdateTime: string;
  connectionState: 'Connected' | 'Disconnected';
  lastActivityTime: string;
  cloudToDeviceMessageCount: number;
  authenticationType: 'sas' | 'selfSigned' | 'certificateAuthority' | 'none';
  x509Thumbprint: { primaryThumbprint: string | null; secondaryThumbprint: string | null };
  modelId?: string;
}

export interface ServiceTwin {
  deviceId: string;
  etag: string;
  deviceEtag: string;
  status: string;
  statusReason?: string;
  statusUpdateTime: string;
  connectionState: string;
  lastActivityTime: string;
  cloudToDeviceMessageCount: number;
  authenticationType: string;
  x509Thumbprint: { primaryThumbprint: string | null; secondaryThumbprint: string | null };
  modelId: string;
  version: number;
  tags: JsonObject;
  properties: { desired: JsonObject; reported: JsonObject };
  capabilities: { iotEdge: boolean };
}

export function serviceTwin(identity: TwinIdentity, twin: TwinState): ServiceTwin {
  const out: ServiceTwin = {
    deviceId: identity.deviceId,
    etag: twinEtag(twin.version),
    deviceEtag: identity.deviceEtag,
    status: identity.status,
    statusUpdateTime: identity.statusUpdateTime,
    connectionState: identity.connectionState,
    lastActivityTime: identity.lastActivityTime,
    cloudToDeviceMessageCount: identity.cloudToDeviceMessageCount,
    authenticationType: identity.authenticationType,
    x509Thumbprint: identity.x509Thumbprint,
    modelId: identity.modelId ?? '',
    version: twin.version,
    tags: structuredClone(twin.tags),
    properties: {
      desired: structuredClone(sectionView(twin.desired, true)),
      reported: structuredClone(sectionView(twin.reported, true)),
    },
    capabilities: { iotEdge: false },
  };
  if (identity.statusReason !== undefined) out.statusReason = identity.statusReason;
  return out;
}
