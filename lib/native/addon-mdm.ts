/** `NativeMdm` over the compiled addon: the real implementation of the native contract. */
import { fromNativeError } from '../errors';
import type { AddonBinding, AddonMdmSession, AddonOpResult } from './binding';
import type { ApplyOptions, CspOp, CspResult, NativeMdm } from './contract';
import { loadAddon, resolveMdmLibrary } from './load';

export interface AddonMdmOptions {
  /** Non-Windows: the MDM library (CSP emulator) to load; see `resolveMdmLibrary`. */
  libraryPath?: string;
  /** A specific addon `.node` file (default: $WINDOWS_IOT_DM_ADDON, then node-gyp-build). */
  addonPath?: string;
  /** Loader seam for tests. */
  load?: (addonPath?: string) => AddonBinding;
}

export class AddonMdm implements NativeMdm {
  #session: AddonMdmSession | undefined;
  readonly #options: AddonMdmOptions;

  constructor(options: AddonMdmOptions = {}) {
    this.#options = options;
  }

  async apply(ops: readonly CspOp[], options: ApplyOptions = {}): Promise<CspResult[]> {
    const session = this.#open();
    try {
      const raw = await session.apply(ops, options.atomic === true);
      return raw.map(toCspResult);
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  /**
   * The same call done synchronously on the JS thread, saving the libuv pool round trip (two
   * thread wake-ups); for the service's reads. Undefined, with nothing done, when a call is
   * running or queued (use `apply`, which keeps the order) or the addon predates it. It blocks
   * the event loop for the library call: not for work that may take long.
   */
  applyNow(ops: readonly CspOp[], options: ApplyOptions = {}): CspResult[] | undefined {
    const session = this.#open();
    if (typeof session.applyNow !== 'function') return undefined;
    let raw: AddonOpResult[] | null;
    try {
      raw = session.applyNow(ops, options.atomic === true);
    } catch (err) {
      throw fromNativeError(err);
    }
    return raw === null ? undefined : raw.map(toCspResult);
  }

  async rawSyncML(body: string): Promise<string> {
    const session = this.#open();
    try {
      return await session.rawSyncML(body);
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  #open(): AddonMdmSession {
    if (this.#session) return this.#session;
    const binding = (this.#options.load ?? loadAddon)(this.#options.addonPath);
    const libraryPath = resolveMdmLibrary(this.#options.libraryPath);
    try {
      this.#session = new binding.MdmSession(libraryPath === undefined ? {} : { libraryPath });
    } catch (err) {
      throw fromNativeError(err);
    }
    return this.#session;
  }
}

function toCspResult(raw: AddonOpResult): CspResult {
  const first = raw.items[0];
  const result: CspResult = { status: raw.status, items: raw.items };
  if (first?.data !== undefined) result.data = first.data;
  if (first?.format !== undefined) result.format = first.format;
  if (first?.type !== undefined) result.type = first.type;
  return result;
}

let shared: AddonMdm | undefined;

/** The process-wide default `NativeMdm` (created lazily; loads nothing until first use). */
export function defaultNativeMdm(): NativeMdm {
  return (shared ??= new AddonMdm());
}
