/**
 * `windows.desktopApps` (a section of this project; the original client had none): MSI products
 * through EnterpriseDesktopAppManagement. Desired `{ <productCode>: { version, source, sha256?,
 * commandLine? } | null }`: the MSI blob is downloaded through the external storage, then
 * `Add MSI/<ProductID>` + `Exec MSI/<ProductID>/DownloadInstall` with the Windows MsiInstallJob
 * XML (ContentURL = the file's URI, FileHash = its SHA-256), and Status / LastError /
 * LastErrorDesc are polled until the job ends. `null` = `Delete MSI/<ProductID>` (uninstall).
 * Reported per product from the MSI nodes. See docs/features/apps.md.
 */
import { pathToFileURL } from 'node:url';
import type { FeatureHandler, HandlerContext, Json, JsonObject } from '../dm/handler';
import { s } from '../dm/schema';
import { IotDmError } from '../errors';
import type { ExternalStorage } from '../storage/contract';
import { Staging, xmlEscape } from './apps-install';
import { ERROR, NOT_SET, readAll } from './util-read';
import { cspUri } from '../csp/uri';

export const MSI = './Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI';

/** MSI Status values (DDF). */
export const MSI_STATUS = {
  downloadFailed: 30,
  enforcementFailed: 60,
  completed: 70,
} as const;

const GUID =
  /^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$/;
const SHA256 = /^[0-9A-Fa-f]{64}$/;
/** An MSI ProductVersion: major.minor.build (each part numeric), optionally a fourth part. */
const MSI_VERSION = /^\d{1,3}\.\d{1,3}\.\d{1,5}(\.\d{1,5})?$/;

const STORE_PRODUCTS = 'products';
/** Keys no longer desired: reported as `null` so the twin drops them (a patch merges). */
const STORE_DROPPED = 'dropped';

export interface DesktopAppOptions {
  storage: ExternalStorage;
  pollIntervalMs?: number;
  /** Longest wait for one product's job. Default 30 minutes. */
  installTimeoutMs?: number;
  /** Enforcement TimeOut (minutes), RetryCount and RetryInterval (minutes) of the job. */
  enforcement?: { timeOutMinutes: number; retryCount: number; retryIntervalMinutes: number };
}

/** `{GUID}` in upper case, the form Windows names MSI products with. */
export function productId(key: string): string | undefined {
  const m = GUID.exec(key);
  return m ? `{${m[1]!.toUpperCase()}}` : undefined;
}

export function msiInstallJobXml(job: {
  productId: string;
  version: string;
  contentUrl: string;
  sha256: string;
  commandLine: string;
  timeOutMinutes: number;
  retryCount: number;
  retryIntervalMinutes: number;
}): string {
  return (
    `<MsiInstallJob id="${xmlEscape(job.productId)}">` +
    `<Product Version="${xmlEscape(job.version)}">` +
    `<Download><ContentURLList><ContentURL>${xmlEscape(job.contentUrl)}</ContentURL>` +
    `</ContentURLList></Download>` +
    `<Validation><FileHash>${job.sha256.toUpperCase()}</FileHash></Validation>` +
    `<Enforcement><CommandLine>${xmlEscape(job.commandLine)}</CommandLine>` +
    `<TimeOut>${job.timeOutMinutes}</TimeOut><RetryCount>${job.retryCount}</RetryCount>` +
    `<RetryInterval>${job.retryIntervalMinutes}</RetryInterval></Enforcement>` +
    `</Product></MsiInstallJob>`
  );
}

const productSchema = s.object(
  {
    version: s.string({ pattern: MSI_VERSION, maxLength: 32 }),
    source: s.string({ maxLength: 1024 }),
    sha256: s.string({ pattern: SHA256 }),
    commandLine: s.string({ maxLength: 1024 }),
  },
  { required: ['version', 'source'], nullable: true },
);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function readStatus(ctx: HandlerContext, base: string): Promise<number | undefined> {
  try {
    return Number(await ctx.csp.get(`${base}/Status`));
  } catch (err) {
    if ((err as { status?: unknown }).status === 404) return undefined;
    throw err;
  }
}

async function failure(ctx: HandlerContext, base: string, status: number): Promise<IotDmError> {
  const [code, desc] = await Promise.allSettled([
    ctx.csp.get(`${base}/LastError`),
    ctx.csp.get(`${base}/LastErrorDesc`),
  ]);
  const hresult = code.status === 'fulfilled' ? Number(code.value) >>> 0 : 0x80004005;
  const text = desc.status === 'fulfilled' ? String(desc.value) : '';
  const what = status === MSI_STATUS.downloadFailed ? 'download failed' : 'installation failed';
  return new IotDmError(
    'ERR_CSP_STATUS',
    `${what} (Status ${status}): 0x${hresult.toString(16).toUpperCase()}${text ? ` ${text}` : ''}`,
    { hresult, status: 500 },
  );
}

