/**
 * `NativeTpm` over the compiled addon's TPM channel (native/tpm): TPM Base Services on Windows
 * (tbs.dll from System32), elsewhere a TPM character device (default /dev/tpmrm0) or a Unix socket
 * speaking raw TPM command/response (swtpm `--server type=unixio,path=...`). Loads nothing until
 * the first call; each command runs off the JS thread, one at a time, in call order.
 */
import { TpmError, TpmUnavailableError, fromNativeError } from '../errors';
import { commandNameOf } from '../tpm/cc';
import type { AddonBinding, AddonTpmSession } from './binding';
import type { NativeTpm, TpmDeviceInfo } from './contract';
import { loadAddon } from './load';

/** Environment variable naming the TPM device or simulator socket on non-Windows hosts. */
export const TPM_DEVICE_ENV = 'WINDOWS_IOT_DM_TPM_DEVICE';
/** The TPM the addon opens on Linux when nothing else is configured (kernel resource manager). */
export const DEFAULT_TPM_DEVICE = '/dev/tpmrm0';

export interface AddonTpmOptions {
  /**
   * Non-Windows: a TPM character device or a Unix socket (raw TPM framing). Default:
   * $WINDOWS_IOT_DM_TPM_DEVICE, else /dev/tpmrm0. Ignored on Windows (TBS is always used).
   */
  path?: string;
  /** Unix sockets: how long to wait for the TPM's answer, in ms (default 120000; 0 = forever). */
  timeoutMs?: number;
  /** A specific addon `.node` file (default: $WINDOWS_IOT_DM_ADDON, then node-gyp-build). */
  addonPath?: string;
  /** Loader seam for tests. */
  load?: (addonPath?: string) => AddonBinding;
}

/** The TPM path the addon is given: the option, else $WINDOWS_IOT_DM_TPM_DEVICE, else the default. */
export function resolveTpmPath(path?: string): string | undefined {
  if (process.platform === 'win32') return undefined;
  const explicit = path ?? process.env[TPM_DEVICE_ENV];
  return explicit !== undefined && explicit !== '' ? explicit : DEFAULT_TPM_DEVICE;
}

export class AddonTpm implements NativeTpm {
  #session: AddonTpmSession | undefined;
  #closed = false;
  readonly #options: AddonTpmOptions;

  constructor(options: AddonTpmOptions = {}) {
    this.#options = options;
  }

  async submit(command: Uint8Array): Promise<Uint8Array> {
    const session = this.#open();
    try {
      return await session.submit(command);
    } catch (err) {
      const mapped = fromNativeError(err);
      if (mapped instanceof TpmError) {
        // Name the command (TPM2_GetRandom) where the addon only knows its code.
        const name = commandNameOf(command);
        const detail = (err as { detail?: unknown }).detail;
        const what = typeof detail === 'string' ? detail : mapped.message;
        throw new TpmError(name, mapped.rc, mapped.rcName, `${name}: ${what}`, err);
      }
      throw mapped;
    }
  }

  async info(): Promise<TpmDeviceInfo> {
    const session = this.#open();
    try {
      return await session.info();
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const session = this.#session;
    if (!session) return;
    try {
      await session.close();
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  #open(): AddonTpmSession {
    if (this.#session) return this.#session;
    if (this.#closed) throw new TpmUnavailableError('the TPM channel is closed');
    let binding: AddonBinding;
    try {
      binding = (this.#options.load ?? loadAddon)(this.#options.addonPath);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new TpmUnavailableError(`the TPM is reached through the native addon, which is unavailable. ${reason}`, err);
    }
    if (typeof binding.openTpm !== 'function') {
      throw new TpmUnavailableError(
        'the loaded windows-iot-dm addon has no TPM support (built before it was added); rebuild it with "npm run build:native"',
      );
    }
    const path = resolveTpmPath(this.#options.path);
    try {
      this.#session = binding.openTpm({
        ...(path !== undefined ? { path } : {}),
        ...(this.#options.timeoutMs !== undefined ? { timeoutMs: this.#options.timeoutMs } : {}),
      });
    } catch (err) {
      throw fromNativeError(err);
    }
    return this.#session;
  }
}

let shared: AddonTpm | undefined;

/** The process-wide default `NativeTpm` (created lazily; loads nothing until first use). */
export function defaultNativeTpm(): NativeTpm {
  return (shared ??= new AddonTpm());
}
