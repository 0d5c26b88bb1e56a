/**
 * The feature-handler interface: one handler owns one section of `properties.desired.windows` /
 * `properties.reported.windows` and any number of `windows.*` direct methods. Built-in features
 * and OEM extensions implement it the same way and are registered with
 * `DeviceManagementClient.attach(client, { handlers })`.
 */
import type { Logger } from './logger';
import type { ScopedCsp } from './scoped-csp';
import type { Schema } from './schema';

/** A JSON value as the twin carries it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** What a handler can persist across restarts (one JSON object per handler, in the state folder). */
export interface HandlerStore {
  get<T extends Json = Json>(key: string): T | undefined;
  /** Writes through to disk before resolving. `undefined` removes the key. */
  set(key: string, value: Json | undefined): Promise<void>;
}

/** What a handler's `apply`, `report` and methods are given. */
export interface HandlerContext {
  /**
   * A `Csp` limited to the handler's declared `nodes`: any op outside them rejects with
   * `ERR_CSP_NOT_ALLOWED` before it reaches native code. Ops issued in the same event-loop turn
   * travel in one SyncML message: issue them together and `await Promise.all(...)`.
   */
  readonly csp: ScopedCsp;
  /** Persistent key-value storage of this handler. */
  readonly store: HandlerStore;
  /** Child logger bound to the section. Never log secrets (connection strings, keys). */
  readonly log: Logger;
  /** The `"?"` enumeration value of the section's desired content, if any. */
  readonly enumeration?: Json;
  /** Host hooks (reboot permission). */
  readonly host: HostHooks;
  /**
   * Reports a partial patch for this section now (e.g. progress). It is merged under
   * `reported.windows.<section>` and queued like every report.
   */
  reportPartial(patch: JsonObject): Promise<void>;
  /**
   * Sends a device-to-cloud message over the host's connection: `body` as JSON with
   * `properties` as application properties (e.g. `{ MessageType: 'DHA-Nonce' }`). Rejects with
   * the transport's error (not queued: the caller decides whether to retry).
   */
  sendMessage(body: Json, properties: Readonly<Record<string, string>>): Promise<void>;
  /** Emits a client event for the host (e.g. `rebootPending` before a reboot). */
  notify(event: 'rebootPending', detail: JsonObject): void;
}

/** The host application's hooks. */
export interface HostHooks {
  /**
   * Asked before any reboot (direct or scheduled): resolve `true` to allow, `false` to refuse.
   * Defaults to always allowed.
   */
  isRebootAllowed(): Promise<boolean>;
}

/** A direct method's answer: an HTTP-like status and a JSON body. */
export interface MethodResult {
  status: number;
  body: Json;
}

export interface MethodDefinition {
  /** Full method name, `windows.<something>`. */
  name: string;
  /** Validates the payload (`undefined` when the call carried none); failures answer 400. */
  payload?: Schema;
  /**
   * Runs the method. A thrown `IotDmError` with `ERR_INVALID_VALUE`/`ERR_INVALID_ARG` answers
   * 400, anything else 500; both with the original client's failed `lastChange` body.
   */
  invoke(payload: Json | undefined, ctx: HandlerContext): Promise<MethodResult | Json | void>;
}

export interface FeatureHandler {
  /** The section name under `windows`, e.g. `rebootInfo`. */
  readonly section: string;
  /**
   * URI patterns of the CSP nodes this handler may touch: `*` matches one segment, `**` (last
   * only) any number of segments, e.g. `./Device/Vendor/MSFT/Reboot/Schedule/*`.
   */
  readonly nodes: readonly string[];
  /**
   * Shape of the desired content (after the `applyProperties` switch is unwrapped and the `"?"`
   * key is taken out). Checked before `apply`; a mismatch reports the section `failed`.
   * Omit for a report-only section (a desired value is then refused).
   */
  readonly desired?: Schema;
  /** Report `pending` before `apply` starts (long operations). */
  readonly longRunning?: boolean;
  /**
   * When the section applies among the sections of one desired patch (or reconcile): lower
   * first; sections of equal order apply side by side (their CSP ops share SyncML messages).
   * Default 0. A section others depend on uses a negative order, e.g. `externalStorage` (-100),
   * which configures the blob storage that `certificates` downloads through.
   */
  readonly order?: number;
  /**
   * What `apply` sets up lives in process memory only (e.g. storage credentials, never written
   * to the state folder): the section is applied again once after every attach, even when its
   * desired content is the one already applied.
   */
  readonly volatile?: boolean;
  /** Apply desired content. The engine reports the outcome; read-back is `report`'s job. */
  apply?(desired: JsonObject, ctx: HandlerContext): Promise<void>;
  /** Reads the section's actual state from the device (never echoes desired). */
  report?(ctx: HandlerContext): Promise<JsonObject>;
  /** The section's desired value was set to `null`: stop managing it (optional clean-up). */
  remove?(ctx: HandlerContext): Promise<void>;
  /** Direct methods of this feature. */
  readonly methods?: readonly MethodDefinition[];
  /** Called once after attach, with the context (e.g. to report the outcome of a reboot). */
  start?(ctx: HandlerContext): Promise<void>;
  /** Called on detach (timers, watchers). */
  stop?(): Promise<void> | void;
}
