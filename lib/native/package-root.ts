/** Finds this package's root folder, from `lib/` (tsx) or `dist/lib/` (built) alike. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = __dirname;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
        if (name === 'windows-iot-dm') return (cached = dir);
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`windows-iot-dm: package.json not found above ${__dirname}`);
    dir = parent;
  }
}
