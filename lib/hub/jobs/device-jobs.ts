/**
 * Per-device job records, as IoT Hub answers `SELECT * FROM devices.jobs [WHERE ...]`: one row per
 * device a job processed (`deviceId`, `jobId`, `jobType`, `status` `scheduled` | `running` |
 * `completed` | `failed` | `canceled`, times, and `outcome.deviceMethodResponse` for a method job
 * or `error { code, description }` for a failure). The engine keeps a job's rows in the store's
 * meta table under `deviceJobs:<jobId>`, written with the job document.
 */
import type { HubStore } from '../store/hub-store';
import type { JobType } from './types';

export type DeviceJobStatus = 'scheduled' | 'running' | 'completed' | 'failed' | 'canceled';

export interface DeviceJobRecord {
  deviceId: string;
  jobId: string;
  jobType: JobType;
  status: DeviceJobStatus;
  createdDateTimeUtc: string;
  lastUpdatedDateTimeUtc: string;
  startTimeUtc?: string;
  endTimeUtc?: string;
  outcome?: { deviceMethodResponse?: { status: number; payload: unknown } };
  error?: { code: string; description: string };
}

const KEY_PREFIX = 'deviceJobs:';

export const deviceJobsKey = (jobId: string): string => `${KEY_PREFIX}${jobId}`;

/** The rows of one job (empty before it ran). */
export function readDeviceJobs(store: HubStore, jobId: string): DeviceJobRecord[] {
  return store.getMeta<DeviceJobRecord[]>(deviceJobsKey(jobId)) ?? [];
}

export function writeDeviceJobs(store: HubStore, jobId: string, rows: DeviceJobRecord[]): void {
  store.setMeta(deviceJobsKey(jobId), rows);
}

/** Every job's rows, jobs oldest first (the input of a `FROM devices.jobs` query). */
export function listDeviceJobs(store: HubStore): DeviceJobRecord[] {
  return store.listJobs().flatMap((j) => readDeviceJobs(store, j.jobId));
}
