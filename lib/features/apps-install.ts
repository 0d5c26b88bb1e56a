/**
 * Installing one app package through EnterpriseModernAppManagement: the blobs (package,
 * dependencies, signing certificate) come through the external storage into a staging folder
 * (each under its blob's own file name), the certificate goes into RootCATrustedCertificates,
 * then `AppInstallation/<PFN>/HostedInstall` is executed with the Windows `<Application>` XML
 * and its Status / LastError / LastErrorDesc are polled until the installation ends.
 */
import { X509Certificate } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HandlerContext } from '../dm/handler';
import { InvalidValueError } from '../errors';
import type { DownloadOptions, DownloadedFile, ExternalStorage } from '../storage/contract';
import { AppError, type AppPlan } from './apps-desired';
import { APP_INSTALLATION } from './apps-inventory';

export const ROOT_CA = './Device/Vendor/MSFT/RootCATrustedCertificates';
/** The stores of RootCATrustedCertificates a signing certificate may go to. */
export const CERT_STORES = ['Root', 'CA', 'TrustedPublisher', 'TrustedPeople'] as const;

/** AppInstallation Status values (DDF). */
const STATUS_FAILED = 2;
const STATUS_INSTALLED = 3;

export interface InstallTiming {
  /** Between two reads of the installation's Status. Default 500 ms. */
  pollIntervalMs: number;
  /** Longest wait for one installation. Default 10 minutes. */
  installTimeoutMs: number;
}

export function xmlEscape(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
}

/** The HostedInstall data: `<Application PackageUri><Dependencies><Dependency/>...`. */
export function hostedInstallXml(packageUri: string, dependencyUris: readonly string[]): string {
  const deps = dependencyUris.map((u) => `<Dependency PackageUri="${xmlEscape(u)}"/>`).join('');
  return (
    `<Application PackageUri="${xmlEscape(packageUri)}">` +
    (deps === '' ? '' : `<Dependencies>${deps}</Dependencies>`) +
    `</Application>`
  );
}

/** `Root`, or a RootCATrustedCertificates path ending in a store name, as the store name. */
export function certStoreName(certStore: string | undefined): string {
  const name =
    (certStore ?? 'TrustedPeople')
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() ?? '';
  const found = CERT_STORES.find((s) => s.toLowerCase() === name.toLowerCase());
  if (!found) {
    throw new InvalidValueError(
      `certStore ${JSON.stringify(certStore)} is not one of ${CERT_STORES.join('|')}`,
    );
  }
  return found;
}

/** Downloaded blobs, each also reachable under its blob's base name in one staging folder (shared with desktop-apps.ts). */
export class Staging {
  private dir: string | undefined;
  private readonly files: DownloadedFile[] = [];

  constructor(private readonly storage: ExternalStorage) {}

  async fetch(
    ref: string,
    options?: DownloadOptions,
  ): Promise<{ file: DownloadedFile; staged: string }> {
    const file = await this.storage.download(ref, options);
    this.files.push(file);
    this.dir ??= await fsp.mkdtemp(path.join(os.tmpdir(), 'iotdm-apps-'));
    const staged = path.join(this.dir, path.basename(file.location.blob));
    await fsp.rm(staged, { force: true });
    try {
      await fsp.link(file.path, staged);
    } catch {
      await fsp.copyFile(file.path, staged);
    }
    return { file, staged };
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.files.map((f) => f.remove()));
    if (this.dir) await fsp.rm(this.dir, { recursive: true, force: true });
  }
}

async function installCertificate(
  ctx: HandlerContext,
  staging: Staging,
  plan: AppPlan,
): Promise<void> {
  if (!plan.certSource) return;
  const store = certStoreName(plan.certStore);
  const { file } = await staging.fetch(plan.certSource);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(await fsp.readFile(file.path));
  } catch {
    throw new InvalidValueError(`certSource ${plan.certSource} is not an X.509 certificate`);
  }
  const thumbprint = cert.fingerprint.replace(/:/g, '').toUpperCase();
  try {
    await ctx.csp.add(`${ROOT_CA}/${store}/${thumbprint}/EncodedCertificate`, cert.raw, {
      format: 'b64',
    });
  } catch (err) {
    if ((err as { status?: unknown }).status !== 418) throw err; // 418: already there
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls AppInstallation/<PFN>/Status until it is no longer running; throws on FAILED. */
async function waitForInstall(
  ctx: HandlerContext,
  pfn: string,
  timing: InstallTiming,
): Promise<void> {
  const base = `${APP_INSTALLATION}/${pfn}`;
  const deadline = Date.now() + timing.installTimeoutMs;
  for (;;) {
    let status: number;
    try {
      status = Number(await ctx.csp.get(`${base}/Status`));
    } catch (err) {
      // Windows removes the AppInstallation entry once the app is installed.
      if ((err as { status?: unknown }).status === 404) return;
      throw err;
    }
    if (status === STATUS_INSTALLED) return;
    if (status === STATUS_FAILED) {
      const [code, desc] = await Promise.allSettled([
        ctx.csp.get(`${base}/LastError`),
        ctx.csp.get(`${base}/LastErrorDesc`),
      ]);
      const hresult = code.status === 'fulfilled' ? Number(code.value) >>> 0 : 0x80004005;
      const text = desc.status === 'fulfilled' ? String(desc.value) : '';
      throw new AppError(
        hresult,
        `installing ${pfn} failed: 0x${hresult.toString(16).toUpperCase()}${text ? ` ${text}` : ''}`,
      );
    }
    if (Date.now() >= deadline) {
      throw new AppError(
        0x800705b4, // HRESULT_FROM_WIN32(ERROR_TIMEOUT)
        `installing ${pfn} did not finish within ${timing.installTimeoutMs} ms`,
      );
    }
    await sleep(timing.pollIntervalMs);
  }
}

/** Downloads the app's blobs, installs its certificate and runs HostedInstall to the end. */
export async function installApp(
  ctx: HandlerContext,
  storage: ExternalStorage,
  plan: AppPlan,
  timing: InstallTiming,
): Promise<void> {
  if (!plan.appxSource) {
    throw new AppError(0xa0000002, `no appxSource to install ${plan.pkgFamilyName} from`);
  }
  const staging = new Staging(storage);
  try {
    await installCertificate(ctx, staging, plan);
    const deps: string[] = [];
    for (const dep of plan.depsSources) deps.push((await staging.fetch(dep)).staged);
    const { staged } = await staging.fetch(plan.appxSource);
    const xml = hostedInstallXml(
      pathToFileURL(staged).href,
      deps.map((d) => pathToFileURL(d).href),
    );
    await ctx.csp.exec(`${APP_INSTALLATION}/${plan.pkgFamilyName}/HostedInstall`, xml, {
      format: 'xml',
    });
    await waitForInstall(ctx, plan.pkgFamilyName, timing);
  } finally {
    await staging.cleanup();
  }
}
