/** IoT Hub jobs v2 documents, as `azure-iothub`'s `JobClient` sends and reads them. */

export type JobType = 'scheduleDeviceMethod' | 'scheduleUpdateTwin';
export const JOB_TYPES: readonly JobType[] = ['scheduleDeviceMethod', 'scheduleUpdateTwin'];

/** `queued` until `startTime`, then `running`, then one of the terminal states. */
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const JOB_STATUSES: readonly JobStatus[] = [
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export interface DeviceJobStatistics {
  deviceCount: number;
  failedCount: number;
  succeededCount: number;
  runningCount: number;
  pendingCount: number;
}

export interface CloudToDeviceMethod {
  methodName: string;
  payload: unknown;
  responseTimeoutInSeconds: number;
}

export interface UpdateTwin {
  etag?: string;
  tags?: Record<string, unknown>;
  properties?: { desired?: Record<string, unknown> };
}

/** The job as `GET /jobs/v2/{id}` answers it (and as the store keeps it). */
export interface JobDoc {
  jobId: string;
  type: JobType;
  status: JobStatus;
  queryCondition: string;
  createdTime: string;
  startTime: string;
  endTime?: string;
  maxExecutionTimeInSeconds: number;
  cloudToDeviceMethod?: CloudToDeviceMethod;
  updateTwin?: UpdateTwin;
  statusMessage?: string;
  failureReason?: string;
  deviceJobStatistics: DeviceJobStatistics;
}

export const emptyStatistics = (): DeviceJobStatistics => ({
  deviceCount: 0,
  failedCount: 0,
  succeededCount: 0,
  runningCount: 0,
  pendingCount: 0,
});
