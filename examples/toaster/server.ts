/**
 * The toaster's page and its small JSON API on 127.0.0.1 (node:http):
 *
 *   GET  /                    ui/index.html (+ /toaster.js, /toaster.css): no external assets
 *   GET  /api/state           the toaster, the reboot prompt, the DM state, the CSRF token
 *   POST /api/toast           { "action": "start" | "stop" }
 *   POST /api/darkness        { "level": 1..10 }
 *   POST /api/reboot          { "answer": "allow" | "deny" }
 *   POST /api/telemetry       { "level": "security" | "basic" | "full" }
 *   POST /api/report-all      the DM client reports every section again
 *
 * Loopback only: the Host header must name a loopback host (no DNS rebinding); every POST needs
 * `X-Csrf-Token` (from /api/state, which another site cannot read), a JSON body (≤ 4 KB) and, when
 * the browser sends Origin, this origin. Answers carry a strict Content-Security-Policy (no inline
 * script). Bad input: 400 `{ "error": "<message>" }`.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from '../../lib';
import type { ToasterApp } from './app';
import { RebootGateError } from './reboot-gate';
import { ToasterError } from './toaster';

const UI = path.join(__dirname, 'ui');
const STATIC: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/toaster.js': ['toaster.js', 'text/javascript; charset=utf-8'],
  '/toaster.css': ['toaster.css', 'text/css; charset=utf-8'],
};
const HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};
const LOOPBACK = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;
const MAX_BODY = 4096;

export interface ToasterServer {
  url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    ...HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    throw new HttpError(415, 'expected a JSON body (Content-Type: application/json)');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new HttpError(400, 'the body must be a JSON object');
  }
  return v as Record<string, unknown>;
}

export async function startToasterServer(
  app: ToasterApp,
  o: { port: number; log: Logger },
): Promise<ToasterServer> {
  const csrf = randomBytes(24).toString('base64url');
  let origin = '';

  async function post(route: string, body: Record<string, unknown>): Promise<unknown> {
    switch (route) {
      case '/api/toast':
        if (body.action === 'start') app.toaster.start();
        else if (body.action === 'stop') app.toaster.stop();
        else throw new HttpError(400, 'action must be "start" or "stop"');
        break;
      case '/api/darkness':
        app.toaster.setDarkness(body.level);
        break;
      case '/api/reboot':
        if (body.answer === 'allow') await app.gate.allow();
        else if (body.answer === 'deny') app.gate.deny();
        else throw new HttpError(400, 'answer must be "allow" or "deny"');
        break;
      case '/api/telemetry':
        await app.setTelemetryLevel(body.level);
        break;
      case '/api/report-all':
        await app.dm.reportNow();
        await app.dm.flushReports();
        break;
      default:
        throw new HttpError(404, 'no such API');
    }
    return app.view();
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!LOOPBACK.test(req.headers.host ?? '')) throw new HttpError(403, 'not a loopback host');
    const route = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (route === '/api/state') return send(res, 200, { ...app.view(), csrf });
      const file = STATIC[route];
      if (!file) throw new HttpError(404, 'not found');
      const data = await readFile(path.join(UI, file[0]));
      res.writeHead(200, { ...HEADERS, 'Content-Type': file[1], 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : data);
      return;
    }
    if (req.method !== 'POST') throw new HttpError(405, 'method not allowed');
    if (req.headers['x-csrf-token'] !== csrf)
      throw new HttpError(403, 'missing or wrong X-Csrf-Token');
    const from = req.headers.origin;
    if (
      from !== undefined &&
      from !== origin &&
      from.replace('localhost', '127.0.0.1') !== origin
    ) {
      throw new HttpError(403, 'cross-origin request refused');
    }
    send(res, 200, await post(route, await readJson(req)));
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status =
        err instanceof HttpError
          ? err.status
          : err instanceof ToasterError || (err as Error).name === 'ToasterInputError'
            ? 400
            : err instanceof RebootGateError
              ? 409
              : 500;
      if (status === 500) o.log.error({ err: String(err) }, 'request failed');
      if (!res.headersSent) send(res, status, { error: (err as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
