/**
 * `TwinLink`: the seam between the DM engine and the host's IoT Hub connection. The engine
 * only needs a full twin read, desired patches, reported updates, direct methods,
 * device-to-cloud messages (`sendEvent`) and connection events; `SdkTwinLink` gives them from an `azure-iot-device` `Client` the host
 * owns (shared, never re-opened or closed here). Unit tests use `MockTwinLink`
 * (`windows-iot-dm/testing`).
 */
import type { Json, JsonObject, MethodResult } from './handler';

export interface TwinSnapshot {
  desired: JsonObject;
  reported: JsonObject;
}

export type MethodResponder = (name: string, payload: Json | undefined) => Promise<MethodResult>;

export interface TwinLink {
  /** Reads the whole twin (desired and reported, with `$version`). */
  getTwin(): Promise<TwinSnapshot>;
  /** Every desired-properties patch as the hub sent it (with `$version`). */
  onDesiredPatch(listener: (patch: JsonObject) => void): void;
  /** Sends a reported-properties patch; rejects with the transport's error. */
  updateReported(patch: JsonObject): Promise<void>;
  /**
   * Sends a device-to-cloud message: `body` as JSON text (UTF-8, `application/json`) with
   * `properties` as its application properties (e.g. `MessageType`); rejects with the
   * transport's error.
   */
  sendEvent(body: Json, properties: Readonly<Record<string, string>>): Promise<void>;
  /** Answers direct method `name`. */
  onMethod(name: string, responder: MethodResponder): void;
  /**
   * Answers methods whose name starts with `prefix` and has no handler of its own (so an
   * unknown `windows.*` method gets a 404 rather than a timeout). False if the transport
   * gives no way to see them.
   */
  onUnknownMethod(prefix: string, responder: MethodResponder): boolean;
  /** The connection is up again after a drop (not fired for the first connection). */
  onConnect(listener: () => void): void;
  onDisconnect(listener: () => void): void;
  /** Removes every listener this link added. Method handlers stay registered (the SDK cannot
   * remove them); after `close` they answer 503. */
  close(): void;
}

/** The parts of `azure-iot-device`'s `Client` used here (structural, so no runtime import). */
export interface SdkClientLike {
  getTwin(): Promise<SdkTwinLike>;
  onDeviceMethod(
    name: string,
    cb: (
      req: { payload?: unknown },
      res: { send(status: number, payload: unknown): Promise<unknown> },
    ) => void,
  ): void;
  on(event: 'connect' | 'disconnect', listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
  /** `Client.sendEvent(message)` (promise form); optional so test doubles may leave it out. */
  sendEvent?(message: SdkMessageLike): Promise<unknown>;
}

/** The parts of `azure-iot-device`'s `Message` used here. */
export interface SdkMessageLike {
  contentType?: string;
  contentEncoding?: string;
  properties: { add(key: string, value: string): void };
}

export interface SdkTwinLike {
  properties: {
    desired: Record<string, unknown>;
    /** Has `update(patch, done)` at run time; the SDK's typings declare only an index signature,
     * so requiring it here would refuse a real `Client`. */
    reported: Record<string, unknown>;
  };
  on(event: string, listener: (delta: unknown) => void): unknown;
  removeListener(event: string, listener: (delta: unknown) => void): unknown;
}

interface TransportLike {
  emit(event: string | symbol, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
  sendMethodResponse(
    response: { requestId: string; status: number; payload: unknown },
    done: (err?: Error | null) => void,
  ): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Per SDK client: the method responders currently in charge (so attach/detach/attach works). */
interface ClientRouting {
  methods: Map<string, MethodResponder | undefined>;
  unknown?: { prefix: string; responder: MethodResponder | undefined };
}
const routing = new WeakMap<object, ClientRouting>();

const DETACHED: MethodResult = {
  status: 503,
  body: { error: 'device management is not attached to this connection' },
};

function toJson(value: unknown): JsonObject {
  // Drops functions (`reported.update`) and undefined; keeps $version.
  return JSON.parse(JSON.stringify(value ?? {})) as JsonObject;
}

function parsePayload(raw: unknown): Json | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (Buffer.isBuffer(raw)) {
    const text = raw.toString('utf8');
    return text === '' ? undefined : (JSON.parse(text) as Json);
  }
  return raw as Json;
}

/**
 * The device SDK (MQTT) turns a failed twin response into a plain `Error(message)`: the status
 * of `$iothub/twin/res/{status}` and IoT Hub's `errorCode` are dropped. Throttling and server
 * errors are recognised from the message and given a `statusCode`, so the report queue retries
 * them instead of dropping the patch.
 */
export function sdkTwinError(err: Error): Error {
  const e = err as Error & { statusCode?: unknown };
  if (e.name !== 'Error' || e.statusCode !== undefined) return err;
  if (/throttl|\b429\d{3}\b/i.test(e.message)) return Object.assign(err, { statusCode: 429 });
  if (/\b50[03]\d{3}\b|server ?error|service ?unavailable/i.test(e.message)) {
    return Object.assign(err, { statusCode: 503 });
  }
  return err;
}

/** How long a twin request (GET, reported PATCH) may wait for its answer; default 30 s. */
export const TWIN_REQUEST_TIMEOUT_MS = 30_000;

/**
 * A twin request whose answer cannot come any more. The SDK's MQTT twin client publishes twin
 * requests with QoS 0 and keeps their callbacks until a response arrives, with no timeout: when
 * the connection drops after the request left (or the response is lost), the callback is never
 * called and whoever waits on it waits forever. The link gives up on such a request when the
 * transport reports a disconnect, or after `twinTimeoutMs`, with this error (named like the
 * SDK's own transient errors, so the report queue and the reconcile retry it).
 */
export class TwinRequestLostError extends Error {
  constructor(what: string, why: 'disconnected' | 'timeout', ms?: number) {
    super(
      why === 'disconnected'
        ? `twin ${what}: the connection dropped before the answer came`
        : `twin ${what}: no answer in ${String(ms)} ms`,
    );
    this.name = why === 'disconnected' ? 'NotConnectedError' : 'TimeoutError';
  }
}

export class SdkTwinLink implements TwinLink {
  readonly #client: SdkClientLike;
  readonly #routing: ClientRouting;
  readonly #timeoutMs: number;
  #twin: SdkTwinLike | undefined;
  #patchListeners: Array<(patch: JsonObject) => void> = [];
  #cleanups: Array<() => void> = [];
  #closed = false;
  /** Twin requests waiting for an answer: rejected when the transport disconnects. */
  readonly #inFlight = new Set<(err: Error) => void>();
  #transportWatched = false;

