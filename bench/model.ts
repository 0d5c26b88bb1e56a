/**
 * The benchmark suite's data model: a figure (value + spread + target + verdict), a section (one
 * benchmark's figures, or why it was not measured), the whole run (machine facts + sections) as
 * written to bench/results/latest.json; and the `Benchmark` shape every module registers in
 * bench/suite.ts.
 */
import { summarize, verdict, type Summary, type Target, type Verdict } from './stats';

export interface BenchOptions {
  /** `--quick`: fewer samples and smaller fleets, the whole run under 2 minutes. */
  quick: boolean;
}

/** One number in the tables. */
export interface Figure {
  name: string;
  unit: string;
  /** The headline value: the median of `spread` unless `stat` says otherwise. */
  value: number;
  stat: 'median' | 'p50' | 'p99' | 'total' | 'ratio (median of pairs)' | 'single run';
  /** The samples the value summarizes (n, median, p10, p90, min, max). */
  spread?: Summary;
  target?: Target;
  verdict?: Verdict;
  note?: string;
}

export interface Section {
  id: string;
  title: string;
  /** How it was measured, one paragraph. */
  method: string;
  status: 'measured' | 'not measured' | 'failed';
  /** Why not measured, or the failure. */
  reason?: string;
  seconds: number;
  figures: Figure[];
}

export interface MachineFacts {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  loadAverage: [number, number, number];
}

export interface RunResults {
  mode: 'quick' | 'full';
  /** `--only`: the benchmarks this run was limited to (absent: all of them). */
  only?: string[];
  startedAt: string;
  seconds: number;
  machine: MachineFacts;
  sections: Section[];
}

/** A benchmark of the suite (see bench/suite.ts). */
export interface Benchmark {
  id: string;
  title: string;
  method: string;
  /** A reason when a tool it needs is missing: the section is then "not measured", not failed. */
  unavailable?(): string | undefined;
  run(options: BenchOptions): Promise<Figure[]>;
}

/** Thrown by a benchmark that finds out late that it cannot run (a missing tool): not a failure. */
export class NotMeasured extends Error {}

interface FigureExtras {
  target?: Target;
  note?: string;
}

function judged(f: Figure, extras: FigureExtras): Figure {
  if (extras.note !== undefined) f.note = extras.note;
  if (extras.target) {
    f.target = extras.target;
    f.verdict = verdict(f.value, extras.target);
  }
  return f;
}

/** The median of `samples`, with their spread (and the verdict, when a target is given). */
export function fromSamples(
  name: string,
  unit: string,
  samples: readonly number[],
  extras: FigureExtras = {},
): Figure {
  const spread = summarize(samples);
  return judged({ name, unit, value: spread.median, stat: 'median', spread }, extras);
}

/** A percentile (p50 or p99) of `samples`, with their spread. */
export function fromPercentile(
  name: string,
  unit: string,
  samples: readonly number[],
  which: 'p50' | 'p99',
  value: number,
  extras: FigureExtras = {},
): Figure {
  return judged({ name, unit, value, stat: which, spread: summarize(samples) }, extras);
}

/** One number that is not a median of samples (a total, a single run). */
export function fromValue(
  name: string,
  unit: string,
  value: number,
  stat: Figure['stat'],
  extras: FigureExtras = {},
): Figure {
  return judged({ name, unit, value, stat }, extras);
}

/** A ratio measured pair by pair (`pairedRatio`): its median, with the spread of the pairs. */
export function fromRatio(name: string, ratio: Summary, extras: FigureExtras = {}): Figure {
  return judged(
    { name, unit: '×', value: ratio.median, stat: 'ratio (median of pairs)', spread: ratio },
    extras,
  );
}
