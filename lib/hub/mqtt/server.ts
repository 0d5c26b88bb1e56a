/**
 * The device side of the local IoT Hub: MQTT 3.1.1 over TLS (default port 8883) and over secure
 * WebSocket at `/$iothub/websocket`, on aedes used as a protocol engine, not as a pub/sub broker:
 * nothing a device publishes is routed to other clients; the hub answers each `$iothub` request
 * itself and sends device-bound messages to one connection.
 *
 * IoT Hub behaviours reproduced (research notes §1.1, §1.3; learn.microsoft.com "Communicate with
 * an IoT hub using the MQTT protocol"):
 * - CONNECT authentication (SAS or X.509 thumbprint) with CONNACK 2/4/5, see `auth/device-auth.ts`.
 * - One connection per device: a new CONNECT with the same id closes the old connection.
 * - A device may publish only to its telemetry topic, `$iothub/twin/GET`, reported PATCH and
 *   method responses; subscribe only to its C2D topic, `$iothub/twin/res/#`, desired PATCH and
 *   `$iothub/methods/POST/#`. Anything else closes the connection.
 * - PUBLISH with QoS 2 closes the connection. SUBSCRIBE asking QoS 2: IoT Hub grants 1; here the
 *   SUBACK echoes 2 (aedes builds the SUBACK from the request) but the hub never sends above QoS 1.
 * - At most 5 subscriptions per device; one more closes the connection.
 * - RETAIN is not stored: the message gets an `mqtt-retain: true` application property.
 * - Sessions: aedes sessions are always clean (the hub owns its queues); a device that connects
 *   with cleanSession=0 keeps its subscriptions across connections, as on IoT Hub.
 */
import { EventEmitter } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { createWebSocketServer } from './websocket';
import type {
  C2DMessage,
  DeviceConnector,
  HubDeviceSide,
  InvokeOptions,
  MethodResponse,
} from '../device-connector';
import type { DesiredPatchBody } from '../twin/device-bodies';
import { HubError, toHubError } from '../errors';
import { authenticateConnect, type DeviceLookup } from '../auth/device-auth';
import type { MqttFaultHooks } from '../control/control';
import {
  allowedSubscriptions,
  c2dTopic,
  classifyDevicePublish,
  desiredPatchTopic,
  formatPropertyBag,
  isHubToDeviceTopic,
  methodRequestTopic,
  parsePropertyBag,
  TOPIC_FILTER,
  twinResponseTopic,
} from './topics';

/* eslint-disable @typescript-eslint/no-require-imports */
// aedes 1.x is ESM-only; Node 20 loads it through require(esm).
type AedesModule = typeof import('aedes', { with: { 'resolution-mode': 'import' } });
type Aedes = import('aedes', { with: { 'resolution-mode': 'import' } }).Aedes;
type AedesClient = import('aedes', { with: { 'resolution-mode': 'import' } }).Client;
type AedesPublishPacket = import('aedes', {
  with: { 'resolution-mode': 'import' },
}).PublishPacket;
type ForwardPacket = import('aedes', { with: { 'resolution-mode': 'import' } }).AedesPublishPacket;

export const MAX_SUBSCRIPTIONS = 5;

export interface MqttHubOptions {
  /** Server certificate and key (PEM), e.g. from `ensureHubTls`. */
  tls: { cert: string; key: string };
  /** Registry lookup for authentication. */
  devices: DeviceLookup;
  /** The hub core (twins, telemetry, C2D queue). */
  core: HubDeviceSide;
  /**
   * Host names devices may use in `HostName=` (username and SAS `sr`), besides localhost,
   * 127.0.0.1 and ::1; each is also accepted with `:{port}` of the listening ports.
   */
  hostNames?: readonly string[];
  /** Bind address; default 127.0.0.1. */
  bindAddress?: string;
  /** MQTT/TLS port; default 8883, 0 = ephemeral. */
  port?: number;
  /** MQTT over WebSocket (HTTPS); `false` to disable. Default port 443, 0 = ephemeral. */
  websocket?: { port?: number } | false;
  /** Refusals and protocol violations (never tokens or keys). */
  log?: (event: MqttHubLogEvent) => void;
  /** Fault injection (`lib/hub/control`): token cut-offs, dropped connections, twin faults. */
  faults?: MqttFaultHooks;
}

export interface MqttHubLogEvent {
  event: 'refused' | 'violation' | 'connected' | 'disconnected' | 'error';
  deviceId?: string;
  detail: string;
  returnCode?: number;
}