  constructor(client: SdkClientLike, options: { twinTimeoutMs?: number } = {}) {
    this.#client = client;
    this.#timeoutMs = options.twinTimeoutMs ?? TWIN_REQUEST_TIMEOUT_MS;
    let r = routing.get(client);
    if (!r) {
      r = { methods: new Map() };
      routing.set(client, r);
    }
    this.#routing = r;
  }

  /**
   * Runs one twin request, bounded: rejected with `TwinRequestLostError` when the transport
   * disconnects while it waits, or after the timeout (see `TwinRequestLostError`).
   */
  #bounded<T>(what: string, start: () => Promise<T>): Promise<T> {
    this.#watchTransport();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => lost(new TwinRequestLostError(what, 'timeout', this.#timeoutMs)),
        this.#timeoutMs,
      );
      timer.unref?.();
      const settle = (): void => {
        clearTimeout(timer);
        this.#inFlight.delete(lost);
      };
      const lost = (err: Error): void => {
        settle();
        reject(err);
      };
      this.#inFlight.add(lost);
      start().then(
        (v) => {
          settle();
          resolve(v);
        },
        (err: unknown) => {
          settle();
          reject(err as Error);
        },
      );
    });
  }

  #watchTransport(): void {
    if (this.#transportWatched) return;
    const transport = (this.#client as unknown as { _transport?: TransportLike })._transport;
    if (!transport || typeof transport.on !== 'function') return;
    this.#transportWatched = true;
    const l = (): void => {
      for (const lost of [...this.#inFlight]) {
        lost(new TwinRequestLostError('request', 'disconnected'));
      }
    };
    transport.on('disconnect', l);
    this.#cleanups.push(() => {
      transport.removeListener('disconnect', l);
      this.#transportWatched = false;
    });
  }

  async getTwin(): Promise<TwinSnapshot> {
    const twin = await this.#fetchTwin();
    this.#bindTwin(twin);
    return { desired: toJson(twin.properties.desired), reported: toJson(twin.properties.reported) };
  }

  #bindTwin(twin: SdkTwinLike): void {
    if (this.#twin === twin || this.#closed) return;
    this.#twin = twin;
    const listener = (delta: unknown): void => {
      // A full read (ours or the host's `getTwin`) and a new listener re-fire the whole desired
      // document, which is the twin's own object; patches come as separate objects.
      if (delta === twin.properties.desired || typeof delta !== 'object' || delta === null) return;
      const patch = toJson(delta);
      for (const l of this.#patchListeners) l(patch);
    };
    twin.on('properties.desired', listener);
    this.#cleanups.push(() => twin.removeListener('properties.desired', listener));
  }

  onDesiredPatch(listener: (patch: JsonObject) => void): void {
    this.#patchListeners.push(listener);
  }

  /** The SDK's twin GET, bounded, its throttling / server errors marked (`sdkTwinError`). */
  #fetchTwin(): Promise<SdkTwinLike> {
    return this.#bounded('GET', () =>
      this.#client.getTwin().catch((err: unknown) => {
        throw err instanceof Error ? sdkTwinError(err) : err;
      }),
    );
  }

  async updateReported(patch: JsonObject): Promise<void> {
    // Before the first full read (a report queued while attach still reads the twin), the
    // twin object comes from a GET of its own: its failures must be retryable as well.
    const twin = this.#twin ?? (await this.#fetchTwin());
    this.#bindTwin(twin);
    const reported = twin.properties.reported as {
      update(patch: unknown, done: (err?: Error) => void): void;
    };
    await this.#bounded(
      'reported PATCH',
      () =>
        new Promise<void>((resolve, reject) => {
          reported.update(patch, (err) => (err ? reject(sdkTwinError(err)) : resolve()));
        }),
    );
  }

  async sendEvent(body: Json, properties: Readonly<Record<string, string>>): Promise<void> {
    const client = this.#client;
    if (typeof client.sendEvent !== 'function') {
      throw new Error('the host client cannot send device-to-cloud messages (no sendEvent)');
    }
    // Loaded on first use: the engine itself needs no runtime import of the SDK.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy, CommonJS SDK
    const { Message } = require('azure-iot-device') as typeof import('azure-iot-device');
    const message = new Message(JSON.stringify(body));
    message.contentType = 'application/json';
    message.contentEncoding = 'utf-8';
    for (const [key, value] of Object.entries(properties)) message.properties.add(key, value);
    await client.sendEvent(message as unknown as SdkMessageLike);
  }

  onMethod(name: string, responder: MethodResponder): void {
    const known = this.#routing.methods.has(name);
    this.#routing.methods.set(name, responder);
    this.#cleanups.push(() => {
      if (this.#routing.methods.get(name) === responder) this.#routing.methods.set(name, undefined);
    });
    if (known) return;
    this.#client.onDeviceMethod(name, (req, res) => {
      const current = this.#routing.methods.get(name);
      let payload: Json | undefined;
      try {
        payload = parsePayload(req.payload);
      } catch {
        void res.send(400, { error: 'the payload is not JSON' }).catch(() => undefined);
        return;
      }
      const answer = current ? current(name, payload) : Promise.resolve(DETACHED);
      void answer.then((r) => res.send(r.status, r.body)).catch(() => undefined);
    });
  }

  onUnknownMethod(prefix: string, responder: MethodResponder): boolean {
    const transport = (this.#client as unknown as { _transport?: TransportLike })._transport;
    if (
      !transport ||
      typeof transport.emit !== 'function' ||
      typeof transport.sendMethodResponse !== 'function'
    ) {
      return false;
    }
    const existing = this.#routing.unknown;
    this.#routing.unknown = { prefix, responder };
    this.#cleanups.push(() => {
      if (this.#routing.unknown?.responder === responder)
        this.#routing.unknown.responder = undefined;
    });
    if (existing) return true;
    // The SDK's MQTT transport emits `method_<name>` for every method request and drops those
    // nobody listens to (the caller then times out). Requests for our prefix with no listener
    // are answered here instead. The transport object is the SDK's, so this is the one place
    // that reaches past its public API.
    const route = this.#routing;
    const originalEmit = transport.emit.bind(transport);
    transport.emit = (event: string | symbol, ...args: unknown[]): boolean => {
      if (
        typeof event === 'string' &&
        event.startsWith(`method_${route.unknown?.prefix ?? '\u0000'}`) &&
        transport.listenerCount(event) === 0
      ) {
        const message = args[0] as { requestId?: string; body?: unknown } | undefined;
        const name = event.slice('method_'.length);
        const requestId = message?.requestId;
        if (typeof requestId === 'string') {
          let payload: Json | undefined;
          let answer: Promise<MethodResult>;
          try {
            payload = parsePayload(message?.body);
            const r = route.unknown?.responder;
            answer = r ? r(name, payload) : Promise.resolve(DETACHED);
          } catch {
            answer = Promise.resolve({ status: 400, body: { error: 'the payload is not JSON' } });
          }
          void answer.then((r) =>
            transport.sendMethodResponse(
              { requestId, status: r.status, payload: r.body },
              () => undefined,
            ),
          );
          return true;
        }
      }
      return originalEmit(event, ...args);
    };
    return true;
  }

  onConnect(listener: () => void): void {
    const l = (): void => listener();
    this.#client.on('connect', l);
    this.#cleanups.push(() => this.#client.removeListener('connect', l));
  }

  onDisconnect(listener: () => void): void {
    const l = (): void => listener();
    this.#client.on('disconnect', l);
    this.#cleanups.push(() => this.#client.removeListener('disconnect', l));
    // The client emits `disconnect` only when it gives up; the transport says so at once.
    const transport = (this.#client as unknown as { _transport?: TransportLike })._transport;
    if (transport && typeof transport.on === 'function') {
      transport.on('disconnect', l);
      this.#cleanups.push(() => transport.removeListener('disconnect', l));
    }
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#cleanups.splice(0)) c();
    this.#patchListeners = [];
    this.#twin = undefined;
  }
}
