/** Shared helpers of the lib/dm unit tests: temp state folders and a capturing logger. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../../lib/dm/logger';

/** A fresh temporary folder per test; call `cleanup()` in `afterEach`. */
export class TempDirs {
  readonly #dirs: string[] = [];
  make(prefix = 'wdm-dm-unit-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.#dirs.push(dir);
    return dir;
  }
  cleanup(): void {
    for (const d of this.#dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

export interface LogLine {
  level: string;
  obj: object | string;
  msg?: string;
  bindings: Record<string, unknown>;
}

/** A pino-shaped logger that records every line (with its child bindings). */
export function captureLogger(
  lines: LogLine[] = [],
  bindings: Record<string, unknown> = {},
): Logger & { lines: LogLine[] } {
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      const line: LogLine = { level, obj, bindings };
      if (msg !== undefined) line.msg = msg;
      lines.push(line);
    };
  return {
    lines,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => captureLogger(lines, { ...bindings, ...b }),
  };
}
