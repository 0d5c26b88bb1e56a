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
 * Not reachable through any CSP, hence refused with 501: booting a recovery partition
 * (`recoveryPartitionGUID`: the original ran `bcdedit /set {bootmgr} bootsequence`) and
 * `clearTPM: true` (the original cleared the TPM through limpet.exe; the TPM API is not here yet).
 */
import { randomUUID } from 'node:crypto';
import { InvalidValueError } from '../errors';
import type { FeatureHandler, HandlerContext, Json, JsonObject, MethodResult } from '../dm/handler';
import { s } from '../dm/schema';
import { errorStatus, lastChange, type LastChange } from '../dm/status';
import type { NativeSystem } from '../native/system-contract';
import { REBOOT_NOW, REQUEST_ID } from './reboot';
import { isoSeconds } from './util-iso-time';

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
}

type RequestState =
  /** Persisted before the first Exec; never run again from here. */
  | 'pending'
  /** The wipe Exec succeeded; persisted before RebootNow. */
  | 'rebooting'
  /** Both Execs succeeded; the reset is under way. */
  | 'started'
  /** The system booted after the request. */
  | 'completed'
  | 'rejectedByApp'
  | 'failed'
  | 'interrupted';

interface RequestRecord {
  [key: string]: Json;
  id: string;
  requestedAt: number;
  state: RequestState;
  errCode: number;
  error: string;
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
    case 'rejectedByApp':
      change = failed(409, rec.error);
      status = 409;
      break;
    case 'failed':
    case 'interrupted':
      change = failed(
        rec.errCode || 500,
        rec.error,
        rec.state === 'failed' ? 'CSP' : 'DeviceManagement',
      );
      status = rec.errCode === 409 ? 409 : 500;
      break;
    default:
      change = lastChange('pending');
  }
  const body: JsonObject = {
    lastChange: change,
    response: rec.state,
    requestId: rec.id,
    requestTime: isoSeconds(rec.requestedAt),
  };
  if (repeated) body.repeated = true;
  return { status, body };
}

class Serial {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

type Kind = 'factoryReset' | 'remoteWipe';

function makeHandler(
  kind: Kind,
  wipeUri: string,
  system: NativeSystem | undefined,
): FeatureHandler {
  const serial = new Serial();
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
    return Array.isArray(h) ? (h.filter(isObject) as RequestRecord[]) : [];
  };
  const save = async (ctx: HandlerContext, rec: RequestRecord): Promise<void> => {
    const h = history(ctx).filter((r) => r.id !== rec.id);
    h.push(rec);
    await ctx.store.set('requests', h.slice(-HISTORY));
  };
  const report = (ctx: HandlerContext, rec: RequestRecord): Promise<void> =>
    ctx.reportPartial(recordResult(rec).body);

  /** Refused before anything was recorded (nothing happened): reported and answered. */
  const refuse = async (
    ctx: HandlerContext,
    status: number,
    errContext: string,
    requestId?: string,
  ): Promise<MethodResult> => {
    const body: JsonObject = { lastChange: failed(status, errContext), response: 'refused' };
    if (requestId !== undefined) body.requestId = requestId;
    await ctx.reportPartial({ ...body, requestId: requestId ?? null, requestTime: null });
    return { status, body };
  };

  const invoke = (p: Json | undefined, ctx: HandlerContext): Promise<MethodResult> =>
    serial.run(async () => {
      const args = isObject(p) ? p : {};
      const given = typeof args.requestId === 'string' ? args.requestId : undefined;
      if (given !== undefined) {
        const known = history(ctx).find((r) => r.id === given);
        if (known) return recordResult(known, true);
      }
      if (args.clearTPM === true || args.clearTPM === 'true') {
        return refuse(
          ctx,
          501,
          'clearTPM is not supported yet: clearing the TPM needs the TPM API (nothing was done; call again without clearTPM to proceed without clearing it)',
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
      const active = history(ctx).find(
        (r) => r.state === 'pending' || r.state === 'rebooting' || r.state === 'started',
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
        requestedAt: Date.now(),
        state: 'pending',
        errCode: 0,
        error: '',
      };
      let allowed = false;
      try {
        allowed = await ctx.host.isRebootAllowed();
      } catch (err) {
        ctx.log.warn(
          { err: errorStatus(err).errContext },
          'isRebootAllowed failed: taken as a refusal',
        );
      }
      if (!allowed) {
        rec.state = 'rejectedByApp';
        rec.errCode = 409;
        rec.error = 'the host application does not allow a reboot now: nothing was done';
        await save(ctx, rec);
        await report(ctx, rec);
        return recordResult(rec);
      }
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
      }
      await save(ctx, rec);
      await report(ctx, rec);
      return recordResult(rec);
    });

  return {
    section: kind,
    nodes: [wipeUri, REBOOT_NOW],
    methods: [{ name: method, payload, invoke }],
    async start(ctx) {
      await serial.run(async () => {
        const rec = history(ctx).at(-1);
        if (!rec) return;
        if (rec.state === 'pending' || rec.state === 'rebooting' || rec.state === 'started') {
          const boot = system ? await system.bootTime().catch(() => undefined) : undefined;
          if (boot !== undefined && boot > rec.requestedAt) {
            rec.state = 'completed';
          } else if (rec.state !== 'started') {
            const step = rec.state === 'pending' ? 'the wipe command' : 'RebootNow';
            rec.state = 'interrupted';
            rec.errCode = 500;
            rec.error = `the client stopped before the device answered ${step}; not run again (send a new request to retry)`;
          }
          await save(ctx, rec);
        }
        await report(ctx, rec);
      });
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
  const uri = `${REMOTE_WIPE}/${mode === 'full' ? 'doWipe' : 'doWipePersistProvisionedData'}`;
  return [
    makeHandler('factoryReset', uri, options.system),
    makeHandler('remoteWipe', uri, options.system),
  ];
}
