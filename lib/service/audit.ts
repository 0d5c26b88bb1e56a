/**
 * The service's audit log: one JSON line per privileged operation (every request but the
 * handshake), with the caller's uid/gid/pid/user, the operation, each op's verb and URI and the
 * outcome. Values, TPM command bytes and raw SyncML bodies are never written (they may be
 * secrets): only their sizes. The file is created with mode 0600.
 *
 * Writing: lines are kept in order in one buffer and written with one write(2) per flush (no
 * libuv thread-pool hop per line). A request that may change the device is flushed before its
 * answer is sent (`write(..., { flush: true })`, which also writes every line before it); reads
 * are flushed within `flushMs` or once `maxBufferBytes` are held, at `close()` and at process
 * exit. So only a killed process (SIGKILL, power loss) can lose lines, and only read lines of
 * the last `flushMs`. Lines are written to the kernel, not fsync'd.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
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

export interface AuditLogOptions {
  /** Longest a read's line waits in memory before it is written (ms, default 200). */
  flushMs?: number;
  /** Write as soon as this many bytes are held (default 64 KiB). */
  maxBufferBytes?: number;
  /** Where a write failure is reported (default stderr); reported once until a write succeeds. */
  onError?: (message: string) => void;
}

export class AuditLog {
  readonly #path: string;
  #fd: number | undefined;
  #lines: string[] = [];
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  readonly #flushMs: number;
  readonly #maxBytes: number;
  readonly #onError: (message: string) => void;
  /** The caller part of a line, serialized once per caller object (one per connection). */
  readonly #callers = new WeakMap<Caller, string>();
  readonly #onExit = () => this.flush();

  constructor(path: string, options: AuditLogOptions = {}) {
    this.#path = path;
    this.#flushMs = options.flushMs ?? 200;
    this.#maxBytes = options.maxBufferBytes ?? 64 * 1024;
    this.#onError =
      options.onError ?? ((m: string) => process.stderr.write(`iotdm service: ${m}\n`));
    if (path === '') return;
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    this.#fd = openSync(path, 'a', 0o600);
    process.on('exit', this.#onExit);
  }

  /** Lines held in memory, not written yet. */
  get buffered(): number {
    return this.#lines.length;
  }

  /**
   * Records one request. With `flush`, this line and every earlier one are written before
   * `write` returns (the server does this before answering a request that may change the device).
   */
  write(caller: Caller, entry: AuditEntry, options: { flush?: boolean } = {}): void {
    if (this.#fd === undefined) return;
    let who = this.#callers.get(caller);
    if (who === undefined) {
      who = JSON.stringify({
        uid: caller.uid,
        gid: caller.gid,
        pid: caller.pid,
        ...(caller.user !== undefined ? { user: caller.user } : {}),
        groups: caller.groupNames,
      });
      this.#callers.set(caller, who);
    }
    // Same member order as {time, caller, ...entry}; an entry always has members.
    const line = `{"time":"${new Date().toISOString()}","caller":${who},${JSON.stringify(entry).slice(1)}\n`;
    this.#lines.push(line);
    this.#bytes += line.length;
    if (options.flush === true || this.#bytes >= this.#maxBytes) {
      this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#flushMs);
      this.#timer.unref();
    }
  }

  /** Writes every held line now (one write(2), repeated only for a partial write). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lines.length === 0 || this.#fd === undefined) return;
    const data = Buffer.from(this.#lines.join(''), 'utf8');
    const count = this.#lines.length;
    this.#lines = [];
    this.#bytes = 0;
    try {
      let offset = 0;
      while (offset < data.length) offset += writeSync(this.#fd, data, offset);
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) {
        this.#onError(
          `audit log ${this.#path}: ${count} line(s) could not be written: ${(err as Error).message}`,
        );
      }
      this.#failing = true;
    }
  }

  /** Writes what is held and closes the file. */
  close(): Promise<void> {
    this.flush();
    process.off('exit', this.#onExit);
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined) closeSync(fd);
    return Promise.resolve();
  }
}
