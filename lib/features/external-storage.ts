/**
 * `windows.externalStorage`: `{ connectionString, container? }`, the Azure Storage account the
 * file-moving features (certificates, app install, diagnostic logs) use, as the original client's
 * `externalStorage`. `createExternalStorage()` returns the section's handler and the
 * `BlobExternalStorage` it configures; pass `storage` to those features' factories.
 *
 * The section touches no CSP node. It applies before other sections of the same patch
 * (`order: -100`) and again once after every restart (`volatile`): the connection string lives
 * in process memory only, never in the state folder. A connection string that cannot be used
 * fails the section (`errSubSystem: "Storage"`, `errCode` 400) and leaves the storage
 * unconfigured; `null` unconfigures it. Reported: `{ container, account, connectionString }`
 * with `connectionString` only ever `"<set>"` or `"<not set>"`.
 */
import type { FeatureHandler } from '../dm/handler';
import { s } from '../dm/schema';
import { BlobExternalStorage, type BlobExternalStorageOptions } from '../storage/external-storage';
import { NOT_SET } from './util-read';

export const EXTERNAL_STORAGE_SECTION = 'externalStorage';
/** Applies before the sections that move files through the storage (default order 0). */
export const EXTERNAL_STORAGE_ORDER = -100;
export const SET = '<set>';

/** Options of the storage the section configures (download folder, retries, logger, ...). */
export type ExternalStorageOptions = Omit<
  BlobExternalStorageOptions,
  'connectionString' | 'container'
>;

export interface ExternalStorageFeature {
  handler: FeatureHandler;
  storage: BlobExternalStorage;
}

export function createExternalStorage(
  options: ExternalStorageOptions = {},
): ExternalStorageFeature {
  const storage = new BlobExternalStorage(options);
  const handler: FeatureHandler = {
    section: EXTERNAL_STORAGE_SECTION,
    nodes: [],
    order: EXTERNAL_STORAGE_ORDER,
    volatile: true,
    // No `pattern` on the connection string: a mismatch message would quote the value.
    desired: s.object(
      {
        connectionString: s.string({ maxLength: 4096 }),
        container: s.string({ maxLength: 63, nullable: true }),
      },
      { required: ['connectionString'] },
    ),

    async apply(desired, ctx) {
      const container = (desired.container ?? undefined) as string | undefined;
      try {
        storage.configure({
          connectionString: desired.connectionString as string,
          ...(container !== undefined ? { container } : {}),
        });
      } catch (err) {
        // `configure` has already left the storage unconfigured; its message names no secret.
        ctx.log.warn({ container }, 'externalStorage not usable');
        throw err;
      }
      ctx.log.info({ account: storage.account, container }, 'externalStorage configured');
    },

    async report() {
      return {
        container: storage.container ?? NOT_SET,
        account: storage.account ?? NOT_SET,
        connectionString: storage.configured ? SET : NOT_SET,
      };
    },

    async remove(ctx) {
      storage.configure(undefined);
      ctx.log.info('externalStorage removed');
    },
  };
  return { handler, storage };
}
