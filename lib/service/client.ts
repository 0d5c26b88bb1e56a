/**
 * `connectService()`: the native contract through the privileged service (`iotdm service run`),
 * a third implementation beside the addon and the mock. It is a `NativeMdm` and a
 * `NativeSystem`, and `.tpm` is a `NativeTpm`, so
 * `DeviceManagementClient.attach(client, { native: connectService() })` works unchanged.
 *
 * It connects on the first call. When the connection drops (the service restarted), what was in
 * flight is re-sent after reconnecting, marked with the instance it first went to: the service
 * answers a request it already ran from its result cache instead of running it again
 * (result-cache.ts). Errors are the classes the addon raises in process (CspError, MdmApiError,
 * TpmError, ...) plus `ServiceError` for the channel itself: missing, stopped, another version,
 * access refused, each naming the command that fixes it.
 */
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { IotDmError, ServiceError } from '../errors';
import type {
  ApplyOptions,
  CspOp,
  CspResult,
  NativeMdm,
  NativeTpm,
  TpmDeviceInfo,
} from '../native/contract';
import type {
  AppAction,
  NativeSystem,
  ServiceChange,
  ServiceInfo,
  TimeZoneInfo,
} from '../native/system-contract';
import { DEFAULT_GROUP, DEFAULT_SOCKET_PATH } from './config';
import {
  FrameDecoder,
  MAX_RESPONSE_BYTES,
  PROTOCOL_VERSION,
  encodeFrame,
  packageVersion,
  type RequestMessage,
  type ServerMessage,
  type ServiceOp,
} from './protocol';
import { fromWireError } from './wire-errors';

/** Environment variable naming the service socket (or pipe) for `connectService()`. */
export const SERVICE_SOCKET_ENV = 'WINDOWS_IOT_DM_SERVICE';

export interface ConnectServiceOptions {
  /** Socket / pipe path: default $WINDOWS_IOT_DM_SERVICE, else the service's default. */
  path?: string;
  /** Give up a connection attempt after this long (ms, default 5000). */
  connectTimeoutMs?: number;
  /**
   * After a drop, keep trying to reconnect for this long (ms, default 30000) while the service
   * restarts; what was in flight waits. The first connection is not retried: its error says why.
   */
  reconnectWindowMs?: number;
}

interface Pending {
  message: RequestMessage;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  /** The connection it was last sent on. */
  sentOn?: Connection;
}

interface Connection {
  socket: Socket;
  instance: string;
}

const RETRYABLE_CONNECT = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

function isWindows(): boolean {
  return process.platform === 'win32';
}

