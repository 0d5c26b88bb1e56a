/**
 * `AttestService`: the service side of Device Health Attestation (`iotdm attest`), replacing the
 * original's Azure Functions (NonceRequestHandler, ReportRequestHandler, HealthInspector):
 *
 *   - `DHA-Nonce` message from a device: a random nonce (16 bytes, hex) is stored as issued to
 *     that device and `windows.deviceHealthAttestationGetReport { Nonce }` is invoked on it;
 *   - `DHA-HealthReport` message `{ CorrelationId, HealthCertificate, Nonce? }`: the nonce (the
 *     message's, else the device's latest outstanding one) must have been issued to that device,
 *     unused and within `nonceTtlMs`; the device's desired HAS endpoint is read from its twin
 *     (`windows.deviceHealthAttestation.Endpoint`, "" → the Microsoft default); certificate +
 *     nonce go to the attestation service; the answer is stored (SQLite, `ReportStore`) and the
 *     remediation policy runs: each matching rule's method is invoked on the device.
 *
 * Every decision is logged (device, step, outcome); certificates and keys are never logged.
 * Events (for hosts and tests): `nonce` (deviceId, nonce), `report` (StoredReport),
 * `remediation` ({ deviceId, rule, method, status }), `rejected` ({ deviceId, reason }).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Json, JsonObject } from '../dm/handler';
import type { Logger } from '../dm/logger';
import { planSection } from '../dm/switches';
import {
  DEFAULT_HAS_ENDPOINT,
  DHA_HEALTH_REPORT,
  DHA_NONCE_REQUEST,
  GET_REPORT_METHOD,
  MESSAGE_TYPE,
} from '../features/health-attestation';
import type { D2CMessage, D2CSource } from './d2c-source';
import type { HasClient } from './has-client';
import type { HealthReport } from './local-has';
import { matchingRules, type Policy } from './policy';
import type { ReportStore, StoredReport } from './report-store';

/** What is used of `azure-iothub`'s `Registry`. */
export interface TwinReader {
  getTwin(deviceId: string): Promise<{ responseBody: { properties?: { desired?: unknown } } }>;
}

/** What is used of `azure-iothub`'s `Client`. */
export interface MethodInvoker {
  invokeDeviceMethod(
    deviceId: string,
    params: { methodName: string; payload?: unknown; responseTimeoutInSeconds?: number },
  ): Promise<{ result: unknown }>;
}

