/**
 * Which TPM a command talks to (`--tpm` / `$IOTDM_TPM`, shared by `iotdm tpm` and
 * `iotdm agent --tpm-slot`): `tbs` (Windows TPM Base Services), `device[:path]` (a TPM character
 * device, default /dev/tpmrm0), `tcp:host:port` (a simulator with mssim framing, e.g. swtpm),
 * `socket:path` (a simulator's Unix socket, raw framing). Default: the native channel (TBS on
 * Windows, /dev/tpmrm0 elsewhere). The addon is loaded only for `tbs`/`device`, the simulator
 * transport only for `tcp`/`socket`.
 */
import { TpmUnavailableError } from '../errors';
import type { NativeTpm } from '../native/contract';

export const ENV_TPM = 'IOTDM_TPM';

export type TpmSpec =
  | { kind: 'native' }
  | { kind: 'tbs' }
  | { kind: 'device'; path?: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'socket'; path: string };

/** Parses a `--tpm` value; throws an Error whose message names the accepted forms. */
export function parseTpmSpec(text: string | undefined): TpmSpec {
  if (text === undefined || text.trim() === '') return { kind: 'native' };
  const value = text.trim();
  const bad = (): Error =>
    new Error(
      `--tpm must be tbs, device[:path], tcp:host:port or socket:path, not "${value.slice(0, 80)}"`,
    );
  if (value === 'tbs') return { kind: 'tbs' };
  if (value === 'device') return { kind: 'device' };
  if (value.startsWith('device:')) {
    const path = value.slice('device:'.length);
    if (path === '') throw bad();
    return { kind: 'device', path };
  }
  if (value.startsWith('socket:')) {
    const path = value.slice('socket:'.length);
    if (path === '') throw bad();
    return { kind: 'socket', path };
  }
  if (value.startsWith('tcp:')) {
    const rest = value.slice('tcp:'.length);
    const colon = rest.lastIndexOf(':');
    const host = rest.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    const port = Number(rest.slice(colon + 1));
    if (
      colon <= 0 ||
      host === '' ||
      !/^\d+$/.test(rest.slice(colon + 1)) ||
      port < 1 ||
      port > 65535
    ) {
      throw bad();
    }
    return { kind: 'tcp', host, port };
  }
  throw bad();
}

/** The simulator transport, loaded only when used (the agent without --tpm-slot never does). */
function loadTcpTpm(): typeof import('../tpm/tcp-transport').TcpTpm {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy
  return (require('../tpm/tcp-transport') as typeof import('../tpm/tcp-transport')).TcpTpm;
}

/** Opens the channel (lazily: nothing is reached until the first command). */
export function openNativeTpm(spec: TpmSpec): NativeTpm {
  switch (spec.kind) {
    case 'tcp':
      return new (loadTcpTpm())({ host: spec.host, port: spec.port });
    case 'socket':
      return new (loadTcpTpm())({ path: spec.path });
    case 'native':
    case 'tbs':
    case 'device': {
      if (spec.kind === 'tbs' && process.platform !== 'win32') {
        throw new TpmUnavailableError('--tpm tbs: TPM Base Services exist only on Windows');
      }
      if (spec.kind === 'device' && process.platform === 'win32') {
        throw new TpmUnavailableError(
          '--tpm device: on Windows the TPM is reached through TBS (--tpm tbs)',
        );
      }
      // The addon's channel (lib/native/addon-tpm.ts), loaded only when used.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy
      const mod = require('../native/addon-tpm') as typeof import('../native/addon-tpm');
      return new mod.AddonTpm(spec.kind === 'device' && spec.path ? { path: spec.path } : {});
    }
  }
}

/** `--tpm` value, else `$IOTDM_TPM`, parsed. */
export function tpmSpecFrom(option: string | undefined, env: NodeJS.ProcessEnv): TpmSpec {
  return parseTpmSpec(option ?? env[ENV_TPM]);
}
