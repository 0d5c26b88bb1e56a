/**
 * Posting a device's health certificate to an attestation service. `HttpHasClient` speaks the
 * local HAS's JSON protocol (`./local-has.ts`): to `url` when given (e.g. the `--local-has` or
 * `--has-url` service), else to `https://<device's HAS endpoint>/DeviceHealthAttestation/
 * ValidateHealthCertificate/v3`. The real Microsoft HAS's XML protocol
 * (HealthCertificateValidationRequest / DHA-Report v3) is not implemented (docs/attest.md).
 */
import { VALIDATE_PATH, type HealthReport, type ValidateRequest } from './local-has';

export interface HasClient {
  /** `endpoint`: the HAS host the device was told to use. */
  validate(endpoint: string, request: ValidateRequest): Promise<HealthReport>;
}

export class HttpHasClient implements HasClient {
  readonly #url: string | undefined;
  readonly #timeoutMs: number;

  constructor(options: { url?: string; timeoutMs?: number } = {}) {
    this.#url = options.url;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  async validate(endpoint: string, request: ValidateRequest): Promise<HealthReport> {
    const url = this.#url ?? `https://${endpoint.replace(/\.$/, '')}${VALIDATE_PATH}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await res.text();
    if (!res.ok)
      throw new Error(`the attestation service answered ${res.status}: ${text.slice(0, 200)}`);
    const body = JSON.parse(text) as HealthReport;
    if (typeof body.ErrorCode !== 'number') {
      throw new Error('the attestation service answered without an ErrorCode');
    }
    return body;
  }
}
