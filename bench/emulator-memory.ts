/**
 * Resident memory of a Node process with the addon and the CSP emulator (full DDF table) loaded
 * and used, against a bare Node process: fresh child processes, bare and loaded alternating, the
 * difference taken pair by pair (issue 3 target: < 40 MB above bare Node).
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fromSamples, type BenchOptions, type Figure } from './model';

const ROOT = resolve(__dirname, '..');

function rssOf(script: string): number {
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, WINDOWS_IOT_DM_EMULATOR_STATE: ':memory:' },
  });
  return Number(out.trim()) / (1024 * 1024);
}

const REPORT =
  'global.gc(); setTimeout(() => { global.gc(); console.log(process.memoryUsage().rss); }, 50);';

export function benchEmulatorMemory(o: BenchOptions): Figure[] {
  const runs = o.quick ? 3 : 7;
  const addon = JSON.stringify(join(ROOT, 'build/Release/windows_iot_dm.node'));
  const lib = JSON.stringify(join(ROOT, 'build/Release/mdm_emulator.so'));
  const loaded = `const { MdmSession } = require(${addon});
    const s = new MdmSession({ libraryPath: ${lib} });
    s.apply([{ verb: 'get', uri: './DevDetail/SwV' }, { verb: 'get', uri: './Device/Vendor/MSFT/Policy/Config/Update?list=StructData' }], false)
      .then(() => { ${REPORT} });`;
  const bare: number[] = [];
  const withEmulator: number[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push(rssOf(REPORT));
    withEmulator.push(rssOf(loaded));
  }
  return [
    fromSamples('bare Node process RSS', 'MB', bare),
    fromSamples('Node + addon + emulator (full DDF table, used) RSS', 'MB', withEmulator),
    fromSamples(
      'emulator process above bare Node (pair by pair)',
      'MB',
      withEmulator.map((e, i) => e - (bare[i] as number)),
      { target: { op: '<', value: 40, source: 'issue 3' } },
    ),
  ];
}
