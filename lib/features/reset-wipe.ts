/**
 * Factory reset and remote wipe, with the original client's names
 * (docs/features/factory-reset-and-wipe.md):
 *
 *   - `windows.startFactoryResetAsync` `{ recoveryPartitionGUID?, clearTPM?, requestId? }`,
 *     reported under `factoryReset`;
 *   - `windows.startRemoteWipeAsync` `{ clearTPM?, requestId? }`, reported under `remoteWipe`.
 *
 * Both ask the host (`isRebootAllowed`), report `pending` before acting, then Exec the RemoteWipe
 * CSP node (`doWipe`, or `doWipePersistProvisionedData` with `wipe: 'persistProvisionedData'`)
 * followed by Reboot/RebootNow, as the original did. Each request has an id (the payload's
 * `requestId`, else a generated UUID, returned); every step is persisted before the CSP is
 * touched, so one request never acts twice: a repeated id answers the recorded outcome, and a
 * request interrupted by a restart is reported `failed` (interrupted), never run again.
 *
 * "Happens when allowed, exactly once", as the reboot feature: a request the host refuses is
 * persisted as `waiting` (answered 202 and reported `response: "rejectedByApp"`, `willRetry: true`)
 * and the host is asked again every `recheckMs` and on every report of the section (`reportNow`,
 * `windows.reportAllAsync`), also after a restart; further requests while it waits join it (their
 * ids become aliases). Only a `waiting` request is ever attempted.
 *
 * `clearTPM: true` ("true"): with the `tpm` option (a `LimpetApi`, lib/tpm), the TPM is cleared
 * (TPM2_Clear, as the original did through limpet.exe -FCT) before the wipe: `clearingTpm` is
 * persisted first (a restart never clears twice: the request is then `interrupted`), and a TPM
 * failure fails the request (`errSubSystem` TPM, the TpmError's rc name) without wiping. Without
 * the `tpm` option it is refused with 501, as is booting a recovery partition
 * (`recoveryPartitionGUID`: the original ran `bcdedit /set {bootmgr} bootsequence`), not
 * reachable through any CSP.
 */
import { randomUUID } from 'node:crypto';
import { InvalidValueError } from '../errors';
import type { FeatureHandler, HandlerContext, Json, JsonObject, MethodResult } from '../dm/handler';
import { s } from '../dm/schema';
import { errorStatus, lastChange, type LastChange } from '../dm/status';
import type { NativeSystem } from '../native/system-contract';
import type { LimpetApi } from '../tpm/api';
import { REBOOT_NOW, REQUEST_ID } from './reboot';
import { isoSeconds } from './util-iso-time';
import { Serial } from './util-serial';

export const REMOTE_WIPE = './Device/Vendor/MSFT/RemoteWipe';
const GUID = /^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$/;
const HISTORY = 20;

export interface ResetWipeOptions {
  /**
   * Which RemoteWipe node both methods Exec: `'full'` (default) = `doWipe` (a reset that
   * removes everything, provisioning packages included); `'persistProvisionedData'` =
   * `doWipePersistProvisionedData` (provisioning data is kept and re-applied after the reset).
   */
  wipe?: 'full' | 'persistProvisionedData';
  /** Boot time, to tell after a restart that the device did reset. Optional. */
  system?: NativeSystem;
  /** How often a request the host refused is asked for again (ms). Default 60 000 (as reboot). */
  recheckMs?: number;
  /** The TPM, to honour `clearTPM` (without it, `clearTPM: true` is refused with 501). */
  tpm?: Pick<LimpetApi, 'clear'>;
}

type RequestState =
  /** The host refused; asked again every `recheckMs` and on every report. */
  | 'waiting'
  /** `clearTPM`: persisted before TPM2_Clear; never run again from here. */
  | 'clearingTpm'
  /** Persisted before the first Exec; never run again from here. */
  | 'pending'
  /** The wipe Exec succeeded; persisted before RebootNow. */
  | 'rebooting'
  /** Both Execs succeeded; the reset is under way. */
  | 'started'
  /** The system booted after the request. */
  | 'completed'
  /** Refused for good (records of releases that did not retry); never attempted. */
  | 'rejectedByApp'
  | 'failed'
  | 'interrupted';

