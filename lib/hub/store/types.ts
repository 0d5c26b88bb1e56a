/** Rows of the hub store, as the domain layers use them. */
import type { TwinState } from '../twin/types';

export type DeviceStatus = 'enabled' | 'disabled';
export type AuthType = 'sas' | 'selfSigned' | 'certificateAuthority' | 'none';
export type ConnectionState = 'Connected' | 'Disconnected';

/** A device identity (registry entry). Times are ISO 8601 strings. */
export interface DeviceRecord {
  deviceId: string;
  status: DeviceStatus;
  statusReason: string | null;
  statusUpdatedTime: string;
  authType: AuthType;
  primaryKey: string | null;
  secondaryKey: string | null;
  primaryThumbprint: string | null;
  secondaryThumbprint: string | null;
  /** Counter behind the device etag; +1 per identity update. */
  etagVersion: number;
  generationId: string;
  connectionState: ConnectionState;
  connectionStateUpdatedTime: string;
  lastActivityTime: string;
  cloudToDeviceMessageCount: number;
  createdTime: string;
}

export interface StoredTwin {
  deviceId: string;
  twin: TwinState;
}

export interface JobRecord {
  jobId: string;
  type: string;
  status: string;
  createdTime: string;
  /** The job document as the service API shows it. */
  doc: Record<string, unknown>;
}

export interface D2CRecord {
  seq: number;
  deviceId: string;
  body: Buffer;
  properties: Record<string, string>;
  systemProperties: Record<string, string>;
  enqueuedTime: string;
}

export type C2DState = 'queued' | 'locked' | 'completed' | 'rejected' | 'expired';

export interface C2DRecord {
  seq: number;
  deviceId: string;
  messageId: string;
  lockToken: string | null;
  state: C2DState;
  body: Buffer;
  properties: Record<string, string>;
  systemProperties: Record<string, string>;
  enqueuedTime: string;
  expiryTime: string | null;
  deliveryCount: number;
}
