/**
 * `JobEngine`: IoT Hub jobs v2 over a `HubCore`. A job is `queued` until its `startTime`, then
 * `running`: the devices whose twin matches `queryCondition` at that moment are processed with
 * bounded concurrency (`concurrency`, default 50) — a direct method through `core.invokeMethod`
 * or a twin patch through `core.updateTwin` (desired fan-out to connected devices). It ends
 * `completed` when every device was processed (whatever the device results), `failed` when
 * `maxExecutionTimeInSeconds` ran out or the hub stopped while it ran, `cancelled` on request.
 *
 * Per device: a method job succeeds when the device answered (any status) and fails when it is
 * offline, times out or the call is refused; a twin job succeeds when the twin was updated
 * (offline devices included — they read the desired properties on reconnection, as in IoT Hub).
 *
 * Each processed device gets a row (`./device-jobs.ts`, what `FROM devices.jobs` queries answer):
 * `scheduled` when the job starts, then `running`, `completed` / `failed` with the method's
 * answer or the error, `canceled` when the job ended before reaching it.
 *
 * Every state change is written to the store's jobs table. On restart `queued` jobs are armed
 * again; a job that was `running` at shutdown is marked `failed` (statusMessage says why): the
 * hub does not know which devices of it were already processed.
 */
import type { HubCore } from '../core';
import { HubError } from '../errors';
import { compileCondition } from '../query/run';
import { readDeviceJobs, writeDeviceJobs, type DeviceJobRecord } from './device-jobs';
import { parseJobRequest } from './request';
import { TERMINAL_STATUSES, type JobDoc, type JobStatus, type JobType } from './types';

export const DEFAULT_JOB_CONCURRENCY = 50;
export const HUB_STOPPED_MESSAGE = 'The hub stopped while the job was running';

export interface JobEngineOptions {
  /** Devices processed at the same time by one job (default 50). */
  concurrency?: number;
}

interface Live {
  doc: JobDoc;
  /** Per-device rows, by device id (set when the job starts running). */
  devices?: Map<string, DeviceJobRecord>;
  timer?: NodeJS.Timeout;
  stop?: boolean;
  done?: Promise<void>;
}

export class JobEngine {
  private readonly core: HubCore;
  private readonly concurrency: number;
  private readonly live = new Map<string, Live>();
  private closed = false;

