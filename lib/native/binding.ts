/**
 * The shape of the compiled addon (`windows_iot_dm.node`) as JavaScript sees it. Only
 * `lib/native/load.ts` and `lib/native/addon-mdm.ts` touch these types; everything else uses the
 * `NativeMdm` contract.
 */
import type { CspOp } from './contract';

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
  rawSyncML(body: string): Promise<string>;
}

/**
 * Errors the addon rejects with are plain `Error`s with these extra fields; `lib/errors.ts`
 * maps them to the package's error classes in one place.
 *  - code 'ERR_MDM_UNAVAILABLE': library or symbol missing (`library`, `symbol?`, `osError?`)
 *  - code 'ERR_MDM_HRESULT': an API call returned a failure HRESULT (`hresult`, `api`)
 *  - code 'ERR_SYNCML_MALFORMED': the response could not be decoded (`detail`)
 *  - code 'ERR_INVALID_ARG': bad arguments reached native code (defence in depth)
 */
export interface AddonErrorFields {
  code: 'ERR_MDM_UNAVAILABLE' | 'ERR_MDM_HRESULT' | 'ERR_SYNCML_MALFORMED' | 'ERR_INVALID_ARG';
  library?: string;
  symbol?: string;
  osError?: number;
  hresult?: number;
  api?: string;
  detail?: string;
}

export interface AddonBinding {
  MdmSession: new (options?: AddonMdmSessionOptions) => AddonMdmSession;
  /** Build facts for diagnostics: { napiVersion, platform, arch, emulatorAbi }. */
  buildInfo: { napiVersion: number; platform: string; arch: string };
}
