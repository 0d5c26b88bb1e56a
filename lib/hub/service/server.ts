/**
 * The service side of the local IoT Hub: the REST subset the `azure-iothub` SDK (`Registry`,
 * `Client.invokeDeviceMethod`) uses, over HTTPS with the hub's TLS material, and optionally over
 * plain HTTP on a Unix socket (the SDK speaks plain HTTP when its host is `{socketPath}`).
 *
 * | request | right | answer |
 * |---|---|---|
 * | `GET /devices[?top=n]` | RegistryRead | 200, device list |
 * | `GET /devices/{id}` | RegistryRead | 200 device, 404 DeviceNotFound |
 * | `PUT /devices/{id}` | RegistryWrite | 200 device; no `If-Match`: create (409 DeviceAlreadyExists); with `If-Match` (`*` or etag): update (404, 412) |
 * | `DELETE /devices/{id}` | RegistryWrite | 204; `If-Match` as above |
 * | `POST /devices/query` | RegistryRead | 200 rows of `lib/hub/query` `runQuery` (page size `x-ms-max-item-count`, `x-ms-continuation` both ways); 400 for a bad query |
 * | `GET /twins/{id}` | RegistryRead | 200 twin |
 * | `PATCH /twins/{id}` / `PUT /twins/{id}` | RegistryWrite | 200 twin; `If-Match` → 412 PreconditionFailed |
 * | `POST /twins/{id}/methods` | ServiceConnect | 200 `{status, payload}`; 404 DeviceNotOnline, 504 GatewayTimeout, 400 bad timeout |
 * | `/jobs/v2/...` | see `lib/hub/jobs/routes.ts` | jobs v2 (`JobClient`) |
 * | `GET /messages/events?after=&wait=&deviceId=&limit=` | ServiceConnect | 200 `{messages, last}`: stored device-to-cloud messages after sequence `after`, long poll up to `wait` ms (local hub only; see `./messages.ts`) |
 *
 * Errors are `HubError.toRestBody()` (`{"Message":"ErrorCode:Name;text",...}`) with the error's
 * HTTP status, which `azure-iothub` turns into its error classes (400 ArgumentError, 401
 * UnauthorizedError, 404 DeviceNotFoundError, 409 DeviceAlreadyExistsError, 412 InvalidEtagError,
 * 504 GatewayTimeoutError). `?api-version=` is accepted whatever its value (the SDK sends
 * `2021-04-12`).
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { promises as fsp } from 'node:fs';
import type { HubCore } from '../core';
import { METHOD_TIMEOUT } from '../core';
import { HubError, argumentInvalid, toHubError } from '../errors';
import { deviceJson } from '../registry/registry';
import type { HubRight } from '../registry/policies';
import { runQuery, type QueryPage } from '../query';
import { authorizeService } from './auth';
import { jobRoute } from '../jobs/routes';
import { CONTROL_PREFIX, handleControlRequest, type HubControl } from '../control';
import { MESSAGES_RESOURCE, readMessages } from './messages';

/** Largest request body accepted (IoT Hub: 256 KB for methods and 8 KB+ for twins). */
export const MAX_BODY_BYTES = 256 * 1024;

/** Runs an IoT Hub query over the hub; default `runQuery` of `lib/hub/query`. */
export type RunQuery = (
  core: HubCore,
  query: string,
  options: { continuationToken?: string; pageSize?: number },
) => QueryPage;

export interface ServiceApiOptions {
  core: HubCore;
  /** Server certificate and key (PEM) for HTTPS. */
  tls: { cert: string; key: string };
  /** HTTPS port; 0 = ephemeral. Omit (or `false`) for no TCP listener. */
  port?: number | false;
  /** Bind address; default 127.0.0.1. */
  bindAddress?: string;
  /** Plain HTTP on a Unix socket (tests, IoT Edge style). */
  socketPath?: string;
  /** Host names the service tokens' `sr` may use, besides localhost, 127.0.0.1 and ::1. */
  hostNames?: readonly string[];
  /** `POST /devices/query`; default `runQuery` from `lib/hub/query`. */
  runQuery?: RunQuery;
  /** Fault injection: injected 429/500 answers, and the `/$control` routes (iothubowner only). */
  control?: HubControl;
}

interface Route {
  right: HubRight;
  resource: string;
  run: (ctx: RequestContext) => Promise<Reply> | Reply;
}

