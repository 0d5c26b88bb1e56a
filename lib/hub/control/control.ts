/**
 * `HubControl`: fault injection for tests, one instance per `LocalHub` (`hub.control`), never
 * module state. The transports ask it at a few points (`MqttFaultHooks`, `RestFaultHooks`); it
 * acts on the device side through the attached `ControlTarget` (disconnect a device).
 *
 * Faults:
 * - `dropConnection(id)` now, or `{ afterMessages: n }`: after `n` more messages from the device
 *   (telemetry, twin requests, method responses), its connection is closed.
 * - `delayTwinResponses(ms)`, `dropTwinResponses(n)`: twin answers over MQTT (`$iothub/twin/res`).
 * - `dropDesiredNotifications(n)`: the next `n` desired-properties notifications over MQTT
 *   (`$iothub/twin/PATCH/properties/desired`) are never sent; the twin itself is updated, so the
 *   device sees the next notification with a `$version` gap.
 * - `failNext(n, 429 | 500, { scope })`: the next `n` operations (REST calls on the service API
 *   and/or MQTT twin requests) answer ThrottlingException (429001) or ServerError (500001).
 * - `expireTokens(id?)`: every SAS token of device `id` (or of every device) is expired from now on:
 *   the connection is dropped, and a CONNECT with a token issued before the cut-off gets
 *   CONNACK 5. A SAS token carries no issue time, so "issued before" means: a token already
 *   presented before the cut-off, or one whose expiry `se` is at most cut-off + `tokenLifetime`
 *   seconds (default 3600, the device SDK's token lifetime). A device SDK holding the key mints a
 *   fresh token on reconnect one second later and gets in; a fixed token never does.
 * - `reset()` clears every fault.
 */
import { createHash } from 'node:crypto';
import { HubError } from '../errors';
import { parseSasToken } from '../auth/sas';

export type FaultStatus = 429 | 500;
export type FaultScope = 'rest' | 'twin' | 'all';

/** What the control acts on (the device transport). */
export interface ControlTarget {
  disconnect(deviceId: string): void;
  /** Ids of devices that may be connected (every registered device will do). */
  deviceIds(): string[];
}

/** What the MQTT transport asks. */
export interface MqttFaultHooks {
  /** A CONNECT passed authentication: true refuses it with CONNACK 5. */
  refuseConnect(deviceId: string, password: Buffer | string | undefined): boolean;
  /** A message from the device was handled: true closes its connection now. */
  afterDeviceMessage(deviceId: string): boolean;
  /** Before a twin request is served: a fault replaces or delays the answer. */
  twinFault(deviceId: string): TwinFault | undefined;
  /** A desired-properties notification is about to be sent to the device: true drops it. */
  dropDesiredNotification(deviceId: string): boolean;
}

/** What the service (REST) transport asks before running an authorized operation. */
export interface RestFaultHooks {
  restFault(): HubError | undefined;
}

export type TwinFault =
  { kind: 'drop' } | { kind: 'delay'; ms: number } | { kind: 'fail'; error: HubError };

export interface FaultState {
  dropAfter: Record<string, number>;
  twinDelayMs: number;
  twinDrops: number;
  desiredDrops: number;
  failures: { status: FaultStatus; remaining: number; scope: FaultScope } | null;
  tokenCutoffs: Record<string, number>;
  allTokensCutoff: number | null;
}

const ALL = '*';

export class HubControl implements MqttFaultHooks, RestFaultHooks {
  private target?: ControlTarget;
  private dropAfter = new Map<string, number>();
  private twinDelayMs = 0;
  private twinDrops = 0;
  private desiredDrops = 0;
  private failures: { status: FaultStatus; remaining: number; scope: FaultScope } | null = null;
  /** Device id (or `*`) → cut-off, seconds since the epoch. */
  private cutoffs = new Map<string, number>();
  /** Token hashes presented per device (only kept once a cut-off may need them). */
  private seenTokens = new Map<string, Map<string, number>>();
  readonly tokenLifetime: number;
  private readonly now: () => number;

  constructor(options: { tokenLifetime?: number; now?: () => number } = {}) {
    this.tokenLifetime = options.tokenLifetime ?? 3600;
    this.now = options.now ?? Date.now;
  }

  /** Called by `LocalHub` when its transports start (and with `undefined` when they stop). */
  attach(target: ControlTarget | undefined): void {
    this.target = target;
  }

  // ---- the faults ---------------------------------------------------------------------------

  /** Closes the device's connection now, or after `afterMessages` more messages from it. */
  dropConnection(deviceId: string, options: { afterMessages?: number } = {}): void {
    const n = options.afterMessages ?? 0;
    assertCount(n, 'afterMessages');
    if (n === 0) {
      this.dropAfter.delete(deviceId);
      this.target?.disconnect(deviceId);
    } else {
      this.dropAfter.set(deviceId, n);
    }
  }

  /** Delays every twin answer over MQTT by `ms` (0 = no delay). */
  delayTwinResponses(ms: number): void {
    assertCount(ms, 'ms');
    this.twinDelayMs = ms;
  }

