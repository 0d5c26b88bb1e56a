/**
 * The built-in feature handlers: the original Windows IoT DM client's `windows.*` sections and
 * methods (docs/features/). `builtinHandlers()` is what the agent attaches by default; a host
 * linking the DM client passes them (and its own) in `handlers`.
 */
import path from 'node:path';
import type { FeatureHandler } from '../dm/handler';
import { defaultStateDir } from '../dm/state-store';
import type { NativeSystem } from '../native/system-contract';
import { createAppHandlers, type AppHandlerOptions } from './apps';
import { createCertificateHandlers } from './certificates';
import { createDesktopAppsHandler } from './desktop-apps';
import { deviceInfoHandler } from './device-info';
import { createDiagnosticLogHandlers } from './diagnostic-logs';
import { createWifiHandlers } from './wifi';
import {
  createExternalStorage,
  type ExternalStorageFeature,
  type ExternalStorageOptions,
} from './external-storage';
import {
  createHealthAttestationHandlers,
  type HealthAttestationOptions,
} from './health-attestation';
import { createRebootHandlers, type RebootHandlersOptions } from './reboot';
import { createResetWipeHandlers, type ResetWipeOptions } from './reset-wipe';
import { windowsTelemetryHandler } from './telemetry';
import { createTimeHandlers } from './time';
import { createWindowsUpdateHandlers, type WindowsUpdateOptions } from './windows-update';

export interface BuiltinOptions {
  /** The native system part (boot time, time zone): the addon's, or a `MockSystem` in tests. */
  system: NativeSystem;
  /** Leave these sections out (e.g. a host that manages time itself). */
  exclude?: readonly string[];
  reboot?: Omit<RebootHandlersOptions, 'system'>;
  resetWipe?: Omit<ResetWipeOptions, 'system'>;
  windowsUpdate?: WindowsUpdateOptions;
  /**
   * The `externalStorage` section and the blob store the file-moving features share; default a
   * new one (`createExternalStorage(externalStorageOptions)`).
   */
  externalStorage?: ExternalStorageFeature;
  externalStorageOptions?: ExternalStorageOptions;
  healthAttestation?: HealthAttestationOptions;
  apps?: Omit<AppHandlerOptions, 'storage' | 'system'>;
  /** The DM client's state folder (default `defaultStateDir()`): the DM folder goes under it. */
  stateDir?: string;
  /**
   * The DM folder: exported diagnostic logs and the files the `windows.*DMFile*` methods may
   * reach. Default `<stateDir>/dm-files`.
   */
  dmFolder?: string;
}

/** Every built-in feature handler, minus `exclude`. */
export function builtinHandlers(options: BuiltinOptions): FeatureHandler[] {
  const { system } = options;
  const exclude = new Set(options.exclude ?? []);
  const external = options.externalStorage ?? createExternalStorage(options.externalStorageOptions);
  const all = [
    external.handler,
    deviceInfoHandler,
    windowsTelemetryHandler,
    ...createWindowsUpdateHandlers(options.windowsUpdate),
    ...createRebootHandlers({ ...options.reboot, system }),
    ...createResetWipeHandlers({ ...options.resetWipe, system }),
    ...createTimeHandlers({ system }),
    createHealthAttestationHandlers(options.healthAttestation),
    ...createCertificateHandlers({ storage: external.storage }),
    ...createAppHandlers({ storage: external.storage, system, ...options.apps }),
    createDesktopAppsHandler({ storage: external.storage }),
    ...createWifiHandlers({ storage: external.storage }),
    ...createDiagnosticLogHandlers({
      storage: external.storage,
      dmFolder: options.dmFolder ?? path.join(options.stateDir ?? defaultStateDir(), 'dm-files'),
    }),
  ];
  return all.filter((h) => !exclude.has(h.section));
}

/** The sections the built-in features own. */
export const BUILTIN_SECTIONS: readonly string[] = [
  'externalStorage',
  'deviceInfo',
  'windowsTelemetry',
  'windowsUpdatePolicy',
  'windowsUpdates',
  'rebootInfo',
  'rebootCmd',
  'factoryReset',
  'remoteWipe',
  'timeInfo',
  'timeService',
  'deviceHealthAttestation',
  'certificates',
  'apps',
  'manageAppLifeCycleCmd',
  'desktopApps',
  'wifi',
  'eventTracingCollectors',
];

export {
  deviceInfoHandler,
  windowsTelemetryHandler,
  createWindowsUpdateHandlers,
  createRebootHandlers,
  createResetWipeHandlers,
  createTimeHandlers,
  createExternalStorage,
  createHealthAttestationHandlers,
  createCertificateHandlers,
  createAppHandlers,
  createDesktopAppsHandler,
  createWifiHandlers,
  createDiagnosticLogHandlers,
};
