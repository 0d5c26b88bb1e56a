/**
 * Checks every CSP op the built-in features sent during a test run against Microsoft's DDFs.
 *
 *   tsx scripts/check-feature-uris.ts <capture-file> [ddf-dir]
 *
 * The capture file comes from `WINDOWS_IOT_DM_CAPTURE_OPS` (lib/dm/op-capture.ts): one JSON line
 * `{ section, verb, uri }` per op a handler's scoped Csp let through. Ops of sections that are
 * not built-in features (test handlers) are left out. Unique `OPERATION URI` lines go to
 * `../shared/tools/ddf-check.py`; any INVALID line fails. Exit 0 when all are valid, 1 when
 * not, 2 when the checker or the DDFs are missing (the DDFs live beside the project).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BUILTIN_SECTIONS } from '../lib/features';

const VERBS: Record<string, string> = {
  get: 'Get',
  add: 'Add',
  replace: 'Replace',
  delete: 'Delete',
  exec: 'Exec',
};

/**
 * Ops a feature sends only when an option asks for what the DDFs do not list, each with why.
 * They are reported, not failed.
 */
const DIVERGENCES: ReadonlyArray<{ line: RegExp; why: string }> = [
  {
    line: /^Add \.\/Device\/Vendor\/MSFT\/Update\/ApprovedUpdates\/[0-9a-fA-F-]{36}$/,
    why: 'windowsUpdates with approveViaAdd: the original client approved updates with this Add; the DDF lists Get only',
  },
];

function main(): number {
  const [capture, ddfArg] = process.argv.slice(2);
  if (!capture) {
    console.error('usage: check-feature-uris <capture-file> [ddf-dir]');
    return 2;
  }
  const root = path.resolve(__dirname, '..');
  const ddfDir = ddfArg ?? path.resolve(root, '../shared/ddf');
  const checker = path.resolve(root, '../shared/tools/ddf-check.py');
  if (!existsSync(ddfDir) || !existsSync(checker)) {
    console.error(`check-feature-uris: ${ddfDir} or ${checker} is missing`);
    return 2;
  }
  const sections = new Set(BUILTIN_SECTIONS);
  const lines = new Set<string>();
  const text = existsSync(capture) ? readFileSync(capture, 'utf8') : '';
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    const op = JSON.parse(raw) as { section: string; verb: string; uri: string };
    if (!sections.has(op.section)) continue;
    lines.add(`${VERBS[op.verb] ?? op.verb} ${op.uri.replace(/\?.*$/, '')}`);
  }
  if (lines.size === 0) {
    console.error(
      `check-feature-uris: no op of a built-in feature in ${capture}: nothing was checked`,
    );
    return 1;
  }
  const input = [...lines].sort().join('\n');
  const run = spawnSync('python3', [checker, ddfDir], { input, encoding: 'utf8' });
  if (run.error) {
    console.error(`check-feature-uris: ${run.error.message}`);
    return 2;
  }
  const flagged = run.stdout.split('\n').filter((l) => l.startsWith('INVALID'));
  const invalid = flagged.filter((l) => {
    const line = l.replace(/^INVALID\s+/, '');
    const known = DIVERGENCES.find((d) => d.line.test(line));
    if (known) console.log(`check-feature-uris: known divergence: ${line} (${known.why})`);
    return !known;
  });
  console.log(
    `check-feature-uris: ${lines.size} distinct ops of ${sections.size} built-in sections checked, ${invalid.length} invalid`,
  );
  if (invalid.length > 0) {
    console.error(run.stdout);
    return 1;
  }
  return 0;
}

process.exitCode = main();