interface RequestContext {
  req: http.IncomingMessage;
  body: unknown;
  ifMatch: string | undefined;
  query: URLSearchParams;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export class ServiceApi {
  private readonly options: ServiceApiOptions;
  private httpsServer?: https.Server;
  private unixServer?: http.Server;

  constructor(options: ServiceApiOptions) {
    this.options = options;
  }

  /** Starts the listeners; resolves with the HTTPS port (when listening on TCP). */
  async start(): Promise<{ port?: number }> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void this.handle(req, res);
    };
    let port: number | undefined;
    if (this.options.port !== undefined && this.options.port !== false) {
      const server = https.createServer(
        {
          cert: this.options.tls.cert,
          key: this.options.tls.key,
          minVersion: 'TLSv1.2',
          noDelay: true,
        },
        handler,
      );
      this.httpsServer = server;
      await listen(server, () =>
        server.listen(this.options.port as number, this.options.bindAddress ?? '127.0.0.1'),
      );
      port = (server.address() as AddressInfo).port;
    }
    if (this.options.socketPath) {
      const socketPath = this.options.socketPath;
      await fsp.rm(socketPath, { force: true });
      const server = http.createServer(handler);
      this.unixServer = server;
      await listen(server, () => server.listen(socketPath));
    }
    return port === undefined ? {} : { port };
  }

  get port(): number | undefined {
    return (this.httpsServer?.address() as AddressInfo | null | undefined)?.port;
  }

  async close(): Promise<void> {
    await Promise.all([closeServer(this.httpsServer), closeServer(this.unixServer)]);
    this.httpsServer = undefined;
    this.unixServer = undefined;
  }

  /** Host names a token's `sr` may start with. */
  private acceptedHostNames(): string[] {
    const base = ['localhost', '127.0.0.1', '::1', '[::1]', ...(this.options.hostNames ?? [])];
    const port = this.port;
    return port === undefined ? base : [...base, ...base.map((h) => `${h}:${port}`)];
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.dispatch(req);
    } catch (err) {
      const e = toHubError(err);
      reply = { status: e.status, body: e.toRestBody() };
    }
    send(res, reply);
  }

  private async dispatch(req: http.IncomingMessage): Promise<Reply> {
    const url = new URL(req.url ?? '/', 'https://hub');
    const segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
    const method = (req.method ?? 'GET').toUpperCase();
    const control = this.options.control;
    if (control && segments[0] === CONTROL_PREFIX) {
      const policy = authorizeService({
        authorization: req.headers.authorization,
        policies: this.options.core.registry.policies(),
        hostNames: this.acceptedHostNames(),
        resourcePath: CONTROL_PREFIX,
        right: 'RegistryWrite',
      });
      if (policy.keyName !== 'iothubowner') {
        throw new HubError('IotHubUnauthorizedAccess', 'Unauthorized: /$control needs iothubowner');
      }
      return handleControlRequest(control, method, segments.slice(1), await readJson(req));
    }
    const route = this.route(method, segments);
    if (!route) {
      return notFoundOrNotAllowed(method, segments);
    }
    authorizeService({
      authorization: req.headers.authorization,
      policies: this.options.core.registry.policies(),
      hostNames: this.acceptedHostNames(),
      resourcePath: route.resource,
      right: route.right,
    });
    const fault = control?.restFault();
    if (fault) throw fault;
    const body = await readJson(req);
    const ifMatch = header(req, 'if-match');
    return route.run({ req, body, ifMatch, query: url.searchParams });
  }

  private route(method: string, s: string[]): Route | undefined {
    const core = this.options.core;
    if (s[0] === 'devices') {
      if (s.length === 1 && method === 'GET') {
        return {
          right: 'RegistryRead',
          resource: 'devices',
          run: ({ query }) => {
            const top = query.get('top');
            let list = core.registry.list().map(deviceJson);
            if (top !== null) {
              const n = Number(top);
              if (!Number.isInteger(n) || n < 0) throw argumentInvalid(`top must be a count`);
              list = list.slice(0, n);
            }
            return { status: 200, body: list };
          },
        };
      }
      if (s.length === 2 && s[1] === 'query' && method === 'POST') {
        return { right: 'RegistryRead', resource: 'devices', run: (ctx) => this.query(ctx) };
      }
      if (s.length === 2) {
        const id = s[1]!;
        const resource = `devices/${id}`;
        if (method === 'GET') {
          return {
            right: 'RegistryRead',
            resource,
            run: () => withEtag(deviceJson(core.registry.get(id))),
          };
        }
        if (method === 'PUT') {
          return {
            right: 'RegistryWrite',
            resource,
            run: ({ body, ifMatch }) => withEtag(deviceJson(core.putDevice(id, body, ifMatch))),
          };
        }
        if (method === 'DELETE') {
          return {
            right: 'RegistryWrite',
            resource,
            run: ({ ifMatch }) => {
              core.deleteDevice(id, ifMatch);
              return { status: 204 };
            },
          };
        }
      }
      return undefined;
    }
    if (s[0] === 'jobs') {
      return jobRoute(core, core.jobs, method, s, (req, right) => {
        authorizeService({
          authorization: req.headers.authorization,
          policies: core.registry.policies(),
          hostNames: this.acceptedHostNames(),
          resourcePath: 'jobs',
          right,
        });
      });
    }
    if (s[0] === 'messages' && s[1] === 'events' && s.length === 2 && method === 'GET') {
      return {
        right: 'ServiceConnect',
        resource: MESSAGES_RESOURCE,
        run: async ({ query, req }) => ({
          status: 200,
          body: await readMessages(core, query, req),
        }),
      };
    }
    if (s[0] === 'twins' && s.length >= 2) {
      const id = s[1]!;
      const resource = `devices/${id}`;
      if (s.length === 2) {
        if (method === 'GET') {
          return { right: 'RegistryRead', resource, run: () => withEtag(core.getTwin(id)) };
        }
        if (method === 'PATCH') {
          return {
            right: 'RegistryWrite',
            resource,
            run: ({ body, ifMatch }) => withEtag(core.updateTwin(id, body, ifMatch)),
          };
        }
        if (method === 'PUT') {
          return {
            right: 'RegistryWrite',
            resource,
            run: ({ body, ifMatch }) => withEtag(core.replaceTwin(id, body, ifMatch)),
          };
        }
      }
      if (s.length === 3 && s[2] === 'methods' && method === 'POST') {
        return {
          right: 'ServiceConnect',
          resource,
          run: async ({ body }) => ({ status: 200, body: await this.invoke(id, body) }),
        };
      }
    }
    return undefined;
  }

  private query({ body, req }: RequestContext): Reply {
    const q = (body as { query?: unknown } | undefined)?.query;
    if (typeof q !== 'string' || q.trim() === '') throw argumentInvalid('The query is missing');
    const continuationToken = header(req, 'x-ms-continuation');
    const max = header(req, 'x-ms-max-item-count');
    const run = this.options.runQuery ?? runQuery;
    const page = run(this.options.core, q, {
      ...(continuationToken ? { continuationToken } : {}),
      ...(max !== undefined ? { pageSize: Number(max) } : {}),
    });
    const headers: Record<string, string> = {};
    if (page.continuationToken) headers['x-ms-continuation'] = page.continuationToken;
    return { status: 200, body: page.items, headers };
  }

  /** `POST /twins/{id}/methods`: waits up to `connectTimeoutInSeconds` for the device to connect. */
  private async invoke(deviceId: string, body: unknown): Promise<unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw argumentInvalid('The method request body must be a JSON object');
    }
    const b = body as Record<string, unknown>;
    if (typeof b.methodName !== 'string' || b.methodName === '') {
      throw argumentInvalid('methodName is required');
    }
    const responseTimeout = seconds(b.responseTimeoutInSeconds, METHOD_TIMEOUT.default);
    const connectTimeout = seconds(b.connectTimeoutInSeconds, 0);
    if (connectTimeout < 0 || connectTimeout > METHOD_TIMEOUT.max) {
      throw argumentInvalid(
        `connectTimeoutInSeconds must be between 0 and ${METHOD_TIMEOUT.max}, not ${connectTimeout}`,
      );
    }
    const core = this.options.core;
    core.registry.get(deviceId);
    if (connectTimeout > 0) await this.waitForConnection(deviceId, connectTimeout * 1000);
    // An omitted payload reaches the device as `null` (the device SDK JSON-parses the body).
    return core.invokeMethod(deviceId, b.methodName, b.payload ?? null, responseTimeout);
  }

  private waitForConnection(deviceId: string, ms: number): Promise<void> {
    const core = this.options.core;
    if (core.registry.get(deviceId).connectionState === 'Connected') return Promise.resolve();
    return new Promise<void>((resolve) => {
      let waiting = true;
      const done = (): void => {
        if (!waiting) return;
        waiting = false;
        clearTimeout(timer);
        core.off('connection', onConnection);
        // One listener per waiting call: many calls may wait at once (not a leak).
        const max = core.getMaxListeners();
        if (max > 0) core.setMaxListeners(max - 1);
        resolve();
      };
      const onConnection = (e: { deviceId: string; connected: boolean }): void => {
        // Give the device a moment to subscribe to its method topic after CONNACK.
        if (e.deviceId === deviceId && e.connected) setTimeout(done, 200);
      };
      const timer = setTimeout(done, ms);
      const max = core.getMaxListeners();
      if (max > 0) core.setMaxListeners(max + 1);
      core.on('connection', onConnection);
    });
  }
}

