/**
 * `windows.certificates` (docs/features/certificates.md): the original client's eight
 * certificate stores, each `{ <thumbprint>: { state: installed | uninstalled, fileName } }`.
 *
 *   installed    download `fileName` ("container\\blob" or "container/blob") from external
 *                storage, parse it (PEM or DER), refuse it unless its SHA-1 thumbprint is the
 *                key (before any CSP op), then Add `<store>/<THUMB>/EncodedCertificate` (base64
 *                DER; Replace when the node already exists). A store that already lists the
 *                thumbprint holds these very bytes (the thumbprint is their hash): not rewritten.
 *   uninstalled  Delete `<store>/<THUMB>` (absent is fine).
 *
 * Certificates are handled one by one; one that fails does not stop the others. The section is
 * then reported `failed`, its errContext naming each failed store/thumbprint and why (errCode of
 * the first failure). Reported: each store's inventory read from the CSP, `{ <THUMB>: "" }` as the
 * original, `"<error>"` for a store that could not be read, `"n/a"` for a store this platform
 * has no CSP node for (see certificates-stores.ts). Also the method `windows.getCertificateDetails`
 * (certificates-details.ts).
 */
import type { FeatureHandler, HandlerContext, Json, JsonObject } from '../dm/handler';
import { s } from '../dm/schema';
import { CspError, InvalidValueError } from '../errors';
import type { ExternalStorage } from '../storage/contract';
import { certificateDetailsMethod } from './certificates-details';
import { loadCertificate } from './certificates-file';
import {
  CERT_LEAVES,
  CERT_STORES,
  STORE_KEYS,
  THUMBPRINT,
  type StoreKey,
} from './certificates-stores';
import { ERROR, NOT_APPLICABLE, NotSupportedError, readAll } from './util-read';

export { CERT_STORES, STORE_KEYS, resolveStore } from './certificates-stores';
export { MAX_CERTIFICATE_BYTES, thumbprintOf } from './certificates-file';
export { DETAILS_METHOD } from './certificates-details';

export const CERTIFICATES_SECTION = 'certificates';
/** Certificates per store at most (the twin's reported size is the real bound). */
export const MAX_CERTIFICATES_PER_STORE = 64;

const entrySchema = s.object(
  {
    state: s.enum('installed', 'uninstalled'),
    fileName: s.string({ maxLength: 1024 }),
  },
  { required: ['state'], nullable: true },
);

const storeSchema = s.map(entrySchema, {
  keyPattern: THUMBPRINT,
  maxKeys: MAX_CERTIFICATES_PER_STORE,
  nullable: true,
});

const desiredSchema = s.object(
  Object.fromEntries(STORE_KEYS.map((key) => [key, storeSchema])) as Record<
    string,
    typeof storeSchema
  >,
);

interface Work {
  key: StoreKey;
  thumbprint: string;
  entry: JsonObject;
}

