/**
 * Markdown of a benchmark run (bench/results/latest.md, stdout, docs/benchmarks.md): machine
 * facts, a summary of every target (met / not met), then one table per section.
 */
import type { Figure, MachineFacts, RunResults, Section } from './model';
import { table } from './stats';

/** A number with as many decimals as its size deserves (3 significant-ish digits). */
export function fmt(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return v.toFixed(digits);
}

function withUnit(v: number, unit: string): string {
  return unit === '×' ? `${fmt(v)}×` : `${fmt(v)} ${unit}`;
}

export function targetText(f: Figure): string {
  if (!f.target) return '';
  const t = f.target;
  return `${t.op} ${withUnit(t.value, f.unit)} (${t.source})`;
}

export function spreadText(f: Figure): string {
  const s = f.spread;
  if (!s) return '';
  if (s.n === 1) return 'n=1';
  return `p10 ${fmt(s.p10)} – p90 ${fmt(s.p90)}, n=${s.n}`;
}

export function figureRow(f: Figure): string[] {
  const name = f.note ? `${f.name} (${f.note})` : f.name;
  const stat = f.stat === 'median' ? '' : ` ${f.stat}`;
  return [
    name,
    `${withUnit(f.value, f.unit)}${stat}`,
    spreadText(f),
    targetText(f),
    f.verdict ?? '',
  ];
}

export function machineText(m: MachineFacts): string {
  return (
    `${m.cpu}, ${m.cores} cores, ${m.memoryGb.toFixed(1)} GB memory; Node ${m.node}; ${m.os}; ` +
    `load average at start ${m.loadAverage.map((x) => x.toFixed(2)).join(' / ')} (1 / 5 / 15 min)`
  );
}

export function sectionMarkdown(s: Section): string {
  const head = `## ${s.title}\n\n${s.method}\n\n`;
  if (s.status !== 'measured') {
    return `${head}**${s.status}**: ${s.reason ?? ''}\n`;
  }
  return (
    head +
    table(
      ['figure', 'value', 'spread', 'target', 'verdict'],
      s.figures.map((f) => figureRow(f)),
    ) +
    `\n\n(${fmt(s.seconds)} s)\n`
  );
}

/** Every figure with a target, in one table: the page's first look. */
export function targetsMarkdown(r: RunResults): string {
  const rows: string[][] = [];
  for (const s of r.sections) {
    for (const f of s.figures) {
      if (f.target)
        rows.push([s.title, f.name, withUnit(f.value, f.unit), targetText(f), f.verdict ?? '']);
    }
    if (s.status !== 'measured')
      rows.push([s.title, '—', '', '', `${s.status}: ${s.reason ?? ''}`]);
  }
  const met = rows.filter((r) => r[4] === 'met').length;
  const judged = rows.filter((r) => r[4] === 'met' || r[4] === 'not met').length;
  return (
    `## Targets: ${met} of ${judged} met\n\n` +
    table(['benchmark', 'figure', 'value', 'target', 'verdict'], rows) +
    '\n'
  );
}

export function runMarkdown(r: RunResults): string {
  return [
    `# windows-iot-dm benchmarks (${r.mode} run${r.only ? `, only ${r.only.join(', ')}` : ''})\n`,
    `Machine: ${machineText(r.machine)}.\n`,
    `Started ${r.startedAt}, took ${fmt(r.seconds)} s. Values are medians unless marked (p50/p99, ` +
      `totals); spread is p10 – p90 of the samples and their count n; ratios are medians of ` +
      `ratios of samples taken side by side in the same run (see bench/README.md).\n`,
    targetsMarkdown(r),
    ...r.sections.map((s) => sectionMarkdown(s)),
  ].join('\n');
}
