/**
 * Structured logging: a pino logger (or anything with pino's shape). Log lines carry section
 * names, versions, statuses and error codes, never twin values or method payloads, which may
 * hold connection strings; known secret fields are redacted as a second line of defence.
 */
import pino from 'pino';

export type LogFn = (obj: object | string, msg?: string) => void;

/** The subset of pino's logger the package uses; a pino `Logger` satisfies it. */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

export type LogLevel = 'silent' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
export const LOG_LEVELS: readonly LogLevel[] = [
  'silent',
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
];

/** Field names redacted wherever they appear (two levels deep). */
export const REDACTED_FIELDS = [
  'connectionString',
  'sharedAccessKey',
  'primaryKey',
  'secondaryKey',
  'sas',
  'sasToken',
  'password',
  'token',
];

/** A pino logger with the package's redaction rules, writing JSON lines to `destination`. */
export function createLogger(
  level: LogLevel = 'info',
  destination: pino.DestinationStream | number = 2,
): Logger {
  const paths = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);
  const stream = typeof destination === 'number' ? pino.destination(destination) : destination;
  return pino(
    { name: 'windows-iot-dm', level, redact: { paths, censor: '[redacted]' } },
    stream,
  ) as unknown as Logger;
}

/** A logger that drops everything. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' }) as unknown as Logger;
}

/** What a thrown value says in a log line: code and message only (no stack, no payloads). */
export function errorFields(err: unknown): { code?: string; err: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? { code, err: err.message } : { err: err.message };
  }
  return { err: String(err) };
}
