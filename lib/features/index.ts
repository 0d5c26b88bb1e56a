/**
 * The built-in feature handlers: the original Windows IoT DM client's `windows.*` sections and
 * methods (docs/features/). `builtinHandlers()` is what the agent attaches by default; a host
 * linking the DM client passes them (and its own) in `handlers`.
 */
import type { FeatureHandler } from '../dm/handler';
import type { NativeSystem } from '../native/system-contract';
import { deviceInfoHandler } from './device-info';
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
};