interface RequestRecord {
  [key: string]: Json;
  id: string;
  requestedAt: number;
  /** Other request ids that joined this request while it waited. */
  aliases: string[];
  /** When the host allowed it and `pending` was persisted (0: not yet). */
  execAt: number;
  state: RequestState;
  errCode: number;
  error: string;
  /** The request asked `clearTPM` (records of earlier releases: read as false). */
  clearTpm: boolean;
  /** Where a failure came from when not the CSP (`TPM`); '' otherwise. */
  errSubSystem: string;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function failed(
  errCode: number,
  errContext: string,
  errSubSystem = 'DeviceManagement',
): LastChange {
  return { ...lastChange('failed'), errSubSystem, errCode, errContext };
}

/** The section / method body of a record. */
function recordResult(rec: RequestRecord, repeated = false): { status: number; body: JsonObject } {
  let change: LastChange;
  let status = 200;
  switch (rec.state) {
    case 'completed':
      change = lastChange('completed');
      break;
    case 'waiting':
      // Accepted, not carried out yet: the host is asked again (see the module comment).
      change = lastChange('pending');
      status = 202;
      break;
    case 'rejectedByApp':
      change = failed(409, rec.error);
      status = 409;
      break;
    case 'failed':
    case 'interrupted':
      change = failed(
        rec.errCode || 500,
        rec.error,
        rec.errSubSystem || (rec.state === 'failed' ? 'CSP' : 'DeviceManagement'),
      );
      status = rec.errCode === 409 ? 409 : 500;
      break;
    default:
      change = lastChange('pending');
  }
  const body: JsonObject = {
    lastChange: change,
    response: rec.state === 'waiting' ? 'rejectedByApp' : rec.state,
    requestId: rec.id,
    requestTime: isoSeconds(rec.requestedAt),
    willRetry: rec.state === 'waiting',
  };
  if (repeated) body.repeated = true;
  return { status, body };
}

type Kind = 'factoryReset' | 'remoteWipe';

function makeHandler(
  kind: Kind,
  wipeUri: string,
  system: NativeSystem | undefined,
  recheckMs: number,
  serial: Serial,
  tpm: Pick<LimpetApi, 'clear'> | undefined,
): FeatureHandler {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let handlerCtx: HandlerContext | undefined;
  const method =
    kind === 'factoryReset' ? 'windows.startFactoryResetAsync' : 'windows.startRemoteWipeAsync';
  const clearTpm = s.oneOf(s.boolean(), s.enum('true', 'false'));
  const payload =
    kind === 'factoryReset'
      ? s.object({
          recoveryPartitionGUID: s.string({ maxLength: 64 }),
          clearTPM: clearTpm,
          requestId: s.string({ pattern: REQUEST_ID, maxLength: 64 }),
        })
      : s.object({
          clearTPM: clearTpm,
          requestId: s.string({ pattern: REQUEST_ID, maxLength: 64 }),
        });

  const history = (ctx: HandlerContext): RequestRecord[] => {
    const h = ctx.store.get<Json>('requests');
    // Records of earlier releases have no aliases / execAt.
    return Array.isArray(h)
      ? h.filter(isObject).map((r): RequestRecord => ({
          ...(r as RequestRecord),
          aliases: Array.isArray(r.aliases) ? (r.aliases as string[]) : [],
          execAt: typeof r.execAt === 'number' ? r.execAt : 0,
          clearTpm: r.clearTpm === true,
          errSubSystem: typeof r.errSubSystem === 'string' ? r.errSubSystem : '',
        }))
      : [];
  };
  const save = async (ctx: HandlerContext, rec: RequestRecord): Promise<void> => {
    const h = history(ctx).filter((r) => r.id !== rec.id);
    h.push(rec);
    await ctx.store.set('requests', h.slice(-HISTORY));
  };
  const find = (ctx: HandlerContext, id: string): RequestRecord | undefined =>
    history(ctx).find((r) => r.id === id || r.aliases.includes(id));
  /** Reports the section and keeps what was reported (for `report`, i.e. `reportNow`). */
  const publish = async (ctx: HandlerContext, body: JsonObject): Promise<void> => {
    await ctx.store.set('section', body);
    await ctx.reportPartial(body);
  };
  const report = (ctx: HandlerContext, rec: RequestRecord): Promise<void> =>
    publish(ctx, recordResult(rec).body);

  const askHost = async (ctx: HandlerContext): Promise<boolean> => {
    try {
      return await ctx.host.isRebootAllowed();
    } catch (err) {
      ctx.log.warn(
        { err: errorStatus(err).errContext },
        'isRebootAllowed failed: taken as a refusal',
      );
      return false;
    }
  };

  /**
   * Asks the host and, when allowed, carries a `waiting` request out (never twice: only a
   * `waiting` record is attempted, and `pending` is persisted before the first Exec).
   * `announce`: a refusal is saved and reported (a new or joined request); a recheck refused
   * again changes nothing, so it writes and reports nothing.
   */
  const attempt = async (
    ctx: HandlerContext,
    rec: RequestRecord,
    announce: boolean,
  ): Promise<void> => {
    if (rec.state !== 'waiting') return;
    if (!(await askHost(ctx))) {
      if (!announce) return;
      await save(ctx, rec);
      await report(ctx, rec);
      return;
    }
    rec.execAt = Date.now();
    if (rec.clearTpm === true) {
      rec.state = 'clearingTpm';
      await save(ctx, rec);
      await report(ctx, rec);
      try {
        if (!tpm) throw new Error('no TPM is configured');
        await tpm.clear();
      } catch (err) {
        const e = err as { rcName?: unknown; code?: unknown; message?: unknown };
        const why = typeof e.rcName === 'string' ? e.rcName : String(e.code ?? 'error');
        rec.state = 'failed';
        rec.errCode = 500;
        rec.errSubSystem = 'TPM';
        rec.error = `clearing the TPM failed (${why}): ${String(e.message)}; the device was not wiped`;
        ctx.log.warn({ err: rec.error }, `${method}: clearTPM failed`);
        await save(ctx, rec);
        await report(ctx, rec);
        return;
      }
    }
    rec.state = 'pending';
    await save(ctx, rec);
    await report(ctx, rec);
    ctx.notify('rebootPending', { requestId: rec.id, reason: method });
    try {
      await ctx.csp.exec(wipeUri);
      rec.state = 'rebooting';
      await save(ctx, rec);
      await ctx.csp.exec(REBOOT_NOW);
      rec.state = 'started';
    } catch (err) {
      const e = errorStatus(err);
      rec.state = 'failed';
      rec.errCode = e.errCode;
      rec.error = e.errContext;
      ctx.log.warn({ err: e.errContext }, `${method}: the device refused`);
    }
    await save(ctx, rec);
    await report(ctx, rec);
  };

  /** Tries the waiting request again (serialized with the methods). */
  const recheck = (): Promise<void> =>
    serial.run(async () => {
      const ctx = handlerCtx;
      if (stopped || !ctx) return;
      const rec = history(ctx).at(-1);
      if (rec?.state === 'waiting') await attempt(ctx, rec, false);
    });

  /** Refused before anything was recorded (nothing happened): reported and answered. */
  const refuse = async (
    ctx: HandlerContext,
    status: number,
    errContext: string,
    requestId?: string,
  ): Promise<MethodResult> => {
    const body: JsonObject = {
      lastChange: failed(status, errContext),
      response: 'refused',
      willRetry: false,
    };
    if (requestId !== undefined) body.requestId = requestId;
    await publish(ctx, { ...body, requestId: requestId ?? null, requestTime: null });
    return { status, body };
  };

  const invoke = (p: Json | undefined, ctx: HandlerContext): Promise<MethodResult> =>
    serial.run(async () => {
      handlerCtx = ctx;
      const args = isObject(p) ? p : {};
      const given = typeof args.requestId === 'string' ? args.requestId : undefined;
      if (given !== undefined) {
        const known = find(ctx, given);
        if (known) return recordResult(known, true);
      }
      const clearTpm = args.clearTPM === true || args.clearTPM === 'true';
      if (clearTpm && !tpm) {
        return refuse(
          ctx,
          501,
          'clearTPM is not supported here: no TPM is configured for this client (nothing was done; call again without clearTPM to proceed without clearing it)',
          given,
        );
      }
      if (kind === 'factoryReset') {
        const guid =
          typeof args.recoveryPartitionGUID === 'string' ? args.recoveryPartitionGUID : '';
        if (guid !== '' && !GUID.test(guid)) {
          throw new InvalidValueError(`${method} payload: recoveryPartitionGUID is not a GUID`);
        }
        if (guid !== '') {
          return refuse(
            ctx,
            501,
            'booting a recovery partition (recoveryPartitionGUID) is not reachable through any CSP: nothing was done; call without recoveryPartitionGUID for a RemoteWipe CSP reset',
            given,
          );
        }
      }
      const waiting = history(ctx).at(-1);
      if (waiting?.state === 'waiting') {
        // One waiting request serves every request made while the host refuses.
        if (given !== undefined && given !== waiting.id)
          waiting.aliases = [...waiting.aliases, given].slice(-HISTORY);
        // A joining request that asks clearTPM makes the waiting one clear it too.
        if (clearTpm) waiting.clearTpm = true;
        await attempt(ctx, waiting, true);
        return recordResult(waiting);
      }
      const active = history(ctx).find(
        (r) =>
          r.state === 'clearingTpm' ||
          r.state === 'pending' ||
          r.state === 'rebooting' ||
          r.state === 'started',
      );
      if (active) {
        return refuse(
          ctx,
          409,
          `a ${kind === 'factoryReset' ? 'factory reset' : 'remote wipe'} is already under way (requestId ${active.id})`,
          given,
        );
      }
      const rec: RequestRecord = {
        id: given ?? randomUUID(),
        aliases: [],
        requestedAt: Date.now(),
        execAt: 0,
        state: 'waiting',
        errCode: 0,
        error: '',
        clearTpm,
        errSubSystem: '',
      };
      await attempt(ctx, rec, true);
      return recordResult(rec);
    });

  return {
    section: kind,
    nodes: [wipeUri, REBOOT_NOW],
    methods: [{ name: method, payload, invoke }],
    async report(ctx) {
      // Reporting (reportNow, windows.reportAllAsync) asks the host again for a waiting request.
      handlerCtx = ctx;
      await recheck().catch((err: unknown) => {
        ctx.log.warn({ err: errorStatus(err).errContext }, `${kind} recheck failed`);
      });
      return serial.run(async () => {
        const kept = ctx.store.get<Json>('section');
        if (isObject(kept)) return kept;
        const rec = history(ctx).at(-1);
        return rec ? recordResult(rec).body : {};
      });
    },
    async start(ctx) {
      handlerCtx = ctx;
      await serial.run(async () => {
        const rec = history(ctx).at(-1);
        if (!rec) return;
        if (rec.state === 'clearingTpm') {
          // Stopped while TPM2_Clear was under way (or before it answered): never again.
          rec.state = 'interrupted';
          rec.errCode = 500;
          rec.errSubSystem = 'TPM';
          rec.error =
            'the client stopped while clearing the TPM; neither the TPM clear nor the wipe is run again (send a new request to retry)';
          await save(ctx, rec);
        } else if (
          rec.state === 'pending' ||
          rec.state === 'rebooting' ||
          rec.state === 'started'
        ) {
          const boot = system ? await system.bootTime().catch(() => undefined) : undefined;
          // Boot times may be whole seconds (the CSP emulator records the RebootNow second): once
          // the wipe Exec was answered (`rebooting`, `started`), a boot in the same second as
          // the request counts as the reset it asked for (as reboot does). A `pending` request
          // (the wipe Exec not answered) needs a boot strictly after it: a reboot from
          // elsewhere in that second must not pass for a reset that may never have been sent.
          const at = rec.execAt || rec.requestedAt;
          const booted =
            boot !== undefined &&
            (rec.state === 'pending' ? boot > at : boot >= Math.floor(at / 1000) * 1000);
          if (booted) {
            rec.state = 'completed';
          } else if (rec.state !== 'started') {
            const step = rec.state === 'pending' ? 'the wipe command' : 'RebootNow';
            rec.state = 'interrupted';
            rec.errCode = 500;
            rec.error = `the client stopped before the device answered ${step}; not run again (send a new request to retry)`;
          }
          await save(ctx, rec);
        }
        // A waiting request keeps waiting: the timer below asks the host again.
        await report(ctx, rec);
      });
      stopped = false;
      if (!timer) {
        timer = setInterval(() => {
          recheck().catch((err: unknown) => {
            handlerCtx?.log.warn({ err: errorStatus(err).errContext }, `${kind} recheck failed`);
          });
        }, recheckMs);
        timer.unref();
      }
    },
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** `[factoryReset, remoteWipe]`. */
export function createResetWipeHandlers(options: ResetWipeOptions = {}): FeatureHandler[] {
  const mode = options.wipe ?? 'full';
  if (mode !== 'full' && mode !== 'persistProvisionedData') {
    throw new InvalidValueError(
      `createResetWipeHandlers: wipe must be 'full' or 'persistProvisionedData'`,
    );
  }
  const recheckMs = options.recheckMs ?? 60_000;
  if (!Number.isFinite(recheckMs) || recheckMs < 1) {
    throw new InvalidValueError('createResetWipeHandlers: recheckMs must be a positive number');
  }
  const uri = `${REMOTE_WIPE}/${mode === 'full' ? 'doWipe' : 'doWipePersistProvisionedData'}`;
  const serial = new Serial();
  return [
    makeHandler('factoryReset', uri, options.system, recheckMs, serial, options.tpm),
    makeHandler('remoteWipe', uri, options.system, recheckMs, serial, options.tpm),
  ];
}
