/**
 * A local stand-in for the Health Attestation Service (HAS), for `iotdm attest --local-has` and
 * the tests: plain HTTP on loopback. It validates what the CSP emulator's
 * HealthAttestation/Certificate produces (native/emulator/health_attestation.h: base64 of an
 * "EMULATED DHA-Data" text of `Key: value` lines ending with a SHA-256 `Digest`), never a real
 * Windows health certificate.
 *
 * `POST /DeviceHealthAttestation/ValidateHealthCertificate/v3` with JSON
 * `{ Nonce, HealthCertificateBlob, CorrelationId?, Endpoint? }` (the real HAS takes an XML
 * `HealthCertificateValidationRequest`; this one takes the same facts as JSON). Checks: the blob
 * decodes to an emulated DHA-Data text; the Digest matches the lines before it; its Nonce equals
 * the one sent (hex, case-insensitive); its CorrelationID equals `CorrelationId` when given; its
 * HASEndpoint equals `Endpoint` when given (case and a final dot ignored); its Issued time is not
 * in the future (5 min skew) nor older than `maxAgeSeconds`. Answer 200 with the DHA-Report
 * fields as JSON: `{ ErrorCode: 0, ErrorMessage: "", ProtocolVersion: 3,
 * HealthCertificateProperties: { Issued, AIKPresent, RestartCount, SecureBootEnabled,
 * TpmVersion, DevId, CorrelationID } }`, or `ErrorCode` ≠ 0 with the reason (no properties).
 * A request that is not such JSON answers 400.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const VALIDATE_PATH = '/DeviceHealthAttestation/ValidateHealthCertificate/v3';
const MARK = 'EMULATED DHA-Data';
const SKEW_SECONDS = 300;
const MAX_REQUEST = 64 * 1024;

export interface HealthCertificateProperties {
  [key: string]: string | number | boolean;
  Issued: string;
  AIKPresent: boolean;
  RestartCount: number;
  SecureBootEnabled: boolean;
  TpmVersion: string;
  DevId: string;
  CorrelationID: string;
}

export interface HealthReport {
  ErrorCode: number;
  ErrorMessage: string;
  ProtocolVersion: number;
  HealthCertificateProperties?: HealthCertificateProperties;
}

export interface ValidateRequest {
  Nonce: string;
  HealthCertificateBlob: string;
  CorrelationId?: string;
  Endpoint?: string;
}

/** Error codes of the local HAS (ErrorCode ≠ 0). */
export const HAS_ERRORS = {
  malformed: 1,
  digest: 2,
  nonce: 3,
  correlation: 4,
  endpoint: 5,
  stale: 6,
} as const;

const normalizeHost = (h: string): string => h.trim().toLowerCase().replace(/\.$/, '');

