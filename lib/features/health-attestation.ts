/**
 * Device Health Attestation (`deviceHealthAttestation`), the original client's legacy DHA-Service
 * flow over the HealthAttestation CSP (docs/features/health-attestation.md):
 *
 *   - desired `{ Endpoint, ReportIntervalInSeconds }`: Replace `HASEndpoint` ("" or absent → the
 *     Microsoft service `has.spserv.microsoft.com`), Exec `VerifyHealth`, poll `Status` (bounded)
 *     until 3 (complete), else the section fails with `VerifyHealth failed: <status>`. Then a
 *     scheduler sends a device-to-cloud message `{}` with `MessageType = DHA-Nonce` every
 *     `ReportIntervalInSeconds` (0 = once per client start, -1 = never); the last request time
 *     is persisted, so a restart keeps the schedule.
 *   - `windows.deviceHealthAttestationReportNow`: sends the nonce request now.
 *   - `windows.deviceHealthAttestationGetReport { Nonce }` (the service's answer to a nonce
 *     request): Replace `Nonce`, Get `Certificate` and `CorrelationID`, send
 *     `{ CorrelationId, HealthCertificate, Nonce }` with `MessageType = DHA-HealthReport` (the
 *     original sent no `Nonce`; it is added so the service can match the report to the nonce
 *     it issued without guessing).
 *
 * Reported: `{ status, TimeStamp, Endpoint, ReportIntervalInSeconds }`; `status` is the last step
 * ("VerifyHealth Success", "Nonce requested", "Reported", or the failure text), `Endpoint` is read
 * from the device, `ReportIntervalInSeconds` is the schedule in force.
 *
 * The Windows 11 flow (TriggerAttestation / AttestStatus / GetAttestReport, Microsoft Azure
 * Attestation) is not implemented: see the feature doc.
 */
import { IotDmError, InvalidValueError } from '../errors';
import type { FeatureHandler, HandlerContext, Json, JsonObject } from '../dm/handler';
import { s } from '../dm/schema';
import { nowIso } from '../dm/status';

export const HEALTH_ATTESTATION = './Device/Vendor/MSFT/HealthAttestation';
export const HAS_ENDPOINT = `${HEALTH_ATTESTATION}/HASEndpoint`;
export const VERIFY_HEALTH = `${HEALTH_ATTESTATION}/VerifyHealth`;
export const DHA_STATUS = `${HEALTH_ATTESTATION}/Status`;
export const DHA_NONCE = `${HEALTH_ATTESTATION}/Nonce`;
export const DHA_CERTIFICATE = `${HEALTH_ATTESTATION}/Certificate`;
export const DHA_CORRELATION_ID = `${HEALTH_ATTESTATION}/CorrelationID`;

/** The Microsoft Health Attestation Service, used when `Endpoint` is "" or absent. */
export const DEFAULT_HAS_ENDPOINT = 'has.spserv.microsoft.com';
/** `MessageType` application property of the device-to-cloud messages. */
export const MESSAGE_TYPE = 'MessageType';
export const DHA_NONCE_REQUEST = 'DHA-Nonce';
export const DHA_HEALTH_REPORT = 'DHA-HealthReport';
export const REPORT_NOW_METHOD = 'windows.deviceHealthAttestationReportNow';
export const GET_REPORT_METHOD = 'windows.deviceHealthAttestationGetReport';

/** HealthAttestation/Status values (CSP doc). */
const STATUS_REQUESTED = 1;
const STATUS_COMPLETE = 3;
/** The HealthAttestation CSP's Nonce: hex, 8 to 32 bytes. */
export const NONCE_PATTERN = /^(?:[0-9A-Fa-f]{2}){8,32}$/;
/** HASEndpoint: an FQDN (as the CSP accepts it) or "". */
const FQDN = /^(?:[A-Za-z0-9-]{1,63})(?:\.[A-Za-z0-9-]{1,63})*\.?$/;
/** Longest interval accepted: one year. */
export const MAX_INTERVAL_SECONDS = 365 * 24 * 3600;
/** setTimeout's limit; longer waits are taken in steps. */
const MAX_TIMER_MS = 2_147_483_647;

