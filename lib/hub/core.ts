/**
 * `HubCore`: the transport-free local IoT Hub. It composes the store, the registry and the twin
 * functions, brokers direct methods and desired-property fan-out through a `DeviceConnector`
 * (`./device-connector.ts`, implemented by the MQTT layer), and emits events:
 *
 * - `'d2c'` (record: `D2CRecord`) — a device-to-cloud message was stored
 * - `'connection'` (`{deviceId, connected}`) — a device connected or disconnected
 * - `'twin'` (`{deviceId, twin: TwinState}`) — a twin changed
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type {
  C2DMessage,
  D2CMessageInput,
  DeviceConnector,
  HubDeviceSide,
  MethodResponse,
} from './device-connector';
import { HubError, argumentInvalid, deviceNotFound } from './errors';
import { JobEngine } from './jobs/engine';
import { DeviceRegistry } from './registry/registry';
import { deviceEtag } from './registry/rules';
import { HubStore, type HubStoreOptions } from './store/hub-store';
import type { C2DRecord, DeviceRecord } from './store/types';
import { deviceTwinBody, desiredPatchBody } from './twin/device-bodies';
import { checkIfMatch, twinEtag } from './twin/etag';
import { serviceTwin, type ServiceTwin } from './twin/service-view';
import { patchReported, patchTwin, replaceTwin, type TwinUpdate } from './twin/twin';
import type { TwinState } from './twin/types';

/** Direct method timeouts IoT Hub accepts (`responseTimeoutInSeconds`), in seconds. */
export const METHOD_TIMEOUT = { min: 5, max: 300, default: 30 } as const;

export interface HubCoreOptions extends HubStoreOptions {
  /** IoT Hub host name used in resource URIs (default `localhost`). */
  hostName?: string;
  /** Devices one job processes at the same time (default 50). */
  jobConcurrency?: number;
}

export class HubCore extends EventEmitter implements HubDeviceSide {
  readonly store: HubStore;
  readonly registry: DeviceRegistry;
  readonly hostName: string;
  /** Jobs v2 (`lib/hub/jobs`): scheduled direct methods and twin updates. */
  readonly jobs: JobEngine;
  private connector: DeviceConnector | undefined;

  constructor(dataDir: string, options: HubCoreOptions = {}) {
    super();
    this.store = new HubStore(dataDir, options);
    this.registry = new DeviceRegistry(this.store);
    this.hostName = options.hostName ?? 'localhost';
    this.registry.policies(); // generate the hub's keys on creation
    this.jobs = new JobEngine(
      this,
      options.jobConcurrency !== undefined ? { concurrency: options.jobConcurrency } : {},
    );
  }

  close(): void {
    this.jobs.close();
    this.store.close();
  }

  /** Plugs in the device transport (one at a time). */
  attachConnector(connector: DeviceConnector | undefined): void {
    this.connector = connector;
  }

  // ---- registry (service side) ----------------------------------------------------------------

  /** `PUT /devices/{id}`; a disabled device is disconnected. */
  putDevice(deviceId: string, body: unknown, ifMatch?: string): DeviceRecord {
    const { before, after } = this.registry.createOrUpdate(deviceId, body, ifMatch);
    const keysChanged =
      before &&
      (before.primaryKey !== after.primaryKey || before.secondaryKey !== after.secondaryKey);
    if (after.status === 'disabled' || keysChanged) this.connector?.disconnect(deviceId);
    return after;
  }

  deleteDevice(deviceId: string, ifMatch?: string): void {
    this.registry.delete(deviceId, ifMatch);
    this.connector?.disconnect(deviceId);
  }

  // ---- twins ------------------------------------------------------------------------------------

  private twinOf(deviceId: string): { device: DeviceRecord; twin: TwinState } {
    const device = this.registry.get(deviceId);
    const twin = this.store.getTwin(deviceId);
    if (!twin) throw deviceNotFound(deviceId);
    return { device, twin };
  }

