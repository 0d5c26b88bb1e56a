/**
 * Set-up for the DM integration tests: a `LocalHub` (real TLS MQTT + HTTPS REST), real
 * `azure-iot-device` clients over MQTT, the real `azure-iothub` Registry/Client (through
 * `trustHub`), and `DeviceManagementClient` over the real addon + CSP emulator. Everything opened
 * through a `DmEnv` is closed by `env.cleanup()` (clients, DM clients, temporary state folders)
 * and `env.close()` (the hub).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as DeviceClient } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { Client as ServiceClient, Registry } from 'azure-iothub';
import { Csp } from '../../lib/csp/csp';
import {
  DeviceManagementClient,
  type DeviceManagementEvents,
  type DeviceManagementOptions,
} from '../../lib/dm/client';
import type { FeatureHandler, Json, JsonObject } from '../../lib/dm/handler';
import { silentLogger } from '../../lib/dm/logger';
import { schema as s } from '../../lib/dm';
import type { LocalHub } from '../../lib/hub/hub';
import { startLocalHub, trustHub } from '../hub/helpers/local-hub';
import { waitFor } from '../hub/helpers/mqtt-fixture';

export { waitFor };

export const PERSONALIZATION = './Device/Vendor/MSFT/Personalization';

type AnyObject = Record<string, unknown>;

export class DmEnv {
  readonly hub: LocalHub;
  readonly registry: Registry;
  readonly service: ServiceClient;
  readonly #closeHub: () => Promise<void>;
  #clients: DeviceClient[] = [];
  #dms: DeviceManagementClient[] = [];
  #dirs: string[] = [];

  private constructor(hub: LocalHub, closeHub: () => Promise<void>) {
    this.hub = hub;
    this.#closeHub = closeHub;
    this.registry = trustHub(Registry.fromConnectionString(hub.connectionString), hub);
    this.service = trustHub(ServiceClient.fromConnectionString(hub.connectionString), hub);
  }

  static async start(): Promise<DmEnv> {
    const { hub, close } = await startLocalHub();
    return new DmEnv(hub, close);
  }

  /** A fresh temporary state folder (removed by `cleanup`). */
  stateDir(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-dm-state-'));
    this.#dirs.push(dir);
    return dir;
  }

  /** Registers the device (if needed) and opens a real SDK client over MQTT. */
  async openDevice(deviceId: string): Promise<DeviceClient> {
    if (!this.hub.core.registry.find(deviceId)) this.hub.core.registry.create(deviceId);
    const client = DeviceClient.fromConnectionString(
      this.hub.deviceConnectionString(deviceId),
      Mqtt,
    );
    this.#clients.push(client);
    await client.setOptions({ ca: this.hub.tls.caCertPem });
    await client.open();
    return client;
  }

  /** Attaches DM to `client` with a silent logger and a fresh state folder unless given. */
  async attach(
    client: DeviceClient,
    options: DeviceManagementOptions = {},
  ): Promise<DeviceManagementClient> {
    const dm = await DeviceManagementClient.attach(client, {
      logger: silentLogger(),
      stateDir: options.stateDir ?? this.stateDir(),
      retryDelayMs: 20,
      ...options,
    });
    this.#dms.push(dm);
    return dm;
  }

  /** Detaches every DM client and closes every device client; removes state folders. */
  async cleanup(): Promise<void> {
    this.hub.control.reset();
    for (const dm of this.#dms.splice(0)) await dm.detach(500).catch(() => undefined);
    for (const c of this.#clients.splice(0)) await c.close().catch(() => undefined);
    for (const d of this.#dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await this.cleanup();
    await this.service.close().catch(() => undefined);
    await this.#closeHub();
  }

  /** Merges `patch` into `properties.desired.windows` through the hub core (service side). */
  setWindows(deviceId: string, patch: JsonObject): number {
    const twin = this.hub.core.updateTwin(deviceId, {
      properties: { desired: { windows: patch } },
    });
    return twin.properties.desired.$version as number;
  }

  /** The hub's `properties.reported.windows` of the device. */
  reported(deviceId: string): AnyObject {
    const r = this.hub.core.getTwin(deviceId).properties.reported as AnyObject;
    return (r.windows ?? {}) as AnyObject;
  }

  /** `reported.windows.<section>` as the hub holds it. */
  section(deviceId: string, name: string): AnyObject | undefined {
    return this.reported(deviceId)[name] as AnyObject | undefined;
  }

  /** Resolves when the hub holds `reported.windows.<section>.lastChange.state === state`. */
  async waitForState(
    deviceId: string,
    name: string,
    state: 'completed' | 'failed' | 'pending',
    ms = 8000,
  ): Promise<AnyObject> {
    await waitFor(
      () => (this.section(deviceId, name)?.lastChange as AnyObject | undefined)?.state === state,
      ms,
      `reported.windows.${name}.lastChange.state == ${state}`,
    );
    return this.section(deviceId, name) as AnyObject;
  }

  /** True once the hub's MQTT session of the device subscribed to `filter`. */
  subscribed(deviceId: string, filter: string): boolean {
    const sessions = (
      this.hub.mqtt as unknown as { sessions: Map<string, { subscriptions: Set<string> }> }
    ).sessions;
    return sessions.get(deviceId)?.subscriptions.has(filter) ?? false;
  }

  /** Waits until the device gets desired notifications and method requests. */
  async waitForSubscriptions(deviceId: string): Promise<void> {
    await waitFor(
      () =>
        this.hub.mqtt.isConnected(deviceId) &&
        this.subscribed(deviceId, '$iothub/twin/PATCH/properties/desired/#') &&
        this.subscribed(deviceId, '$iothub/methods/POST/#'),
      8000,
      `${deviceId} subscriptions`,
    );
  }
}

/** The next `event` of `dm` for which `match` holds. */
export function nextEvent<E extends keyof DeviceManagementEvents>(
  dm: DeviceManagementClient,
  event: E,
  match: (...args: DeviceManagementEvents[E]) => boolean = () => true,
  ms = 8000,
): Promise<DeviceManagementEvents[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      dm.off(event, listener as never);
      reject(new Error(`timed out waiting for dm event ${String(event)}`));
    }, ms);
    const listener = (...args: DeviceManagementEvents[E]): void => {
      if (!match(...args)) return;
      clearTimeout(timer);
      dm.off(event, listener as never);
      resolve(args);
    };
    dm.on(event, listener as never);
  });
}

