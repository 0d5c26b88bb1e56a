/**
 * `DeviceManagementClient`: the twin and method engine, linked into a host app that owns an
 * `azure-iot-device` Client. It owns `properties.desired.windows` / `properties.reported.windows`
 * and the `windows.*` direct methods on that shared connection, and nothing else.
 *
 * Desired state is reconciled on attach and after every reconnect (full twin read; each section
 * whose content differs from what was last applied is applied), and patch by patch in between
 * (`$version` at or below the last seen: ignored; a gap: full re-read). What was applied is kept
 * in the state folder, so a restart neither re-applies nor misses a section. All work on desired
 * state runs one job at a time.
 */
import { EventEmitter } from 'node:events';
import { Csp } from '../csp/csp';
import { InvalidValueError, IotDmError, type ReportError } from '../errors';
import { defaultNativeMdm } from '../native/addon-mdm';
import type { NativeMdm } from '../native/contract';
import type {
  FeatureHandler,
  HandlerContext,
  HandlerStore,
  HostHooks,
  Json,
  JsonObject,
  MethodDefinition,
  MethodResult,
} from './handler';
import { createLogger, errorFields, type Logger, type LogLevel } from './logger';
import { REPORTED_BUDGET_BYTES, ReportQueue, isTransient } from './report-queue';
import { validate } from './schema';
import { ScopedCsp } from './scoped-csp';
import { applyTwinPatch, isJsonObject } from './twin-patch';
import { DmStateStore, contentHash, defaultStateDir, type SectionState } from './state-store';
import { errorStatus, lastChange, nowIso, type ChangeState } from './status';
import { planSection, type SectionPlan } from './switches';
import { SdkTwinLink, type SdkClientLike, type TwinLink } from './twin-link';

export const ROOT = 'windows';
export const METHOD_PREFIX = 'windows.';

export interface DeviceManagementOptions {
  /** Feature handlers (built-in ones and OEM extensions). */
  handlers?: readonly FeatureHandler[];
  /** The native MDM layer for the handlers' Csp; default: the addon. */
  native?: NativeMdm;
  /** Or a ready `Csp` (takes precedence over `native`). */
  csp?: Csp;
  /** Where applied versions and handler state persist. */
  stateDir?: string;
  /** A pino (or pino-shaped) logger; default pino on stderr at `logLevel`. */
  logger?: Logger;
  logLevel?: LogLevel;
  /** Asked before any reboot; default: always allowed. */
  isRebootAllowed?: () => Promise<boolean> | boolean;
  /**
   * `lastChange` (default): the original client's status objects. `pnp`: also IoT Plug and Play
   * writable-property acks: `windows` is reported as a component (`__t: "c"`) and each written
   * section as `{ value, ac, av, ad }`.
   */
  acknowledge?: 'lastChange' | 'pnp';
  /** Report every section with a `report` after the first reconcile. Default true. */
  reportOnAttach?: boolean;
  /** Reported patch budget in bytes (IoT Hub: 32 KB). */
  reportBudgetBytes?: number;
  /** First retry delay of the report queue and of a failed twin read (ms); default 500. */
  retryDelayMs?: number;
  /**
   * While the connection is down, how often a queued report is tried anyway, in case the
   * transport is back without a `connect` event (ms); default 10 000.
   */
  offlineProbeMs?: number;
  /**
   * How long a twin request (full read, reported patch) may wait for its answer before it is
   * given up and retried (ms); default 30 000. A request in flight when the transport
   * disconnects is given up at once. Only for an azure-iot-device Client (not a `TwinLink`).
   */
  twinTimeoutMs?: number;
  /**
   * Aborts `attach`: when it fires before `attach` resolved, the client detaches (nothing more
   * is sent, handlers are stopped) and `attach` rejects at once with `signal.reason`, whatever
   * it was waiting for (a twin read that gets no answer, reports held while disconnected). How
   * a host (the `iotdm agent`) stops promptly on SIGTERM during start-up.
   */
  signal?: AbortSignal;
  /**
   * Listeners registered before anything runs, so the host also hears what happens during
   * `attach` itself (`connected`, the attach `reconciled`, its `applied` / `failed`).
   */
  listeners?: {
    [K in keyof DeviceManagementEvents]?: (...args: DeviceManagementEvents[K]) => void;
  };
}

export interface SectionEvent {
  section: string;
  version: number;
}
export interface SectionFailedEvent extends SectionEvent {
  error: IotDmError | Error;
}
export interface ReconciledEvent {
  version: number;
  reason: 'attach' | 'reconnect' | 'gap' | 'request';
  applied: string[];
}

