/**
 * Cost of the CSP emulator's persistence (native/emulator/state_store.h) per AddonMdm.apply: a
 * Get-only message (locks, checks the file, writes nothing) and a Replace that changes a value
 * (writes the state file: temp file, fsync, rename, directory fsync), with the state in memory
 * (`:memory:`) and in a file. Each mode runs in a fresh child process (the emulator reads
 * WINDOWS_IOT_DM_EMULATOR_STATE once); medians of `messages` messages.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fromSamples, type BenchOptions, type Figure } from './model';

interface Samples {
  get: number[];
  write: number[];
}

const ROOT = resolve(__dirname, '..');

const CHILD = `
const { AddonMdm } = require(${JSON.stringify(join(ROOT, 'lib'))});
const { sample } = require(${JSON.stringify(join(ROOT, 'bench', 'stats'))});
const N = Number(process.argv[1]);
const URI = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart';
(async () => {
  const mdm = new AddonMdm();
  await mdm.apply([{ verb: 'delete', uri: URI }]);
  await mdm.apply([{ verb: 'add', uri: URI, format: 'int', data: '8' }]);
  let i = 0;
  const get = await sample(() => mdm.apply([{ verb: 'get', uri: URI }]), N, 10);
  const write = await sample(() => mdm.apply([{ verb: 'replace', uri: URI, format: 'int', data: String(i++ % 24) }]), N, 10);
  process.stdout.write(JSON.stringify({ get, write }));
})();
`;

function measure(state: string, messages: number): Samples {
  const out = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', CHILD, String(messages)], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, WINDOWS_IOT_DM_EMULATOR_STATE: state },
  });
  return JSON.parse(out) as Samples;
}

export function benchEmulatorState(o: BenchOptions): Figure[] {
  const messages = o.quick ? 41 : 101;
  const dir = mkdtempSync(join(tmpdir(), 'wdm-bench-state-'));
  try {
    const memory = measure(':memory:', messages);
    const file = measure(join(dir, 'emulator-state.json'), messages);
    const us = (ms: number[]): number[] => ms.map((m) => m * 1000);
    return [
      fromSamples('Get-only apply, state :memory:', 'µs', us(memory.get)),
      fromSamples('apply that writes, state :memory:', 'µs', us(memory.write)),
      fromSamples(`Get-only apply, state file in ${tmpdir()}`, 'µs', us(file.get)),
      fromSamples(
        `apply that writes (temp file, fsync, rename), state file in ${tmpdir()}`,
        'µs',
        us(file.write),
      ),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
