/**
 * Files that hold a secret (a device connection string): on POSIX, a file that other users may
 * read gets a warning naming the fix, as ssh and kubectl do. Windows file modes say nothing about
 * ACLs, so nothing is checked there.
 */
import { statSync } from 'node:fs';

/** A warning when `file` is readable or writable by group or others, else undefined. */
export function looseSecretFile(
  file: string,
  platform: NodeJS.Platform = process.platform,
): { mode: string; fix: string } | undefined {
  if (platform === 'win32') return undefined;
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return undefined; // reading it already failed or will say why
  }
  if ((mode & 0o077) === 0) return undefined;
  return { mode: mode.toString(8).padStart(4, '0'), fix: `chmod 600 ${file}` };
}
