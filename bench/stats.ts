/**
 * Statistics of the benchmark suite: medians and spread (p10/p90, n) over repeated samples,
 * paired ratios of interleaved A/B samples, targets and their verdicts. Pure functions (no
 * timing here except `sample`/`sampleInterleaved`), unit-tested in test/bench/stats.test.ts.
 */

/** Median of `values` (mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nearest-rank percentile (`p` in 0..100) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** The summary the tables show for a series of samples. */
export interface Summary {
  n: number;
  median: number;
  p10: number;
  p90: number;
  min: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    median: median(values),
    p10: percentile(values, 10),
    p90: percentile(values, 90),
    min: values.length ? Math.min(...values) : Number.NaN,
    max: values.length ? Math.max(...values) : Number.NaN,
  };
}

/**
 * Ratios measured pair by pair: `numerator[i] / denominator[i]` for every i (the two series
 * come from one interleaved run), summarized. Throws when the series differ in length.
 */
export function pairedRatio(numerator: readonly number[], denominator: readonly number[]): Summary {
  if (numerator.length !== denominator.length) {
    throw new Error(`paired ratio of ${numerator.length} and ${denominator.length} samples`);
  }
  return summarize(numerator.map((a, i) => a / (denominator[i] as number)));
}

/** A target from an issue, e.g. `{ op: '<', value: 20, unit: 'ms', source: 'issue 5' }`. */
export interface Target {
  op: '<' | '<=' | '>' | '>=';
  value: number;
  source: string;
}

export type Verdict = 'met' | 'not met';

export function verdict(value: number, target: Target): Verdict {
  if (!Number.isFinite(value)) return 'not met';
  switch (target.op) {
    case '<':
      return value < target.value ? 'met' : 'not met';
    case '<=':
      return value <= target.value ? 'met' : 'not met';
    case '>':
      return value > target.value ? 'met' : 'not met';
    case '>=':
      return value >= target.value ? 'met' : 'not met';
  }
}

/** Runs `fn` `samples` times (after `warmup` runs) and returns each run's duration in ms. */
export async function sample(
  fn: () => Promise<unknown>,
  samples: number,
  warmup: number,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

/**
 * Side by side: `warmup` rounds of every variant, then `samples` rounds in which each variant
 * runs once, interleaved (A B C, then B C A, ...: the order rotates each round so that no variant
 * always runs first or right after another). Returns each variant's durations in ms, index i of
 * every series from the same round, ready for `pairedRatio`.
 */
export async function sampleInterleaved<K extends string>(
  variants: Readonly<Record<K, () => Promise<unknown>>>,
  samples: number,
  warmup: number,
): Promise<Record<K, number[]>> {
  const keys = Object.keys(variants) as K[];
  const out = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < warmup + samples; r++) {
    for (let j = 0; j < keys.length; j++) {
      const key = keys[(r + j) % keys.length] as K;
      const t0 = process.hrtime.bigint();
      await variants[key]();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r >= warmup) out[key].push(ms);
    }
  }
  return out;
}

/** A markdown table (cells escaped for `|`). */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cell = (v: string | number): string => String(v).replace(/\|/g, '\\|');
  const lines = [header.map(cell), header.map(() => '---'), ...rows.map((r) => r.map(cell))];
  return lines.map((l) => `| ${l.join(' | ')} |`).join('\n');
}