  /** The next `count` twin answers over MQTT are never sent. */
  dropTwinResponses(count: number): void {
    assertCount(count, 'count');
    this.twinDrops = count;
  }

  /** The next `count` desired-properties notifications over MQTT are never sent. */
  dropDesiredNotifications(count: number): void {
    assertCount(count, 'count');
    this.desiredDrops = count;
  }

  /** The next `count` operations answer 429 (ThrottlingException) or 500 (ServerError). */
  failNext(count: number, status: FaultStatus, options: { scope?: FaultScope } = {}): void {
    assertCount(count, 'count');
    if (status !== 429 && status !== 500) {
      throw new HubError('ArgumentInvalid', `status must be 429 or 500, not ${String(status)}`);
    }
    const scope = options.scope ?? 'all';
    if (!['rest', 'twin', 'all'].includes(scope)) {
      throw new HubError('ArgumentInvalid', `scope must be rest, twin or all`);
    }
    this.failures = count === 0 ? null : { status, remaining: count, scope };
  }

  /** Every SAS token of `deviceId` (or of every device) counts as expired from now on. */
  expireTokens(deviceId?: string): void {
    const cutoff = Math.floor(this.now() / 1000);
    this.cutoffs.set(deviceId ?? ALL, cutoff);
    const ids = deviceId === undefined ? (this.target?.deviceIds() ?? []) : [deviceId];
    for (const id of ids) this.target?.disconnect(id);
  }

  /** Clears every fault. */
  reset(): void {
    this.dropAfter.clear();
    this.twinDelayMs = 0;
    this.twinDrops = 0;
    this.desiredDrops = 0;
    this.failures = null;
    this.cutoffs.clear();
    this.seenTokens.clear();
  }

  /** The faults in force (for `GET /$control`). */
  get state(): FaultState {
    return {
      dropAfter: Object.fromEntries(this.dropAfter),
      twinDelayMs: this.twinDelayMs,
      twinDrops: this.twinDrops,
      desiredDrops: this.desiredDrops,
      failures: this.failures ? { ...this.failures } : null,
      tokenCutoffs: Object.fromEntries([...this.cutoffs].filter(([k]) => k !== ALL)),
      allTokensCutoff: this.cutoffs.get(ALL) ?? null,
    };
  }

  // ---- hooks ----------------------------------------------------------------------------------

  refuseConnect(deviceId: string, password: Buffer | string | undefined): boolean {
    const token = password === undefined ? '' : password.toString();
    const parsed = token ? parseSasToken(token) : undefined;
    if (!parsed) return false; // X.509: no token to expire
    const hash = createHash('sha256').update(token).digest('base64');
    const cutoff = Math.max(this.cutoffs.get(deviceId) ?? -1, this.cutoffs.get(ALL) ?? -1);
    if (cutoff >= 0) {
      const seenAt = this.seenTokens.get(deviceId)?.get(hash);
      if (seenAt !== undefined && seenAt <= cutoff) return true;
      if (parsed.expiry <= cutoff + this.tokenLifetime) return true;
    }
    let seen = this.seenTokens.get(deviceId);
    if (!seen) this.seenTokens.set(deviceId, (seen = new Map()));
    if (!seen.has(hash)) seen.set(hash, Math.floor(this.now() / 1000) - 1);
    if (seen.size > 64) seen.delete(seen.keys().next().value as string);
    return false;
  }

  afterDeviceMessage(deviceId: string): boolean {
    const left = this.dropAfter.get(deviceId);
    if (left === undefined) return false;
    if (left > 1) {
      this.dropAfter.set(deviceId, left - 1);
      return false;
    }
    this.dropAfter.delete(deviceId);
    return true;
  }

  twinFault(_deviceId: string): TwinFault | undefined {
    const error = this.takeFailure('twin');
    if (error) return { kind: 'fail', error };
    if (this.twinDrops > 0) {
      this.twinDrops -= 1;
      return { kind: 'drop' };
    }
    return this.twinDelayMs > 0 ? { kind: 'delay', ms: this.twinDelayMs } : undefined;
  }

  dropDesiredNotification(_deviceId: string): boolean {
    if (this.desiredDrops === 0) return false;
    this.desiredDrops -= 1;
    return true;
  }

  restFault(): HubError | undefined {
    return this.takeFailure('rest');
  }

  private takeFailure(where: 'rest' | 'twin'): HubError | undefined {
    const f = this.failures;
    if (!f || (f.scope !== 'all' && f.scope !== where)) return undefined;
    f.remaining -= 1;
    if (f.remaining <= 0) this.failures = null;
    return f.status === 429
      ? new HubError('ThrottlingException', 'Injected fault: ThrottlingException (429001)')
      : new HubError('ServerError', 'Injected fault: ServerError (500001)');
  }
}

function assertCount(n: unknown, name: string): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new HubError('ArgumentInvalid', `${name} must be a non-negative integer`);
  }
}
