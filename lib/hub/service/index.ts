/** The service side (REST) of the local IoT Hub. */
export * from './auth';
export * from './server';
