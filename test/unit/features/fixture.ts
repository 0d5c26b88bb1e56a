/**
 * Unit fixture of the built-in features: the DM engine's `Harness` (MockTwinLink + MockMdm) with
 * the device nodes the features read seeded in the mock, and a ddf-check runner for the ops a
 * test saw go out.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CspOp } from '../../../lib/native/contract';
import type { JsonObject } from '../../../lib/dm/handler';
import type { MockNodeSpec } from '../../../lib/testing/mock-mdm';
import { Harness } from '../dm/fixture';

export { Harness };

const UPDATE = './Device/Vendor/MSFT/Update';

/** Device-side values distinct from anything a test desires, so an echo would show. */
export const DEVICE_NODES: Record<string, MockNodeSpec> = {
  './DevInfo/DevId': { value: 'DEV-0001' },
  './DevInfo/Man': { value: 'Contoso' },
  './DevInfo/Mod': { value: 'Toaster 2' },
  './DevInfo/DmV': { value: '1.3' },
  './DevInfo/Lang': { value: 'en-US' },
  './DevDetail/DevTyp': { value: 'IoT' },
  './DevDetail/OEM': { value: 'Fabrikam' },
  './DevDetail/HwV': { value: 'rev B' },
  './DevDetail/FwV': { value: '2.0.1' },
  './DevDetail/SwV': { value: '10.0.17763.1' },
  './DevDetail/Ext/Microsoft/OSPlatform': { value: 'Windows 10 IoT Enterprise' },
  './DevDetail/Ext/Microsoft/ProcessorType': { value: 8664, format: 'int' },
  './DevDetail/Ext/Microsoft/RadioSwV': { value: '' },
  './DevDetail/Ext/Microsoft/Resolution': { value: '1920x1080' },
  './DevDetail/Ext/Microsoft/CommercializationOperator': { value: '' },
  './DevDetail/Ext/Microsoft/ProcessorArchitecture': { value: 9, format: 'int' },
  './DevDetail/Ext/Microsoft/DeviceName': { value: 'toaster-17' },
  './DevDetail/Ext/Microsoft/TotalRAM': { value: 4096, format: 'int' },
  './DevDetail/Ext/Microsoft/TotalStorage': { value: 65536, format: 'int' },
  './Device/Vendor/MSFT/DeviceStatus/SecureBootState': { value: 1, format: 'int' },
  './Device/Vendor/MSFT/DeviceStatus/OS/Edition': { value: 'IoTEnterprise' },
  './Device/Vendor/MSFT/DeviceStatus/Battery/Status': { value: 2, format: 'int' },
  './Device/Vendor/MSFT/DeviceStatus/Battery/EstimatedChargeRemaining': {
    value: 80,
    format: 'int',
  },
  './Device/Vendor/MSFT/DeviceStatus/Battery/EstimatedRuntime': { value: -1, format: 'int' },
  [`${UPDATE}/ApprovedUpdates/c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e04/ApprovedTime`]: {
    value: '2024-05-13T22:00:00Z',
  },
  [`${UPDATE}/InstalledUpdates/0f2c5e1a-6b1d-4a54-9a59-2d1f3c9e7b01/RevisionNumber`]: {
    value: 200,
    format: 'int',
  },
  [`${UPDATE}/InstalledUpdates/5d7e8a2b-3c4f-4e6a-8b9c-0a1b2c3d4e02/RevisionNumber`]: {
    value: 1,
    format: 'int',
  },
  [`${UPDATE}/FailedUpdates`]: { format: 'node' },
  [`${UPDATE}/InstallableUpdates`]: { format: 'node' },
  [`${UPDATE}/PendingRebootUpdates`]: { format: 'node' },
  [`${UPDATE}/LastSuccessfulScanTime`]: { value: '2024-05-15T02:00:00Z' },
  [`${UPDATE}/DeferUpgrade`]: { value: 'false', format: 'bool' },
};

/** A Harness whose mock also holds the feature nodes. */
export function featureHarness(): Harness {
  const h = new Harness();
  for (const [uri, spec] of Object.entries(DEVICE_NODES)) h.mock.setNode(uri, spec);
  h.mock.calls.length = 0;
  return h;
}

/** `reported.windows.<section>` after the engine settled. */
export async function settle(h: Harness, dm: Parameters<Harness['idle']>[0]): Promise<void> {
  await h.idle(dm);
}

export function lastChangeOf(h: Harness, section: string): JsonObject {
  const lc = h.lastChange(section);
  if (!lc) throw new Error(`no lastChange for ${section}`);
  return lc;
}

/** Ops as ddf-check lines: `OPERATION URI [FORMAT [VALUE]]`. */
export function ddfLines(ops: readonly CspOp[]): string[] {
  const verb = (v: string): string => v.charAt(0).toUpperCase() + v.slice(1);
  return ops.map((op) =>
    [verb(op.verb), op.uri, op.format ?? (op.data !== undefined ? 'chr' : ''), op.data ?? '']
      .filter((x) => x !== '')
      .join(' '),
  );
}

export const SHARED = path.resolve(__dirname, '../../../../shared');
export const DDF_CHECK = path.join(SHARED, 'tools/ddf-check.py');
export const DDF_DIR = path.join(SHARED, 'ddf');

export function ddfCheckAvailable(): boolean {
  return existsSync(DDF_CHECK) && existsSync(DDF_DIR);
}

/** Runs ddf-check on `lines`; resolves with the INVALID lines (empty when all are valid). */
export function ddfCheck(lines: readonly string[]): { invalid: string[]; ok: number; raw: string } {
  const r = spawnSync('python3', [DDF_CHECK, DDF_DIR], {
    input: `${lines.join('\n')}\n`,
    encoding: 'utf8',
  });
  const out = `${r.stdout}`;
  const invalid = out.split('\n').filter((l) => l.startsWith('INVALID'));
  const ok = out.split('\n').filter((l) => l.startsWith('OK')).length;
  return { invalid, ok, raw: `${out}${r.stderr}` };
}
