/** Reads data/ddf-facts.tsv (written by scripts/gen-ddf.ts) for the DDF tests. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../..');
export const FACTS_TSV = resolve(REPO_ROOT, 'data/ddf-facts.tsv');
export const FACTS_INC = resolve(REPO_ROOT, 'native/emulator/generated/ddf_facts.inc');
export const DDF_DIR = resolve(REPO_ROOT, '../shared/ddf');
export const DDF_CHECK = resolve(REPO_ROOT, '../shared/tools/ddf-check.py');
export const DDF_CHECK_EXAMPLES = resolve(REPO_ROOT, '../shared/tools/ddf-check-examples.txt');

export interface Fact {
  path: string;
  format: string;
  /** Access letters: A=Add C=Copy D=Delete E=Exec G=Get R=Replace. */
  access: string;
  occurrence: string;
  scope: string;
  caseSense: string;
  defaultValue: string;
  allowedType: string;
  allowedValues: string[];
  listDelimiter: string;
  mime: string;
}

function unescape(field: string): string {
  return field.replace(
    /\\(.)/g,
    (_, c: string) => ({ t: '\t', n: '\n', r: '\r', '\\': '\\' })[c] ?? `\\${c}`,
  );
}

export function readFacts(file = FACTS_TSV): Fact[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const facts: Fact[] = [];
  for (const line of lines.slice(2)) {
    if (line === '') continue;
    const f = line.split('\t').map(unescape);
    if (f.length !== 11) throw new Error(`bad TSV row: ${line}`);
    facts.push({
      path: f[0]!,
      format: f[1]!,
      access: f[2]!,
      occurrence: f[3]!,
      scope: f[4]!,
      caseSense: f[5]!,
      defaultValue: f[6]!,
      allowedType: f[7]!,
      allowedValues: f[8] === '' ? [] : f[8]!.split('\u001f'),
      listDelimiter: f[9]!,
      mime: f[10]!,
    });
  }
  return facts;
}

export const haveDdf = (): boolean => existsSync(DDF_DIR);
