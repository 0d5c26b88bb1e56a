/** Device identity registry and shared access policies of the local IoT Hub. */
export * from './rules';
export * from './policies';
export * from './registry';