interface DeviceSession {
  deviceId: string;
  /** The live aedes client, when connected. */
  client?: AedesClient;
  /** Subscribed topic filters; kept across connections when the device asked cleanSession=0. */
  subscriptions: Set<string>;
  persistent: boolean;
  pendingMethods: Map<string, (response: MethodResponse) => void>;
  /** C2D lock tokens handed to aedes, in order, not yet given a packet id. */
  c2dOutbox: string[];
  /** C2D: MQTT packet id → lock token, until the PUBACK. */
  c2dInFlight: Map<number, string>;
  nextPacketId: number;
}

class ProtocolViolation extends Error {}

export class MqttHub extends EventEmitter implements DeviceConnector {
  private readonly options: MqttHubOptions;
  private broker?: Aedes;
  private tlsServer?: tls.Server;
  private httpsServer?: https.Server;
  private closeWs?: () => Promise<void>;
  private readonly sessions = new Map<string, DeviceSession>();
  private readonly clientDevice = new WeakMap<AedesClient, DeviceSession>();
  private readonly requestedClean = new WeakMap<AedesClient, boolean>();

  constructor(options: MqttHubOptions) {
    super();
    this.options = options;
  }

  /** Starts both listeners; resolves when they accept connections. */
  async start(): Promise<{ port: number; websocketPort?: number }> {
    const { Aedes } = require('aedes') as AedesModule;
    const broker = await Aedes.createBroker({
      preConnect: (client, packet, done) => {
        // The hub owns queues and subscriptions: aedes always runs a clean session.
        this.requestedClean.set(client, packet.clean !== false);
        packet.clean = true;
        done(null, true);
      },
      authenticate: (client, username, password, done) => {
        const result = authenticateConnect({
          clientId: client.id,
          username,
          password,
          clientCertificate: peerCertificate(client),
          hostNames: this.acceptedHostNames(),
          lookup: this.options.devices,
        });
        if (!result.ok) {
          this.log({
            event: 'refused',
            deviceId: client.id,
            detail: `${result.reason}: ${result.detail}`,
            returnCode: result.returnCode,
          });
          const err = Object.assign(new Error(result.detail), { returnCode: result.returnCode });
          done(err as Error & { returnCode: 2 | 4 | 5 }, false);
          return;
        }
        if (this.options.faults?.refuseConnect(client.id, password)) {
          this.log({ event: 'refused', deviceId: client.id, detail: 'token expired (control)' });
          done(Object.assign(new Error('token expired'), { returnCode: 5 as const }), false);
          return;
        }
        // The session starts now, before the CONNACK is written: the device may act as soon as
        // it has the CONNACK, which (same host, TCP_NODELAY) can be before aedes' write callback
        // and its `clientReady`. `clientReady` then finds the session in place.
        this.onClientReady(client);
        done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null);
        try {
          this.onDevicePublish(client, packet);
          done(null);
          if (this.options.faults?.afterDeviceMessage(client.id))
            setImmediate(() => client.close());
        } catch (err) {
          this.violation(client, err);
          done(err as Error);
        }
      },
      authorizeSubscribe: (client, sub, done) => {
        try {
          done(null, this.onDeviceSubscribe(client, sub));
        } catch (err) {
          this.violation(client, err);
          done(err as Error);
          client.close();
        }
      },
      authorizeForward: (client, packet) => this.forward(client, packet),
    });
    this.broker = broker;
    broker.on('clientReady', (client) => this.onClientReady(client));
    broker.on('clientDisconnect', (client) => this.onClientGone(client));
    broker.on('unsubscribe', (topics, client) => {
      // aedes unsubscribes a (clean) client from everything when its connection closes; that is
      // not the device's UNSUBSCRIBE: a cleanSession=0 device keeps its subscriptions
      // (onClientGone decides).
      if (client.closed) return;
      const session = this.clientDevice.get(client);
      for (const t of topics) session?.subscriptions.delete(t);
    });
    this.patchAckTracking(broker);

    const bind = this.options.bindAddress ?? '127.0.0.1';
    const tlsOptions: tls.TlsOptions = {
      cert: this.options.tls.cert,
      key: this.options.tls.key,
      requestCert: true,
      rejectUnauthorized: false, // device certificates are checked by thumbprint, not chain
      minVersion: 'TLSv1.2',
    };
    const server = tls.createServer({ ...tlsOptions, noDelay: true }, (socket) =>
      broker.handle(socket),
    );
    this.tlsServer = server;
    await listen(server, this.options.port ?? 8883, bind);
    const port = (server.address() as AddressInfo).port;

