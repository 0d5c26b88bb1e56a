/**
 * Test fixture: a real Azurite blob service (lib/demo/azurite.ts) on 127.0.0.1 and an ephemeral
 * port, with its data in a fresh temporary folder. `stop()` stops it (SIGTERM, SIGKILL after a
 * grace period) and removes the folder.
 *
 *   const azurite = await startAzurite();
 *   const storage = new BlobExternalStorage({ connectionString: azurite.connectionString });
 *   ...
 *   await azurite.stop();
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAzuriteProcess } from '../../lib/demo/azurite';

export { AZURITE_ACCOUNT, AZURITE_KEY } from '../../lib/demo/azurite';

export interface AzuriteHandle {
  /** Shared-key connection string of the emulator's account (`devstoreaccount1`). */
  connectionString: string;
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  blobEndpoint: string;
  stop(): Promise<void>;
}

/** Starts azurite-blob in a temporary folder and resolves once it listens. */
export async function startAzurite(): Promise<AzuriteHandle> {
  const location = await fsp.mkdtemp(path.join(os.tmpdir(), 'wdm-azurite-'));
  let azurite;
  try {
    azurite = await startAzuriteProcess({ location });
  } catch (err) {
    await fsp.rm(location, { recursive: true, force: true });
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    blobEndpoint: azurite.blobEndpoint,
    connectionString: azurite.connectionString,
    stop: () =>
      (stopped ??= (async () => {
        await azurite.stop();
        await fsp.rm(location, { recursive: true, force: true });
      })()),
  };
}

/**
 * Mocha hooks: one Azurite for the enclosing `describe` (started in `before`, stopped in
 * `after`); `set` receives the handle.
 */
export function useAzurite(set: (azurite: AzuriteHandle) => void): void {
  let handle: AzuriteHandle | undefined;
  before(async () => {
    handle = await startAzurite();
    set(handle);
  });
  after(async () => {
    await handle?.stop();
  });
}