  constructor(core: HubCore, options: JobEngineOptions = {}) {
    this.core = core;
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_JOB_CONCURRENCY);
    for (const rec of core.store.listJobs()) {
      const doc = rec.doc as unknown as JobDoc;
      if (doc.status === 'running') {
        const rows = readDeviceJobs(core.store, doc.jobId);
        const devices = new Map(rows.map((r) => [r.deviceId, r]));
        this.finish({ doc, devices }, 'failed', HUB_STOPPED_MESSAGE, true);
      } else if (doc.status === 'queued') {
        this.arm({ doc });
      }
    }
  }

  /** `PUT /jobs/v2/{jobId}`: 409 JobAlreadyExists for a known id. */
  schedule(jobId: string, body: unknown): JobDoc {
    const doc = parseJobRequest(jobId, body);
    if (this.core.store.getJob(jobId)) {
      throw new HubError('JobAlreadyExists', `Job ${jobId} already exists`);
    }
    this.save(doc);
    this.arm({ doc });
    return structuredClone(doc);
  }

  /** `GET /jobs/v2/{jobId}`: 404 JobNotFound. */
  get(jobId: string): JobDoc {
    const live = this.live.get(jobId);
    if (live) return structuredClone(live.doc);
    const rec = this.core.store.getJob(jobId);
    if (!rec) throw new HubError('JobNotFound', `Job ${jobId} not found`);
    return rec.doc as unknown as JobDoc;
  }

  /** Jobs oldest first, optionally of one type and/or status. */
  list(filter: { type?: string; status?: string } = {}): JobDoc[] {
    return this.core.store
      .listJobs()
      .map((r) => this.live.get(r.jobId)?.doc ?? (r.doc as unknown as JobDoc))
      .filter(
        (d) =>
          (!filter.type || d.type === filter.type) &&
          (!filter.status || d.status === filter.status),
      )
      .map((d) => structuredClone(d));
  }

  /** `POST /jobs/v2/{jobId}/cancel`: a queued or running job becomes `cancelled`; others unchanged. */
  cancel(jobId: string): JobDoc {
    const doc = this.get(jobId);
    const live = this.live.get(jobId);
    if (live && !TERMINAL_STATUSES.includes(live.doc.status)) {
      this.finish(live, 'cancelled', 'Job cancelled');
      return structuredClone(live.doc);
    }
    return doc;
  }

  /** Resolves when the job is no longer queued or running (tests, CLI). */
  async settled(jobId: string): Promise<JobDoc> {
    const live = this.live.get(jobId);
    if (live?.done) await live.done;
    return this.get(jobId);
  }

  /** Stops timers and workers; running jobs are marked failed. Call before the store closes. */
  close(): void {
    if (this.closed) return;
    for (const live of [...this.live.values()]) {
      if (live.doc.status === 'running') this.finish(live, 'failed', HUB_STOPPED_MESSAGE);
      else this.finish(live, live.doc.status);
    }
    this.closed = true;
  }

  private save(doc: JobDoc, devices?: Map<string, DeviceJobRecord>): void {
    if (this.closed) return;
    if (devices) writeDeviceJobs(this.core.store, doc.jobId, [...devices.values()]);
    this.core.store.putJob({
      jobId: doc.jobId,
      type: doc.type,
      status: doc.status,
      createdTime: doc.createdTime,
      doc: doc as unknown as Record<string, unknown>,
    });
  }

  private arm(live: Live): void {
    this.live.set(live.doc.jobId, live);
    const delay = Math.max(0, Date.parse(live.doc.startTime) - Date.now());
    // setTimeout caps at 2^31-1 ms; re-arm for later starts.
    const step = Math.min(delay, 0x7fffffff);
    live.timer = setTimeout(() => {
      live.timer = undefined;
      if (live.stop) return;
      if (Date.parse(live.doc.startTime) > Date.now()) this.arm(live);
      else live.done = this.run(live);
    }, step);
    live.timer.unref();
  }

  /** `interrupted`: the hub stopped during the job; rows left `running` become `failed`. */
  private finish(live: Live, status: JobStatus, message?: string, interrupted = false): void {
    live.stop = true;
    if (live.timer) clearTimeout(live.timer);
    live.timer = undefined;
    if (status !== live.doc.status || message) {
      live.doc.status = status;
      live.doc.endTime = new Date().toISOString();
      if (message) live.doc.statusMessage = message;
      if (status === 'failed' && message) live.doc.failureReason = message;
      this.cancelUnprocessed(live, interrupted ? message : undefined);
      this.save(live.doc, live.devices);
    }
    this.live.delete(live.doc.jobId);
  }

  private async run(live: Live): Promise<void> {
    const doc = live.doc;
    const match = compileCondition(doc.queryCondition);
    const deviceIds = this.core
      .listTwins()
      .filter((t) => match(t))
      .map((t) => t.deviceId);
    const stats = doc.deviceJobStatistics;
    stats.deviceCount = deviceIds.length;
    stats.pendingCount = deviceIds.length;
    doc.status = 'running';
    doc.startTime = new Date().toISOString();
    const devices = new Map<string, DeviceJobRecord>();
    for (const deviceId of deviceIds) {
      devices.set(deviceId, {
        deviceId,
        jobId: doc.jobId,
        jobType: doc.type,
        status: 'scheduled',
        createdDateTimeUtc: doc.startTime,
        lastUpdatedDateTimeUtc: doc.startTime,
      });
    }
    live.devices = devices;
    this.save(doc, devices);
    const deadline = Date.now() + doc.maxExecutionTimeInSeconds * 1000;
    let expired = false;
    const deadlineTimer = setTimeout(
      () => {
        expired = true;
        if (!live.stop) {
          this.finish(
            live,
            'failed',
            `The job ran past maxExecutionTimeInSeconds (${doc.maxExecutionTimeInSeconds})`,
          );
        }
      },
      Math.max(0, deadline - Date.now()),
    );
    deadlineTimer.unref();
    let next = 0;
    let sinceSave = 0;
    const worker = async (): Promise<void> => {
      while (!live.stop && next < deviceIds.length) {
        const deviceId = deviceIds[next++]!;
        stats.pendingCount--;
        stats.runningCount++;
        const row = devices.get(deviceId)!;
        row.status = 'running';
        row.startTimeUtc = row.lastUpdatedDateTimeUtc = new Date().toISOString();
        const result = await this.processDevice(doc.type, doc, deviceId);
        stats.runningCount--;
        if (result.ok) stats.succeededCount++;
        else stats.failedCount++;
        row.status = result.ok ? 'completed' : 'failed';
        row.endTimeUtc = row.lastUpdatedDateTimeUtc = new Date().toISOString();
        if (result.outcome) row.outcome = result.outcome;
        if (result.error) row.error = result.error;
        if (!live.stop && ++sinceSave >= this.concurrency) {
          sinceSave = 0;
          this.save(doc, devices);
        }
      }
    };
    const workers = Math.min(this.concurrency, deviceIds.length);
    await Promise.all(Array.from({ length: workers }, worker));
    clearTimeout(deadlineTimer);
    if (!live.stop && !expired) this.finish(live, 'completed');
    else if (!this.closed) this.save(doc, devices); // the final statistics of a cancelled/failed job
  }

  /**
   * Rows not yet processed when the job ended early become `canceled`; with `interrupted` (the
   * hub stopped), rows caught `running` become `failed` with that message.
   */
  private cancelUnprocessed(live: Live, interrupted?: string): void {
    if (!live.devices) return;
    const now = new Date().toISOString();
    for (const row of live.devices.values()) {
      if (row.status === 'scheduled') {
        row.status = 'canceled';
        row.lastUpdatedDateTimeUtc = now;
      } else if (row.status === 'running' && interrupted !== undefined) {
        row.status = 'failed';
        row.endTimeUtc = row.lastUpdatedDateTimeUtc = now;
        row.error = { code: 'JobFailed', description: interrupted };
      }
    }
  }

  /** Per-device rows of a job (`FROM devices.jobs`), live while it runs. */
  deviceJobs(jobId: string): DeviceJobRecord[] {
    const live = this.live.get(jobId)?.devices;
    return live ? structuredClone([...live.values()]) : readDeviceJobs(this.core.store, jobId);
  }

  /** Every job's per-device rows, jobs oldest first. */
  allDeviceJobs(): DeviceJobRecord[] {
    return this.core.store.listJobs().flatMap((j) => this.deviceJobs(j.jobId));
  }

  private async processDevice(
    type: JobType,
    doc: JobDoc,
    deviceId: string,
  ): Promise<Pick<DeviceJobRecord, 'outcome' | 'error'> & { ok: boolean }> {
    try {
      if (type === 'scheduleDeviceMethod') {
        const m = doc.cloudToDeviceMethod!;
        const r = await this.core.invokeMethod(
          deviceId,
          m.methodName,
          m.payload,
          m.responseTimeoutInSeconds,
        );
        return {
          ok: true,
          outcome: { deviceMethodResponse: { status: r.status, payload: r.payload } },
        };
      }
      const u = doc.updateTwin!;
      this.core.updateTwin(
        deviceId,
        {
          ...(u.tags ? { tags: u.tags } : {}),
          ...(u.properties ? { properties: u.properties } : {}),
        },
        '*',
      );
      return { ok: true, outcome: {} };
    } catch (err) {
      const e = err as { name?: unknown; errorName?: unknown; message?: unknown };
      const code = typeof e.errorName === 'string' ? e.errorName : 'Failed';
      return {
        ok: false,
        error: { code, description: typeof e.message === 'string' ? e.message : String(err) },
      };
    }
  }
}
