/**
 * Reboot features, with the original client's names (docs/features/reboot.md):
 *
 *   - `rebootInfo`: desired `{ singleRebootTime, dailyRebootTime }` (ISO 8601, "" = none) written
 *     to the Reboot CSP schedule nodes with whole seconds; reported `{ singleRebootTime,
 *     dailyRebootTime (read back), lastBootTime, lastRebootCmdTime, lastRebootCmdStatus,
 *     singleRebootStatus }`.
 *   - `rebootCmd` + `windows.rebootAsync`: an immediate reboot, asked of the host first.
 *
 * "Happens when allowed, exactly once": a reboot the host refuses (an immediate request, or a
 * single scheduled time being set) is persisted as waiting and tried again every `recheckMs` and
 * on every `rebootInfo` report (`reportNow`, `windows.reportAllAsync`). Every step is persisted
 * before the CSP is touched, so a request that reached `executing` is never sent again, even
 * after a restart; the outcome is decided after the restart from the system's boot time.
 */
import { randomUUID } from 'node:crypto';
import { CspError, InvalidValueError } from '../errors';
import type { FeatureHandler, HandlerContext, Json, JsonObject, MethodResult } from '../dm/handler';
import { s } from '../dm/schema';
import { errorStatus, lastChange, type ChangeState, type LastChange } from '../dm/status';
import type { NativeSystem } from '../native/system-contract';
import { ISO_DATE_TIME, isoSeconds, isoTimeMs, normalizeIsoTime } from './util-iso-time';
import { Serial } from './util-serial';

export const REBOOT_NOW = './Device/Vendor/MSFT/Reboot/RebootNow';
export const SCHEDULE_SINGLE = './Device/Vendor/MSFT/Reboot/Schedule/Single';
export const SCHEDULE_DAILY = './Device/Vendor/MSFT/Reboot/Schedule/DailyRecurrent';

/** A request id given by the caller (or generated: a UUID). */
export const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const TIME_OR_EMPTY = new RegExp(`^$|${ISO_DATE_TIME.source}`);
const HISTORY = 20;

export interface RebootHandlersOptions {
  /** Boot time of the system (the addon's system part; `MockSystem` in tests). */
  system: NativeSystem;
  /** How often a refused reboot is asked for again (ms). Default 60 000. */
  recheckMs?: number;
}

/** Where a reboot request stands (persisted). */
export type RebootState =
  /** The host refused; asked again every `recheckMs` and on every report. */
  | 'rejectedByApp'
  /** Allowed; persisted before RebootNow is sent. Never sent again from this state. */
  | 'executing'
  /** The device accepted RebootNow; the reboot is not seen yet. */
  | 'scheduled'
  /** The system booted after the request. */
  | 'completed'
  /** RebootNow failed. */
  | 'failed'
  /** The process stopped before the device answered RebootNow and no reboot followed. */
  | 'interrupted';

interface RebootRecord {
  [key: string]: Json;
  id: string;
  /** Other request ids that joined this waiting request. */
  aliases: string[];
  requestedAt: number;
  state: RebootState;
  execAt: number;
  error: string;
  errCode: number;
  errSubSystem: string;
}

/** A single scheduled reboot the host has not allowed yet (or how it was carried out). */
interface SingleRecord {
  [key: string]: Json;
  time: string;
  requestedAt: number;
  state: 'rejectedByApp' | 'scheduled' | 'executing' | 'rebootSent' | 'failed';
  execAt: number;
  error: string;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The status word `rebootInfo.lastRebootCmdStatus` carries for a record. */
function cmdStatus(state: RebootState): string {
  switch (state) {
    case 'executing':
    case 'scheduled':
      return 'pending';
    case 'interrupted':
      return 'failed';
    default:
      return state;
  }
}

/** The `rebootCmd` section / method body for a record. */
function cmdBody(rec: RebootRecord, repeated = false): { status: number; body: JsonObject } {
  let state: ChangeState = 'pending';
  let change: LastChange;
  let status = 200;
  if (rec.state === 'completed') state = 'completed';
  if (rec.state === 'failed' || rec.state === 'interrupted') {
    change = {
      ...lastChange('failed'),
      errSubSystem: rec.errSubSystem || 'DeviceManagement',
      errCode: rec.errCode || 500,
      errContext: rec.error,
    };
    status = 500;
  } else change = lastChange(state);
  // Refused by the host: accepted for later (202), as a refused factory reset or wipe.
  if (rec.state === 'rejectedByApp') status = 202;
  const body: JsonObject = {
    lastChange: change,
    response: rec.state === 'rejectedByApp' ? 'rejectedByApp' : 'scheduled',
    requestId: rec.id,
    requestTime: isoSeconds(rec.requestedAt),
    willRetry: rec.state === 'rejectedByApp',
  };
  if (repeated) body.repeated = true;
  return { status, body };
}

class RebootController {
  readonly system: NativeSystem;
  readonly recheckMs: number;
  readonly serial = new Serial();
  infoCtx: HandlerContext | undefined;
  cmdCtx: HandlerContext | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: RebootHandlersOptions) {
    if (!options || typeof options.system?.bootTime !== 'function') {
      throw new InvalidValueError(
        'createRebootHandlers: options.system (a NativeSystem) is required',
      );
    }
    this.system = options.system;
    this.recheckMs = options.recheckMs ?? 60_000;
    if (!Number.isFinite(this.recheckMs) || this.recheckMs < 1) {
      throw new InvalidValueError('createRebootHandlers: recheckMs must be a positive number');
    }
  }

