/**
 * Cost of the CSP emulator's persistence (native/emulator/state_store.h) per AddonMdm.apply: a
 * Get-only message (locks, checks the file, writes nothing) and a Replace that changes a value
 * (writes the state file: temp file, fsync, rename, directory fsync), with the state in memory
 * (`:memory:`) and in a file. Each mode runs in a fresh child process (the emulator reads
 * WINDOWS_IOT_DM_EMULATOR_STATE once); medians of 101 messages.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { table } from './stats';

const ROOT = resolve(__dirname, '..');

const CHILD = `
const { AddonMdm } = require(${JSON.stringify(join(ROOT, 'lib'))});
const { median, sample } = require(${JSON.stringify(join(ROOT, 'bench', 'stats'))});
const URI = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart';
(async () => {
  const mdm = new AddonMdm();
  await mdm.apply([{ verb: 'delete', uri: URI }]);
  await mdm.apply([{ verb: 'add', uri: URI, format: 'int', data: '8' }]);
  let i = 0;
  const get = median(await sample(() => mdm.apply([{ verb: 'get', uri: URI }]), 101, 10));
  const write = median(
    await sample(() => mdm.apply([{ verb: 'replace', uri: URI, format: 'int', data: String(i++ % 24) }]), 101, 10),
  );
  process.stdout.write(JSON.stringify({ get, write }));
})();
`;

function measure(state: string): { get: number; write: number } {
  const out = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', CHILD], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, WINDOWS_IOT_DM_EMULATOR_STATE: state },
  });
  return JSON.parse(out) as { get: number; write: number };
}

export function benchEmulatorState(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wdm-bench-state-'));
  try {
    const memory = measure(':memory:');
    const file = measure(join(dir, 'emulator-state.json'));
    const row = (label: string, m: { get: number; write: number }) => [
      label,
      (m.get * 1000).toFixed(0),
      (m.write * 1000).toFixed(0),
    ];
    return table(
      ['state', 'Get-only apply µs', 'apply that writes µs'],
      [row(':memory:', memory), row(`file in ${tmpdir()}`, file)],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
