/** The device-management client: twin and method engine, feature-handler interface. */
export {
  DeviceManagementClient,
  ROOT,
  METHOD_PREFIX,
  type DeviceManagementOptions,
  type DeviceManagementEvents,
  type SectionEvent,
  type SectionFailedEvent,
  type ReconciledEvent,
} from './client';
export type {
  FeatureHandler,
  HandlerContext,
  HandlerStore,
  HostHooks,
  MethodDefinition,
  MethodResult,
  Json,
  JsonObject,
} from './handler';
export { ScopedCsp, ScopedTransaction, compilePatterns, isAllowed } from './scoped-csp';
export { s as schema, check, validate, LIMITS, type Schema } from './schema';
export {
  SdkTwinLink,
  type TwinLink,
  type TwinSnapshot,
  type MethodResponder,
  type SdkClientLike,
} from './twin-link';
export {
  ReportQueue,
  REPORTED_BUDGET_BYTES,
  splitPatch,
  canMerge,
  mergeInto,
  isTransient,
} from './report-queue';
export {
  createLogger,
  silentLogger,
  REDACTED_FIELDS,
  LOG_LEVELS,
  type Logger,
  type LogLevel,
} from './logger';
export { lastChange, errorStatus, type LastChange, type ChangeState } from './status';
export { defaultStateDir, contentHash, STATE_FILE, type SectionState } from './state-store';
export { planSection, type SectionPlan } from './switches';
