/**
 * `LocalHub`: a local IoT Hub in one data folder that the real Azure SDKs talk to.
 *
 * - `<dataDir>/` holds the store (`HubStore`: registry, twins, policies, queues) and
 *   `<dataDir>/tls/` the CA and server certificate (`ensureHubTls`), all reused on the next start.
 * - Devices: MQTT 3.1.1 over TLS (`MqttHub`, default port 8883) and, when `websocketPort` is
 *   given, MQTT over WebSocket at `/$iothub/websocket`.
 * - Service: the REST subset of `ServiceApi` over HTTPS (default port 8443, since 443 needs
 *   privileges; the `azure-iothub` SDK always dials port 443 of its HostName, so clients reach
 *   another port through an https agent, see `test/hub/service-sdk.test.ts`) and optionally plain
 *   HTTP on a Unix socket.
 *
 * - DPS: when `dpsPort` is given, the local Device Provisioning Service (`lib/hub/dps`) over
 *   HTTPS on that port, allocating to this hub (`dpsIdScope`, enrollments in the store).
 *
 * Every listener binds 127.0.0.1 unless `bindAddress` says otherwise.
 */
import { HubCore } from './core';
import { MqttHub, type MqttHubLogEvent } from './mqtt/server';
import type { DeviceAuthRecord } from './auth/device-auth';
import { deviceConnectionString } from './auth/sas';
import { deviceJson } from './registry/registry';
import { ServiceApi, type RunQuery } from './service/server';
import { ensureHubTls, type HubTlsMaterial } from './tls';
import { HubControl } from './control';
import { DpsEnrollments, DpsServer, DpsService, type DpsServiceOptions } from './dps';

export const DEFAULT_MQTT_PORT = 8883;
export const DEFAULT_HTTPS_PORT = 8443;

export interface LocalHubOptions {
  /** The hub's data folder (created when missing). */
  dataDir: string;
  /** The hub's host name (default `localhost`): in connection strings, tokens and the certificate. */
  hostName?: string;
  /** MQTT/TLS port; default 8883, 0 = ephemeral. */
  mqttPort?: number;
  /** HTTPS (REST) port; default 8443, 0 = ephemeral, `false` = none. */
  httpsPort?: number | false;
  /** MQTT over WebSocket port (`/$iothub/websocket`); default none, 0 = ephemeral. */
  websocketPort?: number;
  /** The REST API also as plain HTTP on this Unix socket. */
  socketPath?: string;
  /** Bind address of the TCP listeners; default 127.0.0.1. */
  bindAddress?: string;
  /** `POST /devices/query`; default `runQuery` from `lib/hub/query`. */
  runQuery?: RunQuery;
  /** MQTT refusals and violations (never secrets). */
  log?: (event: MqttHubLogEvent) => void;
  /** The local DPS's HTTPS port; default none, 0 = ephemeral. */
  dpsPort?: number;
  /** DPS timing (`retryAfterSeconds`, `assignDelayMs`) and refusal log. */
  dps?: Pick<DpsServiceOptions, 'retryAfterSeconds' | 'assignDelayMs' | 'log'>;
}

export interface LocalHubPorts {
  mqtt: number;
  https?: number;
  websocket?: number;
  dps?: number;
}

export class LocalHub {
  readonly options: LocalHubOptions;
  /** Fault injection for tests (`lib/hub/control`); also over HTTP under `/$control`. */
  readonly control = new HubControl();
  private coreInstance?: HubCore;
  private mqttInstance?: MqttHub;
  private serviceInstance?: ServiceApi;
  private tlsMaterial?: HubTlsMaterial;
  private dpsServer?: DpsServer;
  private dpsEnrollments?: DpsEnrollments;
  private portsInUse?: LocalHubPorts;

  constructor(options: LocalHubOptions) {
    this.options = options;
  }

  /** Creates and starts a hub. */
  static async start(options: LocalHubOptions): Promise<LocalHub> {
    const hub = new LocalHub(options);
    await hub.start();
    return hub;
  }

  get hostName(): string {
    return this.options.hostName ?? 'localhost';
  }