    let websocketPort: number | undefined;
    if (this.options.websocket !== false) {
      const httpsServer = https.createServer({ ...tlsOptions, noDelay: true }, (_req, res) => {
        res.statusCode = 404;
        res.end();
      });
      this.httpsServer = httpsServer;
      this.closeWs = createWebSocketServer(httpsServer, (stream: Duplex, req: IncomingMessage) =>
        broker.handle(stream, req),
      );
      await listen(httpsServer, this.options.websocket?.port ?? 443, bind);
      websocketPort = (httpsServer.address() as AddressInfo).port;
    }
    return websocketPort === undefined ? { port } : { port, websocketPort };
  }

  /** Closes every connection and both listeners. */
  async close(): Promise<void> {
    for (const session of this.sessions.values()) session.pendingMethods.clear();
    await this.closeWs?.();
    await Promise.all([closeServer(this.tlsServer), closeServer(this.httpsServer)]);
    const broker = this.broker;
    this.broker = undefined;
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }

  /** The ports in use (after `start`). */
  get ports(): { port?: number; websocketPort?: number } {
    const a = this.tlsServer?.address() as AddressInfo | null | undefined;
    const w = this.httpsServer?.address() as AddressInfo | null | undefined;
    return { port: a?.port, websocketPort: w?.port };
  }

  // -- DeviceConnector ----------------------------------------------------------------------

  isConnected(deviceId: string): boolean {
    const client = this.sessions.get(deviceId)?.client;
    // `session.client` is set once the device is authenticated and cleared when it leaves.
    return !!client && !client.closed;
  }

  onDesiredPatch(deviceId: string, patchBody: DesiredPatchBody): void {
    const session = this.sessions.get(deviceId);
    if (!session?.client || !session.subscriptions.has(TOPIC_FILTER.desired)) return;
    if (this.options.faults?.dropDesiredNotification(deviceId)) return;
    session.client.publish(
      {
        cmd: 'publish',
        topic: desiredPatchTopic(patchBody.$version),
        payload: Buffer.from(JSON.stringify(patchBody)),
        qos: 0,
        retain: false,
        dup: false,
      },
      noop,
    );
  }

  invoke(
    deviceId: string,
    methodName: string,
    payload: unknown,
    rid: string,
    options: InvokeOptions = {},
  ): Promise<MethodResponse> {
    const session = this.sessions.get(deviceId);
    const client = session?.client;
    if (!session || !client || !session.subscriptions.has(TOPIC_FILTER.methods)) {
      return Promise.reject(
        new HubError(
          'DeviceNotOnline',
          `Device ${deviceId} is not online (or not listening for methods)`,
        ),
      );
    }
    return new Promise<MethodResponse>((resolve, reject) => {
      const forget = (): void => {
        session.pendingMethods.delete(rid);
      };
      if (options.signal?.aborted) {
        reject(new HubError('GatewayTimeout', 'method call aborted'));
        return;
      }
      options.signal?.addEventListener('abort', forget, { once: true });
      session.pendingMethods.set(rid, (response) => {
        options.signal?.removeEventListener('abort', forget);
        resolve(response);
      });
      client.publish(
        {
          cmd: 'publish',
          topic: methodRequestTopic(methodName, rid),
          payload: Buffer.from(payload === undefined ? '' : JSON.stringify(payload)),
          qos: 0,
          retain: false,
          dup: false,
        },
        (err) => {
          if (err) {
            forget();
            reject(new HubError('DeviceNotOnline', `Device ${deviceId} went offline`, err));
          }
        },
      );
    });
  }

  disconnect(deviceId: string): void {
    this.sessions.get(deviceId)?.client?.close();
  }

  sendC2D(deviceId: string, message: C2DMessage): boolean {
    const session = this.sessions.get(deviceId);
    const client = session?.client;
    if (!session || !client || !session.subscriptions.has(TOPIC_FILTER.c2d(deviceId))) return false;
    const sys = message.systemProperties;
    const bag = formatPropertyBag(
      {
        messageId: sys.messageId,
        to: sys.to,
        correlationId: sys.correlationId,
        userId: sys.userId,
        expiryTimeUtc: sys.expiryTimeUtc,
        contentType: sys.contentType,
        contentEncoding: sys.contentEncoding,
      },
      message.properties,
    );
    session.c2dOutbox.push(message.lockToken);
    client.publish(
      {
        cmd: 'publish',
        topic: c2dTopic(deviceId, bag),
        payload: message.body,
        qos: 1,
        retain: false,
        dup: false,
      },
      noop,
    );
    return true;
  }

  // -- internals ----------------------------------------------------------------------------

  private acceptedHostNames(): string[] {
    const base = ['localhost', '127.0.0.1', '::1', '[::1]', ...(this.options.hostNames ?? [])];
    const ports = [this.ports.port, this.ports.websocketPort].filter(
      (p): p is number => p !== undefined,
    );
    return [...base, ...base.flatMap((h) => ports.map((p) => `${h}:${p}`))];
  }

  private onClientReady(client: AedesClient): void {
    const deviceId = client.id;
    let session = this.sessions.get(deviceId);
    if (session?.client === client && this.clientDevice.get(client) === session) return;
    const clean = this.requestedClean.get(client) ?? true;
    if (!session) {
      session = {
        deviceId,
        subscriptions: new Set(),
        persistent: !clean,
        pendingMethods: new Map(),
        c2dOutbox: [],
        c2dInFlight: new Map(),
        nextPacketId: 1,
      };
      this.sessions.set(deviceId, session);
    }
    if (clean || !session.persistent) session.subscriptions.clear();
    session.persistent = !clean;
    session.client = client;
    session.c2dOutbox = [];
    session.c2dInFlight.clear();
    this.clientDevice.set(client, session);
    this.log({
      event: 'connected',
      deviceId,
      detail: clean ? 'clean session' : 'persistent session',
    });
    this.safeCore(() => this.options.core.deviceConnected(deviceId));
    this.emit('deviceConnected', deviceId);
  }

  private onClientGone(client: AedesClient): void {
    const session = this.clientDevice.get(client);
    if (!session || session.client !== client) return;
    session.client = undefined;
    session.c2dOutbox = [];
    session.c2dInFlight.clear();
    if (!session.persistent) session.subscriptions.clear();
    this.log({ event: 'disconnected', deviceId: session.deviceId, detail: 'connection closed' });
    this.safeCore(() => this.options.core.deviceDisconnected(session.deviceId));
    this.emit('deviceDisconnected', session.deviceId);
  }

  /**
   * aedes asks before writing anything to a client: only hub-to-device topics for that device
   * pass. C2D messages get their packet id here (aedes keeps the id of the packet returned), so
   * their PUBACK can be matched to the lock token.
   */
  private forward(client: AedesClient, packet: ForwardPacket): ForwardPacket | null {
    if (!isHubToDeviceTopic(client.id, packet.topic)) return null;
    const session = this.clientDevice.get(client);
    if (packet.qos > 0 && packet.topic.startsWith('devices/')) {
      const lockToken = session?.client === client ? session.c2dOutbox.shift() : undefined;
      if (!session || lockToken === undefined) return null;
      const messageId = session.nextPacketId;
      session.nextPacketId = messageId >= 65535 ? 1 : messageId + 1;
      session.c2dInFlight.set(messageId, lockToken);
      return { ...packet, messageId };
    }
    return packet;
  }

  private onDevicePublish(client: AedesClient, packet: AedesPublishPacket): void {
    const deviceId = client.id;
    if (packet.qos === 2) throw new ProtocolViolation('QoS 2 is not supported');
    const what = classifyDevicePublish(deviceId, packet.topic);
    if (!what)
      throw new ProtocolViolation(`publishing to ${JSON.stringify(packet.topic)} is not allowed`);
    const session = this.clientDevice.get(client);
    const body = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    switch (what.kind) {
      case 'telemetry': {
        const bag = parsePropertyBag(what.bag);
        if (!bag) throw new ProtocolViolation('malformed property bag');
        if (packet.retain) bag.properties['mqtt-retain'] = 'true';
        this.options.core.receiveD2C(deviceId, {
          body,
          properties: bag.properties,
          systemProperties: bag.systemProperties,
        });
        this.emit('d2c', deviceId, { body, ...bag });
        return;
      }
      case 'twin-get': {
        this.twinRespond(client, session, what.rid, () => ({
          status: 200,
          body: this.options.core.getDeviceTwin(deviceId),
        }));
        return;
      }
      case 'twin-reported': {
        this.twinRespond(client, session, what.rid, () => {
          let patch: unknown;
          try {
            patch = JSON.parse(body.toString('utf8'));
          } catch {
            throw new HubError('ArgumentInvalid', 'reported properties patch is not valid JSON');
          }
          const version = this.options.core.updateReportedProperties(deviceId, patch);
          return { status: 204, version };
        });
        return;
      }
      case 'method-response': {
        const resolve = session?.pendingMethods.get(what.rid);
        if (!resolve) return; // late (the core gave up) or unknown: dropped
        session?.pendingMethods.delete(what.rid);
        let payload: unknown = null;
        if (body.length > 0) {
          try {
            payload = JSON.parse(body.toString('utf8'));
          } catch {
            payload = body.toString('utf8');
          }
        }
        resolve({ status: what.status, payload });
        return;
      }
    }
  }

  private twinRespond(
    client: AedesClient,
    session: DeviceSession | undefined,
    rid: string,
    run: () => { status: number; body?: unknown; version?: number },
  ): void {
    let status: number;
    let payload: Buffer;
    let version: number | undefined;
    const fault = this.options.faults?.twinFault(client.id);
    try {
      if (fault?.kind === 'fail') throw fault.error;
      const r = run();
      status = r.status;
      version = r.version;
      payload = r.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(r.body));
    } catch (err) {
      const e = toHubError(err);
      status = e.status;
      payload = Buffer.from(JSON.stringify(e.toMqttBody()));
    }
    if (!session?.subscriptions.has(TOPIC_FILTER.twinResponses)) return;
    const publish = (): void =>
      client.publish(
        {
          cmd: 'publish',
          topic: twinResponseTopic(status, rid, version),
          payload,
          qos: 0,
          retain: false,
          dup: false,
        },
        noop,
      );
    if (fault?.kind === 'drop') return;
    if (fault?.kind === 'delay') setTimeout(publish, fault.ms);
    else publish();
  }

  private onDeviceSubscribe(
    client: AedesClient,
    sub: { topic: string; qos: number },
  ): { topic: string; qos: 0 | 1 } {
    const session = this.clientDevice.get(client) ?? this.sessions.get(client.id);
    if (!allowedSubscriptions(client.id).includes(sub.topic)) {
      throw new ProtocolViolation(`subscribing to ${JSON.stringify(sub.topic)} is not allowed`);
    }
    if (session && !session.subscriptions.has(sub.topic)) {
      if (session.subscriptions.size >= MAX_SUBSCRIPTIONS) {
        throw new ProtocolViolation(`more than ${MAX_SUBSCRIPTIONS} subscriptions`);
      }
      session.subscriptions.add(sub.topic);
    }
    return { topic: sub.topic, qos: sub.qos >= 1 ? 1 : 0 };
  }

  /** PUBACKs of C2D messages → `completeC2D`. aedes reports them through its persistence. */
  private patchAckTracking(broker: Aedes): void {
    const persistence = (broker as unknown as { persistence: Record<string, unknown> }).persistence;
    const original = persistence.outgoingClearMessageId as (
      client: AedesClient,
      packet: { messageId?: number },
    ) => Promise<unknown>;
    persistence.outgoingClearMessageId = (client: AedesClient, packet: { messageId?: number }) => {
      const session = this.clientDevice.get(client);
      const id = packet.messageId;
      if (session && session.client === client && id !== undefined) {
        const lockToken = session.c2dInFlight.get(id);
        if (lockToken !== undefined) {
          session.c2dInFlight.delete(id);
          this.safeCore(() => this.options.core.completeC2D(session.deviceId, lockToken));
          this.emit('c2dComplete', session.deviceId, lockToken);
        }
      }
      return original.call(persistence, client, packet);
    };
  }

  private violation(client: AedesClient, err: unknown): void {
    this.log({
      event: 'violation',
      deviceId: client.id,
      detail: err instanceof Error ? err.message : String(err),
    });
  }

  private safeCore(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log({ event: 'error', detail: err instanceof Error ? err.message : String(err) });
    }
  }

  private log(event: MqttHubLogEvent): void {
    this.options.log?.(event);
  }
}

// aedes calls publish callbacks unconditionally.
function noop(): void {}

function peerCertificate(client: AedesClient): Buffer | undefined {
  const socket = (client.req?.socket ?? client.conn) as unknown;
  if (socket instanceof tls.TLSSocket) {
    const cert = socket.getPeerCertificate();
    return cert && cert.raw && cert.raw.length > 0 ? cert.raw : undefined;
  }
  return undefined;
}

function listen(server: tls.Server | https.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: tls.Server | https.Server | undefined): Promise<void> {
  if (!server || !server.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}
