/**
 * windows-iot-dm: Windows IoT device management from Node.js. Importing this module loads no
 * native code; the addon is loaded on the first CSP operation.
 */
export {
  Csp,
  CspTransaction,
  type CspOptions,
  type WriteOptions,
  type CspReadValue,
} from './csp/csp';
export { parseCspUri, assertCspUri, cspUri, CSP_ROOTS, type ParsedUri } from './csp/uri';
export { type CspValue } from './csp/values';
export type {
  NativeMdm,
  CspOp,
  CspResult,
  CspResultItem,
  CspVerb,
  CspFormat,
  ApplyOptions,
  NativeTpm,
  TpmDeviceInfo,
} from './native/contract';
export { AddonMdm, defaultNativeMdm, type AddonMdmOptions } from './native/addon-mdm';
export type {
  NativeSystem,
  TimeZoneInfo,
  TimeZoneTransition,
  ServiceInfo,
  ServiceChange,
  ServiceStartup,
  ServiceName,
} from './native/system-contract';
export { ALLOWED_SERVICES } from './native/system-contract';
export {
  AddonSystem,
  defaultNativeSystem,
  checkTimeZone,
  checkServiceName,
  checkServiceChange,
  type AddonSystemOptions,
} from './native/addon-system';
export { ADDON_PATH_ENV, MDM_LIBRARY_ENV, resolveMdmLibrary } from './native/load';
export * from './errors';
export * from './dm';
export {
  builtinHandlers,
  BUILTIN_SECTIONS,
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
  type BuiltinOptions,
} from './features';
export type { ExternalStorageFeature, ExternalStorageOptions } from './features/external-storage';
export type { HealthAttestationOptions } from './features/health-attestation';
export type { WifiOptions } from './features/wifi';
export type { AppHandlerOptions } from './features/apps';
export type { DiagnosticLogOptions } from './features/diagnostic-logs';
export { BlobExternalStorage, type BlobExternalStorageOptions } from './storage/external-storage';
export type {
  ExternalStorage,
  BlobLocation,
  DownloadOptions,
  UploadOptions,
  TransferResult,
  DownloadedFile,
} from './storage/contract';
export { LimpetTpm, type LimpetTpmOptions, type TpmPublicKeyEx } from './tpm/limpet';
export { TcpTpm, type TcpTpmOptions } from './tpm/tcp-transport';
export * from './tpm/api';
export {
  AddonTpm,
  defaultNativeTpm,
  resolveTpmPath,
  TPM_DEVICE_ENV,
  DEFAULT_TPM_DEVICE,
  type AddonTpmOptions,
} from './native/addon-tpm';
export { TpmProvisioningSecurity } from './tpm/provisioning-security';
export { provisionDevice, deriveGroupDeviceKey } from './provisioning/provision';
export type { ProvisionOptions, ProvisionResult } from './provisioning/provision';
export {
  TpmSasAuthenticationProvider,
  type TpmSasProviderOptions,
  type TpmTransportConfig,
} from './tpm/sas-provider';
export {
  startDashboard,
  DEFAULT_DASHBOARD_PORT,
  type Dashboard,
  type DashboardOptions,
} from './dashboard';
// Privilege separation (issue 14): the privileged DM service and its client, a third native
// contract implementation beside the addon and the mock.
export {
  connectService,
  ServiceClient,
  SERVICE_SOCKET_ENV,
  type ConnectServiceOptions,
} from './service/client';
export { startService, type RunningService, type ServiceServerOptions } from './service/server';
export {
  loadServiceConfig,
  parseServiceConfig,
  defaultConfigPath,
  type ServiceConfig,
  type PolicyRule,
} from './service/config';
export { PROTOCOL_VERSION } from './service/protocol';