  // ------------------------------------------------------------ records

  history(ctx = this.cmdCtx): RebootRecord[] {
    const h = ctx?.store.get<Json>('requests');
    return Array.isArray(h) ? (h.filter(isObject) as RebootRecord[]) : [];
  }

  current(ctx = this.cmdCtx): RebootRecord | undefined {
    return this.history(ctx).at(-1);
  }

  find(ctx: HandlerContext, id: string): RebootRecord | undefined {
    return this.history(ctx).find((r) => r.id === id || r.aliases.includes(id));
  }

  async save(ctx: HandlerContext, rec: RebootRecord): Promise<void> {
    const h = this.history(ctx).filter((r) => r.id !== rec.id);
    h.push(rec);
    await ctx.store.set('requests', h.slice(-HISTORY));
  }

  single(ctx = this.infoCtx): SingleRecord | undefined {
    const v = ctx?.store.get<Json>('single');
    return isObject(v) ? (v as SingleRecord) : undefined;
  }

  // ------------------------------------------------------------ reporting

  async reportCmd(rec: RebootRecord): Promise<void> {
    const ctx = this.cmdCtx;
    if (ctx) await ctx.reportPartial(cmdBody(rec).body);
    await this.reportCmdInInfo(rec);
  }

  async reportCmdInInfo(rec: RebootRecord | undefined): Promise<void> {
    if (!rec || !this.infoCtx) return;
    await this.infoCtx.reportPartial({
      lastRebootCmdTime: isoSeconds(rec.requestedAt),
      lastRebootCmdStatus: cmdStatus(rec.state),
    });
  }

  // ------------------------------------------------------------ immediate reboot

  async askHost(ctx: HandlerContext): Promise<boolean> {
    try {
      return await ctx.host.isRebootAllowed();
    } catch (err) {
      ctx.log.warn({ err: errText(err) }, 'isRebootAllowed failed: taken as a refusal');
      return false;
    }
  }

  /**
   * Asks the host and, when allowed, sends RebootNow. Never sends twice for one record.
   * `announce`: a refusal is saved and reported (a new or joined request); a recheck that is
   * refused again changes nothing, so it writes and reports nothing.
   */
  async attempt(ctx: HandlerContext, rec: RebootRecord, announce: boolean): Promise<void> {
    if (rec.state !== 'rejectedByApp') return;
    if (!(await this.askHost(ctx))) {
      if (!announce) return;
      await this.save(ctx, rec);
      await this.reportCmd(rec);
      return;
    }
    rec.state = 'executing';
    rec.execAt = Date.now();
    await this.save(ctx, rec);
    await this.reportCmd(rec);
    ctx.notify('rebootPending', { requestId: rec.id, reason: 'windows.rebootAsync' });
    try {
      await ctx.csp.exec(REBOOT_NOW);
      rec.state = 'scheduled';
    } catch (err) {
      const e = errorStatus(err);
      rec.state = 'failed';
      rec.error = e.errContext;
      rec.errCode = e.errCode;
      rec.errSubSystem = e.errSubSystem;
      ctx.log.warn({ err: e.errContext }, 'RebootNow failed');
    }
    await this.save(ctx, rec);
    await this.reportCmd(rec);
  }

