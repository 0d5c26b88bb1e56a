/**
 * Command-line parsing shared by every `iotdm` command: `-h/--help` and `--json` on every command,
 * and usage errors printed with the command's help (exit 2).
 */
import { EXIT, type CliIo } from './io';

/** Options every command takes; spread into its `parseArgs` options. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/**
 * Runs a command's `parseArgs` call. Returns its result, or the exit code when the command is
 * already done: help printed (0) or a usage error printed with the help (2).
 */
export function parseCommand<T extends { values: { help?: boolean | undefined } }>(
  command: string,
  help: string,
  io: CliIo,
  parse: () => T,
): T | number {
  let parsed: T;
  try {
    parsed = parse();
  } catch (err) {
    io.err(`iotdm ${command}: ${(err as Error).message}\n\n${help}`);
    return EXIT.usage;
  }
  if (parsed.values.help === true) {
    io.out(help);
    return EXIT.ok;
  }
  return parsed;
}
