/**
 * The attestation service's SQLite database (better-sqlite3): nonces it issued (each usable once,
 * by the device it was issued to, within its lifetime) and the health reports it stored:
 *
 *   nonces(nonce PRIMARY KEY, device_id, issued, used)      times in ms since the epoch
 *   reports(device_id, time, correlation_id, nonce, valid, secure_boot, report_json)
 *   cursor(id = 1, position)                                the last device message handled
 *
 * `time` is ISO 8601 UTC; `valid` 0/1 (the attestation service's ErrorCode was 0); `secure_boot`
 * 0/1, NULL when the report gave none; `report_json` the service's answer as JSON.
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';

export type NonceCheck = 'ok' | 'unknown' | 'used' | 'otherDevice' | 'expired';

export interface StoredReport {
  deviceId: string;
  time: string;
  correlationId: string;
  nonce: string;
  valid: boolean;
  secureBoot: boolean | null;
  report: unknown;
}

interface ReportRow {
  device_id: string;
  time: string;
  correlation_id: string;
  nonce: string;
  valid: number;
  secure_boot: number | null;
  report_json: string;
}

export class ReportStore {
  readonly #db: Database.Database;

  /** `file`: a path, or `:memory:`. */
  constructor(file: string) {
    // Nonces and device health reports: the owner's only (0600; its WAL files take this mode).
    if (file !== ':memory:' && file !== '') {
      closeSync(openSync(file, 'a', 0o600));
      if (process.platform !== 'win32') chmodSync(file, 0o600);
    }
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS nonces (
        nonce TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        issued INTEGER NOT NULL,
        used INTEGER
      );
      CREATE TABLE IF NOT EXISTS reports (
        device_id TEXT NOT NULL,
        time TEXT NOT NULL,
        correlation_id TEXT NOT NULL,
        nonce TEXT NOT NULL,
        valid INTEGER NOT NULL,
        secure_boot INTEGER,
        report_json TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS reports_device ON reports(device_id, time);
      CREATE TABLE IF NOT EXISTS cursor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        position INTEGER NOT NULL
      );
    `);
  }

  /** The position of the last device message handled (0 before the first). */
  position(): number {
    const row = this.#db
      .prepare<[], { position: number }>('SELECT position FROM cursor WHERE id = 1')
      .get();
    return row?.position ?? 0;
  }

  setPosition(position: number): void {
    this.#db
      .prepare(
        'INSERT INTO cursor (id, position) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET position = excluded.position',
      )
      .run(position);
  }

  issueNonce(deviceId: string, nonce: string, now = Date.now()): void {
    this.#db
      .prepare('INSERT INTO nonces (nonce, device_id, issued, used) VALUES (?, ?, ?, NULL)')
      .run(nonce.toLowerCase(), deviceId, now);
  }

  /** Checks `nonce` for `deviceId` and, when it is good, marks it used (atomically). */
  takeNonce(deviceId: string, nonce: string, ttlMs: number, now = Date.now()): NonceCheck {
    return this.#db.transaction((): NonceCheck => {
      const row = this.#db
        .prepare<[string], { device_id: string; issued: number; used: number | null }>(
          'SELECT device_id, issued, used FROM nonces WHERE nonce = ?',
        )
        .get(nonce.toLowerCase());
      if (!row) return 'unknown';
      if (row.device_id !== deviceId) return 'otherDevice';
      if (row.used !== null) return 'used';
      if (now - row.issued > ttlMs) return 'expired';
      this.#db.prepare('UPDATE nonces SET used = ? WHERE nonce = ?').run(now, nonce.toLowerCase());
      return 'ok';
    })();
  }

  /** The newest nonce issued to `deviceId` that is unused and not expired. */
  latestOutstandingNonce(deviceId: string, ttlMs: number, now = Date.now()): string | undefined {
    const row = this.#db
      .prepare<[string, number], { nonce: string }>(
        'SELECT nonce FROM nonces WHERE device_id = ? AND used IS NULL AND issued >= ? ORDER BY issued DESC, rowid DESC LIMIT 1',
      )
      .get(deviceId, now - ttlMs);
    return row?.nonce;
  }

  addReport(r: StoredReport): void {
    this.#db
      .prepare(
        'INSERT INTO reports (device_id, time, correlation_id, nonce, valid, secure_boot, report_json) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        r.deviceId,
        r.time,
        r.correlationId,
        r.nonce.toLowerCase(),
        r.valid ? 1 : 0,
        r.secureBoot === null ? null : r.secureBoot ? 1 : 0,
        JSON.stringify(r.report),
      );
  }

  /** Stored reports, oldest first (optionally of one device). */
  reports(deviceId?: string): StoredReport[] {
    const rows = deviceId
      ? this.#db
          .prepare<[string], ReportRow>('SELECT * FROM reports WHERE device_id = ? ORDER BY rowid')
          .all(deviceId)
      : this.#db.prepare<[], ReportRow>('SELECT * FROM reports ORDER BY rowid').all();
    return rows.map((r) => ({
      deviceId: r.device_id,
      time: r.time,
      correlationId: r.correlation_id,
      nonce: r.nonce,
      valid: r.valid === 1,
      secureBoot: r.secure_boot === null ? null : r.secure_boot === 1,
      report: JSON.parse(r.report_json) as unknown,
    }));
  }

  close(): void {
    this.#db.close();
  }
}