  async rebootAsync(payload: Json | undefined, ctx: HandlerContext): Promise<MethodResult> {
    this.cmdCtx = ctx;
    const given =
      isObject(payload) && typeof payload.requestId === 'string' ? payload.requestId : undefined;
    return this.serial.run(async () => {
      if (given !== undefined) {
        const known = this.find(ctx, given);
        if (known) return cmdBody(known, true);
      }
      const waiting = this.current(ctx);
      let rec: RebootRecord;
      if (waiting && waiting.state === 'rejectedByApp') {
        // One waiting reboot serves every request made while the host refuses.
        rec = waiting;
        if (given !== undefined && given !== rec.id)
          rec.aliases = [...rec.aliases, given].slice(-HISTORY);
      } else {
        rec = {
          id: given ?? randomUUID(),
          aliases: [],
          requestedAt: Date.now(),
          state: 'rejectedByApp',
          execAt: 0,
          error: '',
          errCode: 0,
          errSubSystem: '',
        };
      }
      await this.attempt(ctx, rec, true);
      return cmdBody(rec);
    });
  }

  /** After a restart: what became of the last request (the boot time tells). */
  async resolveAfterRestart(ctx: HandlerContext): Promise<void> {
    const rec = this.current(ctx);
    if (!rec) return;
    if (rec.state === 'executing' || rec.state === 'scheduled' || rec.state === 'interrupted') {
      const boot = await this.system.bootTime();
      // Boot times may be whole seconds (the CSP emulator records the RebootNow second): a boot
      // in the same second as the request counts as the reboot it asked for.
      if (boot >= Math.floor(rec.execAt / 1000) * 1000) {
        rec.state = 'completed';
      } else if (rec.state === 'executing') {
        rec.state = 'interrupted';
        rec.errCode = 500;
        rec.errSubSystem = 'DeviceManagement';
        rec.error =
          'the client stopped before the device answered RebootNow and no reboot followed; not sent again';
      }
      await this.save(ctx, rec);
    }
    await this.reportCmd(rec);
  }

  // ------------------------------------------------------------ single scheduled reboot

  async attemptSingle(ctx: HandlerContext, rec: SingleRecord): Promise<void> {
    if (rec.state !== 'rejectedByApp') return;
    if (!(await this.askHost(ctx))) return;
    if (isoTimeMs(rec.time) > Date.now()) {
      await ctx.csp.put(SCHEDULE_SINGLE, rec.time);
      rec.state = 'scheduled';
      await ctx.store.set('single', rec);
      await ctx.reportPartial({ singleRebootTime: rec.time, singleRebootStatus: rec.state });
      return;
    }
    // The time passed while the host refused: the reboot it asked for happens now, once.
    rec.state = 'executing';
    rec.execAt = Date.now();
    await ctx.store.set('single', rec);
    await ctx.reportPartial({ singleRebootStatus: rec.state });
    ctx.notify('rebootPending', { reason: 'rebootInfo.singleRebootTime', time: rec.time });
    try {
      await ctx.csp.exec(REBOOT_NOW);
      rec.state = 'rebootSent';
    } catch (err) {
      rec.state = 'failed';
      rec.error = errorStatus(err).errContext;
    }
    await ctx.store.set('single', rec);
    await ctx.reportPartial({ singleRebootStatus: rec.state });
  }

  // ------------------------------------------------------------ both

