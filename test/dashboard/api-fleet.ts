/**
 * A small simulated fleet for the dashboard's API tests: a `LocalHub` with ephemeral ports, real
 * `azure-iot-device` MQTT clients, one of them running the DM client with the built-in
 * `windowsTelemetry` handler over a `MockMdm`, the others answering `windows.*` methods as plain
 * clients and reporting `rebootInfo` states; one registered device stays offline.
 */
import { Client as DeviceClient } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Csp } from '../../lib/csp/csp';
import { DeviceManagementClient } from '../../lib/dm/client';
import { silentLogger } from '../../lib/dm/logger';
import { TELEMETRY_CONFIG, windowsTelemetryHandler } from '../../lib/features/telemetry';
import type { LocalHub } from '../../lib/hub/hub';
import { MockMdm } from '../../lib/testing';
import { startLocalHub } from '../hub/helpers/local-hub';

/** Resolves once `check` holds (polled every 50 ms), else fails after `ms`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 8000,
  what = 'condition',
): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const DM_DEVICE = 'dash-01';
export const PLAIN_DEVICES = ['dash-02', 'dash-03', 'dash-04', 'dash-05', 'dash-06', 'dash-07'];
export const OFFLINE_DEVICE = 'dash-08';

export class ApiFleet {
  readonly clients = new Map<string, DeviceClient>();
  /** Method calls the plain devices received: `deviceId method payload`. */
  readonly calls: Array<{ deviceId: string; method: string; payload: unknown }> = [];
  private dm?: DeviceManagementClient;
  private readonly stateDir = mkdtempSync(path.join(os.tmpdir(), 'wdm-dash-dm-'));

  private constructor(
    readonly hub: LocalHub,
    private readonly closeHub: () => Promise<void>,
  ) {}

  static async start(): Promise<ApiFleet> {
    const { hub, close } = await startLocalHub();
    const fleet = new ApiFleet(hub, close);
    for (const id of [DM_DEVICE, ...PLAIN_DEVICES, OFFLINE_DEVICE]) hub.core.registry.create(id);
    await fleet.openDm();
    await Promise.all(PLAIN_DEVICES.map((id) => fleet.openPlain(id)));
    return fleet;
  }

  private async open(deviceId: string): Promise<DeviceClient> {
    const client = DeviceClient.fromConnectionString(
      this.hub.deviceConnectionString(deviceId),
      Mqtt,
    );
    await client.setOptions({ ca: this.hub.tls.caCertPem });
    await client.open();
    this.clients.set(deviceId, client);
    return client;
  }

  private async openDm(): Promise<void> {
    const client = await this.open(DM_DEVICE);
    const mock = new MockMdm({ nodes: { [TELEMETRY_CONFIG]: { value: 1, format: 'int' } } });
    this.dm = await DeviceManagementClient.attach(client, {
      handlers: [windowsTelemetryHandler],
      csp: new Csp(mock),
      logger: silentLogger(),
      stateDir: this.stateDir,
      retryDelayMs: 20,
    });
    await eventually(
      () => this.reportedWindows(DM_DEVICE).windowsTelemetry !== undefined,
      8000,
      'dash-01 reports windowsTelemetry',
    );
  }

  private async openPlain(deviceId: string): Promise<void> {
    const client = await this.open(deviceId);
    for (const method of [
      'windows.rebootAsync',
      'windows.getWifiDetails',
      'windows.startFactoryResetAsync',
    ]) {
      client.onDeviceMethod(method, (req, res) => {
        this.calls.push({ deviceId, method, payload: req.payload });
        void res.send(200, { response: 'accepted', method });
      });
    }
    const twin = await client.getTwin();
    const n = PLAIN_DEVICES.indexOf(deviceId);
    await new Promise<void>((resolve, reject) =>
      twin.properties.reported.update(
        {
          windows: {
            rebootInfo: {
              lastBootTime: '2026-01-01T00:00:00Z',
              lastChange: { state: n === 0 ? 'failed' : 'completed', time: '2026-01-01T00:00:00Z' },
            },
          },
        },
        (err?: Error) => (err ? reject(err) : resolve()),
      ),
    );
    // Method subscriptions are asynchronous: wait until the hub gets an answer.
    await eventually(
      async () =>
        this.hub.core
          .invokeMethod(deviceId, 'windows.getWifiDetails', null, 5)
          .then(() => true)
          .catch(() => false),
      8000,
      `${deviceId} answers methods`,
    );
    this.calls.length = 0;
  }

  /** `reported.windows` of a device as the hub holds it. */
  reportedWindows(deviceId: string): Record<string, unknown> {
    const r = this.hub.core.getTwin(deviceId).properties.reported as Record<string, unknown>;
    return (r.windows ?? {}) as Record<string, unknown>;
  }

  /** Reports `patch` under `windows` from a plain device. */
  async report(deviceId: string, patch: Record<string, unknown>): Promise<void> {
    const twin = await this.clients.get(deviceId)!.getTwin();
    await new Promise<void>((resolve, reject) =>
      twin.properties.reported.update({ windows: patch }, (err?: Error) =>
        err ? reject(err) : resolve(),
      ),
    );
  }

  async close(): Promise<void> {
    await this.dm?.detach(500).catch(() => undefined);
    for (const c of this.clients.values()) await c.close().catch(() => undefined);
    await this.closeHub();
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}
