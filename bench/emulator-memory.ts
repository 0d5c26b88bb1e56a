/**
 * Resident memory of a Node process with the addon and the CSP emulator (full DDF table) loaded
 * and used, against a bare Node process: each measured in fresh child processes, median of 5.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { median, table } from './stats';

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

export function benchEmulatorMemory(runs = 5): string {
  const addon = JSON.stringify(join(ROOT, 'build/Release/windows_iot_dm.node'));
  const lib = JSON.stringify(join(ROOT, 'build/Release/mdm_emulator.so'));
  const loaded = `const { MdmSession } = require(${addon});
    const s = new MdmSession({ libraryPath: ${lib} });
    s.apply([{ verb: 'get', uri: './DevDetail/SwV' }, { verb: 'get', uri: './Device/Vendor/MSFT/Policy/Config/Update?list=StructData' }], false)
      .then(() => { ${REPORT} });`;
  const bare = [];
  const withEmulator = [];
  for (let i = 0; i < runs; i++) {
    bare.push(rssOf(REPORT));
    withEmulator.push(rssOf(loaded));
  }
  const b = median(bare);
  const e = median(withEmulator);
  return table(
    ['process', 'median RSS MB', 'above bare Node MB'],
    [
      ['bare Node', b.toFixed(1), '0'],
      ['Node + addon + emulator (full DDF table, used)', e.toFixed(1), (e - b).toFixed(1)],
    ],
  );
}