interface Failure {
  key: StoreKey;
  thumbprint: string;
  error: unknown;
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The certificates each store lists now, upper-case thumbprint → the node's name as the device
 * spells it; `undefined` when the store could not be read.
 */
type Listing = Map<string, string>;

async function listStores(
  ctx: HandlerContext,
  keys: readonly StoreKey[],
): Promise<Map<StoreKey, Listing | undefined>> {
  const uris = keys.map((k) => CERT_STORES[k] as string);
  const outcomes = await readAll(ctx.csp, uris);
  const out = new Map<StoreKey, Listing | undefined>();
  keys.forEach((key, i) => {
    const o = outcomes[i]!;
    if (o.ok) {
      const names = Array.isArray(o.value) ? o.value : [];
      out.set(key, new Map(names.map((n) => [n.toUpperCase(), n])));
    } else out.set(key, o.status === 404 ? new Map() : undefined);
  });
  return out;
}

async function install(
  ctx: HandlerContext,
  storage: ExternalStorage,
  w: Work,
  listed: Listing | undefined,
): Promise<void> {
  const fileName = w.entry.fileName;
  if (typeof fileName !== 'string' || fileName === '') {
    throw new InvalidValueError('fileName (the certificate blob) is required to install');
  }
  const cert = await loadCertificate(storage, fileName, w.thumbprint);
  if (listed?.has(w.thumbprint)) return;
  const leaf = `${CERT_STORES[w.key] as string}/${w.thumbprint}/EncodedCertificate`;
  try {
    await ctx.csp.add(leaf, cert.der);
  } catch (err) {
    if (!(err instanceof CspError && err.status === 418)) throw err;
    await ctx.csp.replace(leaf, cert.der);
  }
}

async function uninstall(ctx: HandlerContext, w: Work, listed: Listing | undefined): Promise<void> {
  if (listed !== undefined && !listed.has(w.thumbprint)) return;
  // The node as the device names it (another tool may have added it in lower case).
  const name = listed?.get(w.thumbprint) ?? w.thumbprint;
  try {
    await ctx.csp.delete(`${CERT_STORES[w.key] as string}/${name}`);
  } catch (err) {
    if (!(err instanceof CspError && err.status === 404)) throw err;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * One error for the section: the first failure's (so its errSubSystem/errCode are reported),
 * its message replaced by the list of every failed certificate and why.
 */
function combine(failures: readonly Failure[], total: number): Error {
  const list = failures.map((f) => `${f.key}/${f.thumbprint}: ${messageOf(f.error)}`).join('; ');
  const message = `${failures.length} of ${total} certificate(s) failed: ${list}`;
  const first = failures[0]!.error;
  if (first instanceof Error) {
    first.message = message;
    return first;
  }
  return new InvalidValueError(message);
}

/** The `certificates` section handler with `windows.getCertificateDetails`. */
export function createCertificateHandlers({
  storage,
}: {
  storage: ExternalStorage;
}): FeatureHandler[] {
  const stores = STORE_KEYS.map((k): string | null => CERT_STORES[k]).filter(
    (u): u is string => u !== null,
  );
  const handler: FeatureHandler = {
    section: CERTIFICATES_SECTION,
    nodes: stores.flatMap((store) => [
      store,
      `${store}/*`,
      ...CERT_LEAVES.map((leaf) => `${store}/*/${leaf}`),
    ]),
    desired: desiredSchema,
    longRunning: true,

    async apply(desired, ctx) {
      const work: Work[] = [];
      const failures: Failure[] = [];
      for (const key of STORE_KEYS) {
        const certs = desired[key];
        if (!isObject(certs)) continue;
        for (const [thumb, entry] of Object.entries(certs)) {
          if (!isObject(entry)) continue; // null: no longer managed
          const w: Work = { key, thumbprint: thumb.toUpperCase(), entry };
          if (CERT_STORES[key] === null) {
            failures.push({
              key,
              thumbprint: w.thumbprint,
              error: new NotSupportedError(
                'the CertificateStore CSP of this platform has no MY/System store',
              ),
            });
          } else work.push(w);
        }
      }
      const total = work.length + failures.length;
      const keys = [...new Set(work.map((w) => w.key))];
      const listings = keys.length > 0 ? await listStores(ctx, keys) : new Map();
      for (const w of work) {
        const listed = listings.get(w.key);
        try {
          if (w.entry.state === 'installed') await install(ctx, storage, w, listed);
          else await uninstall(ctx, w, listed);
        } catch (error) {
          ctx.log.warn({ store: w.key, thumbprint: w.thumbprint }, 'certificate failed');
          failures.push({ key: w.key, thumbprint: w.thumbprint, error });
        }
      }
      if (failures.length > 0) throw combine(failures, total);
    },

    async report(ctx) {
      const keys = STORE_KEYS.filter((k) => CERT_STORES[k] !== null);
      const outcomes = await readAll(
        ctx.csp,
        keys.map((k) => CERT_STORES[k] as string),
      );
      const out: JsonObject = {};
      for (const key of STORE_KEYS) out[key] = NOT_APPLICABLE;
      keys.forEach((key, i) => {
        const o = outcomes[i]!;
        if (o.ok) {
          const names = Array.isArray(o.value) ? o.value : [];
          out[key] = Object.fromEntries(names.map((n) => [n.toUpperCase(), '']));
        } else out[key] = o.status === 404 ? {} : ERROR;
      });
      return out;
    },

    methods: [certificateDetailsMethod(storage)],
  };
  return [handler];
}
