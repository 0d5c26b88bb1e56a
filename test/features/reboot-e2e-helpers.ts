/**
 * Shared by the reboot / reset / wipe end-to-end tests: a `Csp` over the real addon that counts
 * (and can hold) Execs, the emulator's recorded reboot / wipe counts read from its state file,
 * and a direct-method call through the service SDK.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Csp, type WriteOptions } from '../../lib/csp/csp';
import type { CspValue } from '../../lib/csp/values';
import type { JsonObject } from '../../lib/dm/handler';
import type { CspResult } from '../../lib/native/contract';
import type { DmEnv } from '../dm/helpers';

export class CountingCsp extends Csp {
  readonly execs: string[] = [];
  /** While true, Execs are counted but never sent nor answered. */
  hold = false;
  override exec(uri: string, value?: CspValue, options?: WriteOptions): Promise<CspResult> {
    this.execs.push(uri);
    if (this.hold) return new Promise<CspResult>(() => undefined);
    return super.exec(uri, value, options);
  }
}

/** `events.reboot.count` / `events.wipe.count` of the emulator's state file. */
export function emulatorCounts(): { reboots: number; wipes: number } {
  const file = process.env.WINDOWS_IOT_DM_EMULATOR_STATE;
  if (!file || file === ':memory:') throw new Error('no emulator state file');
  // Written on the emulator's first operation: none yet means nothing was recorded.
  if (!existsSync(file)) return { reboots: 0, wipes: 0 };
  const doc = JSON.parse(readFileSync(file, 'utf8')) as {
    events?: { reboot?: { count?: number }; wipe?: { count?: number } };
  };
  return { reboots: doc.events?.reboot?.count ?? 0, wipes: doc.events?.wipe?.count ?? 0 };
}

export interface MethodAnswer {
  status: number;
  payload: JsonObject;
}

export async function invoke(
  env: DmEnv,
  id: string,
  methodName: string,
  payload?: unknown,
): Promise<MethodAnswer> {
  const params: { methodName: string; payload?: unknown; responseTimeoutInSeconds: number } = {
    methodName,
    responseTimeoutInSeconds: 10,
  };
  if (payload !== undefined) params.payload = payload;
  const { result } = await env.service.invokeDeviceMethod(id, params);
  return result as MethodAnswer;
}
