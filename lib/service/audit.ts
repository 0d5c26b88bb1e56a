/**
 * The service's audit log: one JSON line per privileged operation (every request but the
 * handshake), with the caller's uid/gid/pid/user, the operation, each op's verb and URI and the
 * outcome. Values, TPM command bytes and raw SyncML bodies are never written (they may be
 * secrets): only their sizes. The file is created with mode 0600.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Caller } from './peer';

export interface AuditEntry {
  op: string;
  clientId: string;
  requestId: number;
  /** CSP ops: verb and URI only. */
  ops?: Array<{ verb: string; uri: string; status?: number }>;
  atomic?: boolean;
  /** Byte size of a raw SyncML body or TPM command (never the content). */
  bytes?: number;
  /** System call: the service name or action, never time zone data. */
  target?: string;
  result: 'ok' | 'error' | 'denied' | 'limited' | 'cached';
  error?: string;
  us: number;
}

export class AuditLog {
  #stream: WriteStream | undefined;
  /** Lines of this event-loop turn, written together (one write per turn, not per request). */
  #batch: string[] = [];

  constructor(path: string) {
    if (path === '') return;
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    this.#stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
    this.#stream.on('error', (err) => {
      process.stderr.write(`iotdm service: audit log ${path}: ${err.message}\n`);
    });
  }

  write(caller: Caller, entry: AuditEntry): void {
    if (!this.#stream) return;
    const line = {
      time: new Date().toISOString(),
      caller: {
        uid: caller.uid,
        gid: caller.gid,
        pid: caller.pid,
        ...(caller.user !== undefined ? { user: caller.user } : {}),
        groups: caller.groupNames,
      },
      ...entry,
    };
    if (this.#batch.length === 0) setImmediate(() => this.#flush());
    this.#batch.push(JSON.stringify(line) + '\n');
  }

  #flush(): void {
    const lines = this.#batch;
    this.#batch = [];
    if (lines.length > 0) this.#stream?.write(lines.join(''));
  }

  async close(): Promise<void> {
    this.#flush();
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
  }
}
