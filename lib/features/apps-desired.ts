/**
 * `windows.apps` desired content: the schema, per-app checks with the original client's app
 * error codes (0xA0000000-0xA0000008), and package versions.
 */
import type { Json, JsonObject } from '../dm/handler';
import { s, type Schema } from '../dm/schema';

/** The original client's per-app error codes (reported as unsigned numbers). */
export const APP_ERROR = {
  invalidVersion: 0xa0000000,
  invalidPackageFamilyName: 0xa0000001,
  invalidAppxSource: 0xa0000002,
  invalidOperation: 0xa0000003,
  /** Installed, but the version is older than desired (the update did not take). */
  installedOlder: 0xa0000004,
  /** Installed, but the version is newer than desired (no downgrade). */
  installedNewer: 0xa0000005,
  twoForegroundApps: 0xa0000006,
  uninstallStartupApp: 0xa0000007,
  uninstallDmApp: 0xa0000008,
} as const;

export const START_UP = ['none', 'foreground', 'background'] as const;
export type StartUp = (typeof START_UP)[number];

export const NOT_INSTALLED = 'not installed';
export const ANY_VERSION = '?';

/** A package family name: `<Name>_<PublisherId>`. */
export const PFN = /^[A-Za-z0-9][A-Za-z0-9.-]{2,49}_[a-z0-9]{13}$/;
const VERSION = /^(\d{1,5})\.(\d{1,5})\.(\d{1,5})\.(\d{1,5})$/;
/** Keys of the section: the original's `pkgFamilyId` (a twin-safe key). */
const APP_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** An app failure with its code, kept per app and reported as errorCode/errorMessage. */
export class AppError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

const appSchema: Schema = s.object(
  {
    pkgFamilyName: s.string({ maxLength: 128 }),
    // Checked per app (0xA0000000) so one bad version does not stop the others.
    version: s.string({ maxLength: 64 }),
    startUp: s.enum(...START_UP),
    appxSource: s.string({ maxLength: 1024 }),
    depsSources: s.string({ maxLength: 4096 }),
    certSource: s.string({ maxLength: 1024 }),
    certStore: s.string({ maxLength: 256 }),
  },
  { required: ['pkgFamilyName', 'version'], nullable: true },
);

export const APPS_SCHEMA: Schema = s.map(appSchema, { keyPattern: APP_ID, maxKeys: 64 });

/** What one desired app asks for, after the per-app checks. */
export interface AppPlan {
  id: string;
  pkgFamilyName: string;
  /** `"x.y.z.w"`, `"?"` (any) or `"not installed"`. */
  version: string;
  startUp: StartUp;
  appxSource?: string;
  depsSources: string[];
  certSource?: string;
  certStore?: string;
}

/** One entry of the section: a plan, or the reason it cannot be carried out. */
export type AppEntry = { id: string; plan?: AppPlan; uninstall?: boolean; error?: AppError };

export function parseVersion(v: string): number[] | undefined {
  const m = VERSION.exec(v);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 65535) ? parts : undefined;
}

/** -1, 0, 1 (both must be valid versions). */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a) ?? [];
  const y = parseVersion(b) ?? [];
  for (let i = 0; i < 4; i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0) ? -1 : 1;
  }
  return 0;
}

/**
 * Turns the (schema-checked) section into entries: `null` or `"not installed"` = uninstall;
 * a version that is none of the three forms is 0xA0000000, a bad family name 0xA0000001; two
 * apps with `startUp: foreground` are both 0xA0000006.
 */
export function planApps(desired: JsonObject): AppEntry[] {
  const entries: AppEntry[] = [];
  for (const [id, raw] of Object.entries(desired)) {
    if (raw === null) {
      entries.push({ id, uninstall: true });
      continue;
    }
    const app = raw as { [key: string]: Json };
    const pfn = String(app.pkgFamilyName);
    const version = String(app.version);
    if (!PFN.test(pfn)) {
      entries.push({
        id,
        error: new AppError(
          APP_ERROR.invalidPackageFamilyName,
          `pkgFamilyName ${JSON.stringify(pfn.slice(0, 80))} is not <Name>_<PublisherId>`,
        ),
      });
      continue;
    }
    if (version !== NOT_INSTALLED && version !== ANY_VERSION && !parseVersion(version)) {
      entries.push({
        id,
        error: new AppError(
          APP_ERROR.invalidVersion,
          `version ${JSON.stringify(version)} is not "x.y.z.w", "?" or "not installed"`,
        ),
      });
      continue;
    }
    const plan: AppPlan = {
      id,
      pkgFamilyName: pfn,
      version,
      startUp: (app.startUp as StartUp | undefined) ?? 'none',
      depsSources:
        typeof app.depsSources === 'string'
          ? app.depsSources
              .split(';')
              .map((d) => d.trim())
              .filter((d) => d !== '')
          : [],
    };
    if (typeof app.appxSource === 'string' && app.appxSource !== '')
      plan.appxSource = app.appxSource;
    if (typeof app.certSource === 'string' && app.certSource !== '')
      plan.certSource = app.certSource;
    if (typeof app.certStore === 'string' && app.certStore !== '') plan.certStore = app.certStore;
    entries.push(version === NOT_INSTALLED ? { id, plan, uninstall: true } : { id, plan });
  }
  const foreground = entries.filter(
    (e) => !e.error && !e.uninstall && e.plan?.startUp === 'foreground',
  );
  if (foreground.length > 1) {
    const ids = foreground.map((e) => e.id).join(', ');
    for (const e of foreground) {
      e.error = new AppError(APP_ERROR.twoForegroundApps, `more than one foreground app: ${ids}`);
    }
  }
  return entries;
}

/** The `"?"` enumeration: which other installed apps to report. */
export interface Enumeration {
  store: boolean;
  nonStore: boolean;
}

function flag(v: Json | undefined): boolean {
  return v === true || v === 'yes' || v === 'true';
}

export function parseEnumeration(v: Json | undefined): Enumeration | undefined {
  if (v === undefined || v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return { store: flag(v.store), nonStore: flag(v.nonStore) };
}
