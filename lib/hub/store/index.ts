/** Persistence of the local IoT Hub (SQLite through better-sqlite3). */
export { HubStore, type HubStoreOptions } from './hub-store';
export { MIGRATIONS, SCHEMA_VERSION } from './schema';
export * from './types';
