#!/usr/bin/env node
// clang-format gate for native/ and bench/native/: `--check` fails on any unformatted file, `--fix` rewrites them.
// Uses the clang-format binary shipped in the `clang-format` npm package (no system install).
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url).pathname;
const mode = process.argv[2] ?? '--check';
if (mode !== '--check' && mode !== '--fix') {
  console.error('usage: clang-format.mjs --check|--fix');
  process.exit(2);
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return walk(p);
    return /\.(cc|cpp|h|hpp)$/.test(name) ? [p] : [];
  });
}

const binary = join(
  require.resolve('clang-format/package.json'),
  '..',
  'bin',
  `${process.platform}_${process.arch}`,
  'clang-format',
);
const files = [...walk(join(root, 'native')), ...walk(join(root, 'bench', 'native'))];
const args = mode === '--fix' ? ['-i', ...files] : ['--dry-run', '--Werror', ...files];
try {
  execFileSync(binary, args, { stdio: 'inherit', cwd: root });
} catch {
  console.error(
    `clang-format: some files under native/ or bench/native/ are not formatted; run "npm run format"`,
  );
  process.exit(1);
}
console.log(
  `clang-format: ${files.length} files ${mode === '--fix' ? 'formatted' : 'clean'} (native/, bench/native/)`,
);