export interface DeviceManagementEvents {
  applied: [SectionEvent];
  failed: [SectionFailedEvent];
  reconciled: [ReconciledEvent];
  connected: [];
  disconnected: [];
  rebootPending: [JsonObject];
  reportFailed: [ReportError];
}

const PNP_CODES: Record<ChangeState, number> = { completed: 200, pending: 202, failed: 500 };

const isObject = isJsonObject;

/** `next`, with `null` for every key of `prev` that `next` no longer has (recursively). */
function withRemovals(prev: Json | undefined, next: Json): Json {
  if (!isObject(prev) || !isObject(next)) return next;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(next)) out[k] = withRemovals(prev[k], v);
  for (const k of Object.keys(prev)) if (!Object.hasOwn(next, k)) out[k] = null;
  return out;
}

function isMethodResult(v: unknown): v is MethodResult {
  return (
    isObject(v) &&
    typeof v.status === 'number' &&
    Object.hasOwn(v, 'body') &&
    Object.keys(v).length === 2
  );
}

function isTwinLink(v: unknown): v is TwinLink {
  return isObject(v as Json) && typeof (v as TwinLink).updateReported === 'function';
}

/** The methods the DM client answers itself (no feature handler): no payload. */
export const CLIENT_METHODS = [
  'windows.reportAllAsync',
  'windows.clearReportedPropertiesAsync',
] as const;

/** Attempts of the first full read before `attach` fails (transient failures only). */
const ATTACH_ATTEMPTS = 5;
const RECONCILE_RETRY_MAX_MS = 30_000;

export class DeviceManagementClient extends EventEmitter<DeviceManagementEvents> {
  readonly #link: TwinLink;
  readonly #handlers = new Map<string, FeatureHandler>();
  /** `volatile` sections applied since attach (they apply again once after a restart). */
  readonly #volatileApplied = new Set<string>();
  readonly #methods = new Map<string, { handler?: FeatureHandler; def: MethodDefinition }>();
  readonly #contexts = new Map<string, HandlerContext>();
  readonly #csp: Csp;
  readonly #store: DmStateStore;
  readonly #log: Logger;
  readonly #queue: ReportQueue;
  readonly #hooks: HostHooks;
  readonly #pnp: boolean;
  readonly #reportOnAttach: boolean;
  readonly #budget: number;
  /** The `windows` desired content as last read and patched. */
  #desired: JsonObject = {};
  /** What `reported.windows` holds once every queued patch is delivered. */
  #reported: JsonObject = {};
  #work: Promise<void> = Promise.resolve();
  #reconcileQueued = false;
  /** A full read that failed transiently is tried again (backoff, reset by a success). */
  #reconcileRetryTimer: NodeJS.Timeout | undefined;
  readonly #reconcileRetryFirstMs: number;
  #reconcileRetryMs: number;
  #attached = false;
  #connected = false;
  /** `attach` was aborted (`options.signal`): patches dropped by the closing queue are expected. */
  #aborting = false;

