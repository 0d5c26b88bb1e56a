/**
 * The dashboard's safety rules: loopback by default; bound elsewhere, a random token (printed at
 * start) is required (a bind off loopback with `requireToken: false` is refused), as `Authorization: Bearer <token>` or the HttpOnly SameSite=Strict cookie
 * that `GET /login?token=` sets. Changing requests need the session's CSRF token in
 * `X-Csrf-Token` and, when the browser sends one, an `Origin` equal to the server's own. On a
 * loopback bind the `Host` header must name a loopback host (no DNS rebinding). Every answer
 * carries security headers with a Content-Security-Policy that allows this origin only.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors';
import { ApiError } from './errors';

export const COOKIE_NAME = 'iotdm_dashboard';
export const CSRF_HEADER = 'x-csrf-token';
/** Largest JSON body accepted (a desired profile fits easily). */
export const MAX_BODY_BYTES = 64 * 1024;

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
    "frame-ancestors 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
};

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

const newSecret = (): string => randomBytes(24).toString('base64url');

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookie(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

export interface SecurityOptions {
  /** The bind address. */
  host: string;
  /** Require the token even on loopback (default: only off loopback). */
  requireToken?: boolean;
  /** A fixed token (tests); default a random one when required. */
  token?: string;
}

export class Security {
  readonly token: string | undefined;
  readonly csrf = newSecret();
  private readonly loopback: boolean;

  constructor(options: SecurityOptions) {
    this.loopback = isLoopback(options.host);
    if (!this.loopback && options.requireToken === false) {
      // Exposed without a token, anyone on the network could read twins and call methods.
      throw new InvalidArgumentError(
        'requireToken',
        `true (or unset) when bound off loopback (${options.host})`,
        false,
      );
    }
    const required = options.requireToken ?? !this.loopback;
    this.token = required ? (options.token ?? newSecret()) : undefined;
  }

  /** 403 for a foreign `Host` on a loopback bind (DNS rebinding). */
  checkHost(req: http.IncomingMessage): void {
    if (!this.loopback) return;
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!isLoopback(host)) {
      throw new ApiError(403, 'Forbidden', `host ${JSON.stringify(host)} is not this server`);
    }
  }

  /** Whether the request carries the token (always true when none is required). */
  authenticated(req: http.IncomingMessage): boolean {
    if (this.token === undefined) return true;
    const auth = req.headers.authorization;
    if (
      typeof auth === 'string' &&
      /^Bearer /i.test(auth) &&
      same(auth.slice(7).trim(), this.token)
    ) {
      return true;
    }
    const c = cookie(req, COOKIE_NAME);
    return c !== undefined && same(c, this.token);
  }

  /** `GET /login?token=`: the cookie to set, or 401. */
  login(token: string | null): string {
    if (this.token === undefined) return '';
    if (token === null || !same(token, this.token)) {
      throw new ApiError(
        401,
        'Unauthorized',
        'wrong or missing token: use the URL printed at start',
      );
    }
    return `${COOKIE_NAME}=${this.token}; HttpOnly; SameSite=Strict; Path=/`;
  }

  /** CSRF token and Origin of a changing request; 403 otherwise. */
  checkChange(req: http.IncomingMessage): void {
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !same(sent, this.csrf)) {
      throw new ApiError(
        403,
        'CsrfRejected',
        `missing or wrong ${CSRF_HEADER} header (GET /api/session)`,
      );
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) {
      throw new ApiError(
        403,
        'CsrfRejected',
        `origin ${JSON.stringify(origin)} is not this server`,
      );
    }
  }
}

/** Reads a JSON body up to `MAX_BODY_BYTES` (413 beyond, 415 not JSON, 400 bad JSON). */
export async function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'];
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new ApiError(413, 'TooLarge', `the request body exceeds ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  if (typeof type !== 'string' || !/^application\/json\b/i.test(type)) {
    throw new ApiError(415, 'UnsupportedMediaType', 'send JSON (Content-Type: application/json)');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new ApiError(400, 'BadRequest', 'the request body is not valid JSON');
  }
}
