/** Validation of a `PUT /jobs/v2/{jobId}` body into a new (queued) `JobDoc`. */
import { METHOD_TIMEOUT } from '../core';
import { argumentInvalid } from '../errors';
import { compileCondition } from '../query/run';
import { JOB_TYPES, emptyStatistics, type JobDoc, type JobType, type UpdateTwin } from './types';

/** Default and upper bound of `maxExecutionTimeInSeconds` (the SDK's default is 3600). */
export const MAX_EXECUTION_TIME = { default: 3600, max: 172800 } as const;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseJobRequest(jobId: string, body: unknown, now = new Date()): JobDoc {
  if (!isObject(body)) throw argumentInvalid('The job request body must be a JSON object');
  if (body.jobId !== undefined && body.jobId !== jobId) {
    throw argumentInvalid(`The body's jobId ${JSON.stringify(body.jobId)} is not ${jobId}`);
  }
  const type = body.type;
  if (typeof type !== 'string' || !JOB_TYPES.includes(type as JobType)) {
    throw argumentInvalid(`Unsupported job type ${JSON.stringify(type)}`);
  }
  const queryCondition = body.queryCondition;
  if (typeof queryCondition !== 'string' || queryCondition.trim() === '') {
    throw argumentInvalid('queryCondition is required');
  }
  compileCondition(queryCondition); // 400 for a bad condition, at schedule time
  let startTime = now.toISOString();
  if (body.startTime !== undefined && body.startTime !== null) {
    const t = typeof body.startTime === 'string' ? Date.parse(body.startTime) : NaN;
    if (Number.isNaN(t)) throw argumentInvalid('startTime must be an ISO-8601 date');
    startTime = new Date(t).toISOString();
  }
  let maxExecutionTimeInSeconds: number = MAX_EXECUTION_TIME.default;
  if (body.maxExecutionTimeInSeconds !== undefined && body.maxExecutionTimeInSeconds !== null) {
    const m = body.maxExecutionTimeInSeconds;
    if (typeof m !== 'number' || !Number.isFinite(m) || m <= 0 || m > MAX_EXECUTION_TIME.max) {
      throw argumentInvalid(
        `maxExecutionTimeInSeconds must be between 1 and ${MAX_EXECUTION_TIME.max}`,
      );
    }
    maxExecutionTimeInSeconds = m;
  }
  const doc: JobDoc = {
    jobId,
    type: type as JobType,
    status: 'queued',
    queryCondition,
    createdTime: now.toISOString(),
    startTime,
    maxExecutionTimeInSeconds,
    deviceJobStatistics: emptyStatistics(),
  };
  if (type === 'scheduleDeviceMethod') {
    const m = body.cloudToDeviceMethod;
    if (!isObject(m) || typeof m.methodName !== 'string' || m.methodName === '') {
      throw argumentInvalid('cloudToDeviceMethod.methodName is required');
    }
    const timeout = m.responseTimeoutInSeconds ?? METHOD_TIMEOUT.default;
    if (
      typeof timeout !== 'number' ||
      timeout < METHOD_TIMEOUT.min ||
      timeout > METHOD_TIMEOUT.max
    ) {
      throw argumentInvalid(
        `responseTimeoutInSeconds must be between ${METHOD_TIMEOUT.min} and ${METHOD_TIMEOUT.max}`,
      );
    }
    doc.cloudToDeviceMethod = {
      methodName: m.methodName,
      payload: m.payload ?? null,
      responseTimeoutInSeconds: timeout,
    };
  } else {
    const u = body.updateTwin;
    if (!isObject(u)) throw argumentInvalid('updateTwin is required');
    const update: UpdateTwin = { etag: '*' };
    if (u.tags !== undefined) {
      if (!isObject(u.tags)) throw argumentInvalid('updateTwin.tags must be an object');
      update.tags = u.tags;
    }
    if (u.properties !== undefined) {
      if (
        !isObject(u.properties) ||
        (u.properties.desired !== undefined && !isObject(u.properties.desired))
      ) {
        throw argumentInvalid('updateTwin.properties.desired must be an object');
      }
      if (u.properties.desired) update.properties = { desired: u.properties.desired };
    }
    if (!update.tags && !update.properties) {
      throw argumentInvalid('updateTwin must change tags or properties.desired');
    }
    doc.updateTwin = update;
  }
  return doc;
}
