/**
 * REST routes of jobs v2, plugged into `ServiceApi`:
 *
 * | request | right | answer |
 * |---|---|---|
 * | `PUT /jobs/v2/{id}` | ServiceConnect (+ RegistryWrite for `scheduleUpdateTwin`) | 200 job (`queued`); 409 JobAlreadyExists; 400 bad body or queryCondition |
 * | `GET /jobs/v2/{id}` | ServiceConnect | 200 job; 404 JobNotFound |
 * | `POST /jobs/v2/{id}/cancel` | ServiceConnect | 200 job (`cancelled` unless it had already ended) |
 * | `GET /jobs/v2/query?jobType=&jobStatus=` | ServiceConnect | 200 jobs, oldest first; `x-ms-max-item-count` / `x-ms-continuation` as `POST /devices/query` |
 */
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { HubCore } from '../core';
import type { HubRight } from '../registry/policies';
import {
  QUERY_PAGE_SIZE,
  QUERY_SECRET_META_KEY,
  makeContinuationToken,
  readContinuationToken,
} from '../query/run';
import { QueryError } from '../query/errors';
import type { JobEngine } from './engine';

export interface JobRouteContext {
  req: http.IncomingMessage;
  body: unknown;
  query: URLSearchParams;
}

export interface JobRoute {
  right: HubRight;
  resource: string;
  run: (ctx: JobRouteContext) => {
    status: number;
    body?: unknown;
    headers?: Record<string, string>;
  };
}

/** `authorize(req, right)` re-checks the caller's token for a further right. */
export function jobRoute(
  core: HubCore,
  engine: JobEngine,
  method: string,
  s: string[],
  authorize: (req: http.IncomingMessage, right: HubRight) => void,
): JobRoute | undefined {
  if (s[0] !== 'jobs' || s[1] !== 'v2' || s.length < 3) return undefined;
  const resource = 'jobs';
  const right: HubRight = 'ServiceConnect';
  if (s.length === 3 && s[2] === 'query' && method === 'GET') {
    return { right, resource, run: ({ req, query }) => queryJobs(core, engine, req, query) };
  }
  const jobId = s[2]!;
  if (s.length === 3 && method === 'PUT') {
    return {
      right,
      resource,
      run: ({ req, body }) => {
        if ((body as { type?: unknown } | undefined)?.type === 'scheduleUpdateTwin') {
          authorize(req, 'RegistryWrite');
        }
        return { status: 200, body: engine.schedule(jobId, body) };
      },
    };
  }
  if (s.length === 3 && method === 'GET') {
    return { right, resource, run: () => ({ status: 200, body: engine.get(jobId) }) };
  }
  if (s.length === 4 && s[3] === 'cancel' && method === 'POST') {
    return { right, resource, run: () => ({ status: 200, body: engine.cancel(jobId) }) };
  }
  return undefined;
}

function queryJobs(
  core: HubCore,
  engine: JobEngine,
  req: http.IncomingMessage,
  query: URLSearchParams,
): { status: number; body: unknown; headers: Record<string, string> } {
  const type = query.get('jobType') ?? '';
  const status = query.get('jobStatus') ?? '';
  const max = req.headers['x-ms-max-item-count'];
  const pageSize = max === undefined ? QUERY_PAGE_SIZE.default : Number(max);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > QUERY_PAGE_SIZE.max) {
    throw new QueryError(`x-ms-max-item-count must be an integer from 1 to ${QUERY_PAGE_SIZE.max}`);
  }
  const key = `jobs?jobType=${type}&jobStatus=${status}`;
  const secret = hubSecret(core);
  const token = req.headers['x-ms-continuation'];
  const start =
    typeof token === 'string' && token !== '' ? readContinuationToken(secret, key, token) : 0;
  const all = engine.list({ type, status });
  const items = all.slice(start, start + pageSize);
  const headers: Record<string, string> = {};
  if (start + pageSize < all.length) {
    headers['x-ms-continuation'] = makeContinuationToken(secret, key, start + pageSize);
  }
  return { status: 200, body: items, headers };
}

/** The hub's continuation-token secret (shared with `runQuery`). */
function hubSecret(core: HubCore): Buffer {
  let s = core.store.getMeta<string>(QUERY_SECRET_META_KEY);
  if (!s) {
    s = randomBytes(32).toString('base64');
    core.store.setMeta(QUERY_SECRET_META_KEY, s);
  }
  return Buffer.from(s, 'base64');
}