export interface AttestServiceOptions {
  source: D2CSource;
  registry: TwinReader;
  client: MethodInvoker;
  has: HasClient;
  store: ReportStore;
  policy: Policy;
  logger: Logger;
  /** How long an issued nonce may be answered (ms). Default 10 minutes. */
  nonceTtlMs?: number;
  /** Direct-method response timeout (s). Default 30. */
  methodTimeoutSeconds?: number;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class AttestService extends EventEmitter {
  readonly #o: AttestServiceOptions;

  constructor(options: AttestServiceOptions) {
    super();
    this.#o = options;
  }

  /**
   * Starts reading device messages after position `after` (default: the last one handled, kept
   * in the store, so a restart neither skips nor repeats messages).
   */
  start(after = this.#o.store.position()): void {
    this.#o.source.start(async (m) => {
      try {
        await this.handle(m);
      } finally {
        this.#o.store.setPosition(m.seq);
      }
    }, after);
  }

  async close(): Promise<void> {
    await this.#o.source.close();
  }

  /** Handles one device message (exposed for tests). */
  async handle(m: D2CMessage): Promise<void> {
    const type = m.properties[MESSAGE_TYPE];
    if (type === DHA_NONCE_REQUEST) await this.#onNonceRequest(m.deviceId);
    else if (type === DHA_HEALTH_REPORT) await this.#onHealthReport(m);
  }

  #log(deviceId: string): Logger {
    return this.#o.logger.child({ deviceId });
  }

  #reject(deviceId: string, reason: string): void {
    this.#log(deviceId).warn({ reason }, 'health report rejected');
    this.emit('rejected', { deviceId, reason });
  }

  async #invoke(deviceId: string, methodName: string, payload: Json): Promise<number> {
    const r = await this.#o.client.invokeDeviceMethod(deviceId, {
      methodName,
      payload,
      responseTimeoutInSeconds: this.#o.methodTimeoutSeconds ?? 30,
    });
    const status = isObject(r.result) ? Number(r.result.status) : Number.NaN;
    return Number.isFinite(status) ? status : 0;
  }

  async #onNonceRequest(deviceId: string): Promise<void> {
    const log = this.#log(deviceId);
    const nonce = randomBytes(16).toString('hex');
    this.#o.store.issueNonce(deviceId, nonce);
    log.info({ step: 'nonce' }, 'nonce issued; asking the device for its health report');
    this.emit('nonce', deviceId, nonce);
    try {
      const status = await this.#invoke(deviceId, GET_REPORT_METHOD, { Nonce: nonce });
      if (status === 200) log.info({ step: 'getReport', status }, 'device accepted the nonce');
      else log.warn({ step: 'getReport', status }, 'device refused the nonce');
    } catch (err) {
      log.warn({ step: 'getReport', err: message(err) }, 'invoking getReport failed');
    }
  }

  /** The device's desired HAS endpoint ("" or absent → the Microsoft default). */
  async #desiredEndpoint(deviceId: string): Promise<string> {
    const twin = await this.#o.registry.getTwin(deviceId);
    const desired = twin.responseBody.properties?.desired;
    const windows = isObject(desired) ? desired.windows : undefined;
    const section = isObject(windows) ? windows.deviceHealthAttestation : undefined;
    if (section === undefined) return DEFAULT_HAS_ENDPOINT;
    const plan = planSection('deviceHealthAttestation', section as Json);
    const endpoint = plan.apply?.Endpoint;
    return typeof endpoint === 'string' && endpoint.trim() !== ''
      ? endpoint.trim()
      : DEFAULT_HAS_ENDPOINT;
  }

  async #onHealthReport(m: D2CMessage): Promise<void> {
    const deviceId = m.deviceId;
    const log = this.#log(deviceId);
    let body: unknown;
    try {
      body = JSON.parse(m.body.toString('utf8'));
    } catch {
      this.#reject(deviceId, 'the health report is not JSON');
      return;
    }
    if (
      !isObject(body) ||
      typeof body.HealthCertificate !== 'string' ||
      typeof body.CorrelationId !== 'string' ||
      (body.Nonce !== undefined && typeof body.Nonce !== 'string')
    ) {
      this.#reject(deviceId, 'the health report lacks HealthCertificate/CorrelationId');
      return;
    }
    const ttl = this.#o.nonceTtlMs ?? 10 * 60_000;
    const nonce =
      typeof body.Nonce === 'string'
        ? body.Nonce
        : this.#o.store.latestOutstandingNonce(deviceId, ttl);
    if (nonce === undefined) {
      this.#reject(deviceId, 'no nonce outstanding for this device');
      return;
    }
    const check = this.#o.store.takeNonce(deviceId, nonce, ttl);
    if (check !== 'ok') {
      this.#reject(deviceId, `nonce ${check}`);
      return;
    }
    let endpoint: string;
    let report: HealthReport;
    try {
      endpoint = await this.#desiredEndpoint(deviceId);
      report = await this.#o.has.validate(endpoint, {
        Nonce: nonce,
        HealthCertificateBlob: body.HealthCertificate,
        CorrelationId: body.CorrelationId,
        Endpoint: endpoint,
      });
    } catch (err) {
      this.#reject(deviceId, `attestation service: ${message(err)}`);
      return;
    }
    const props = report.HealthCertificateProperties;
    const valid = report.ErrorCode === 0;
    const stored: StoredReport = {
      deviceId,
      time: new Date().toISOString(),
      correlationId: body.CorrelationId,
      nonce,
      valid,
      secureBoot: typeof props?.SecureBootEnabled === 'boolean' ? props.SecureBootEnabled : null,
      report,
    };
    this.#o.store.addReport(stored);
    log.info(
      {
        step: 'report',
        endpoint,
        valid,
        errorCode: report.ErrorCode,
        ...(valid ? {} : { error: report.ErrorMessage }),
        secureBoot: stored.secureBoot,
      },
      'health report stored',
    );
    this.emit('report', stored);
    const facts: JsonObject = { valid, ...((props ?? {}) as JsonObject) };
    for (const rule of matchingRules(this.#o.policy, facts)) {
      let status: number;
      try {
        status = await this.#invoke(deviceId, rule.method, rule.payload ?? null);
      } catch (err) {
        log.error(
          { step: 'remediation', rule: rule.name, method: rule.method, err: message(err) },
          'remediation failed',
        );
        this.emit('remediation', { deviceId, rule: rule.name, method: rule.method, status: 0 });
        continue;
      }
      log.warn(
        { step: 'remediation', rule: rule.name, method: rule.method, status },
        'remediation invoked',
      );
      this.emit('remediation', { deviceId, rule: rule.name, method: rule.method, status });
    }
  }
}
