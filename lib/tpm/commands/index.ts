/** The TPM 2.0 command functions, by area. */
export * from './capability';
export * from './objects';
export * from './hmac';
export * from './nv';
export * from './sessions';
