/** IoT Hub jobs v2 (`azure-iothub` `JobClient`): the engine, request parsing and REST routes. */
export {
  JobEngine,
  DEFAULT_JOB_CONCURRENCY,
  HUB_STOPPED_MESSAGE,
  type JobEngineOptions,
} from './engine';
export { parseJobRequest, MAX_EXECUTION_TIME } from './request';
export { jobRoute } from './routes';
export * from './types';
export {
  listDeviceJobs,
  readDeviceJobs,
  type DeviceJobRecord,
  type DeviceJobStatus,
} from './device-jobs';