function seconds(value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw argumentInvalid(`A timeout must be a number of seconds, not ${JSON.stringify(value)}`);
  }
  return value;
}

function withEtag(body: { etag: string }): Reply {
  return { status: 200, body, headers: { ETag: `"${body.etag}"` } };
}

function notFoundOrNotAllowed(method: string, segments: string[]): Reply {
  const known =
    (segments[0] === 'devices' && segments.length <= 2) ||
    (segments[0] === 'twins' && (segments.length === 2 || segments[2] === 'methods'));
  const text = `${method} /${segments.join('/')}`;
  return known
    ? {
        status: 405,
        body: {
          Message: `ErrorCode:InvalidOperation;${text} is not allowed`,
          ExceptionMessage: '',
        },
        headers: { Allow: segments[0] === 'devices' ? 'GET, PUT, DELETE' : 'GET, PATCH, PUT' },
      }
    : {
        status: 404,
        body: {
          Message: `ErrorCode:NotFound;${text} is not served by this local hub`,
          ExceptionMessage: '',
        },
      };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  }
  if (tooLarge) {
    throw new HubError('MessageTooLarge', `The request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HubError('IotHubFormatError', 'The request body is not valid JSON');
  }
}

function send(res: http.ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let payload: string | undefined;
  if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['Content-Type'] = 'application/json; charset=utf-8';
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

function listen(server: http.Server, start: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    start();
  });
}

function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
