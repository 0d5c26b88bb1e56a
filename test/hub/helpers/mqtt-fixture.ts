/**
 * A started `MqttHub` on 127.0.0.1 (ephemeral ports) over an in-memory backend: a minimal
 * `HubDeviceSide` (twins, telemetry, C2D completions) and a device map for authentication.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ensureHubTls, type HubTlsMaterial } from '../../../lib/hub/tls';
import { MqttHub, type MqttHubLogEvent } from '../../../lib/hub/mqtt';
import type { DeviceAuthRecord } from '../../../lib/hub/auth';
import type { D2CMessageInput, HubDeviceSide } from '../../../lib/hub/device-connector';
import { HubError } from '../../../lib/hub/errors';

export class MemoryBackend implements HubDeviceSide {
  readonly devices = new Map<string, DeviceAuthRecord>();
  readonly twins = new Map<
    string,
    { desired: Record<string, unknown>; reported: Record<string, unknown> }
  >();
  readonly d2c: Array<{ deviceId: string } & D2CMessageInput> = [];
  readonly completed: Array<{ deviceId: string; lockToken: string }> = [];
  readonly events: string[] = [];

  addSasDevice(deviceId: string): { primaryKey: string; secondaryKey: string } {
    const keys = {
      primaryKey: randomBytes(32).toString('base64'),
      secondaryKey: randomBytes(32).toString('base64'),
    };
    this.devices.set(deviceId, {
      deviceId,
      status: 'enabled',
      authentication: { type: 'sas', symmetricKey: keys },
    });
    return keys;
  }

  private twin(deviceId: string) {
    let t = this.twins.get(deviceId);
    if (!t) {
      t = { desired: { $version: 1 }, reported: { $version: 1 } };
      this.twins.set(deviceId, t);
    }
    return t;
  }

  getDeviceTwin(deviceId: string): { desired: unknown; reported: unknown } {
    if (!this.devices.has(deviceId)) throw new HubError('DeviceNotFound', 'no such device');
    return this.twin(deviceId);
  }
  updateReportedProperties(deviceId: string, patch: unknown): number {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new HubError('ArgumentInvalid', 'patch must be an object');
    }
    const t = this.twin(deviceId);
    const version = (t.reported.$version as number) + 1;
    t.reported = { ...t.reported, ...(patch as object), $version: version };
    return version;
  }
  receiveD2C(deviceId: string, message: D2CMessageInput): void {
    this.d2c.push({ deviceId, ...message });
  }
  deviceConnected(deviceId: string): void {
    this.events.push(`connected:${deviceId}`);
  }
  deviceDisconnected(deviceId: string): void {
    this.events.push(`disconnected:${deviceId}`);
  }
  completeC2D(deviceId: string, lockToken: string): void {
    this.completed.push({ deviceId, lockToken });
  }
}

export interface HubFixture {
  hub: MqttHub;
  backend: MemoryBackend;
  tls: HubTlsMaterial;
  port: number;
  websocketPort: number;
  logs: MqttHubLogEvent[];
  /** `127.0.0.1:{port}`: the HostName devices use. */
  host: string;
  close(): Promise<void>;
}

export async function startHub(tlsMaterial?: HubTlsMaterial): Promise<HubFixture> {
  let dataDir: string | undefined;
  if (!tlsMaterial) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'wdm-hub-'));
    tlsMaterial = await ensureHubTls({ dataDir });
  }
  const backend = new MemoryBackend();
  const logs: MqttHubLogEvent[] = [];
  const hub = new MqttHub({
    tls: { cert: tlsMaterial.certPem, key: tlsMaterial.keyPem },
    devices: (id) => backend.devices.get(id),
    core: backend,
    port: 0,
    websocket: { port: 0 },
    hostNames: ['myhub.azure-devices.net'],
    log: (e) => logs.push(e),
  });
  const { port, websocketPort } = await hub.start();
  return {
    hub,
    backend,
    tls: tlsMaterial,
    port,
    websocketPort: websocketPort ?? 0,
    logs,
    host: `127.0.0.1:${port}`,
    async close() {
      await hub.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves when `predicate` holds (polling), rejects after `ms`. */
export async function waitFor(
  predicate: () => boolean,
  ms = 5000,
  what = 'condition',
): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
