/** Twin documents of the local IoT Hub: pure functions, no I/O. */
export * from './types';
export * from './limits';
export * from './validate';
export * from './merge';
export * from './etag';
export * from './twin';
export * from './device-bodies';
export * from './service-view';