  /** The service view (`GET /twins/{id}`). */
  getTwin(deviceId: string): ServiceTwin {
    const { device, twin } = this.twinOf(deviceId);
    return serviceTwin(
      {
        deviceId,
        deviceEtag: deviceEtag(device.etagVersion),
        status: device.status,
        ...(device.statusReason !== null ? { statusReason: device.statusReason } : {}),
        statusUpdateTime: device.statusUpdatedTime,
        connectionState: device.connectionState,
        lastActivityTime: device.lastActivityTime,
        cloudToDeviceMessageCount: device.cloudToDeviceMessageCount,
        authenticationType: device.authType,
        x509Thumbprint: {
          primaryThumbprint: device.primaryThumbprint,
          secondaryThumbprint: device.secondaryThumbprint,
        },
      },
      twin,
    );
  }

  /** Every twin in the service view (the query engine's input). */
  listTwins(): ServiceTwin[] {
    return this.registry.list().map((d) => this.getTwin(d.deviceId));
  }

  private applyTwin(
    deviceId: string,
    ifMatch: string | undefined,
    op: (t: TwinState) => TwinUpdate,
  ): ServiceTwin {
    const update = this.store.transaction(() => {
      const { twin } = this.twinOf(deviceId);
      checkIfMatch(ifMatch, twinEtag(twin.version));
      const u = op(twin);
      this.store.putTwin(deviceId, u.twin);
      return u;
    });
    this.emit('twin', { deviceId, twin: update.twin });
    if (update.desiredPatch && this.connector?.isConnected(deviceId)) {
      this.connector.onDesiredPatch(
        deviceId,
        desiredPatchBody(update.desiredPatch, update.twin.desired.version),
      );
    }
    return this.getTwin(deviceId);
  }

  /** `PATCH /twins/{id}` (merge tags / desired). */
  updateTwin(deviceId: string, body: unknown, ifMatch?: string): ServiceTwin {
    return this.applyTwin(deviceId, ifMatch, (t) => patchTwin(t, body));
  }

  /** `PUT /twins/{id}` (replace tags / desired). */
  replaceTwin(deviceId: string, body: unknown, ifMatch?: string): ServiceTwin {
    return this.applyTwin(deviceId, ifMatch, (t) => replaceTwin(t, body));
  }

  // ---- device side (HubDeviceSide) ------------------------------------------------------------

  getDeviceTwin(deviceId: string): { desired: unknown; reported: unknown } {
    return deviceTwinBody(this.twinOf(deviceId).twin);
  }

  updateReportedProperties(deviceId: string, patch: unknown): number {
    const twin = this.store.transaction(() => {
      const next = patchReported(this.twinOf(deviceId).twin, patch).twin;
      this.store.putTwin(deviceId, next);
      return next;
    });
    this.emit('twin', { deviceId, twin });
    return twin.reported.version;
  }

  receiveD2C(deviceId: string, message: D2CMessageInput): void {
    const enqueuedTime = new Date().toISOString();
    const systemProperties = { ...(message.systemProperties ?? {}) };
    const seq = this.store.appendD2C({
      deviceId,
      body: message.body,
      properties: message.properties,
      systemProperties,
      enqueuedTime,
    });
    this.emit('d2c', {
      seq,
      deviceId,
      body: message.body,
      properties: message.properties,
      systemProperties,
      enqueuedTime,
    });
  }

  deviceConnected(deviceId: string): void {
    this.registry.setConnectionState(deviceId, true);
    this.emit('connection', { deviceId, connected: true });
    this.deliverC2D(deviceId);
  }

  deviceDisconnected(deviceId: string): void {
    this.registry.setConnectionState(deviceId, false);
    this.store.unlockC2D(deviceId);
    this.emit('connection', { deviceId, connected: false });
  }

  completeC2D(deviceId: string, lockToken: string): void {
    this.store.settleC2D(deviceId, lockToken, 'completed');
    this.deliverC2D(deviceId);
  }

