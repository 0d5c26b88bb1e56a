/**
 * `npm run bench [-- --quick] [--only id,id]`: every benchmark of bench/suite.ts in one run, one
 * table set: markdown on stdout and in bench/results/latest.md, JSON in bench/results/latest.json
 * (a full run also in latest-full.json, which scripts/bench-report.ts turns into
 * docs/benchmarks.md). Exit status: 1 when a benchmark failed (threw), 0 otherwise; a benchmark
 * that cannot run here (missing tool) is "not measured: why", and a target not met is a figure,
 * not a failure (bench/README.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { machineFacts } from './machine';
import { NotMeasured, type RunResults, type Section } from './model';
import { runMarkdown, sectionMarkdown } from './render';
import { BENCHMARKS } from './suite';

export const RESULTS_DIR = path.join(__dirname, 'results');

interface Args {
  quick: boolean;
  only?: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--full') args.quick = false;
    else if (a === '--only') args.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a?.startsWith('--only=')) args.only = a.slice(7).split(',').filter(Boolean);
    else throw new Error(`unknown argument ${a} (use --quick, --full, --only id,id)`);
  }
  return args;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const unknown = (args.only ?? []).filter((id) => !BENCHMARKS.some((b) => b.id === id));
  if (unknown.length) {
    throw new Error(
      `unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.id).join(', ')}`,
    );
  }
  // In-process CSP benchmarks measure our code, not the emulator's fsync: state in memory
  // (the emulator reads this once, at its first use). Child-process benchmarks set their own.
  process.env.WINDOWS_IOT_DM_EMULATOR_STATE ??= ':memory:';
  const machine = machineFacts();
  const startedAt = new Date().toISOString();
  const t0 = now();
  const sections: Section[] = [];
  for (const bench of BENCHMARKS) {
    if (args.only && !args.only.includes(bench.id)) continue;
    const base = { id: bench.id, title: bench.title, method: bench.method };
    const s0 = now();
    let section: Section;
    const why = bench.unavailable?.();
    if (why !== undefined) {
      section = { ...base, status: 'not measured', reason: why, seconds: 0, figures: [] };
    } else {
      try {
        const figures = await bench.run({ quick: args.quick });
        section = { ...base, status: 'measured', seconds: (now() - s0) / 1000, figures };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const status = err instanceof NotMeasured ? 'not measured' : 'failed';
        section = { ...base, status, reason: message, seconds: (now() - s0) / 1000, figures: [] };
        if (status === 'failed') console.error(err);
      }
    }
    sections.push(section);
    console.error(`bench: ${bench.id} ${section.status} in ${section.seconds.toFixed(1)} s`);
    console.log(`${sectionMarkdown(section)}`);
  }
  const results: RunResults = {
    mode: args.quick ? 'quick' : 'full',
    ...(args.only ? { only: args.only } : {}),
    startedAt,
    seconds: (now() - t0) / 1000,
    machine,
    sections,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const md = runMarkdown(results);
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), json);
  writeFileSync(path.join(RESULTS_DIR, 'latest.md'), md);
  if (!args.quick && !args.only) writeFileSync(path.join(RESULTS_DIR, 'latest-full.json'), json);
  console.log(md.slice(0, md.indexOf('\n## ', md.indexOf('## Targets') + 1)));
  console.error(
    `bench: ${results.mode} run took ${results.seconds.toFixed(1)} s; results in ${RESULTS_DIR}`,
  );
  if (sections.some((s) => s.status === 'failed')) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
