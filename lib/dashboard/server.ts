/**
 * The dashboard server (`iotdm dashboard`, `startDashboard`): node:http, the JSON API of
 * docs/dashboard-api.md under `/api/`, server-sent events, `/login`, and the static UI for every
 * other GET. Each request: security headers; Host check on loopback; the token when required;
 * CSRF/Origin on changing requests; then the route. Errors are `{ error: { code, message } }`.
 * The hub connection string lives in the hub clients only; logs carry method, path and status.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { ApiError, badRequest, notFound } from './errors';
import { connectHub, type HubClients } from './hub-client';
import { getDevice, getProfile, listDevices, putProfile, updateDesired } from './devices';
import { createJob, getJob, listJobs } from './jobs';
import { LiveWatcher } from './live';
import { invokeMethod } from './methods';
import { SECURITY_HEADERS, Security, isLoopback, readJsonBody } from './security';
import { defaultUiRoot, staticFile } from './static';
import { deviceId as checkDeviceId } from './validate';

export const DEFAULT_DASHBOARD_PORT = 8080;

export interface DashboardOptions {
  /** IoT Hub service connection string (kept on the server). */
  connectionString: string;
  /** PEM CA to trust for the hub (the local hub's). */
  ca?: string;
  /** Bind address; default 127.0.0.1. Anything else requires the token (`requireToken: false` is refused). */
  host?: string;
  /** Port; default 8080, 0 = ephemeral. */
  port?: number;
  /** Require the token on loopback too. */
  requireToken?: boolean;
  /** A fixed token instead of a random one (tests). */
  token?: string;
  /** The UI folder; default `<package>/ui/dashboard`. */
  uiRoot?: string;
  /** Twin poll interval of live updates (ms, default 1000). */
  pollIntervalMs?: number;
  /** Keep-alive comment interval of event streams (ms, default 15000). */
  keepAliveMs?: number;
  /** Event streams open at once (default 64; more answer 503). */
  maxEventStreams?: number;
  /** One line per request (method, path, status), never bodies or secrets. */
  log?: (line: string) => void;
}

export interface Dashboard {
  /** `http://host:port/` */
  url: string;
  /** The token, when required (also in `loginUrl`). */
  token?: string;
  /** `url` + `login?token=...` when a token is required. */
  loginUrl?: string;
  port: number;
  close(): Promise<void>;
}

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  params: string[];
}

type Handler = (ctx: Ctx) => Promise<unknown>;

