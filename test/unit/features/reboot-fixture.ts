/**
 * Unit harness of the reboot / reset / wipe features: a MockMdm with the Reboot and RemoteWipe
 * nodes (an Exec can be held forever, to stop the "process" mid-command), a MockTwinLink kept
 * across restarts, a MockSystem and one state folder. `restart()` detaches and attaches fresh
 * handlers over the same state, as a new process would.
 */
import { Csp } from '../../../lib/csp/csp';
import { DeviceManagementClient, type DeviceManagementOptions } from '../../../lib/dm/client';
import type { FeatureHandler, JsonObject } from '../../../lib/dm/handler';
import { silentLogger } from '../../../lib/dm/logger';
import type { ApplyOptions, CspOp, CspResult } from '../../../lib/native/contract';
import { MockMdm } from '../../../lib/testing/mock-mdm';
import { MockSystem } from '../../../lib/testing/mock-system';
import { MockTwinLink } from '../../../lib/testing/mock-twin-link';
import { ALPHA_LEVEL, ALPHA_NAME } from '../dm/fixture';
import { TempDirs } from '../dm/helpers';

export const REBOOT_NOW = './Device/Vendor/MSFT/Reboot/RebootNow';
export const SINGLE = './Device/Vendor/MSFT/Reboot/Schedule/Single';
export const DAILY = './Device/Vendor/MSFT/Reboot/Schedule/DailyRecurrent';
export const DO_WIPE = './Device/Vendor/MSFT/RemoteWipe/doWipe';
export const DO_WIPE_PPD = './Device/Vendor/MSFT/RemoteWipe/doWipePersistProvisionedData';

/** A MockMdm whose Execs can be held (never answered, never performed). */
export class HoldingMdm extends MockMdm {
  holdExec = false;
  held = 0;
  override async apply(ops: readonly CspOp[], options?: ApplyOptions): Promise<CspResult[]> {
    if (this.holdExec && ops.some((op) => op.verb === 'exec')) {
      this.held++;
      return new Promise<CspResult[]>(() => undefined);
    }
    return super.apply(ops, options);
  }
}

export class FeatureHarness {
  readonly dirs = new TempDirs();
  readonly mock = new HoldingMdm({
    nodes: {
      [REBOOT_NOW]: { format: 'null', access: ['get', 'exec'] },
      [DO_WIPE]: { format: 'chr', value: '', access: ['exec'] },
      [DO_WIPE_PPD]: { format: 'chr', value: '', access: ['exec'] },
      [ALPHA_NAME]: { value: 'initial' },
      [ALPHA_LEVEL]: { value: 1, format: 'int' },
    },
  });
  readonly csp = new Csp(this.mock);
  readonly link = new MockTwinLink();
  readonly system = new MockSystem(Date.now() - 3_600_000);
  readonly stateDir = this.dirs.make('wdm-feature-unit-');
  allowed = true;
  dm: DeviceManagementClient | undefined;
  events: JsonObject[] = [];

  async attach(
    handlers: FeatureHandler[],
    options: Partial<DeviceManagementOptions> = {},
  ): Promise<DeviceManagementClient> {
    this.dm = await DeviceManagementClient.attach(this.link, {
      handlers,
      csp: this.csp,
      logger: silentLogger(),
      stateDir: this.stateDir,
      retryDelayMs: 1,
      isRebootAllowed: () => this.allowed,
      listeners: { rebootPending: (d) => this.events.push(d) },
      ...options,
    });
    return this.dm;
  }

  async detach(): Promise<void> {
    await this.dm?.detach(50);
    this.dm = undefined;
  }

  async idle(): Promise<void> {
    await this.dm?.settled();
    await this.dm?.flushReports();
  }

  execs(uri?: string): number {
    return this.mock.execLog.filter((e) => uri === undefined || e.uri === uri).length;
  }

  section(name: string): JsonObject {
    const w = (this.link.reported.windows ?? {}) as JsonObject;
    return (w[name] ?? {}) as JsonObject;
  }

  lastChange(name: string): JsonObject {
    return (this.section(name).lastChange ?? {}) as JsonObject;
  }

  async cleanup(): Promise<void> {
    await this.detach();
    this.dirs.cleanup();
  }
}

/** Polls `test` every few ms; fails after `ms`. */
export async function until(test: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
