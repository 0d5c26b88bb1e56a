/**
 * The shape of the compiled addon (`windows_iot_dm.node`) as JavaScript sees it. Only
 * `lib/native/load.ts` and `lib/native/addon-mdm.ts` touch these types; everything else uses the
 * `NativeMdm` contract.
 */
import type { CspOp, TpmDeviceInfo } from './contract';
import type { ServiceChange, ServiceInfo, TimeZoneInfo } from './system-contract';

/** A result as the addon returns it (before TS maps it to `CspResult`). */
export interface AddonOpResult {
  status: number;
  items: Array<{ uri: string; data?: string; format?: string; type?: string }>;
}

export interface AddonMdmSessionOptions {
  /**
   * Non-Windows only: path of a shared library exporting the local MDM API ABI
   * (the CSP emulator). Ignored on Windows, where mdmlocalmanagement.dll is always
   * loaded from System32.
   */
  libraryPath?: string;
}

/**
 * One session over the MDM library. The library is loaded on first call; a missing
 * library or symbol rejects that call (and each later one) with code ERR_MDM_UNAVAILABLE.
 * Calls from one session are serialized; the promise settles off the JS thread's work.
 */
export interface AddonMdmSession {
  apply(ops: readonly CspOp[], atomic: boolean): Promise<AddonOpResult[]>;
  /**
   * apply()'s work on the JS thread (blocks it for the library call), or null when a call of
   * this library is running or queued (then use apply(): FIFO order). Throws apply()'s errors.
   * Absent from addons built before it.
   */
  applyNow?(ops: readonly CspOp[], atomic: boolean): AddonOpResult[] | null;
  rawSyncML(body: string): Promise<string>;
}

/**
 * Errors the addon rejects with are plain `Error`s with these extra fields; `lib/errors.ts`
 * maps them to the package's error classes in one place.
 *  - code 'ERR_MDM_UNAVAILABLE': library or symbol missing (`library`, `symbol?`, `osError?`)
 *  - code 'ERR_MDM_HRESULT': an API call returned a failure HRESULT (`hresult`, `api`,
 *    `detail?`: the reason, when the API gave one)
 *  - code 'ERR_SYNCML_MALFORMED': the response could not be decoded (`detail`)
 *  - code 'ERR_INVALID_ARG': bad arguments reached native code (defence in depth)
 *  - code 'ERR_TPM_UNAVAILABLE': no TPM / no access / TBS failure (`api?`, `hresult?`, `osError?`)
 *  - code 'ERR_TPM': a malformed TPM response (`command`, `detail`)
 */
export interface AddonErrorFields {
  code:
    | 'ERR_MDM_UNAVAILABLE'
    | 'ERR_MDM_HRESULT'
    | 'ERR_SYNCML_MALFORMED'
    | 'ERR_INVALID_ARG'
    | 'ERR_TPM_UNAVAILABLE'
    | 'ERR_TPM';
  library?: string;
  symbol?: string;
  osError?: number;
  hresult?: number;
  api?: string;
  detail?: string;
  path?: string;
  osErrorName?: string;
  command?: string;
}

/**
 * The system part (native/system): Win32 time zone and boot time on Windows, the CSP emulator's
 * MdmEmulatorSystem* functions elsewhere. Each call runs off the JS thread. `setTimeZone` checks
 * its argument synchronously (TypeError, code ERR_INVALID_ARG): by key name (keyName not empty,
 * dynamicDaylightTimeDisabled false) only those two fields are needed.
 */
export interface AddonSystemSession {
  getTimeZone(): Promise<TimeZoneInfo>;
  setTimeZone(tz: TimeZoneInfo | Pick<TimeZoneInfo, 'keyName' | 'dynamicDaylightTimeDisabled'>): Promise<void>;
  bootTime(): Promise<number>;
  /** Only the allowlisted names (native/system/service.h); others: TypeError ERR_INVALID_ARG. */
  getService(name: string): Promise<ServiceInfo>;
  setService(name: string, change: ServiceChange): Promise<void>;
  appLifecycle(pkgFamilyName: string, action: string): Promise<void>;
}

/** `openTpm()`'s options (native/addon/tpm_session.h). */
export interface AddonTpmOptions {
  /** POSIX: a TPM character device or a Unix socket (raw TPM framing); default /dev/tpmrm0. Ignored on Windows (TBS). */
  path?: string;
  /** Sockets: how long to wait for an answer, ms (default 120000; 0 = forever). */
  timeoutMs?: number;
}

/**
 * One TPM command channel, opened lazily on the first call. Calls run one at a time in call
 * order, off the JS thread. Rejections: code 'ERR_TPM_UNAVAILABLE' (`api?`, `path?`, `hresult?`,
 * `osError?`, `osErrorName?`) or 'ERR_TPM' (a malformed response: `command`, `detail`); a
 * command that is not a whole TPM 2.0 command throws a TypeError (ERR_INVALID_ARG).
 */
export interface AddonTpmSession {
  submit(command: Uint8Array): Promise<Uint8Array>;
  info(): Promise<Omit<TpmDeviceInfo, 'transport'> & { transport: 'tbs' | 'device' | 'socket' }>;
  close(): Promise<void>;
}

export interface AddonBinding {
  MdmSession: new (options?: AddonMdmSessionOptions) => AddonMdmSession;
  /** Same options as MdmSession (libraryPath: the CSP emulator library off Windows). */
  SystemSession?: new (options?: AddonMdmSessionOptions) => AddonSystemSession;
  /** TPM 2.0 channel (absent from addons built before issue 8). */
  openTpm?: (options?: AddonTpmOptions) => AddonTpmSession;
  /**
   * Gives the C heap's free memory back to the system (glibc malloc_trim; false elsewhere).
   * Absent from addons built before it (docs/memory.md).
   */
  trimNativeHeap?: () => boolean;
  /** Build facts for diagnostics: { napiVersion, platform, arch, emulatorAbi }. */
  buildInfo: { napiVersion: number; platform: string; arch: string };
}
