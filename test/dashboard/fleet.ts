/**
 * A simulated fleet for the dashboard's browser tests and screenshots: a `LocalHub` (real MQTT/TLS
 * and HTTPS REST on ephemeral loopback ports) and `devices` simulated devices, each a real
 * `azure-iot-device` client over MQTT/TLS with a real `DeviceManagementClient` attached:
 *
 * - the first `full` devices run every built-in feature handler (`builtinHandlers`) over the real
 *   addon + CSP emulator. They all run in this one process, so they share the emulator's device
 *   state (a telemetry level written by one is what the others read back): fine for tests, not a
 *   model of separate devices. Their native system part is a `MockSystem` each (boot time, time
 *   zone), so nothing touches this machine's clock or services.
 * - the others are light: the DM client with only the reboot handlers (`rebootInfo`, `rebootCmd`,
 *   `windows.rebootAsync`) and `windowsTelemetry`, also over the emulator.
 *
 * Everything goes through the SDKs and the hub (twin patches, direct methods, jobs); the harness
 * itself only registers the devices in the hub's registry. `stop()` closes all of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as DeviceClient } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { Registry } from 'azure-iothub';
import { DeviceManagementClient } from '../../lib/dm/client';
import type { FeatureHandler } from '../../lib/dm/handler';
import { silentLogger } from '../../lib/dm/logger';
import { builtinHandlers } from '../../lib/features';
import { createRebootHandlers } from '../../lib/features/reboot';
import { windowsTelemetryHandler } from '../../lib/features/telemetry';
import type { LocalHub } from '../../lib/hub/hub';
import { MockSystem } from '../../lib/testing/mock-system';
import { startLocalHub, trustHub } from '../hub/helpers/local-hub';

export interface FleetOptions {
  /** How many devices (default 20). */
  devices?: number;
  /** How many of them run every built-in handler (default 3). */
  full?: number;
  /** Device id prefix (default `dev`): ids are `<prefix>-01`, `<prefix>-02`, ... */
  prefix?: string;
}

export interface FleetDevice {
  deviceId: string;
  /** True for the devices with every built-in handler. */
  full: boolean;
  client: DeviceClient;
  dm: DeviceManagementClient;
  system: MockSystem;
}

export interface Fleet {
  hub: LocalHub;
  /** The hub's `iothubowner` service connection string (`HostName=localhost:<port>;...`). */
  serviceConnectionString: string;
  /** The hub's CA (PEM) the service side must trust. */
  ca: string;
  devices: FleetDevice[];
  /** An `azure-iothub` Registry on the hub (for test set-up through the service side). */
  registry: Registry;
  stop(): Promise<void>;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function lightHandlers(system: MockSystem): FeatureHandler[] {
  return [...createRebootHandlers({ system }), windowsTelemetryHandler];
}

/** Starts the hub and the devices; resolves once every device's DM client has attached. */
export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  const count = options.devices ?? 20;
  const full = Math.min(options.full ?? 3, count);
  const prefix = options.prefix ?? 'dev';
  const { hub, close: closeHub } = await startLocalHub();
  const stateRoot = mkdtempSync(path.join(os.tmpdir(), 'wdm-fleet-'));
  const devices: FleetDevice[] = [];
  const clients: DeviceClient[] = [];
  const registry = trustHub(Registry.fromConnectionString(hub.connectionString), hub);

  async function stop(): Promise<void> {
    for (const d of devices) await d.dm.detach(500).catch(() => undefined);
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await closeHub();
    rmSync(stateRoot, { recursive: true, force: true });
  }

  async function startDevice(i: number): Promise<void> {
    const deviceId = `${prefix}-${pad(i + 1)}`;
    const isFull = i < full;
    if (!hub.core.registry.find(deviceId)) hub.core.registry.create(deviceId);
    const client = DeviceClient.fromConnectionString(hub.deviceConnectionString(deviceId), Mqtt);
    clients.push(client);
    await client.setOptions({ ca: hub.tls.caCertPem });
    await client.open();
    const system = new MockSystem();
    const stateDir = path.join(stateRoot, deviceId);
    const handlers = isFull ? builtinHandlers({ system, stateDir }) : lightHandlers(system);
    const dm = await DeviceManagementClient.attach(client, {
      handlers,
      logger: silentLogger(),
      stateDir,
      retryDelayMs: 50,
      // A simulated device: the reboot is asked of the CSP (the emulator records it).
      isRebootAllowed: () => true,
    });
    devices.push({ deviceId, full: isFull, client, dm, system });
  }

  try {
    // One by one (about 0.1 s each): the attaches then never overlap on the shared emulator.
    for (let i = 0; i < count; i += 1) await startDevice(i);
    for (const d of devices) await d.dm.settled();
  } catch (err) {
    await stop();
    throw err;
  }
  devices.sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  return {
    hub,
    serviceConnectionString: hub.connectionString,
    ca: hub.tls.caCertPem,
    devices,
    registry,
    stop,
  };
}

/** `properties.reported.windows.<section>` of a device, read through the service SDK. */
export async function reportedSection(
  fleet: Fleet,
  deviceId: string,
  section: string,
): Promise<Record<string, unknown> | undefined> {
  const { responseBody: twin } = await fleet.registry.getTwin(deviceId);
  const reported = twin.properties.reported as { windows?: Record<string, unknown> };
  return reported.windows?.[section] as Record<string, unknown> | undefined;
}

/**
 * Makes `windowsTelemetry` fail on these devices the way an operator would: a desired
 * `{ level: "enhanced" }` (refused by the device, 400) through the service SDK; resolves once each
 * device reported `lastChange.state: "failed"`.
 */
export async function seedTelemetryFailures(fleet: Fleet, deviceIds: string[]): Promise<void> {
  for (const id of deviceIds) {
    await fleet.registry.updateTwin(
      id,
      { properties: { desired: { windows: { windowsTelemetry: { level: 'enhanced' } } } } },
      '*',
    );
  }
  const deadline = Date.now() + 15000;
  for (const id of deviceIds) {
    for (;;) {
      const s = await reportedSection(fleet, id, 'windowsTelemetry');
      if ((s?.lastChange as { state?: string } | undefined)?.state === 'failed') break;
      if (Date.now() > deadline) throw new Error(`${id}: windowsTelemetry never reported failed`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Sends `properties.desired.windows` = `windows` (merged) through the service SDK and resolves once
 * the device reported each of those sections with `lastChange.state` other than `pending`.
 */
export async function applyDesired(
  fleet: Fleet,
  deviceId: string,
  windows: Record<string, unknown>,
  ms = 15000,
): Promise<void> {
  await fleet.registry.updateTwin(deviceId, { properties: { desired: { windows } } }, '*');
  const deadline = Date.now() + ms;
  for (const section of Object.keys(windows)) {
    for (;;) {
      const s = await reportedSection(fleet, deviceId, section);
      const state = (s?.lastChange as { state?: string } | undefined)?.state;
      if (state === 'completed' || state === 'failed') break;
      if (Date.now() > deadline) throw new Error(`${deviceId}: ${section} never reported`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
