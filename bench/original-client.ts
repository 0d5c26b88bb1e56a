/**
 * Benchmark: the original client's way (one SyncML message per CSP operation, each awaited
 * before the next, as its SystemConfigurator did) against our automatic batching, through the
 * same `Csp` over the real addon and the CSP emulator library, with native round trips counted
 * by a wrapper (`CountingMdm`) around the addon. Two workloads: (a) the full deviceInfo read
 * (the deviceInfo feature's nodes, read with the feature's own `readFields` over a ScopedCsp)
 * and (b) a 20-setting Windows Update policy apply (Replace of 20 Policy/Config/Update nodes).
 * The two ways' samples are interleaved. Targets (issue 12): >= 5× fewer round trips, >= 3×
 * lower latency.
 */
import { Csp } from '../lib/csp/csp';
import { ScopedCsp } from '../lib/dm/scoped-csp';
import { DEVICE_INFO_NODES } from '../lib/features/device-info';
import { readFields } from '../lib/features/util-read';
import { AddonMdm } from '../lib/native/addon-mdm';
import { CountingMdm } from './counting-mdm';
import { fromRatio, fromSamples, fromValue, type BenchOptions, type Figure } from './model';
import { pairedRatio, sampleInterleaved } from './stats';

const POLICY = './Device/Vendor/MSFT/Policy/Config/Update';
/** 20 Update policies and two valid values each (ranges/enums from the DDF facts). */
export const POLICY_SETTINGS: Array<[string, number, number]> = [
  ['ActiveHoursStart', 8, 9],
  ['ActiveHoursEnd', 17, 18],
  ['AllowAutoUpdate', 2, 3],
  ['AllowUpdateService', 1, 0],
  ['BranchReadinessLevel', 16, 32],
  ['DeferFeatureUpdatesPeriodInDays', 30, 60],
  ['DeferQualityUpdatesPeriodInDays', 7, 14],
  ['PauseFeatureUpdates', 0, 1],
  ['PauseQualityUpdates', 0, 1],
  ['ScheduledInstallDay', 0, 3],
  ['ScheduledInstallTime', 3, 4],
  ['ActiveHoursMaxRange', 18, 12],
  ['AutoRestartDeadlinePeriodInDays', 7, 10],
  ['ConfigureDeadlineForFeatureUpdates', 2, 5],
  ['ConfigureDeadlineForQualityUpdates', 7, 3],
  ['ConfigureDeadlineGracePeriod', 2, 3],
  ['DetectionFrequency', 22, 12],
  ['EngagedRestartDeadline', 14, 20],
  ['ManagePreviewBuilds', 3, 0],
  ['ScheduleRestartWarning', 4, 8],
];

export async function benchOriginalClient(o: BenchOptions): Promise<Figure[]> {
  const samples = o.quick ? 31 : 201;
  const warmup = o.quick ? 5 : 20;
  const counting = new CountingMdm(new AddonMdm());
  const csp = new Csp(counting);
  const infoScope = new ScopedCsp(csp, 'deviceInfo', Object.values(DEVICE_INFO_NODES));
  const uris = POLICY_SETTINGS.map(([leaf]) => `${POLICY}/${leaf}`);
  await Promise.allSettled(uris.map((u) => csp.delete(u)));
  await Promise.all(POLICY_SETTINGS.map(([leaf, v]) => csp.add(`${POLICY}/${leaf}`, v)));

  const figures: Figure[] = [];
  const fields = Object.keys(DEVICE_INFO_NODES).length;

  // (a) deviceInfo: the feature's read (one message) vs one Get per node, awaited in turn.
  const trips = { batched: 0, perOp: 0 };
  const counted = async (key: keyof typeof trips, fn: () => Promise<unknown>): Promise<void> => {
    const before = counting.roundTrips;
    await fn();
    trips[key] = counting.roundTrips - before;
  };
  const info = await sampleInterleaved(
    {
      batched: () => counted('batched', () => readFields(infoScope, DEVICE_INFO_NODES, String)),
      perOp: () =>
        counted('perOp', async () => {
          for (const uri of Object.values(DEVICE_INFO_NODES)) {
            try {
              await infoScope.get(uri);
            } catch {
              // a node the device lacks: the original reported a sentinel and went on
            }
          }
        }),
    },
    samples,
    warmup,
  );
  figures.push(
    fromValue(
      `(a) deviceInfo read (${fields} nodes): round trips, batched`,
      'trips',
      trips.batched,
      'single run',
    ),
    fromValue(
      `(a) deviceInfo read: round trips, one message per op`,
      'trips',
      trips.perOp,
      'single run',
    ),
    fromValue(
      '(a) deviceInfo read: round trips saved',
      '×',
      trips.perOp / trips.batched,
      'single run',
      { target: { op: '>=', value: 5, source: 'issue 12' } },
    ),
    fromSamples('(a) deviceInfo read latency, batched', 'ms', info.batched),
    fromSamples('(a) deviceInfo read latency, one message per op', 'ms', info.perOp),
    fromRatio(
      '(a) deviceInfo read: latency, per-op ÷ batched',
      pairedRatio(info.perOp, info.batched),
      {
        target: { op: '>=', value: 3, source: 'issue 12' },
      },
    ),
  );

  // (b) 20 policies: Replace all in one tick (one message) vs one Replace per message.
  let round = 0;
  const value = (i: number): number => {
    const s = POLICY_SETTINGS[i] as [string, number, number];
    return round % 2 ? s[2] : s[1];
  };
  const apply = await sampleInterleaved(
    {
      batched: () =>
        counted('batched', async () => {
          round++;
          await Promise.all(uris.map((u, i) => csp.replace(u, value(i))));
        }),
      perOp: () =>
        counted('perOp', async () => {
          round++;
          for (let i = 0; i < uris.length; i++) await csp.replace(uris[i] as string, value(i));
        }),
    },
    samples,
    warmup,
  );
  figures.push(
    fromValue(
      '(b) 20-setting Update policy apply: round trips, batched',
      'trips',
      trips.batched,
      'single run',
    ),
    fromValue(
      '(b) policy apply: round trips, one message per op',
      'trips',
      trips.perOp,
      'single run',
    ),
    fromValue(
      '(b) policy apply: round trips saved',
      '×',
      trips.perOp / trips.batched,
      'single run',
      {
        target: { op: '>=', value: 5, source: 'issue 12' },
      },
    ),
    fromSamples('(b) policy apply latency, batched', 'ms', apply.batched),
    fromSamples('(b) policy apply latency, one message per op', 'ms', apply.perOp),
    fromRatio(
      '(b) policy apply: latency, per-op ÷ batched',
      pairedRatio(apply.perOp, apply.batched),
      {
        target: { op: '>=', value: 3, source: 'issue 12' },
      },
    ),
  );
  await Promise.allSettled(uris.map((u) => csp.delete(u)));
  return figures;
}