/** The typed error for a failed connect, with the command that fixes it. */
export function connectError(err: NodeJS.ErrnoException, path: string): ServiceError {
  const code = err.code ?? '';
  if (code === 'ENOENT') {
    return new ServiceError(
      'ERR_SERVICE_MISSING',
      isWindows()
        ? `the windows-iot-dm service is not installed or not running (no pipe ${path})`
        : `the windows-iot-dm service is not installed or not running (no socket ${path})`,
      {
        fix: isWindows()
          ? 'run "iotdm service install" from an elevated prompt, then "sc.exe start windows-iot-dm"'
          : 'sudo iotdm service install (installed already: sudo systemctl start windows-iot-dm)',
        path,
        cause: err,
      },
    );
  }
  if (code === 'ECONNREFUSED') {
    return new ServiceError(
      'ERR_SERVICE_STOPPED',
      `the windows-iot-dm service is not running (${path} exists but nothing listens: stopped or crashed)`,
      {
        fix: isWindows() ? 'sc.exe start windows-iot-dm' : 'sudo systemctl start windows-iot-dm',
        path,
        cause: err,
      },
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    let group = DEFAULT_GROUP;
    try {
      const gid = statSync(path).gid;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { groupName } = require('./peer') as typeof import('./peer');
      group = groupName(gid) ?? String(gid);
    } catch {
      // keep the default name
    }
    return new ServiceError(
      'ERR_SERVICE_ACCESS_DENIED',
      `the windows-iot-dm service refuses this user (${path}: permission denied)`,
      {
        fix: isWindows()
          ? `add this account to the group the service admits (see its config), or run elevated`
          : `sudo usermod -aG ${group} $USER, then log in again`,
        path,
        status: 403,
        cause: err,
      },
    );
  }
  return new ServiceError(
    'ERR_SERVICE_STOPPED',
    `could not reach the windows-iot-dm service at ${path}: ${err.message}`,
    {
      fix: isWindows() ? 'sc.exe query windows-iot-dm' : 'systemctl status windows-iot-dm',
      path,
      cause: err,
    },
  );
}

export class ServiceClient implements NativeMdm, NativeSystem {
  readonly path: string;
  /** Stable across reconnects: the service keys retried results by it. */
  readonly clientId = randomUUID();
  /** The TPM through the service. `close()` on it does not close the service's TPM channel. */
  readonly tpm: NativeTpm;
  readonly #options: ConnectServiceOptions;
  #connection: Promise<Connection> | undefined;
  /** The connection in use, once its handshake is done. */
  #live: Connection | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #closed = false;
  #everConnected = false;
  /** The service's package version (after the first connection). */
  serviceVersion: string | undefined;
  /** How many times it reconnected after a drop. */
  reconnects = 0;

  constructor(options: ConnectServiceOptions = {}) {
    this.#options = options;
    const env = process.env[SERVICE_SOCKET_ENV];
    this.path = options.path ?? (env !== undefined && env !== '' ? env : DEFAULT_SOCKET_PATH);
    this.tpm = {
      submit: async (command: Uint8Array) =>
        Buffer.from(
          (await this.#call('tpm.submit', [Buffer.from(command).toString('base64')])) as string,
          'base64',
        ),
      info: async () => (await this.#call('tpm.info', [])) as TpmDeviceInfo,
      close: async () => {},
    };
  }

  apply(ops: readonly CspOp[], options: ApplyOptions = {}): Promise<CspResult[]> {
    return this.#call('mdm.apply', [
      ops,
      options.atomic === true ? { atomic: true } : {},
    ]) as Promise<CspResult[]>;
  }

  rawSyncML(body: string): Promise<string> {
    return this.#call('mdm.rawSyncML', [body]) as Promise<string>;
  }

  getTimeZone(): Promise<TimeZoneInfo> {
    return this.#call('system.getTimeZone', []) as Promise<TimeZoneInfo>;
  }

  async setTimeZone(tz: TimeZoneInfo): Promise<void> {
    await this.#call('system.setTimeZone', [tz]);
  }

  bootTime(): Promise<number> {
    return this.#call('system.bootTime', []) as Promise<number>;
  }

  getService(name: string): Promise<ServiceInfo> {
    return this.#call('system.getService', [name]) as Promise<ServiceInfo>;
  }

  async setService(name: string, change: ServiceChange): Promise<void> {
    await this.#call('system.setService', [name, change]);
  }

  async appLifecycle(pkgFamilyName: string, action: AppAction): Promise<void> {
    await this.#call('system.appLifecycle', [pkgFamilyName, action]);
  }

  /** Connects now (otherwise the first call does); rejects with the typed error. */
  async connect(): Promise<{ instance: string; packageVersion: string | undefined }> {
    const c = await this.#connect();
    return { instance: c.instance, packageVersion: this.serviceVersion };
  }

  /** Closes the connection; calls still in flight reject. */
  async close(): Promise<void> {
    this.#closed = true;
    const c = this.#connection;
    this.#connection = undefined;
    this.#live = undefined;
    for (const p of this.#pending.values()) {
      p.reject(new ServiceError('ERR_SERVICE_STOPPED', 'the service client was closed'));
    }
    this.#pending.clear();
    if (c) {
      try {
        (await c).socket.destroy();
      } catch {
        // never connected
      }
    }
  }

  #call(op: ServiceOp, args: unknown[]): Promise<unknown> {
    if (this.#closed) {
      return Promise.reject(
        new ServiceError('ERR_SERVICE_STOPPED', 'the service client was closed'),
      );
    }
    return new Promise((resolve, reject) => {
      const message: RequestMessage = { t: 'req', id: this.#nextId++, op, args };
      const pending: Pending = { message, resolve, reject };
      this.#pending.set(message.id, pending);
      this.#connect().then(
        (c) => this.#send(c, pending),
        (err: Error) => {
          this.#pending.delete(message.id);
          reject(err);
        },
      );
    });
  }

  #send(c: Connection, p: Pending): void {
    // Not on a connection that is gone (the reconnect re-sends), never twice on one connection.
    if (!this.#pending.has(p.message.id) || c !== this.#live || p.sentOn === c) return;
    if (p.sentOn !== undefined) p.message.retryOf = p.sentOn.instance;
    p.sentOn = c;
    c.socket.write(encodeFrame(p.message));
  }

  #connect(): Promise<Connection> {
    this.#connection ??= this.#open(this.#everConnected).catch((err: unknown) => {
      this.#connection = undefined;
      throw err;
    });
    return this.#connection;
  }

  /** One connection: connect (retrying within the window after a drop), handshake. */
  async #open(retrying: boolean): Promise<Connection> {
    const deadline = Date.now() + (this.#options.reconnectWindowMs ?? 30_000);
    let delay = 50;
    for (;;) {
      try {
        return await this.#attempt();
      } catch (err) {
        const code = ((err as ServiceError).cause as NodeJS.ErrnoException | undefined)?.code;
        if (
          !retrying ||
          this.#closed ||
          Date.now() > deadline ||
          !RETRYABLE_CONNECT.has(code ?? '')
        ) {
          throw err;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 1000);
      }
    }
  }

  #attempt(): Promise<Connection> {
    return new Promise<Connection>((resolve, reject) => {
      const socket = createConnection(this.path);
      const decoder = new FrameDecoder(MAX_RESPONSE_BYTES);
      let connection: Connection | undefined;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new ServiceError(
            'ERR_SERVICE_STOPPED',
            `the windows-iot-dm service at ${this.path} did not answer the handshake`,
            {
              fix: isWindows() ? 'sc.exe query windows-iot-dm' : 'systemctl status windows-iot-dm',
              path: this.path,
              cause: Object.assign(new Error('handshake timeout'), { code: 'ETIMEDOUT' }),
            },
          ),
        );
      }, this.#options.connectTimeoutMs ?? 5000);
      socket.once('connect', () => {
        socket.setNoDelay?.(true);
        socket.write(
          encodeFrame({
            t: 'hello',
            protocol: PROTOCOL_VERSION,
            packageVersion: packageVersion(),
            clientId: this.clientId,
          }),
        );
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (connection) return; // 'close' follows
        clearTimeout(timer);
        reject(connectError(err, this.path));
      });
      socket.on('close', () => {
        clearTimeout(timer);
        if (!connection) {
          reject(
            new ServiceError(
              'ERR_SERVICE_STOPPED',
              `the windows-iot-dm service at ${this.path} closed the connection during the handshake`,
              {
                path: this.path,
                cause: Object.assign(new Error('closed'), { code: 'ECONNRESET' }),
              },
            ),
          );
          return;
        }
        this.#dropped(connection);
      });
      socket.on('data', (chunk: Buffer) => {
        for (const event of decoder.push(chunk)) {
          if (event.kind !== 'message') {
            socket.destroy();
            return;
          }
          const msg = event.value as ServerMessage;
          if (!connection) {
            if (msg.t === 'fatal') {
              clearTimeout(timer);
              socket.destroy();
              reject(fromWireError(msg.error, this.path));
              return;
            }
            if (msg.t !== 'welcome' || msg.protocol !== PROTOCOL_VERSION) {
              clearTimeout(timer);
              socket.destroy();
              reject(
                new ServiceError(
                  'ERR_SERVICE_VERSION',
                  `the windows-iot-dm service at ${this.path} speaks another protocol`,
                  {
                    fix: 'install the same windows-iot-dm version for the host and the service, then restart the service',
                    path: this.path,
                  },
                ),
              );
              return;
            }
            clearTimeout(timer);
            connection = { socket, instance: msg.instance };
            this.#live = connection;
            this.serviceVersion = msg.packageVersion;
            this.#everConnected = true;
            resolve(connection);
            continue;
          }
          if (msg.t === 'res') {
            const p = this.#pending.get(msg.id);
            if (!p) continue;
            this.#pending.delete(msg.id);
            if (msg.ok) p.resolve(msg.value);
            else p.reject(fromWireError(msg.error, this.path));
          } else if (msg.t === 'fatal') {
            const err = fromWireError(msg.error, this.path);
            // The service closes after this: later calls go to a new connection.
            if (this.#live === connection) {
              this.#live = undefined;
              this.#connection = undefined;
            }
            socket.destroy();
            // A fatal answer names no request: fail the ones sent on this connection.
            for (const [id, p] of this.#pending) {
              if (p.sentOn === connection) {
                this.#pending.delete(id);
                p.reject(err);
              }
            }
          }
        }
      });
    });
  }

  /** The connection dropped: reconnect and re-send what was in flight (marked as a retry). */
  #dropped(c: Connection): void {
    if (this.#live !== c || this.#closed) return;
    this.#live = undefined;
    this.#connection = undefined;
    if (this.#pending.size === 0) return; // reconnect lazily on the next call
    this.reconnects++;
    this.#connect().then(
      (next) => {
        for (const p of [...this.#pending.values()].sort((a, b) => a.message.id - b.message.id)) {
          this.#send(next, p);
        }
      },
      (err: unknown) => {
        for (const [id, p] of this.#pending) {
          this.#pending.delete(id);
          const denied = err instanceof ServiceError && err.code === 'ERR_SERVICE_ACCESS_DENIED';
          p.reject(
            p.sentOn !== undefined && !denied
              ? new ServiceError(
                  'ERR_SERVICE_OUTCOME_UNKNOWN',
                  `the connection to the windows-iot-dm service dropped while request ${id} (${p.message.op}) ran, and the service could not be reached again: whether it completed is unknown`,
                  { fix: err instanceof ServiceError ? err.fix : '', path: this.path, cause: err },
                )
              : (err as IotDmError),
          );
        }
      },
    );
  }
}

/** The native contract through the privileged service; connects on first use. */
export function connectService(options: ConnectServiceOptions = {}): ServiceClient {
  return new ServiceClient(options);
}
