/**
 * Installed apps as EnterpriseModernAppManagement lists them (`AppManagement?list=StructData`:
 * `<origin>/<PackageFamilyName>/<PackageFullName>/<leaf>`), and the startup settings of
 * CustomDeviceUI (StartupAppID, BackgroundTasksToLaunch).
 */
import type { ScopedCsp } from '../dm/scoped-csp';
import { compareVersions } from './apps-desired';

export const EMM = './Device/Vendor/MSFT/EnterpriseModernAppManagement';
export const APP_INSTALLATION = `${EMM}/AppInstallation`;
export const APP_MANAGEMENT = `${EMM}/AppManagement`;
export const CUSTOM_DEVICE_UI = './Device/Vendor/MSFT/CustomDeviceUI';
export const STARTUP_APP = `${CUSTOM_DEVICE_UI}/StartupAppID`;
export const BACKGROUND_TASKS = `${CUSTOM_DEVICE_UI}/BackgroundTasksToLaunch`;

/** The AppManagement subtrees holding apps, as the original's `"?"` names them. */
export const ORIGINS = { AppStore: 'store', nonStore: 'nonStore' } as const;
export type Origin = keyof typeof ORIGINS;

export interface InstalledApp {
  pkgFamilyName: string;
  origin: Origin;
  fullName: string;
  version: string;
  installDate: string;
}

function segments(uri: string, base: string): string[] {
  return uri
    .slice(base.length + 1)
    .split('/')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

/**
 * Every installed app of the AppStore and nonStore subtrees by family name (the highest version
 * when a family lists more than one package).
 */
export async function readInventory(csp: ScopedCsp): Promise<Map<string, InstalledApp>> {
  const items = await csp.list(APP_MANAGEMENT);
  const packages = new Map<string, InstalledApp>();
  for (const item of items) {
    const [origin, family, fullName, leaf] = segments(item.uri, APP_MANAGEMENT);
    if (origin !== 'AppStore' && origin !== 'nonStore') continue;
    if (!family || !fullName || !leaf || family === 'ReleaseManagement') continue;
    const key = `${origin}/${family}/${fullName}`;
    let app = packages.get(key);
    if (!app) {
      app = { pkgFamilyName: family, origin, fullName, version: '', installDate: '' };
      packages.set(key, app);
    }
    if (leaf === 'Version') app.version = item.data ?? '';
    if (leaf === 'InstallDate') app.installDate = item.data ?? '';
  }
  const byFamily = new Map<string, InstalledApp>();
  for (const app of packages.values()) {
    const prev = byFamily.get(app.pkgFamilyName);
    if (!prev || compareVersions(app.version, prev.version) > 0)
      byFamily.set(app.pkgFamilyName, app);
  }
  return byFamily;
}

/** What CustomDeviceUI says about start-up; `supported: false` when the device has no such CSP. */
export interface StartupState {
  supported: boolean;
  /** StartupAppID (`<PFN>!App`), "" when none. */
  foreground: string;
  /** BackgroundTasksToLaunch entries. */
  background: string[];
}

function isNotFound(err: unknown): boolean {
  const status = (err as { status?: unknown }).status;
  return status === 404 || status === 405 || status === 406;
}

export async function readStartup(csp: ScopedCsp): Promise<StartupState> {
  const [fg, bg] = await Promise.allSettled([csp.get(STARTUP_APP), csp.get(BACKGROUND_TASKS)]);
  if (fg.status === 'rejected') {
    if (isNotFound(fg.reason)) return { supported: false, foreground: '', background: [] };
    throw fg.reason;
  }
  const background =
    bg.status === 'fulfilled' && Array.isArray(bg.value) ? bg.value.map(String) : [];
  return { supported: true, foreground: typeof fg.value === 'string' ? fg.value : '', background };
}

export const appUserModelId = (pfn: string): string => `${pfn}!App`;

/** The app's start-up mode as CustomDeviceUI gives it. */
export function startUpOf(pfn: string, startup: StartupState): string {
  if (!startup.supported) return 'n/a';
  const aumid = appUserModelId(pfn).toLowerCase();
  if (startup.foreground.toLowerCase() === aumid) return 'foreground';
  if (startup.background.some((b) => b.toLowerCase() === aumid)) return 'background';
  return 'none';
}
