/** The local Device Provisioning Service of the hub: enrollments, the device API, its HTTPS server. */
export * from './enrollments';
export { DpsService, DPS_API_VERSION, deriveDeviceKey, type DpsServiceOptions } from './service';
export { DpsServer } from './server';
export { buildActivationBlob } from './tpm-challenge';
export { parseEndorsementKey, registrationIdOfEk } from './ek';