async function install(
  ctx: HandlerContext,
  o: DesktopAppOptions,
  id: string,
  want: JsonObject,
): Promise<void> {
  const base = cspUri(MSI, id);
  const [status, version] = await Promise.allSettled([
    readStatus(ctx, base),
    ctx.csp.get(`${base}/Version`),
  ]);
  if (
    status.status === 'fulfilled' &&
    status.value === MSI_STATUS.completed &&
    version.status === 'fulfilled' &&
    version.value === want.version
  ) {
    return; // installed at the desired version
  }
  const staging = new Staging(o.storage);
  try {
    const sha = typeof want.sha256 === 'string' ? { sha256: want.sha256 } : {};
    const { file, staged } = await staging.fetch(String(want.source), sha);
    try {
      await ctx.csp.add(base);
    } catch (err) {
      if ((err as { status?: unknown }).status !== 418) throw err; // already there: reinstall
    }
    const e = o.enforcement ?? { timeOutMinutes: 5, retryCount: 3, retryIntervalMinutes: 5 };
    const xml = msiInstallJobXml({
      productId: id,
      version: String(want.version),
      contentUrl: pathToFileURL(staged).href,
      sha256: file.sha256,
      commandLine: typeof want.commandLine === 'string' ? want.commandLine : '/quiet',
      timeOutMinutes: e.timeOutMinutes,
      retryCount: e.retryCount,
      retryIntervalMinutes: e.retryIntervalMinutes,
    });
    await ctx.csp.exec(`${base}/DownloadInstall`, xml, { format: 'xml' });
    const deadline = Date.now() + (o.installTimeoutMs ?? 30 * 60_000);
    for (;;) {
      const now = await readStatus(ctx, base);
      if (now === MSI_STATUS.completed) return;
      if (now === MSI_STATUS.downloadFailed || now === MSI_STATUS.enforcementFailed) {
        throw await failure(ctx, base, now);
      }
      if (Date.now() >= deadline) {
        throw new IotDmError('ERR_CSP_STATUS', `the MSI job did not end (Status ${now})`, {
          status: 504,
        });
      }
      await sleep(o.pollIntervalMs ?? 1000);
    }
  } finally {
    await staging.cleanup();
  }
}

async function uninstall(ctx: HandlerContext, id: string): Promise<void> {
  try {
    await ctx.csp.delete(cspUri(MSI, id));
  } catch (err) {
    if ((err as { status?: unknown }).status !== 404) throw err; // not installed: nothing to do
  }
}

const REPORTED = {
  version: 'Version',
  status: 'Status',
  name: 'Name',
  installPath: 'InstallPath',
  installDate: 'InstallDate',
  lastError: 'LastError',
  lastErrorDesc: 'LastErrorDesc',
} as const;

export function createDesktopAppsHandler(options: DesktopAppOptions): FeatureHandler {
  return {
    section: 'desktopApps',
    longRunning: true,
    nodes: [
      `${MSI}/*`,
      `${MSI}/*/DownloadInstall`,
      ...Object.values(REPORTED).map((leaf) => `${MSI}/*/${leaf}`),
    ],
    desired: s.map(productSchema, { keyPattern: GUID, maxKeys: 32 }),

    async apply(desired, ctx) {
      const failures: string[] = [];
      let first: unknown;
      // Desired key -> product id, for the report (keyed as the desired content is).
      const products: { [key: string]: string } = {
        ...(ctx.store.get<{ [key: string]: string }>(STORE_PRODUCTS) ?? {}),
      };
      // A twin `null` removes the key from the desired properties: a product this handler
      // installed that is no longer desired is uninstalled, as an explicit `null` is.
      const wanted: [string, Json][] = Object.entries(desired);
      for (const key of Object.keys(products)) {
        if (!Object.hasOwn(desired, key)) wanted.push([key, null]);
      }
      for (const [key, want] of wanted) {
        const id = productId(key) as string; // the schema's key pattern guarantees it
        try {
          if (want === null) {
            await uninstall(ctx, id);
            delete products[key];
          } else {
            products[key] = id;
            await install(ctx, options, id, want as JsonObject);
          }
        } catch (err) {
          first ??= err;
          failures.push(`${key}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      await ctx.store.set(STORE_PRODUCTS, products);
      const dropped = new Set(ctx.store.get<string[]>(STORE_DROPPED) ?? []);
      for (const [key, want] of wanted) {
        if (want === null && products[key] === undefined) dropped.add(key);
        else dropped.delete(key);
      }
      await ctx.store.set(STORE_DROPPED, [...dropped]);
      if (failures.length > 0) {
        const e = first as { code?: unknown; status?: number };
        throw new IotDmError(
          first instanceof IotDmError ? first.code : 'ERR_CSP_STATUS',
          `${failures.length} product(s) failed: ${failures.join('; ')}`,
          { ...(e.status !== undefined ? { status: e.status } : {}), cause: first },
        );
      }
    },

    async report(ctx) {
      const products = Object.entries(
        ctx.store.get<{ [key: string]: string }>(STORE_PRODUCTS) ?? {},
      );
      const ids = products.map(([, id]) => id);
      const fields = Object.entries(REPORTED);
      const outcomes = await readAll(
        ctx.csp,
        ids.flatMap((id) => fields.map(([, leaf]) => `${cspUri(MSI, id)}/${leaf}`)),
      );
      const out: JsonObject = {};
      for (const key of ctx.store.get<string[]>(STORE_DROPPED) ?? []) out[key] = null;
      ids.forEach((id, i) => {
        const product: JsonObject = {};
        fields.forEach(([name], j) => {
          const o = outcomes[i * fields.length + j];
          product[name] = o?.ok ? ((o.value as Json) ?? '') : o?.status === 404 ? NOT_SET : ERROR;
        });
        out[products[i]![0]] = product;
      });
      return out;
    },
  };
}