export interface HealthAttestationOptions {
  /** Status polls after VerifyHealth while it answers 1 (requested). Default 5 (the original). */
  pollAttempts?: number;
  /** Delay between Status polls (ms). Default 200 (the original). */
  pollMs?: number;
  /** A nonce request that could not be sent is tried again after this many ms. Default 60 000. */
  retryMs?: number;
}

const desiredSchema = s.object(
  {
    Endpoint: s.string({ maxLength: 255 }),
    ReportIntervalInSeconds: s.oneOf(
      s.integer({ min: -1, max: MAX_INTERVAL_SECONDS }),
      s.string({ pattern: /^\s*-?\d{1,9}\s*$/ }),
    ),
  },
  { required: ['ReportIntervalInSeconds'] },
);

/** The section's validated desired content. */
export interface DhaConfig {
  endpoint: string;
  interval: number;
}

/** Validates and normalises the desired section (number or numeric string interval). */
export function parseDhaDesired(desired: JsonObject): DhaConfig {
  const raw = desired.ReportIntervalInSeconds;
  const interval = typeof raw === 'string' ? Number(raw.trim()) : Number(raw);
  if (!Number.isInteger(interval) || interval < -1 || interval > MAX_INTERVAL_SECONDS) {
    throw new InvalidValueError(
      `ReportIntervalInSeconds must be -1 (off), 0 (once at start) or 1-${MAX_INTERVAL_SECONDS} seconds, not ${JSON.stringify(raw)}`,
    );
  }
  const endpoint = typeof desired.Endpoint === 'string' ? desired.Endpoint.trim() : '';
  if (endpoint !== '' && (!FQDN.test(endpoint) || endpoint.includes('..'))) {
    throw new InvalidValueError(
      `Endpoint must be a host name (FQDN, no scheme or path), not ${JSON.stringify(endpoint)}`,
    );
  }
  return { endpoint: endpoint === '' ? DEFAULT_HAS_ENDPOINT : endpoint, interval };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Keys of the handler store. */
const CONFIG = 'config';
const LAST_REQUEST = 'lastNonceRequest';
const STATUS = 'status';

export function createHealthAttestationHandlers(
  options: HealthAttestationOptions = {},
): FeatureHandler {
  const pollAttempts = Math.max(1, options.pollAttempts ?? 5);
  const pollMs = options.pollMs ?? 200;
  const retryMs = options.retryMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  /** Interval 0 sends once per client start (this handler's life). */
  let sentOnceThisRun = false;
  /** A scheduled request under way (awaited by `stop`). */
  let inflight: Promise<void> | undefined;

  const clearTimer = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };

  const setStatus = async (ctx: HandlerContext, status: string, partial = true): Promise<void> => {
    const rec: JsonObject = { status, TimeStamp: nowIso() };
    await ctx.store.set(STATUS, rec);
    if (partial) await ctx.reportPartial(rec);
  };

  /** Sends a nonce request; `scheduled` ones record their time before anything else. */
  const requestNonce = async (ctx: HandlerContext, scheduled = false): Promise<void> => {
    await ctx.sendMessage({}, { [MESSAGE_TYPE]: DHA_NONCE_REQUEST });
    if (scheduled) {
      sentOnceThisRun = true;
      await ctx.store.set(LAST_REQUEST, Date.now());
    }
    ctx.log.info({ messageType: DHA_NONCE_REQUEST }, 'health attestation nonce requested');
    await setStatus(ctx, 'Nonce requested');
  };

  /** (Re)starts the nonce-request schedule from the persisted config and last request time. */
  const schedule = (ctx: HandlerContext): void => {
    clearTimer();
    if (stopped) return;
    const config = ctx.store.get<JsonObject>(CONFIG);
    if (!config) return;
    const interval = config.interval as number;
    if (interval < 0 || (interval === 0 && sentOnceThisRun)) return;
    const last = ctx.store.get<number>(LAST_REQUEST) ?? 0;
    const due = interval === 0 ? Date.now() : last + interval * 1000;
    const wait = Math.max(0, due - Date.now());
    timer = setTimeout(
      () => {
        timer = undefined;
        if (Date.now() < due) {
          schedule(ctx); // a wait longer than setTimeout allows
          return;
        }
        inflight = (async () => {
          try {
            await requestNonce(ctx, true);
            schedule(ctx);
          } catch (err) {
            ctx.log.warn(
              { err: err instanceof Error ? err.message : String(err) },
              'health attestation nonce request not sent; trying again',
            );
            if (!stopped) timer = setTimeout(() => schedule(ctx), retryMs);
          }
        })();
        void inflight.finally(() => (inflight = undefined));
      },
      Math.min(wait, MAX_TIMER_MS),
    );
    timer.unref?.();
  };

  const verifyHealth = async (ctx: HandlerContext, endpoint: string): Promise<void> => {
    await ctx.csp.replace(HAS_ENDPOINT, endpoint);
    await ctx.csp.exec(VERIFY_HEALTH);
    let status = Number.NaN;
    for (let i = 0; i < pollAttempts; i++) {
      if (i > 0) await sleep(pollMs);
      status = Number(await ctx.csp.get(DHA_STATUS));
      if (status !== STATUS_REQUESTED) break;
    }
    if (status !== STATUS_COMPLETE) {
      throw new IotDmError('ERR_CSP_STATUS', `VerifyHealth failed: ${status}`, {
        status: Number.isInteger(status) ? status : 500,
      });
    }
  };

  return {
    section: 'deviceHealthAttestation',
    nodes: [`${HEALTH_ATTESTATION}/*`],
    desired: desiredSchema,
    longRunning: true,
    async apply(desired, ctx) {
      const config = parseDhaDesired(desired);
      clearTimer();
      await ctx.store.set(CONFIG, undefined);
      try {
        await verifyHealth(ctx, config.endpoint);
      } catch (err) {
        await setStatus(ctx, err instanceof Error ? err.message : String(err), false);
        throw err;
      }
      await setStatus(ctx, 'VerifyHealth Success', false);
      await ctx.store.set(CONFIG, { endpoint: config.endpoint, interval: config.interval });
      sentOnceThisRun = false; // a new configuration with interval 0 requests once now
      schedule(ctx);
    },
    async report(ctx) {
      const rec = ctx.store.get<JsonObject>(STATUS) ?? { status: '', TimeStamp: '' };
      const config = ctx.store.get<JsonObject>(CONFIG);
      let endpoint: Json;
      try {
        endpoint = (await ctx.csp.get(HAS_ENDPOINT)) as Json;
      } catch {
        endpoint = '<error>';
      }
      return {
        status: rec.status ?? '',
        TimeStamp: rec.TimeStamp ?? '',
        Endpoint: endpoint,
        ReportIntervalInSeconds: config ? (config.interval as number) : -1,
      };
    },
    async remove(ctx) {
      clearTimer();
      await ctx.store.set(CONFIG, undefined);
    },
    async start(ctx) {
      stopped = false;
      schedule(ctx);
    },
    async stop() {
      stopped = true;
      clearTimer();
      await inflight; // never rejects: failures are logged and retried
    },
    methods: [
      {
        name: REPORT_NOW_METHOD,
        async invoke(_payload, ctx) {
          await requestNonce(ctx);
          return { response: 'succeeded', reason: '' };
        },
      },
      {
        name: GET_REPORT_METHOD,
        payload: s.object(
          { Nonce: s.string({ pattern: NONCE_PATTERN, maxLength: 64 }) },
          { required: ['Nonce'] },
        ),
        async invoke(payload, ctx) {
          const nonce = (payload as JsonObject).Nonce as string;
          await ctx.csp.replace(DHA_NONCE, nonce);
          const [certificate, correlationId] = await Promise.all([
            ctx.csp.get(DHA_CERTIFICATE),
            ctx.csp.get(DHA_CORRELATION_ID),
          ]);
          await ctx.sendMessage(
            {
              CorrelationId: String(correlationId),
              HealthCertificate: String(certificate),
              Nonce: nonce,
            },
            { [MESSAGE_TYPE]: DHA_HEALTH_REPORT },
          );
          ctx.log.info({ messageType: DHA_HEALTH_REPORT }, 'health attestation report sent');
          await setStatus(ctx, 'Reported');
          return { response: 'succeeded', reason: '' };
        },
      },
    ],
  };
}