  /** Tries every waiting reboot again (serialized with the methods and apply). */
  recheck(): Promise<void> {
    return this.serial.run(async () => {
      if (this.#stopped) return;
      const cmd = this.cmdCtx;
      const rec = this.current(cmd);
      if (cmd && rec?.state === 'rejectedByApp') await this.attempt(cmd, rec, false);
      const info = this.infoCtx;
      const single = this.single(info);
      if (info && single?.state === 'rejectedByApp') await this.attemptSingle(info, single);
    });
  }

  startTimer(): void {
    this.#stopped = false;
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.recheck().catch((err: unknown) => {
        (this.cmdCtx ?? this.infoCtx)?.log.warn({ err: errText(err) }, 'reboot recheck failed');
      });
    }, this.recheckMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** Reads a schedule node: its value, "" when absent, "<error>" when unreadable. */
async function readSchedule(ctx: HandlerContext, uri: string): Promise<string> {
  try {
    const v = await ctx.csp.get(uri);
    return v === null || v === undefined ? '' : String(v);
  } catch (err) {
    if (err instanceof CspError && err.status === 404) return '';
    return '<error>';
  }
}

/**
 * Clears a schedule: Delete (the DDF gives these Dynamic nodes Add/Delete/Get/Replace; a
 * deleted schedule reads back as absent). A 404 means there was none.
 */
async function clearSchedule(ctx: HandlerContext, uri: string): Promise<void> {
  try {
    await ctx.csp.delete(uri);
  } catch (err) {
    if (err instanceof CspError && err.status === 404) return;
    throw err;
  }
}

/** The reboot feature: `[rebootInfo, rebootCmd]`. */
export function createRebootHandlers(options: RebootHandlersOptions): FeatureHandler[] {
  const ctl = new RebootController(options);

  const rebootInfo: FeatureHandler = {
    section: 'rebootInfo',
    nodes: [SCHEDULE_SINGLE, SCHEDULE_DAILY, REBOOT_NOW],
    desired: s.object({
      singleRebootTime: s.string({ maxLength: 64, pattern: TIME_OR_EMPTY }),
      dailyRebootTime: s.string({ maxLength: 64, pattern: TIME_OR_EMPTY }),
    }),

    async apply(desired, ctx) {
      ctl.infoCtx = ctx;
      const single =
        typeof desired.singleRebootTime === 'string' && desired.singleRebootTime !== ''
          ? normalizeIsoTime(desired.singleRebootTime, 'windows.rebootInfo.singleRebootTime')
          : desired.singleRebootTime;
      const daily =
        typeof desired.dailyRebootTime === 'string' && desired.dailyRebootTime !== ''
          ? normalizeIsoTime(desired.dailyRebootTime, 'windows.rebootInfo.dailyRebootTime')
          : desired.dailyRebootTime;
      await ctl.serial.run(async () => {
        const writes: Array<Promise<unknown>> = [];
        let next: SingleRecord | undefined | null = null; // null: leave the record alone
        if (typeof single === 'string') {
          const prev = ctl.single(ctx);
          if (single === '') {
            next = undefined;
          } else if (
            prev?.time === single &&
            (prev.state === 'executing' || prev.state === 'rebootSent')
          ) {
            // Applied again (a restart mid-apply): that reboot was already sent.
            next = prev;
          } else if (await ctl.askHost(ctx)) {
            next = {
              time: single,
              requestedAt: Date.now(),
              state: 'scheduled',
              execAt: 0,
              error: '',
            };
          } else {
            next = {
              time: single,
              requestedAt: Date.now(),
              state: 'rejectedByApp',
              execAt: 0,
              error: '',
            };
          }
        }
        if (next !== null) {
          if (next?.state === 'scheduled')
            writes.push(ctx.csp.put(SCHEDULE_SINGLE, single as string));
          else if (next === undefined || next.state === 'rejectedByApp')
            writes.push(clearSchedule(ctx, SCHEDULE_SINGLE));
        }
        if (typeof daily === 'string') {
          writes.push(
            daily === '' ? clearSchedule(ctx, SCHEDULE_DAILY) : ctx.csp.put(SCHEDULE_DAILY, daily),
          );
        }
        await Promise.all(writes);
        if (next !== null) await ctx.store.set('single', next);
      });
    },

    async report(ctx) {
      ctl.infoCtx = ctx;
      await ctl.recheck().catch((err: unknown) => {
        ctx.log.warn({ err: errText(err) }, 'reboot recheck failed');
      });
      const [single, daily, boot] = await Promise.all([
        readSchedule(ctx, SCHEDULE_SINGLE),
        readSchedule(ctx, SCHEDULE_DAILY),
        ctl.system.bootTime().then(isoSeconds, () => '<error>'),
      ]);
      const out: JsonObject = {
        singleRebootTime: single,
        dailyRebootTime: daily,
        lastBootTime: boot,
      };
      const held = ctl.single(ctx);
      if (held) out.singleRebootStatus = held.state;
      const cmd = ctl.current();
      if (cmd) {
        out.lastRebootCmdTime = isoSeconds(cmd.requestedAt);
        out.lastRebootCmdStatus = cmdStatus(cmd.state);
      }
      return out;
    },

    async remove(ctx) {
      await ctl.serial.run(() => ctx.store.set('single', undefined));
    },

    async start(ctx) {
      ctl.infoCtx = ctx;
      await ctl.reportCmdInInfo(ctl.current());
      ctl.startTimer();
    },

    stop() {
      ctl.stop();
    },
  };

  const rebootCmd: FeatureHandler = {
    section: 'rebootCmd',
    nodes: [REBOOT_NOW],
    methods: [
      {
        name: 'windows.rebootAsync',
        payload: s.object({ requestId: s.string({ pattern: REQUEST_ID, maxLength: 64 }) }),
        invoke: (payload, ctx) => ctl.rebootAsync(payload, ctx),
      },
    ],

    async start(ctx) {
      ctl.cmdCtx = ctx;
      await ctl.serial.run(() => ctl.resolveAfterRestart(ctx));
      ctl.startTimer();
    },

    stop() {
      ctl.stop();
    },
  };

  return [rebootInfo, rebootCmd];
}