  private constructor(link: TwinLink, options: DeviceManagementOptions) {
    super();
    this.#link = link;
    this.#log = (options.logger ?? createLogger(options.logLevel ?? 'warn')).child({
      component: 'dm',
    });
    this.#csp = options.csp ?? new Csp(options.native ?? defaultNativeMdm());
    this.#store = DmStateStore.open(options.stateDir ?? defaultStateDir(), this.#log);
    this.#pnp = options.acknowledge === 'pnp';
    this.#reportOnAttach = options.reportOnAttach ?? true;
    this.#budget = options.reportBudgetBytes ?? REPORTED_BUDGET_BYTES;
    this.#reconcileRetryFirstMs = options.retryDelayMs ?? 500;
    this.#reconcileRetryMs = this.#reconcileRetryFirstMs;
    const allowed = options.isRebootAllowed;
    this.#hooks = {
      isRebootAllowed: async () => (allowed ? (await allowed()) === true : true),
    };
    const queueOptions: ConstructorParameters<typeof ReportQueue>[0] = {
      send: (patch) => this.#link.updateReported(patch),
      log: this.#log.child({ part: 'report-queue' }),
      onOversize: (path, bytes) => this.#oversize(path, bytes),
      onFailed: (err, patch) => {
        this.emit('reportFailed', err);
        this.#afterReportFailure(err, patch);
      },
      // A report went through while the link was thought down: it is up again even though no
      // `connect` event said so (see ReportQueue's offline probe).
      onReconnected: () => {
        if (this.#connected || !this.#attached) return;
        this.#log.info('connection back (a reported patch went through without a connect event)');
        this.#linkUp();
      },
    };
    if (options.reportBudgetBytes !== undefined)
      queueOptions.budgetBytes = options.reportBudgetBytes;
    if (options.retryDelayMs !== undefined) queueOptions.initialDelayMs = options.retryDelayMs;
    if (options.offlineProbeMs !== undefined) queueOptions.offlineProbeMs = options.offlineProbeMs;
    this.#queue = new ReportQueue(queueOptions);
    for (const [event, listener] of Object.entries(options.listeners ?? {})) {
      if (typeof listener !== 'function') {
        throw new InvalidValueError(`listeners.${event}: expected a function`);
      }
      this.on(event as keyof DeviceManagementEvents, listener as (...args: unknown[]) => void);
    }
    for (const h of options.handlers ?? []) this.#register(h);
    this.#registerBuiltinMethods();
  }

  /**
   * Attaches device management to the host's `azure-iot-device` Client (or a `TwinLink`):
   * registers the `windows.*` methods and the desired-properties listener, reconciles, then
   * reports. The host keeps full use of the client.
   */
  static async attach(
    client: SdkClientLike | TwinLink,
    options: DeviceManagementOptions = {},
  ): Promise<DeviceManagementClient> {
    if (typeof client !== 'object' || client === null) {
      throw new InvalidValueError('attach: expected an azure-iot-device Client');
    }
    const link = isTwinLink(client)
      ? client
      : new SdkTwinLink(
          client,
          options.twinTimeoutMs !== undefined ? { twinTimeoutMs: options.twinTimeoutMs } : {},
        );
    const signal = options.signal;
    if (signal?.aborted) throw signal.reason;
    const dm = new DeviceManagementClient(link, options);
    if (!signal) {
      await dm.#start();
      return dm;
    }
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const started = dm.#start();
    try {
      const first = await Promise.race([started.then(() => 'started' as const), aborted]);
      if (first === 'aborted') {
        // #start goes on in the background until what it waits for settles; detached, it
        // finds nothing to do then.
        started.catch(() => undefined);
        await dm.#abortStart();
        throw signal.reason;
      }
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
    return dm;
  }

  /** `attach` was aborted: detach without waiting, and release what is waiting. */
  async #abortStart(): Promise<void> {
    this.#aborting = true;
    await this.detach(0);
  }

  /** The feature handlers, by section. */
  get sections(): string[] {
    return [...this.#handlers.keys()];
  }

  /** The last desired `$version` seen. */
  get version(): number {
    return this.#store.state.lastVersion;
  }

  /** Applied state of a section, as persisted. */
  sectionState(section: string): Readonly<SectionState> | undefined {
    return this.#store.state.sections[section];
  }

  /** Resolves when every reported patch queued so far has been sent. */
  flushReports(): Promise<void> {
    return this.#queue.idle();
  }

  /** Resolves when all queued desired-state work is done. */
  async settled(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.#work;
      await current;
    } while (current !== this.#work);
  }

  /**
   * Reads the whole twin again and applies what changed, as after a reconnect. For hosts whose
   * transport reconnects without a `connect` event (e.g. a new SAS token from a TPM provider:
   * desired patches sent during that gap reach nobody).
   */
  resync(): Promise<void> {
    this.#requestReconcile('reconnect');
    return this.settled();
  }

  /** Re-reads and reports one section (or every section). */
  async reportNow(section?: string): Promise<void> {
    const names = section === undefined ? [...this.#handlers.keys()] : [section];
    for (const name of names) {
      if (!this.#handlers.has(name)) {
        throw new InvalidValueError(`reportNow: no handler for section "${name}"`);
      }
    }
    await Promise.all(names.map((n) => this.#reportSection(n)));
  }

  /** Stops: removes listeners, stops handlers, sends what is queued (up to `timeoutMs`). */
  async detach(timeoutMs = 5000): Promise<void> {
    if (!this.#attached) return;
    this.#attached = false;
    clearTimeout(this.#reconcileRetryTimer);
    this.#link.close();
    for (const h of this.#handlers.values()) {
      try {
        await h.stop?.();
      } catch (err) {
        this.#log.warn({ section: h.section, ...errorFields(err) }, 'handler stop failed');
      }
    }
    // A job stuck in a handler or on a twin read that never answers must not hold detach past
    // `timeoutMs` (the job finds the client detached when it resumes).
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([this.settled().catch(() => undefined), deadline]);
    await Promise.race([this.#queue.idle(), deadline]);
    clearTimeout(timer);
    this.#queue.close();
    await this.#store.save().catch(() => undefined);
    this.#store.close();
  }

  // ---------------------------------------------------------------- setup

  #register(h: FeatureHandler): void {
    if (typeof h?.section !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(h.section)) {
      throw new InvalidValueError(
        `handler section name ${JSON.stringify(h?.section)} is not valid`,
      );
    }
    if (this.#handlers.has(h.section)) {
      throw new InvalidValueError(`two handlers for section "${h.section}"`);
    }
    const csp = new ScopedCsp(this.#csp, h.section, h.nodes ?? []);
    this.#handlers.set(h.section, h);
    this.#contexts.set(h.section, this.#makeContext(h.section, csp));
    for (const def of h.methods ?? []) {
      if (!def.name.startsWith(METHOD_PREFIX)) {
        throw new InvalidValueError(`method ${def.name} must start with "${METHOD_PREFIX}"`);
      }
      if (this.#methods.has(def.name))
        throw new InvalidValueError(`two handlers for method ${def.name}`);
      this.#methods.set(def.name, { handler: h, def });
    }
  }

  #makeContext(section: string, csp: ScopedCsp, enumeration?: Json): HandlerContext {
    const store = this.#handlerStore(section);
    const log = this.#log.child({ section });
    const ctx: HandlerContext = {
      csp,
      store,
      log,
      host: this.#hooks,
      reportPartial: (patch) => this.#push({ [section]: patch }, false),
      sendMessage: (body, properties) => this.#link.sendEvent(body, properties),
      notify: (event, detail) => {
        this.emit(event, detail);
      },
    };
    if (enumeration !== undefined) return { ...ctx, enumeration };
    return ctx;
  }

  #handlerStore(section: string): HandlerStore {
    const st = this.#store;
    return {
      get<T extends Json = Json>(key: string): T | undefined {
        // A copy: changing it must not change what persists (only `set` does).
        const v = st.state.handlers[section]?.[key];
        return (v === undefined ? undefined : structuredClone(v)) as T | undefined;
      },
      async set(key: string, value: Json | undefined): Promise<void> {
        const bag = (st.state.handlers[section] ??= {});
        if (value === undefined) delete bag[key];
        else bag[key] = structuredClone(value);
        await st.save();
      },
    };
  }

  #registerBuiltinMethods(): void {
    const builtin: MethodDefinition[] = [
      {
        name: CLIENT_METHODS[0],
        invoke: async () => {
          await this.reportNow();
          return { lastChange: { time: nowIso(), state: 'completed' } };
        },
      },
      {
        name: CLIENT_METHODS[1],
        invoke: async () => {
          await this.#pushRoot(null);
          await this.#queue.idle();
          return { lastChange: { time: nowIso(), state: 'completed' } };
        },
      },
    ];
    for (const def of builtin) {
      if (!this.#methods.has(def.name)) this.#methods.set(def.name, { def });
    }
  }

  async #start(): Promise<void> {
    this.#attached = true;
    this.#link.onDesiredPatch((patch) => this.#enqueue(() => this.#onPatch(patch)));
    this.#link.onConnect(() => this.#linkUp());
    this.#link.onDisconnect(() => {
      if (!this.#connected) return;
      this.#connected = false;
      this.#queue.setConnected(false);
      this.emit('disconnected');
    });
    for (const [name] of this.#methods) {
      this.#link.onMethod(name, (n, payload) => this.#invoke(n, payload));
    }
    if (!this.#link.onUnknownMethod(METHOD_PREFIX, (n) => Promise.resolve(this.#unknown(n)))) {
      this.#log.warn('the transport does not expose unknown methods: they will time out');
    }
    // The first reconcile's failure (no twin) fails the attach; later ones are logged and,
    // when transient, tried again. A transient failure of the first one (the connection
    // dropped under the twin read, throttling) is tried again a few times before attach fails.
    let firstError: unknown;
    for (let attempt = 1; ; attempt++) {
      firstError = undefined;
      await this.#enqueue(() =>
        this.#reconcile('attach').catch((err: unknown) => {
          firstError = err;
        }),
      );
      if (firstError === undefined || !isTransient(firstError) || attempt >= ATTACH_ATTEMPTS) {
        break;
      }
      const wait = this.#reconcileRetryFirstMs * 2 ** (attempt - 1);
      this.#log.warn(
        { ...errorFields(firstError), attempt, retryInMs: wait },
        'first twin read failed: retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (!this.#attached) return; // aborted (options.signal)
    }
    // Aborted while the first read was under way: nothing more starts.
    if (!this.#attached) return;
    if (firstError !== undefined) {
      await this.detach(0);
      throw firstError;
    }
    this.#connected = true;
    this.emit('connected');
    for (const [section, h] of this.#handlers) {
      if (!h.start) continue;
      if (!this.#attached) return; // aborted during an earlier handler's start
      try {
        await h.start(this.#ctx(section));
      } catch (err) {
        this.#log.error({ section, ...errorFields(err) }, 'handler start failed');
      }
    }
  }

  /** The connection is up again: resume the reports, re-read the twin. */
  #linkUp(): void {
    this.#connected = true;
    this.#queue.setConnected(true);
    this.emit('connected');
    this.#requestReconcile('reconnect');
  }

  #ctx(section: string, enumeration?: Json): HandlerContext {
    const base = this.#contexts.get(section) as HandlerContext;
    return enumeration === undefined ? base : { ...base, enumeration };
  }

  // ---------------------------------------------------------------- desired state

  #enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.#work.then(job).catch((err: unknown) => {
      this.#log.error(errorFields(err), 'desired-state job failed');
    });
    this.#work = run;
    return run;
  }

  #requestReconcile(reason: ReconciledEvent['reason']): void {
    if (this.#reconcileQueued || !this.#attached) return;
    this.#reconcileQueued = true;
    clearTimeout(this.#reconcileRetryTimer);
    this.#reconcileRetryTimer = undefined;
    void this.#enqueue(async () => {
      this.#reconcileQueued = false;
      await this.#reconcileOrRetry(reason);
    });
  }

  /**
   * A full read whose twin request failed transiently (throttled, server error, the connection
   * dropped under it, no answer) would leave the device on an old desired state until the next
   * reconnect: it is tried again with a growing delay (`retryDelayMs` doubling, at most 30 s).
   */
  async #reconcileOrRetry(reason: ReconciledEvent['reason']): Promise<void> {
    try {
      await this.#reconcile(reason);
      this.#reconcileRetryMs = this.#reconcileRetryFirstMs;
    } catch (err) {
      if (!isTransient(err) || !this.#attached) throw err;
      const wait = this.#reconcileRetryMs;
      this.#reconcileRetryMs = Math.min(wait * 2, RECONCILE_RETRY_MAX_MS);
      this.#log.warn(
        { ...errorFields(err), reason, retryInMs: wait },
        'twin read failed: retrying',
      );
      clearTimeout(this.#reconcileRetryTimer);
      this.#reconcileRetryTimer = setTimeout(() => {
        this.#reconcileRetryTimer = undefined;
        this.#requestReconcile(reason);
      }, wait);
      this.#reconcileRetryTimer.unref?.();
    }
  }

  async #onPatch(patch: JsonObject): Promise<void> {
    if (!this.#attached) return;
    const st = this.#store.state;
    const version = patch.$version;
    if (typeof version !== 'number' || !Number.isInteger(version)) {
      this.#log.warn('desired patch without $version: full re-read');
      return this.#reconcileOrRetry('gap');
    }
    if (version <= st.lastVersion) {
      this.#log.debug(
        { version, last: st.lastVersion },
        'desired patch ignored (duplicate or out of order)',
      );
      return;
    }
    if (version > st.lastVersion + 1) {
      this.#log.info({ version, last: st.lastVersion }, 'desired $version gap: full re-read');
      return this.#reconcileOrRetry('gap');
    }
    st.lastVersion = version;
    if (!Object.hasOwn(patch, ROOT)) {
      await this.#store.save();
      return;
    }
    const windows = patch[ROOT] ?? null;
    const changed: string[] = [];
    if (!isObject(windows)) {
      changed.push(...Object.keys(this.#desired), ...Object.keys(st.sections));
      this.#desired = {};
    } else {
      // `__t` marks `windows` as a PnP component: not a section.
      const sections = Object.fromEntries(Object.entries(windows).filter(([k]) => k !== '__t'));
      changed.push(...Object.keys(sections));
      applyTwinPatch(this.#desired, sections);
    }
    // Applying a section persists the new version with it; save here only if nothing applies.
    const applied = await this.#applyChanged([...new Set(changed)], version);
    if (applied.length === 0) await this.#store.save();
  }

  async #reconcile(reason: ReconciledEvent['reason']): Promise<void> {
    if (!this.#attached) return;
    const snapshot = await this.#link.getTwin();
    const st = this.#store.state;
    const version = typeof snapshot.desired.$version === 'number' ? snapshot.desired.$version : 0;
    if (version < st.lastVersion) {
      this.#log.warn(
        { version, last: st.lastVersion },
        'desired $version went back: the twin was re-created; state reset',
      );
      this.#store.reset();
    }
    const windows = snapshot.desired[ROOT];
    this.#desired = isObject(windows) ? structuredClone(windows) : {};
    delete this.#desired.__t;
    const reported = snapshot.reported[ROOT];
    this.#reported = isObject(reported) ? structuredClone(reported) : {};
    this.#store.state.lastVersion = version;
    await this.#store.save();
    const names = new Set([
      ...Object.keys(this.#desired),
      ...Object.keys(this.#store.state.sections),
    ]);
    // After a restart the handlers may be new (a section no handler knew, a wider schema):
    // sections that failed are tried again once.
    const applied = await this.#applyChanged([...names], version, reason === 'attach');
    if (reason === 'attach' && this.#reportOnAttach) {
      const untouched = [...this.#handlers.keys()].filter(
        (n) => !applied.includes(n) && this.#handlers.get(n)?.report,
      );
      await Promise.all(untouched.map((n) => this.#reportSection(n)));
    }
    this.#log.info({ reason, version, applied }, 'reconciled');
    this.emit('reconciled', { version, reason, applied });
  }

  /** Applies the named sections whose desired content differs from what was applied. */
  async #applyChanged(names: string[], version: number, retryFailed = false): Promise<string[]> {
    const st = this.#store.state;
    const todo: string[] = [];
    for (const name of names) {
      const value = Object.hasOwn(this.#desired, name) ? (this.#desired[name] as Json) : null;
      const prev = st.sections[name];
      if (value === null && !prev) continue;
      const hash = contentHash(value);
      const handler = this.#handlers.get(name);
      if (
        prev &&
        prev.hash === hash &&
        (prev.status === 'applied' || (prev.status === 'failed' && !prev.retry && !retryFailed)) &&
        !(handler?.volatile && value !== null && !this.#volatileApplied.has(name))
      ) {
        continue;
      }
      todo.push(name);
    }
    // Lower `order` first; within one order sections apply side by side, so their CSP ops
    // share SyncML messages.
    const orders = [...new Set(todo.map((n) => this.#handlers.get(n)?.order ?? 0))];
    for (const order of orders.sort((a, b) => a - b)) {
      const group = todo.filter((n) => (this.#handlers.get(n)?.order ?? 0) === order);
      await Promise.all(group.map((name) => this.#applySection(name, version)));
    }
    return todo;
  }

  async #applySection(name: string, version: number): Promise<void> {
    const st = this.#store.state;
    const value = Object.hasOwn(this.#desired, name) ? (this.#desired[name] as Json) : null;
    const hash = contentHash(value);
    const handler = this.#handlers.get(name);
    const log = this.#log.child({ section: name, version });
    let plan: SectionPlan | undefined;
    try {
      if (!handler) throw new InvalidValueError(`windows.${name}: no feature handles this section`);
      plan = planSection(name, value);
      if (plan.remove) {
        await handler.remove?.(this.#ctx(name));
        delete st.sections[name];
        await this.#store.save();
        await this.#push({ [name]: null });
        log.info('section removed');
        this.emit('applied', { section: name, version });
        return;
      }
      if (plan.apply !== undefined) {
        if (!handler.desired || !handler.apply) {
          throw new InvalidValueError(`windows.${name}: this section is report-only`);
        }
        validate(handler.desired, plan.apply, `windows.${name}`);
        // The "?" value reaches the handler too: the same limits apply to it.
        if (plan.enumeration !== undefined) {
          validate({ type: 'any' }, plan.enumeration, `windows.${name}["?"]`);
        }
      }
      // In memory only: until `applied` is on disk, the persisted entry still holds the previous
      // hash (or none), so a crash in `apply` means it is applied again after a restart.
      st.sections[name] = { version, hash, status: 'applying', time: nowIso() };
      this.#volatileApplied.add(name);
      const ctx = this.#ctx(name, plan.enumeration);
      if (plan.apply !== undefined && handler.apply) {
        if (handler.longRunning) await this.#reportStatus(name, 'pending', version);
        await handler.apply(plan.apply, ctx);
      }
      st.sections[name] = { version, hash, status: 'applied', time: nowIso() };
      // The state write and the read-back + report run side by side.
      const saved = this.#store.save();
      await Promise.all([
        saved,
        this.#reportStatus(name, 'completed', version, undefined, plan.report),
      ]);
      log.info('section applied');
      this.emit('applied', { section: name, version });
    } catch (err) {
      const e = errorStatus(err);
      st.sections[name] = { version, hash, status: 'failed', retry: e.transient, time: nowIso() };
      await this.#store.save();
      log.warn(
        { ...errorFields(err), errSubSystem: e.errSubSystem, errCode: e.errCode },
        'section failed',
      );
      await this.#reportStatus(name, 'failed', version, err, plan?.report ?? true);
      this.emit('failed', {
        section: name,
        version,
        error: err instanceof Error ? err : new Error(String(err)),
      });
    }
  }

  // ---------------------------------------------------------------- reporting

  /** Reports a section's read-back state plus its `lastChange`. */
  async #reportStatus(
    name: string,
    state: ChangeState,
    version: number,
    err?: unknown,
    report = true,
  ): Promise<void> {
    const handler = this.#handlers.get(name);
    let content: Json = {};
    if (!report) {
      // "no-report", unless there is a failure to tell.
      content = state === 'failed' ? {} : 'no-report';
    } else if (state !== 'pending' && handler?.report) {
      try {
        content = await handler.report(this.#ctx(name));
      } catch (readErr) {
        this.#log.warn({ section: name, ...errorFields(readErr) }, 'read-back failed');
        if (state === 'completed') {
          state = 'failed';
          err = readErr;
        }
      }
    }
    const change = lastChange(state, err);
    const value: Json = isObject(content) ? { ...content, lastChange: change } : content;
    if (this.#pnp) {
      await this.#push(
        {
          __t: 'c',
          [name]: {
            value,
            ac: state === 'failed' && errorStatus(err).httpStatus === 400 ? 400 : PNP_CODES[state],
            av: version,
            ad: state === 'failed' ? change.errContext : state,
          },
        },
        state !== 'pending',
      );
    } else {
      // `pending` reads nothing back: it updates lastChange and keeps the last values.
      await this.#push({ [name]: value }, state !== 'pending');
    }
  }

  async #reportSection(name: string): Promise<void> {
    const handler = this.#handlers.get(name);
    if (!handler?.report) return;
    // A section whose desired value says "no report" keeps reporting "no-report".
    if (Object.hasOwn(this.#desired, name) && !this.#reportable(name)) return;
    const st = this.#store.state.sections[name];
    try {
      const content = await handler.report(this.#ctx(name));
      const prev = this.#reported[name];
      const previousChange =
        isObject(prev) && isObject(this.#pnp && isObject(prev.value) ? prev.value : prev)
          ? ((this.#pnp && isObject(prev.value) ? prev.value : prev) as JsonObject).lastChange
          : undefined;
      const value: JsonObject =
        previousChange !== undefined ? { ...content, lastChange: previousChange } : content;
      if (this.#pnp && st) {
        // The ack of the write this state records stays as it was sent (a 400 stays a 400).
        const sent = isObject(prev) && prev.av === st.version && typeof prev.ac === 'number';
        const ac = sent ? (prev.ac as number) : st.status === 'failed' ? 500 : 200;
        const ad = sent && prev.ad !== undefined ? prev.ad : st.status;
        await this.#push({ __t: 'c', [name]: { value, ac, av: st.version, ad } });
      } else {
        await this.#push({ [name]: value });
      }
    } catch (err) {
      this.#log.warn({ section: name, ...errorFields(err) }, 'report failed');
      await this.#push({ [name]: { lastChange: lastChange('failed', err) } });
    }
  }

  #reportable(name: string): boolean {
    try {
      return planSection(name, this.#desired[name] as Json).report;
    } catch {
      return true;
    }
  }

  /** Queues `{ windows: sections }`, adding nulls for keys the sections no longer have. */
  #push(sections: JsonObject, removals = true): Promise<void> {
    const patch: JsonObject = {};
    for (const [name, value] of Object.entries(sections)) {
      if (value === null) {
        patch[name] = null;
        continue;
      }
      // A section too large to report becomes its error status (413) here, as a whole.
      const bytes = Buffer.byteLength(JSON.stringify({ [ROOT]: { [name]: value } }), 'utf8');
      let fitting = bytes > this.#budget ? this.#oversize([ROOT, name], bytes) : value;
      if (fitting !== value && this.#pnp && isObject(value) && Object.hasOwn(value, 'ac')) {
        // A PnP ack stays an ack: the error status is its value, refused with 500.
        const status = isObject(fitting) ? fitting.lastChange : undefined;
        const ad =
          isObject(status) && typeof status.errContext === 'string' ? status.errContext : 'failed';
        fitting = { value: fitting, ac: 500, av: value.av ?? 0, ad };
      }
      patch[name] =
        removals || fitting !== value ? withRemovals(this.#reported[name], fitting) : fitting;
    }
    applyTwinPatch(this.#reported, patch);
    return this.#queue.push({ [ROOT]: patch }).catch((err: unknown) => this.#notDelivered(err));
  }

  #pushRoot(value: null): Promise<void> {
    this.#reported = {};
    return this.#queue.push({ [ROOT]: value }).catch((err: unknown) => this.#notDelivered(err));
  }

  #notDelivered(err: unknown): void {
    // An aborted attach drops what is queued on purpose (the host is stopping).
    if (this.#aborting) this.#log.debug(errorFields(err), 'reported patch dropped: attach aborted');
    else this.#log.error(errorFields(err), 'reported patch not delivered');
  }

  /**
   * The hub refused a patch because the twin's reported properties would exceed its size limit
   * (each part was under the patch budget, the document as a whole was not): the sections of
   * that patch are replaced by an error status (413), so the failure is visible in the twin.
   */
  #afterReportFailure(err: ReportError, patch: JsonObject): void {
    const windows = patch[ROOT];
    if (!isObject(windows) || !isSizeError(err.cause ?? err)) return;
    const sections = Object.keys(windows).filter((k) => k !== '__t');
    // The error patches themselves (null, then a bare 413 status) never trigger this again.
    const content = sections.filter((k) => {
      const v = windows[k];
      if (v === null) return false;
      const lc = isObject(v) ? v.lastChange : undefined;
      return !(isObject(v) && Object.keys(v).length === 1 && isObject(lc) && lc.errCode === 413);
    });
    if (content.length === 0) return;
    for (const name of content) {
      this.#log.error(
        { section: name },
        'reported section refused by the hub (twin size): error status reported',
      );
      void this.#push({ [name]: null });
      void this.#push({
        [name]: {
          lastChange: {
            time: nowIso(),
            state: 'failed',
            errSubSystem: 'DeviceManagement',
            errCode: 413,
            errContext: `the hub refused the report: the twin's reported properties would exceed its size limit (${
              err.message.length > 200 ? `${err.message.slice(0, 197)}...` : err.message
            })`,
          },
        },
      });
    }
  }

  #oversize(path: readonly string[], bytes: number): Json {
    const section = path[1];
    const detail = `reported ${path.join('.')} is ${bytes} bytes, over the reported-properties budget`;
    this.#log.error(
      { path: path.join('.'), bytes },
      'reported value over budget: replaced by an error',
    );
    if (path[0] === ROOT && path.length === 2 && section !== undefined) {
      return {
        lastChange: {
          time: nowIso(),
          state: 'failed',
          errSubSystem: 'DeviceManagement',
          errCode: 413,
          errContext: detail,
        },
      };
    }
    return '<error>';
  }

  // ---------------------------------------------------------------- methods

  #unknown(name: string): MethodResult {
    return {
      status: 404,
      body: failedBody(404, 'DeviceManagement', `no such method: ${name}`),
    };
  }

  async #invoke(name: string, payload: Json | undefined): Promise<MethodResult> {
    const entry = this.#methods.get(name);
    if (!entry) return this.#unknown(name);
    const log = this.#log.child({ method: name });
    try {
      // Without a schema of its own, a payload still gets the string and depth limits.
      validate(entry.def.payload ?? { type: 'any' }, payload ?? {}, `${name} payload`);
      const ctx = entry.handler ? this.#ctx(entry.handler.section) : this.#builtinContext();
      const out = await entry.def.invoke(payload, ctx);
      log.info('method completed');
      if (out === undefined)
        return { status: 200, body: { lastChange: { time: nowIso(), state: 'completed' } } };
      if (isMethodResult(out)) return out;
      return { status: 200, body: out as Json };
    } catch (err) {
      const e = errorStatus(err);
      log.warn({ ...errorFields(err), status: e.httpStatus }, 'method failed');
      return { status: e.httpStatus, body: failedBody(e.errCode, e.errSubSystem, e.errContext) };
    }
  }

  #builtinContext(): HandlerContext {
    const csp = new ScopedCsp(this.#csp, ROOT, []);
    return this.#makeContext(ROOT, csp);
  }
}

function failedBody(errCode: number, errSubSystem: string, errContext: string): JsonObject {
  return { lastChange: { time: nowIso(), state: 'failed', errSubSystem, errCode, errContext } };
}

/** A refusal because of the twin's size (IoT Hub: 403100 / "size should be less than 32768"). */
function isSizeError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { statusCode?: unknown; message?: unknown };
  if (e.statusCode === 413) return true;
  return (
    typeof e.message === 'string' &&
    /size should be less than|TwinSizeExceeded|\b403100\b|\b413\d{3}\b/i.test(e.message)
  );
}
