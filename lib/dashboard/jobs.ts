/**
 * Fleet jobs through `azure-iothub` `JobClient`: a method (`scheduleDeviceMethod`) or a desired
 * `windows` patch (`scheduleTwinUpdate`) over the query condition built from a filter, starting
 * now; the list of jobs (`JobClient.createQuery`); one job with its progress and per-device
 * outcomes (`SELECT * FROM devices.jobs WHERE devices.jobs.jobId = '<id>'` through `Registry`).
 * Destructive methods are never scheduled over a fleet from the dashboard.
 */
import { randomBytes } from 'node:crypto';
import { filterCondition, type DeviceFilter } from './devices';
import { badRequest, fromHubError } from './errors';
import type { HubClients } from './hub-client';
import { DESTRUCTIVE_METHODS, methodCall } from './methods';
import { desiredWindows, isObject, jobId as checkJobId, onlyKeys } from './validate';

export interface JobProgress {
  total: number;
  succeeded: number;
  failed: number;
  running: number;
  pending: number;
}

interface HubJob {
  jobId: string;
  type?: string;
  status?: string;
  startTime?: string;
  endTime?: string;
  queryCondition?: string;
  statusMessage?: string;
  cloudToDeviceMethod?: { methodName?: string };
  deviceJobStatistics?: {
    deviceCount?: number;
    succeededCount?: number;
    failedCount?: number;
    runningCount?: number;
    pendingCount?: number;
  };
}

interface DeviceJobRow {
  deviceId: string;
  status?: string;
  outcome?: { deviceMethodResponse?: unknown };
  error?: { code?: string; description?: string };
}

const typeOf = (t: string | undefined): string =>
  t === 'scheduleDeviceMethod' ? 'method' : t === 'scheduleUpdateTwin' ? 'twin' : (t ?? 'unknown');

function progress(j: HubJob): JobProgress {
  const s = j.deviceJobStatistics ?? {};
  return {
    total: s.deviceCount ?? 0,
    succeeded: s.succeededCount ?? 0,
    failed: s.failedCount ?? 0,
    running: s.runningCount ?? 0,
    pending: s.pendingCount ?? 0,
  };
}

function summary(j: HubJob): Record<string, unknown> {
  return {
    jobId: j.jobId,
    type: typeOf(j.type),
    status: j.status ?? 'unknown',
    startTime: j.startTime ?? null,
    endTime: j.endTime ?? null,
    progress: progress(j),
    ...(j.cloudToDeviceMethod?.methodName ? { method: j.cloudToDeviceMethod.methodName } : {}),
  };
}

function parseFilter(v: unknown): string {
  if (!isObject(v))
    throw badRequest('filter must be an object (section, state, connection, deviceIds)');
  onlyKeys(v, ['section', 'state', 'connection', 'deviceIds'], 'filter');
  for (const k of ['section', 'state', 'connection'] as const) {
    if (v[k] !== undefined && typeof v[k] !== 'string')
      throw badRequest(`filter.${k} must be a string`);
  }
  const condition = filterCondition(v as DeviceFilter);
  if (!condition) {
    throw badRequest('a fleet job needs a filter: section (and state), connection or deviceIds');
  }
  return condition;
}

/** `POST /api/jobs` → `{ jobId, query }`. */
export async function createJob(
  hub: HubClients,
  body: unknown,
): Promise<{ jobId: string; query: string }> {
  if (!isObject(body)) throw badRequest('the body must be a JSON object');
  const id = `dashboard-${Date.now()}-${randomBytes(4).toString('hex')}`;
  if (body.type === 'method') {
    onlyKeys(body, ['type', 'method', 'filter'], 'method job');
    const m = body.method;
    if (!isObject(m)) throw badRequest('method must be { name, payload?, timeoutSeconds? }');
    onlyKeys(m, ['name', 'payload', 'timeoutSeconds'], 'method');
    const call = methodCall(m.name, m.payload, m.timeoutSeconds);
    if (DESTRUCTIVE_METHODS.includes(call.name)) {
      throw badRequest(`${call.name} is destructive: run it device by device, not as a fleet job`);
    }
    const condition = parseFilter(body.filter);
    try {
      await hub.jobs.scheduleDeviceMethod(id, condition, {
        methodName: call.name,
        payload: call.payload ?? null,
        responseTimeoutInSeconds: call.timeoutSeconds,
      });
    } catch (err) {
      throw fromHubError(err, { jobId: id });
    }
    return { jobId: id, query: condition };
  }
  if (body.type === 'twin') {
    onlyKeys(body, ['type', 'patch', 'filter'], 'twin job');
    const patch = body.patch;
    if (!isObject(patch)) throw badRequest('patch must be { "windows": { <section>: <value> } }');
    onlyKeys(patch, ['windows'], 'patch');
    const windows = desiredWindows(patch.windows, 'patch.windows');
    const condition = parseFilter(body.filter);
    try {
      await hub.jobs.scheduleTwinUpdate(id, condition, {
        etag: '*',
        properties: { desired: { windows } },
      });
    } catch (err) {
      throw fromHubError(err, { jobId: id });
    }
    return { jobId: id, query: condition };
  }
  throw badRequest('type must be "method" or "twin"');
}

/** `GET /api/jobs`: newest first (at most 1000). */
export async function listJobs(hub: HubClients): Promise<{ jobs: Record<string, unknown>[] }> {
  const all: HubJob[] = [];
  try {
    const q = hub.jobs.createQuery(undefined, undefined, 100);
    do {
      const page = await q.next();
      all.push(...(page.result as HubJob[]));
    } while (q.hasMoreResults && all.length < 1000);
  } catch (err) {
    throw fromHubError(err);
  }
  return { jobs: all.reverse().map(summary) };
}

/** `GET /api/jobs/:id`: the job, its progress and each device's outcome. */
export async function getJob(hub: HubClients, idText: string): Promise<Record<string, unknown>> {
  const id = checkJobId(idText);
  let job: HubJob;
  const rows: DeviceJobRow[] = [];
  try {
    job = (await hub.jobs.getJob(id)).jobStatus as unknown as HubJob;
    const q = hub.registry.createQuery(
      `SELECT * FROM devices.jobs WHERE devices.jobs.jobId = '${id}'`,
      1000,
    );
    do {
      const page = await q.next();
      rows.push(...(page.result as DeviceJobRow[]));
    } while (q.hasMoreResults && rows.length < 10000);
  } catch (err) {
    throw fromHubError(err, { jobId: id });
  }
  return {
    ...summary(job),
    query: job.queryCondition ?? null,
    ...(job.statusMessage ? { statusMessage: job.statusMessage } : {}),
    devices: rows.map((r) => ({
      deviceId: r.deviceId,
      status: r.status ?? 'unknown',
      outcome: r.error
        ? { error: { code: r.error.code ?? 'Failed', message: r.error.description ?? '' } }
        : (r.outcome?.deviceMethodResponse ?? null),
    })),
  };
}