  // ---- cloud-to-device messages ---------------------------------------------------------------

  /** Queues a C2D message and offers it at once when the device is connected. */
  sendC2D(
    deviceId: string,
    body: Buffer,
    properties: Record<string, string> = {},
    options: { messageId?: string; expiryTimeUtc?: string; correlationId?: string } = {},
  ): string {
    this.registry.get(deviceId);
    const messageId = options.messageId ?? randomUUID();
    const systemProperties: Record<string, string> = {
      messageId,
      to: `/devices/${deviceId}/messages/devicebound`,
    };
    if (options.correlationId) systemProperties.correlationId = options.correlationId;
    if (options.expiryTimeUtc) systemProperties.expiryTimeUtc = options.expiryTimeUtc;
    this.store.enqueueC2D({
      deviceId,
      messageId,
      body,
      properties,
      systemProperties,
      enqueuedTime: new Date().toISOString(),
      expiryTime: options.expiryTimeUtc ?? null,
    });
    this.deliverC2D(deviceId);
    return messageId;
  }

  /** Offers the next queued message (one in flight per device). */
  private deliverC2D(deviceId: string): void {
    const c = this.connector;
    if (!c?.isConnected(deviceId)) return;
    if (this.store.listC2D(deviceId).some((m) => m.state === 'locked')) return;
    const rec = this.store.lockNextC2D(deviceId);
    if (!rec) return;
    if (!c.sendC2D(deviceId, toC2DMessage(rec))) {
      this.store.settleC2D(deviceId, rec.lockToken!, 'abandoned');
    }
  }

  // ---- direct methods -------------------------------------------------------------------------

  /**
   * Invokes a direct method and waits for the device's answer: 400 for a bad timeout, 404001
   * for an unknown device, 404103 `DeviceNotOnline` when no connector or connection, 504101
   * `GatewayTimeout` after `timeoutSeconds`.
   */
  async invokeMethod(
    deviceId: string,
    methodName: string,
    payload: unknown,
    timeoutSeconds: number = METHOD_TIMEOUT.default,
  ): Promise<MethodResponse> {
    if (
      !Number.isFinite(timeoutSeconds) ||
      timeoutSeconds < METHOD_TIMEOUT.min ||
      timeoutSeconds > METHOD_TIMEOUT.max
    ) {
      throw argumentInvalid(
        `responseTimeoutInSeconds must be between ${METHOD_TIMEOUT.min} and ${METHOD_TIMEOUT.max}, not ${timeoutSeconds}`,
      );
    }
    if (typeof methodName !== 'string' || !/^[!#%&'*+\-.0-9A-Z^_`a-z|~]+$/.test(methodName)) {
      throw argumentInvalid(`Invalid method name ${JSON.stringify(methodName)}`);
    }
    this.registry.get(deviceId);
    const c = this.connector;
    if (!c || !c.isConnected(deviceId)) {
      throw new HubError('DeviceNotOnline', `Timed out waiting for device ${deviceId} to connect.`);
    }
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(
          new HubError(
            'GatewayTimeout',
            `Timed out waiting for the response from device ${deviceId}.`,
          ),
        );
      }, timeoutSeconds * 1000);
    });
    try {
      return await Promise.race([
        c.invoke(deviceId, methodName, payload, randomUUID(), { signal: abort.signal }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function toC2DMessage(r: C2DRecord): C2DMessage {
  const sp = r.systemProperties;
  return {
    lockToken: r.lockToken!,
    body: r.body,
    properties: r.properties,
    systemProperties: {
      messageId: r.messageId,
      to: sp.to ?? `/devices/${r.deviceId}/messages/devicebound`,
      ...(sp.correlationId ? { correlationId: sp.correlationId } : {}),
      ...(r.expiryTime ? { expiryTimeUtc: r.expiryTime } : {}),
    },
    deliveryCount: r.deliveryCount,
    enqueuedTimeUtc: r.enqueuedTime,
  };
}
