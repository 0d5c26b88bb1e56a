/** Where CLI commands write, and the exit codes they return (stable: scripts depend on them). */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const EXIT = {
  ok: 0,
  /** A CSP command completed with a failure status (404, 405, ...). */
  cspFailed: 1,
  /** Bad command line. */
  usage: 2,
  /** The MDM API / emulator library / addon is not available. */
  unavailable: 3,
  /** Anything else (malformed SyncML, HRESULT failure, unreadable file). */
  error: 4,
} as const;

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
};
