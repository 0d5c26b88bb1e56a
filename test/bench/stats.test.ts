/**
 * The benchmark suite's statistics and tables (bench/stats.ts, bench/model.ts, bench/render.ts,
 * scripts/bench-report.ts): medians, percentiles, paired ratios, interleaving order, targets and
 * verdicts, the markdown. No timing is asserted: the samples are given or counted.
 */
import assert from 'node:assert/strict';
import {
  fromPercentile,
  fromRatio,
  fromSamples,
  fromValue,
  type RunResults,
} from '../../bench/model';
import { figureRow, fmt, runMarkdown, sectionMarkdown, targetsMarkdown } from '../../bench/render';
import {
  median,
  pairedRatio,
  percentile,
  sampleInterleaved,
  summarize,
  table,
  verdict,
} from '../../bench/stats';
import { benchmarksDoc } from '../../scripts/bench-report';

describe('bench stats', () => {
  it('median of odd and even counts, unsorted input left as it was', () => {
    const values = [5, 1, 3];
    assert.equal(median(values), 3);
    assert.deepEqual(values, [5, 1, 3]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
    assert.ok(Number.isNaN(median([])));
  });

  it('nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1
    assert.equal(percentile(v, 50), 50);
    assert.equal(percentile(v, 99), 99);
    assert.equal(percentile(v, 10), 10);
    assert.equal(percentile(v, 90), 90);
    assert.equal(percentile(v, 100), 100);
    assert.equal(percentile(v, 0), 1);
    assert.equal(percentile([3, 1, 2], 99), 3);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('summarize gives n, median, p10, p90, min and max', () => {
    const s = summarize([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    assert.deepEqual(s, { n: 10, median: 55, p10: 10, p90: 90, min: 10, max: 100 });
  });

  it('ratios are taken pair by pair, then summarized', () => {
    // Pairwise ratios 2, 4, 3: median 3 (the ratio of medians would be 20/6.67 = 3 by chance,
    // so check a case where they differ too).
    assert.equal(pairedRatio([20, 40, 30], [10, 10, 10]).median, 3);
    const r = pairedRatio([10, 100, 12], [5, 100, 3]); // 2, 1, 4
    assert.equal(r.median, 2);
    assert.equal(r.min, 1);
    assert.equal(r.max, 4);
    assert.notEqual(r.median, median([10, 100, 12]) / median([5, 100, 3]));
    assert.throws(() => pairedRatio([1, 2], [1]), /paired ratio of 2 and 1 samples/);
  });

  it('verdicts against every kind of target; NaN is never met', () => {
    const t = (op: '<' | '<=' | '>' | '>=', value: number) => ({ op, value, source: 'issue x' });
    assert.equal(verdict(19.9, t('<', 20)), 'met');
    assert.equal(verdict(20, t('<', 20)), 'not met');
    assert.equal(verdict(20, t('<=', 20)), 'met');
    assert.equal(verdict(2, t('>=', 2)), 'met');
    assert.equal(verdict(1.99, t('>=', 2)), 'not met');
    assert.equal(verdict(2, t('>', 2)), 'not met');
    assert.equal(verdict(Number.NaN, t('<', 20)), 'not met');
    assert.equal(verdict(Number.NaN, t('>=', 0)), 'not met');
  });

  it('interleaves variants round by round, rotating the order, and drops the warm-up', async () => {
    const calls: string[] = [];
    const variant = (name: string) => async () => {
      calls.push(name);
    };
    const out = await sampleInterleaved(
      { a: variant('a'), b: variant('b'), c: variant('c') },
      3,
      1,
    );
    assert.deepEqual(calls.join(''), 'abc' + 'bca' + 'cab' + 'abc');
    assert.equal(out.a.length, 3);
    assert.equal(out.b.length, 3);
    assert.equal(out.c.length, 3);
    assert.ok(out.a.every((ms) => ms >= 0));
  });
});

describe('bench figures and tables', () => {
  it('fromSamples: median with spread and verdict', () => {
    const f = fromSamples('patch', 'ms', [30, 10, 20], {
      target: { op: '<', value: 15, source: 'issue 5' },
    });
    assert.equal(f.value, 20);
    assert.equal(f.spread?.n, 3);
    assert.equal(f.verdict, 'not met');
    assert.deepEqual(figureRow(f), [
      'patch',
      '20 ms',
      'p10 10 – p90 30, n=3',
      '< 15 ms (issue 5)',
      'not met',
    ]);
  });

  it('percentile, ratio and single figures say what they are', () => {
    const p99 = fromPercentile('lat', 'ms', [1, 2, 3], 'p99', 3, {
      target: { op: '<', value: 60, source: 'issue 5' },
    });
    assert.equal(figureRow(p99)[1], '3 ms p99');
    assert.equal(p99.verdict, 'met');
    const ratio = fromRatio('ours ÷ ffi', pairedRatio([4, 6], [2, 2]), {
      target: { op: '>=', value: 2, source: 'issue 12' },
    });
    assert.equal(ratio.value, 2.5);
    assert.equal(ratio.verdict, 'met');
    assert.equal(figureRow(ratio)[1], '2.50× ratio (median of pairs)');
    assert.equal(figureRow(ratio)[3], '>= 2× (issue 12)');
    const single = fromValue('trips', 'trips', 1, 'single run', { note: 'counted' });
    assert.equal(single.verdict, undefined);
    assert.deepEqual(figureRow(single), ['trips (counted)', '1 trips single run', '', '', '']);
  });

  it('number formatting and table escaping', () => {
    assert.equal(fmt(1234.5), '1235');
    assert.equal(fmt(12.345), '12.3');
    assert.equal(fmt(1.2345), '1.23');
    assert.equal(fmt(0.12345), '0.123');
    assert.equal(fmt(20), '20');
    assert.equal(fmt(Number.NaN), 'NaN');
    assert.equal(table(['a|b'], [['x|y']]), '| a\\|b |\n| --- |\n| x\\|y |');
  });

  it('a run: targets summary counts met / judged, sections not measured say why', () => {
    const run: RunResults = {
      mode: 'full',
      startedAt: '2026-01-01T00:00:00.000Z',
      seconds: 12,
      machine: {
        cpu: 'Test CPU',
        cores: 2,
        memoryGb: 4,
        node: 'v20.0.0',
        os: 'Linux',
        loadAverage: [1, 2, 3],
      },
      sections: [
        {
          id: 'one',
          title: 'One',
          method: 'how',
          status: 'measured',
          seconds: 1,
          figures: [
            fromSamples('a', 'ms', [1], { target: { op: '<', value: 2, source: 'issue 1' } }),
            fromSamples('b', 'ms', [3], { target: { op: '<', value: 2, source: 'issue 1' } }),
            fromSamples('c', 'ms', [3]),
          ],
        },
        {
          id: 'two',
          title: 'Two',
          method: 'how',
          status: 'not measured',
          reason: 'swtpm is not installed',
          seconds: 0,
          figures: [],
        },
      ],
    };
    const targets = targetsMarkdown(run);
    assert.match(targets, /## Targets: 1 of 2 met/);
    assert.match(targets, /not measured: swtpm is not installed/);
    assert.match(sectionMarkdown(run.sections[1]!), /\*\*not measured\*\*: swtpm is not installed/);
    const md = runMarkdown(run);
    assert.match(
      md,
      /Test CPU, 2 cores, 4\.0 GB memory; Node v20\.0\.0; Linux; load average at start 1\.00/,
    );
    const doc = benchmarksDoc(run, 'bench/results/latest.json');
    assert.match(doc, /^<!-- Generated by scripts\/bench-report\.ts/);
    assert.match(doc, /# Benchmarks: the latest full run/);
    assert.match(doc, /shared: 2 cores/);
  });
});
