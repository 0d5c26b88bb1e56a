/**
 * `windows.apps`: UWP/MSIX apps through EnterpriseModernAppManagement, as the original client
 * managed them: install / update (HostedInstall of blobs from the external storage), uninstall
 * (Delete of the family under AppManagement), inventory (AppManagement?list=StructData), start-up
 * (CustomDeviceUI StartupAppID / BackgroundTasksToLaunch), per-app errorCode/errorMessage with
 * the original's codes. One app failing does not stop the others; the section then reports
 * `failed` naming them. With it, `manageAppLifeCycleCmd` (apps-lifecycle.ts): the method
 * `windows.manageAppLifeCycleAsync`. See docs/features/apps.md.
 */
import type { FeatureHandler, HandlerContext, Json, JsonObject } from '../dm/handler';
import { IotDmError } from '../errors';
import type { ExternalStorage } from '../storage/contract';
import {
  ANY_VERSION,
  APP_ERROR,
  APPS_SCHEMA,
  AppError,
  type AppEntry,
  type AppPlan,
  compareVersions,
  parseEnumeration,
  planApps,
} from './apps-desired';
import { ROOT_CA, installApp, type InstallTiming } from './apps-install';
import {
  APP_INSTALLATION,
  APP_MANAGEMENT,
  BACKGROUND_TASKS,
  ORIGINS,
  STARTUP_APP,
  type InstalledApp,
  type StartupState,
  appUserModelId,
  readInventory,
  readStartup,
  startUpOf,
} from './apps-inventory';
import type { NativeSystem } from '../native/system-contract';
import { createAppLifecycleHandler } from './apps-lifecycle';
import { ERROR, NotSupportedError } from './util-read';

export interface AppHandlerOptions {
  storage: ExternalStorage;
  /** The native system part: starts/stops apps for windows.manageAppLifeCycleAsync. */
  system?: NativeSystem;
  /** The package family name of the app hosting this client: never uninstalled (0xA0000008). */
  dmAppPackageFamilyName?: string;
  pollIntervalMs?: number;
  installTimeoutMs?: number;
  /** Most apps the `"?"` enumeration adds to the report. Default 50. */
  maxEnumerated?: number;
}

/** What the handler keeps (ctx.store): the apps it manages and their last outcome. */
const STORE_APPS = 'apps';
const STORE_ENUMERATION = 'enumeration';
/** Ids no longer tracked: reported as `null` so the twin drops them (a patch merges). */
const STORE_DROPPED = 'dropped';

type Tracked = {
  pkgFamilyName: string;
  errorCode: number;
  errorMessage: string;
};

function outcome(err: unknown): { errorCode: number; errorMessage: string } {
  if (err instanceof AppError) return { errorCode: err.errorCode, errorMessage: err.message };
  const e = err as { hresult?: number; status?: number; message?: string };
  return {
    errorCode: e.hresult ?? e.status ?? 500,
    errorMessage: err instanceof Error ? err.message : String(err),
  };
}

/** A twin-safe key for an enumerated app. */
const keyOf = (pfn: string): string => pfn.replace(/[^A-Za-z0-9_-]/g, '_');