  /** Opens the store, makes the TLS material and starts the listeners. */
  async start(): Promise<LocalHubPorts> {
    if (this.coreInstance) throw new Error('LocalHub is already started');
    const o = this.options;
    const tls = await ensureHubTls({
      dataDir: o.dataDir,
      ...(o.hostName ? { hostNames: [o.hostName] } : {}),
    });
    const core = new HubCore(o.dataDir, { hostName: this.hostName });
    const hostNames = o.hostName ? [o.hostName] : [];
    const mqtt = new MqttHub({
      tls: { cert: tls.certPem, key: tls.keyPem },
      devices: (id) => authRecord(core, id),
      core,
      hostNames,
      port: o.mqttPort ?? DEFAULT_MQTT_PORT,
      websocket: o.websocketPort === undefined ? false : { port: o.websocketPort },
      ...(o.bindAddress ? { bindAddress: o.bindAddress } : {}),
      ...(o.log ? { log: o.log } : {}),
      faults: this.control,
    });
    const service = new ServiceApi({
      core,
      tls: { cert: tls.certPem, key: tls.keyPem },
      port: o.httpsPort === undefined ? DEFAULT_HTTPS_PORT : o.httpsPort,
      hostNames,
      ...(o.bindAddress ? { bindAddress: o.bindAddress } : {}),
      ...(o.socketPath ? { socketPath: o.socketPath } : {}),
      ...(o.runQuery ? { runQuery: o.runQuery } : {}),
      control: this.control,
    });
    try {
      const m = await mqtt.start();
      core.attachConnector(mqtt);
      this.control.attach({
        disconnect: (id) => mqtt.disconnect(id),
        deviceIds: () => core.registry.list().map((d) => d.deviceId),
      });
      const s = await service.start();
      const enrollments = new DpsEnrollments(core.store);
      let dpsPort: number | undefined;
      if (o.dpsPort !== undefined) {
        this.dpsServer = new DpsServer({
          service: new DpsService({
            core,
            enrollments,
            assignedHub: () => this.deviceHost,
            ...(o.dps ?? {}),
          }),
          tls: { cert: tls.certPem, key: tls.keyPem },
          port: o.dpsPort,
          ...(o.bindAddress ? { bindAddress: o.bindAddress } : {}),
        });
        dpsPort = await this.dpsServer.start();
      }
      this.dpsEnrollments = enrollments;
      this.portsInUse = {
        mqtt: m.port,
        ...(s.port !== undefined ? { https: s.port } : {}),
        ...(m.websocketPort !== undefined ? { websocket: m.websocketPort } : {}),
        ...(dpsPort !== undefined ? { dps: dpsPort } : {}),
      };
    } catch (err) {
      core.attachConnector(undefined);
      this.control.attach(undefined);
      await Promise.allSettled([service.close(), mqtt.close(), this.dpsServer?.close()]);
      this.dpsServer = undefined;
      core.close();
      throw err;
    }
    this.coreInstance = core;
    this.mqttInstance = mqtt;
    this.serviceInstance = service;
    this.tlsMaterial = tls;
    return this.portsInUse;
  }

  /** Closes every connection and listener, then the store. Safe to call twice. */
  async stop(): Promise<void> {
    const core = this.coreInstance;
    if (!core) return;
    this.coreInstance = undefined;
    core.attachConnector(undefined);
    this.control.attach(undefined);
    await Promise.allSettled([
      this.serviceInstance?.close(),
      this.mqttInstance?.close(),
      this.dpsServer?.close(),
    ]);
    this.dpsServer = undefined;
    this.dpsEnrollments = undefined;
    this.serviceInstance = undefined;
    this.mqttInstance = undefined;
    this.portsInUse = undefined;
    core.close();
  }

  get started(): boolean {
    return this.coreInstance !== undefined;
  }

  get core(): HubCore {
    if (!this.coreInstance) throw new Error('LocalHub is not started');
    return this.coreInstance;
  }

  get mqtt(): MqttHub {
    if (!this.mqttInstance) throw new Error('LocalHub is not started');
    return this.mqttInstance;
  }

  get ports(): LocalHubPorts {
    if (!this.portsInUse) throw new Error('LocalHub is not started');
    return this.portsInUse;
  }

  get tls(): HubTlsMaterial {
    if (!this.tlsMaterial) throw new Error('LocalHub has not been started');
    return this.tlsMaterial;
  }

  /** DPS enrollments in this hub's store (whether or not the DPS listens). */
  get enrollments(): DpsEnrollments {
    if (!this.dpsEnrollments) throw new Error('LocalHub is not started');
    return this.dpsEnrollments;
  }

  /** The DPS's global endpoint `host:port`; throws when the hub has no DPS listener. */
  get dpsEndpoint(): string {
    const port = this.ports.dps;
    if (port === undefined) throw new Error('LocalHub has no DPS listener (dpsPort)');
    return `${this.hostName}:${port}`;
  }

  /** The DPS ID scope (made once, kept in the store). */
  get dpsIdScope(): string {
    return this.enrollments.idScope();
  }

  /** The CA clients must trust (`<dataDir>/tls/ca.pem`). */
  get caPath(): string {
    return this.tls.caPath;
  }

  /** `HostName` of the service side: the host name, plus `:port` unless the port is 443. */
  get serviceHost(): string {
    const port = this.ports.https;
    return port === undefined || port === 443 ? this.hostName : `${this.hostName}:${port}`;
  }

  /** `HostName` devices use: the host name, plus `:port` unless the MQTT port is 8883. */
  get deviceHost(): string {
    const port = this.ports.mqtt;
    return port === DEFAULT_MQTT_PORT ? this.hostName : `${this.hostName}:${port}`;
  }

  /** Service connection string of a shared access policy (default `iothubowner`). */
  policyConnectionString(keyName = 'iothubowner'): string {
    const policy = this.core.registry.policy(keyName);
    if (!policy) throw new Error(`No shared access policy named ${keyName}`);
    return `HostName=${this.serviceHost};SharedAccessKeyName=${policy.keyName};SharedAccessKey=${policy.primaryKey}`;
  }

  /** The `iothubowner` service connection string. */
  get connectionString(): string {
    return this.policyConnectionString('iothubowner');
  }

  /** A SAS device's connection string (primary key); throws for unknown or non-SAS devices. */
  deviceConnectionString(deviceId: string): string {
    const d = this.core.registry.get(deviceId);
    if (d.authType !== 'sas' || !d.primaryKey) {
      throw new Error(`Device ${deviceId} does not use symmetric keys`);
    }
    return deviceConnectionString(this.deviceHost, deviceId, d.primaryKey);
  }
}

/** The registry record in the shape MQTT authentication reads (IoT Hub's device JSON). */
export function authRecord(core: HubCore, deviceId: string): DeviceAuthRecord | undefined {
  const d = core.registry.find(deviceId);
  return d ? deviceJson(d) : undefined;
}