interface Route {
  method: string;
  pattern: RegExp;
  run: Handler;
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Cache-Control': 'no-store',
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  // First: refuses an exposed bind without a token before anything is opened.
  const security = new Security({
    host,
    ...(options.requireToken !== undefined ? { requireToken: options.requireToken } : {}),
    ...(options.token !== undefined ? { token: options.token } : {}),
  });
  const hub: HubClients = connectHub(options.connectionString, options.ca);
  const live = new LiveWatcher(hub, {
    ...(options.pollIntervalMs !== undefined ? { intervalMs: options.pollIntervalMs } : {}),
    ...(options.keepAliveMs !== undefined ? { keepAliveMs: options.keepAliveMs } : {}),
    ...(options.maxEventStreams !== undefined ? { maxStreams: options.maxEventStreams } : {}),
  });
  const uiRoot = options.uiRoot ?? defaultUiRoot();
  const id = (ctx: Ctx): string => checkDeviceId(ctx.params[0]);
  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/api\/session$/,
      run: async () => ({ csrf: security.csrf, hub: { host: hub.host }, readOnly: false }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/devices$/,
      run: (c) => listDevices(hub, c.url.searchParams),
    },
    { method: 'GET', pattern: /^\/api\/devices\/([^/]+)$/, run: (c) => getDevice(hub, id(c)) },
    {
      method: 'PATCH',
      pattern: /^\/api\/devices\/([^/]+)\/desired$/,
      run: async (c) =>
        updateDesired(hub, id(c), await readJsonBody(c.req), header(c.req, 'if-match')),
    },
    {
      method: 'POST',
      pattern: /^\/api\/devices\/([^/]+)\/methods\/([^/]+)$/,
      run: async (c) => invokeMethod(hub, id(c), c.params[1]!, await readJsonBody(c.req)),
    },
    {
      method: 'GET',
      pattern: /^\/api\/devices\/([^/]+)\/profile$/,
      run: async (c) => {
        const device = id(c);
        const profile = await getProfile(hub, device);
        c.res.setHeader(
          'Content-Disposition',
          `attachment; filename="${device.replace(/[^A-Za-z0-9._-]/g, '_')}-profile.json"`,
        );
        return profile;
      },
    },
    {
      method: 'PUT',
      pattern: /^\/api\/devices\/([^/]+)\/profile$/,
      run: async (c) =>
        putProfile(hub, id(c), await readJsonBody(c.req), header(c.req, 'if-match')),
    },
    {
      method: 'POST',
      pattern: /^\/api\/jobs$/,
      run: async (c) => createJob(hub, await readJsonBody(c.req)),
    },
    { method: 'GET', pattern: /^\/api\/jobs$/, run: () => listJobs(hub) },
    { method: 'GET', pattern: /^\/api\/jobs\/([^/]+)$/, run: (c) => getJob(hub, c.params[0]!) },
  ];

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://dashboard');
    } catch {
      throw badRequest('malformed URL');
    }
    security.checkHost(req);
    const path = url.pathname;
    if (method === 'GET' && path === '/login') {
      const setCookie = security.login(url.searchParams.get('token'));
      res.writeHead(303, {
        ...SECURITY_HEADERS,
        Location: '/',
        'Cache-Control': 'no-store',
        ...(setCookie ? { 'Set-Cookie': setCookie } : {}),
      });
      res.end();
      return;
    }
    if (!security.authenticated(req)) {
      throw new ApiError(
        401,
        'Unauthorized',
        'a token is required: open the login URL printed at start',
      );
    }
    if (!['GET', 'HEAD'].includes(method)) security.checkChange(req);
    if (path === '/api/events') {
      if (method !== 'GET')
        throw new ApiError(405, 'MethodNotAllowed', `${method} ${path} is not allowed`);
      const device = url.searchParams.get('device');
      live.serve(
        req,
        res,
        device === null || device === '' ? undefined : checkDeviceId(device, 'device'),
      );
      return;
    }
    if (path.startsWith('/api/')) {
      const matching = routes.filter((r) => r.pattern.test(path));
      const route = matching.find((r) => r.method === method);
      if (!route) {
        if (matching.length > 0) {
          throw new ApiError(405, 'MethodNotAllowed', `${method} ${path} is not allowed`);
        }
        throw notFound(`no API at ${path}`);
      }
      let params: string[];
      try {
        params = route.pattern
          .exec(path)!
          .slice(1)
          .map((p) => decodeURIComponent(p));
      } catch {
        throw badRequest('malformed path');
      }
      const body = await route.run({ req, res, url, params });
      sendJson(res, 200, body);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      throw new ApiError(405, 'MethodNotAllowed', `${method} ${path} is not allowed`);
    }
    const file = await staticFile(uiRoot, path);
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': file.contentType,
      'Content-Length': String(file.body.length),
      'Cache-Control': 'no-cache',
    });
    res.end(method === 'HEAD' ? undefined : file.body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res)
      .catch((err: unknown) => {
        const e =
          err instanceof ApiError ? err : new ApiError(500, 'InternalError', 'internal error');
        if (!(err instanceof ApiError))
          options.log?.(`internal error: ${(err as Error)?.message ?? String(err)}`);
        if (res.headersSent) res.end();
        else
          sendJson(
            res,
            e.status,
            e.toJSON(),
            e.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {},
          );
      })
      .finally(() => {
        options.log?.(`${req.method ?? '?'} ${(req.url ?? '').split('?')[0]} ${res.statusCode}`);
      });
  });
  server.requestTimeout = 60000;
  server.headersTimeout = 20000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_DASHBOARD_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown =
    host === '0.0.0.0' || host === '::' ? os.hostname() : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${port}/`;
  return {
    url,
    port,
    ...(security.token !== undefined
      ? { token: security.token, loginUrl: `${url}login?token=${security.token}` }
      : {}),
    async close() {
      live.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await hub.close();
    },
  };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export { isLoopback };