/** Brings one app to its desired state; throws AppError / storage / CSP errors. */
async function reconcile(
  ctx: HandlerContext,
  entry: AppEntry,
  plan: AppPlan | undefined,
  inventory: Map<string, InstalledApp>,
  startup: StartupState,
  o: AppHandlerOptions,
  timing: InstallTiming,
): Promise<void> {
  if (!plan) return; // null for an app the handler does not know: nothing to uninstall by name
  const pfn = plan.pkgFamilyName;
  const installed = inventory.get(pfn);
  if (entry.uninstall) {
    if (o.dmAppPackageFamilyName && pfn.toLowerCase() === o.dmAppPackageFamilyName.toLowerCase()) {
      throw new AppError(APP_ERROR.uninstallDmApp, `${pfn} is the DM app: it is not uninstalled`);
    }
    if (startUpOf(pfn, startup) === 'foreground') {
      throw new AppError(
        APP_ERROR.uninstallStartupApp,
        `${pfn} is the foreground start-up app: set another one before uninstalling it`,
      );
    }
    if (!installed) return;
    if (startUpOf(pfn, startup) === 'background') {
      await ctx.csp.delete(`${BACKGROUND_TASKS}/${appUserModelId(pfn)}`);
    }
    await ctx.csp.delete(`${APP_MANAGEMENT}/${installed.origin}/${pfn}`);
    return;
  }
  const wanted = plan.version;
  if (wanted === ANY_VERSION) {
    if (!installed && plan.appxSource) await installApp(ctx, o.storage, plan, timing);
  } else if (!installed || compareVersions(installed.version, wanted) < 0) {
    await installApp(ctx, o.storage, plan, timing);
    const after = (await readInventory(ctx.csp)).get(pfn);
    if (!after) {
      throw new AppError(APP_ERROR.invalidOperation, `${pfn} is not installed after HostedInstall`);
    }
    if (after.version !== wanted) {
      const older = compareVersions(after.version, wanted) < 0;
      throw new AppError(
        older ? APP_ERROR.installedOlder : APP_ERROR.installedNewer,
        `${pfn} ${after.version} is installed, not ${wanted} (the package from appxSource)`,
      );
    }
  } else if (compareVersions(installed.version, wanted) > 0) {
    throw new AppError(
      APP_ERROR.installedNewer,
      `${pfn} ${installed.version} is installed, newer than ${wanted}: not downgraded`,
    );
  }
  await applyStartUp(ctx, plan, startup);
}

async function applyStartUp(
  ctx: HandlerContext,
  plan: AppPlan,
  startup: StartupState,
): Promise<void> {
  const pfn = plan.pkgFamilyName;
  const current = startUpOf(pfn, startup);
  if (current === plan.startUp) return;
  if (!startup.supported) {
    if (plan.startUp === 'none') return;
    throw new NotSupportedError(
      `startUp ${plan.startUp} for ${pfn}: the device has no CustomDeviceUI CSP`,
    );
  }
  const aumid = appUserModelId(pfn);
  if (current === 'background') await ctx.csp.delete(`${BACKGROUND_TASKS}/${aumid}`);
  if (plan.startUp === 'foreground') await ctx.csp.replace(STARTUP_APP, aumid);
  if (plan.startUp === 'background') await ctx.csp.add(`${BACKGROUND_TASKS}/${aumid}`, aumid);
  // none for the foreground app: CustomDeviceUI has no "no start-up app"; it stays until another
  // app is made the foreground one (documented).
}

