export * from './sas';
export * from './device-auth';