/** Validates one request (pure; `now` in ms). */
export function validateHealthCertificate(
  request: ValidateRequest,
  options: { now?: number; maxAgeSeconds?: number } = {},
): HealthReport {
  const fail = (code: number, message: string): HealthReport => ({
    ErrorCode: code,
    ErrorMessage: message,
    ProtocolVersion: 3,
  });
  const blob = request.HealthCertificateBlob;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob) || blob.length % 4 !== 0) {
    return fail(HAS_ERRORS.malformed, 'the health certificate is not base64');
  }
  const text = Buffer.from(blob, 'base64').toString('utf8');
  if (!text.startsWith(MARK)) {
    return fail(HAS_ERRORS.malformed, 'the health certificate is not emulated DHA-Data');
  }
  const at = text.lastIndexOf('\nDigest: ');
  if (at < 0) return fail(HAS_ERRORS.malformed, 'the health certificate has no Digest');
  const signed = text.slice(0, at + 1);
  const digest = text.slice(at + '\nDigest: '.length).trim();
  if (createHash('sha256').update(signed, 'utf8').digest('hex') !== digest.toLowerCase()) {
    return fail(HAS_ERRORS.digest, 'the health certificate Digest does not match its content');
  }
  const fields = new Map<string, string>();
  for (const line of signed.split('\n').slice(1)) {
    const colon = line.indexOf(': ');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 2));
    else if (line.endsWith(':')) fields.set(line.slice(0, -1), '');
  }
  if ((fields.get('Nonce') ?? '').toLowerCase() !== request.Nonce.toLowerCase()) {
    return fail(HAS_ERRORS.nonce, 'the health certificate is not bound to this nonce');
  }
  const correlation = fields.get('CorrelationID') ?? '';
  if (request.CorrelationId !== undefined && request.CorrelationId !== correlation) {
    return fail(HAS_ERRORS.correlation, 'the correlation id does not match the certificate');
  }
  const endpoint = fields.get('HASEndpoint') ?? '';
  if (
    request.Endpoint !== undefined &&
    normalizeHost(request.Endpoint) !== normalizeHost(endpoint)
  ) {
    return fail(
      HAS_ERRORS.endpoint,
      `the device attested against ${JSON.stringify(endpoint)}, not ${JSON.stringify(request.Endpoint)}`,
    );
  }
  const issued = Date.parse(fields.get('Issued') ?? '');
  const now = options.now ?? Date.now();
  const maxAge = options.maxAgeSeconds ?? 7 * 24 * 3600;
  if (!Number.isFinite(issued)) return fail(HAS_ERRORS.malformed, 'no Issued time');
  if (issued > now + SKEW_SECONDS * 1000 || now - issued > maxAge * 1000) {
    return fail(HAS_ERRORS.stale, `the health certificate was issued at ${fields.get('Issued')}`);
  }
  const secureBoot = fields.get('SecureBootEnabled');
  if (secureBoot !== 'true' && secureBoot !== 'false') {
    return fail(HAS_ERRORS.malformed, 'the health certificate has no SecureBootEnabled');
  }
  return {
    ErrorCode: 0,
    ErrorMessage: '',
    ProtocolVersion: 3,
    HealthCertificateProperties: {
      Issued: fields.get('Issued') as string,
      AIKPresent: fields.get('AIKPresent') === 'true',
      RestartCount: Number(fields.get('RestartCount') ?? 0),
      SecureBootEnabled: secureBoot === 'true',
      TpmVersion: fields.get('TpmVersion') ?? '',
      DevId: fields.get('DevId') ?? '',
      CorrelationID: correlation,
    },
  };
}

function parseRequest(body: unknown): ValidateRequest | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'not a JSON object';
  const b = body as Record<string, unknown>;
  if (typeof b.Nonce !== 'string' || !/^(?:[0-9A-Fa-f]{2}){8,32}$/.test(b.Nonce)) {
    return 'Nonce must be 8-32 bytes of hex';
  }
  if (typeof b.HealthCertificateBlob !== 'string' || b.HealthCertificateBlob === '') {
    return 'HealthCertificateBlob is required';
  }
  for (const k of ['CorrelationId', 'Endpoint'] as const) {
    if (b[k] !== undefined && typeof b[k] !== 'string') return `${k} must be a string`;
  }
  return {
    Nonce: b.Nonce,
    HealthCertificateBlob: b.HealthCertificateBlob,
    ...(typeof b.CorrelationId === 'string' ? { CorrelationId: b.CorrelationId } : {}),
    ...(typeof b.Endpoint === 'string' ? { Endpoint: b.Endpoint } : {}),
  };
}

export interface LocalHasOptions {
  /** Port on 127.0.0.1; 0 (default) = ephemeral. */
  port?: number;
  maxAgeSeconds?: number;
}

export class LocalHas {
  readonly #server: http.Server;
  readonly #options: LocalHasOptions;

  private constructor(server: http.Server, options: LocalHasOptions) {
    this.#server = server;
    this.#options = options;
  }

  static async start(options: LocalHasOptions = {}): Promise<LocalHas> {
    const server = http.createServer();
    const has = new LocalHas(server, options);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      void has.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return has;
  }

  /** The validation URL. */
  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}${VALIDATE_PATH}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const answer = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': String(Buffer.byteLength(text)),
      });
      res.end(text);
    };
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== VALIDATE_PATH) {
      answer(404, { ErrorMessage: `${req.method} ${req.url} is not served` });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size <= MAX_REQUEST) chunks.push(c);
    }
    if (size > MAX_REQUEST) {
      answer(413, { ErrorMessage: 'request too large' });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      answer(400, { ErrorMessage: 'the request is not JSON' });
      return;
    }
    const request = parseRequest(body);
    if (typeof request === 'string') {
      answer(400, { ErrorMessage: request });
      return;
    }
    answer(
      200,
      validateHealthCertificate(request, {
        ...(this.#options.maxAgeSeconds !== undefined
          ? { maxAgeSeconds: this.#options.maxAgeSeconds }
          : {}),
      }),
    );
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