export function createAppHandlers(options: AppHandlerOptions): FeatureHandler[] {
  const timing: InstallTiming = {
    pollIntervalMs: options.pollIntervalMs ?? 500,
    installTimeoutMs: options.installTimeoutMs ?? 10 * 60_000,
  };
  const maxEnumerated = options.maxEnumerated ?? 50;

  const apps: FeatureHandler = {
    section: 'apps',
    longRunning: true,
    nodes: [
      `${APP_INSTALLATION}/*/HostedInstall`,
      `${APP_INSTALLATION}/*/Status`,
      `${APP_INSTALLATION}/*/LastError`,
      `${APP_INSTALLATION}/*/LastErrorDesc`,
      // The inventory listing (a listing needs the subtree); Delete of AppStore|nonStore/<PFN>.
      `${APP_MANAGEMENT}/**`,
      STARTUP_APP,
      BACKGROUND_TASKS,
      `${BACKGROUND_TASKS}/*`,
      `${ROOT_CA}/*/*/EncodedCertificate`,
    ],
    desired: APPS_SCHEMA,

    async apply(desired, ctx) {
      const entries = planApps(desired);
      const previous = ctx.store.get<{ [id: string]: Tracked }>(STORE_APPS) ?? {};
      // A twin `null` removes the key from the desired properties: an app this handler tracked
      // that is no longer desired is the original's `null`, an uninstall.
      for (const id of Object.keys(previous)) {
        if (!Object.hasOwn(desired, id)) entries.push({ id, uninstall: true });
      }
      const [inventory, startup] = await Promise.all([
        readInventory(ctx.csp),
        readStartup(ctx.csp),
      ]);
      const tracked: { [id: string]: Tracked } = {};
      const failures: { id: string; err: unknown }[] = [];
      for (const entry of entries) {
        const plan = entry.plan;
        const pfn = plan?.pkgFamilyName ?? previous[entry.id]?.pkgFamilyName;
        const target =
          plan ??
          (pfn
            ? {
                id: entry.id,
                pkgFamilyName: pfn,
                version: 'not installed',
                startUp: 'none' as const,
                depsSources: [],
              }
            : undefined);
        try {
          if (entry.error) throw entry.error;
          await reconcile(ctx, entry, target, inventory, startup, options, timing);
          if (target && !(entry.uninstall && plan === undefined)) {
            tracked[entry.id] = {
              pkgFamilyName: target.pkgFamilyName,
              errorCode: 0,
              errorMessage: '',
            };
          }
        } catch (err) {
          failures.push({ id: entry.id, err });
          tracked[entry.id] = {
            pkgFamilyName:
              pfn ?? String((desired[entry.id] as JsonObject | null)?.pkgFamilyName ?? ''),
            ...outcome(err),
          };
        }
        // Start-up changes of this app are seen by the next ones (one foreground app).
        if (!entry.error && plan && !entry.uninstall && plan.startUp === 'foreground') {
          startup.foreground = appUserModelId(plan.pkgFamilyName);
        }
      }
      await ctx.store.set(STORE_APPS, tracked as unknown as Json);
      await ctx.store.set(STORE_ENUMERATION, ctx.enumeration ?? null);
      const dropped = new Set(ctx.store.get<string[]>(STORE_DROPPED) ?? []);
      for (const id of Object.keys(previous)) if (!tracked[id]) dropped.add(id);
      for (const id of Object.keys(tracked)) dropped.delete(id);
      await ctx.store.set(STORE_DROPPED, [...dropped]);
      if (failures.length > 0) {
        const first = failures[0]!.err;
        const message = failures
          .map(({ id, err }) => `${id}: ${err instanceof Error ? err.message : String(err)}`)
          .join('; ');
        const code = first instanceof IotDmError ? first.code : 'ERR_INVALID_VALUE';
        const status = first instanceof IotDmError ? first.status : undefined;
        throw new IotDmError(code, `${failures.length} app(s) failed: ${message}`, {
          ...(status !== undefined ? { status } : {}),
          cause: first,
        });
      }
    },

    async report(ctx) {
      // A node that cannot be read gives "<error>" for what it holds, not a failed section.
      const [inv, st] = await Promise.allSettled([readInventory(ctx.csp), readStartup(ctx.csp)]);
      const inventory = inv.status === 'fulfilled' ? inv.value : undefined;
      const startup = st.status === 'fulfilled' ? st.value : undefined;
      const tracked = ctx.store.get<{ [id: string]: Tracked }>(STORE_APPS) ?? {};
      const out: JsonObject = {};
      for (const id of ctx.store.get<string[]>(STORE_DROPPED) ?? []) out[id] = null;
      const reported = new Set<string>();
      for (const [id, t] of Object.entries(tracked)) {
        const app = inventory?.get(t.pkgFamilyName);
        reported.add(t.pkgFamilyName);
        out[id] = {
          pkgFamilyName: t.pkgFamilyName,
          version: inventory ? (app?.version ?? 'not installed') : ERROR,
          startUp: startup ? startUpOf(t.pkgFamilyName, startup) : ERROR,
          installDate: inventory ? (app?.installDate ?? '') : ERROR,
          errorCode: t.errorCode,
          errorMessage: t.errorMessage,
        };
      }
      const enumeration = parseEnumeration(ctx.store.get(STORE_ENUMERATION));
      if (enumeration && inventory) {
        let n = 0;
        for (const app of inventory.values()) {
          if (reported.has(app.pkgFamilyName)) continue;
          if (!enumeration[ORIGINS[app.origin]]) continue;
          if (++n > maxEnumerated) break;
          out[keyOf(app.pkgFamilyName)] = {
            pkgFamilyName: app.pkgFamilyName,
            version: app.version,
            startUp: startup ? startUpOf(app.pkgFamilyName, startup) : ERROR,
            installDate: app.installDate,
            errorCode: 0,
            errorMessage: '',
          };
        }
      }
      return out;
    },
  };
  return [apps, createAppLifecycleHandler(options.system)];
}