/** A `Csp` over the real addon and emulator, outside any handler's scope (for checks). */
let direct: Csp | undefined;
export function deviceCsp(): Csp {
  return (direct ??= new Csp());
}

/** Reads a node from the emulator; `undefined` when it does not exist (404). */
export async function readNode(uri: string): Promise<unknown> {
  try {
    return await deviceCsp().get(uri);
  } catch (err) {
    if ((err as { status?: number }).status === 404) return undefined;
    throw err;
  }
}

/** A unique string for values written to the shared emulator. */
let seq = 0;
export function unique(prefix: string): string {
  seq += 1;
  return `${prefix}-${process.pid}-${seq}`;
}

/**
 * A test handler over one Personalization leaf (a real emulator node): `{ url }` is written with
 * `put`, read back by `report`. `applies` counts apply calls; `gate` (when set) is awaited
 * before the write, so a test can hold an apply mid-way.
 */
export interface LeafHandler extends FeatureHandler {
  applies: Json[];
  gate?: Promise<void>;
}

export function leafHandler(section: string, leaf = 'CompanyLogoUrl'): LeafHandler {
  const uri = `${PERSONALIZATION}/${leaf}`;
  const h: LeafHandler = {
    section,
    nodes: [uri],
    desired: s.object({ url: s.string({ maxLength: 200 }) }, { required: ['url'] }),
    applies: [],
    async apply(desired, ctx) {
      h.applies.push(desired);
      if (h.gate) await h.gate;
      await ctx.csp.put(uri, desired.url as string);
    },
    async report(ctx) {
      const url = await ctx.csp.get(uri).catch(() => '<not set>');
      return { url: url as Json };
    },
  };
  return h;
}

/** Writes a node on the emulator directly (outside DM): Replace, or Add when absent. */
export async function writeNode(uri: string, value: string): Promise<void> {
  try {
    await deviceCsp().replace(uri, value);
  } catch (err) {
    if ((err as { status?: number }).status !== 404) throw err;
    await deviceCsp().add(uri, value);
  }
}

/**
 * Mocha hooks of a suite over one `DmEnv`: started before the suite, cleaned up after each test,
 * closed after the suite. `set` receives it once started.
 */
export function useDmEnv(set: (env: DmEnv) => void): void {
  let env: DmEnv | undefined;
  before(async () => {
    env = await DmEnv.start();
    set(env);
  });
  afterEach(async () => {
    await env?.cleanup();
  });
  after(async () => {
    await env?.close();
  });
}
