/**
 * Persistence of the local IoT Hub: one SQLite database (`hub.db`, WAL mode) in a data folder,
 * through better-sqlite3 (synchronous, so every domain operation is one transaction). Statements
 * are prepared once per store. Everything written survives `close()` + reopen.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { HubError } from '../errors';
import { MIGRATIONS, SCHEMA_VERSION } from './schema';
import type { C2DRecord, C2DState, D2CRecord, DeviceRecord, JobRecord, StoredTwin } from './types';
import type { TwinState } from '../twin/types';

export interface HubStoreOptions {
  /** D2C messages kept (oldest dropped first). Default 10 000. */
  d2cRetention?: number;
  /** Queued C2D messages per device (IoT Hub: 50). Default 50. */
  c2dQueueDepth?: number;
}

interface DeviceRow {
  device_id: string;
  status: 'enabled' | 'disabled';
  status_reason: string | null;
  status_updated: string;
  auth_type: DeviceRecord['authType'];
  primary_key: string | null;
  secondary_key: string | null;
  primary_thumbprint: string | null;
  secondary_thumbprint: string | null;
  etag_version: number;
  generation_id: string;
  connection_state: DeviceRecord['connectionState'];
  connection_state_updated: string;
  last_activity: string;
  c2d_count: number;
  created: string;
}

interface MessageRow {
  seq: number;
  device_id: string;
  body: Buffer;
  properties: string;
  system_properties: string;
  enqueued: string;
}

interface C2DRow extends MessageRow {
  message_id: string;
  lock_token: string | null;
  state: C2DState;
  expiry: string | null;
  delivery_count: number;
}

const toDevice = (r: DeviceRow): DeviceRecord => ({
  deviceId: r.device_id,
  status: r.status,
  statusReason: r.status_reason,
  statusUpdatedTime: r.status_updated,
  authType: r.auth_type,
  primaryKey: r.primary_key,
  secondaryKey: r.secondary_key,
  primaryThumbprint: r.primary_thumbprint,
  secondaryThumbprint: r.secondary_thumbprint,
  etagVersion: r.etag_version,
  generationId: r.generation_id,
  connectionState: r.connection_state,
  connectionStateUpdatedTime: r.connection_state_updated,
  lastActivityTime: r.last_activity,
  cloudToDeviceMessageCount: r.c2d_count,
  createdTime: r.created,
});

const deviceParams = (d: DeviceRecord): Record<string, unknown> => ({
  device_id: d.deviceId,
  status: d.status,
  status_reason: d.statusReason,
  status_updated: d.statusUpdatedTime,
  auth_type: d.authType,
  primary_key: d.primaryKey,
  secondary_key: d.secondaryKey,
  primary_thumbprint: d.primaryThumbprint,
  secondary_thumbprint: d.secondaryThumbprint,
  etag_version: d.etagVersion,
  generation_id: d.generationId,
  connection_state: d.connectionState,
  connection_state_updated: d.connectionStateUpdatedTime,
  last_activity: d.lastActivityTime,
  c2d_count: d.cloudToDeviceMessageCount,
  created: d.createdTime,
});

const toD2C = (r: MessageRow): D2CRecord => ({
  seq: r.seq,
  deviceId: r.device_id,
  body: r.body,
  properties: JSON.parse(r.properties) as Record<string, string>,
  systemProperties: JSON.parse(r.system_properties) as Record<string, string>,
  enqueuedTime: r.enqueued,
});

const toC2D = (r: C2DRow): C2DRecord => ({
  ...toD2C(r),
  messageId: r.message_id,
  lockToken: r.lock_token,
  state: r.state,
  expiryTime: r.expiry,
  deliveryCount: r.delivery_count,
});

const DEVICE_COLUMNS =
  'device_id, status, status_reason, status_updated, auth_type, primary_key, secondary_key, primary_thumbprint, secondary_thumbprint, etag_version, generation_id, connection_state, connection_state_updated, last_activity, c2d_count, created';

export class HubStore {
  readonly dir: string;
  readonly file: string;
  private readonly db: Database.Database;
  private readonly d2cRetention: number;
  private readonly c2dQueueDepth: number;
  private readonly st: ReturnType<HubStore['prepare']>;

  /** Opens (creating if needed) the store in `dir`, running pending migrations. */
  constructor(dir: string, options: HubStoreOptions = {}) {
    this.dir = dir;
    // The store holds device keys and policy keys: the folder is the owner's only (0700) and the
    // database 0600 before SQLite opens it (its -wal/-shm files take the database's mode).
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, 'hub.db');
    fs.closeSync(fs.openSync(this.file, 'a', 0o600));
    if (process.platform !== 'win32') fs.chmodSync(this.file, 0o600);
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.d2cRetention = options.d2cRetention ?? 10_000;
    this.c2dQueueDepth = options.c2dQueueDepth ?? 50;
    this.migrate();
    this.st = this.prepare();
  }

  /** The schema version of the open database. */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private migrate(): void {
    const current = this.schemaVersion;
    if (current > SCHEMA_VERSION) {
      this.db.close();
      throw new HubError(
        'ServerError',
        `hub store ${this.file} has schema ${current}, newer than this package's ${SCHEMA_VERSION}`,
      );
    }
    for (let v = current; v < SCHEMA_VERSION; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  private prepare() {
    const db = this.db;
    const named = DEVICE_COLUMNS.split(', ')
      .map((c) => '@' + c)
      .join(', ');
    return {
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
      getDevice: db.prepare<[string], DeviceRow>(
        `SELECT ${DEVICE_COLUMNS} FROM devices WHERE device_id = ?`,
      ),
      listDevices: db.prepare<[], DeviceRow>(
        `SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY device_id`,
      ),
      countDevices: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM devices'),
      insertDevice: db.prepare(`INSERT INTO devices (${DEVICE_COLUMNS}) VALUES (${named})`),
      updateDevice: db.prepare(
        `UPDATE devices SET ${DEVICE_COLUMNS.split(', ')
          .slice(1)
          .map((c) => `${c} = @${c}`)
          .join(', ')} WHERE device_id = @device_id`,
      ),
      deleteDevice: db.prepare('DELETE FROM devices WHERE device_id = ?'),
      getTwin: db.prepare<[string], { doc: string }>('SELECT doc FROM twins WHERE device_id = ?'),
      listTwins: db.prepare<[], { device_id: string; doc: string }>(
        'SELECT device_id, doc FROM twins ORDER BY device_id',
      ),
      putTwin: db.prepare(
        `INSERT INTO twins (device_id, doc, version, desired_version, reported_version)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(device_id) DO UPDATE SET doc = excluded.doc, version = excluded.version,
           desired_version = excluded.desired_version, reported_version = excluded.reported_version`,
      ),
      putJob: db.prepare(
        `INSERT INTO jobs (job_id, type, status, created, doc) VALUES (@jobId, @type, @status, @createdTime, @doc)
         ON CONFLICT(job_id) DO UPDATE SET type = excluded.type, status = excluded.status, doc = excluded.doc`,
      ),
      getJob: db.prepare<
        [string],
        { job_id: string; type: string; status: string; created: string; doc: string }
      >('SELECT job_id, type, status, created, doc FROM jobs WHERE job_id = ?'),
      listJobs: db.prepare<
        [],
        { job_id: string; type: string; status: string; created: string; doc: string }
      >('SELECT job_id, type, status, created, doc FROM jobs ORDER BY created, job_id'),
      insertD2C: db.prepare(
        'INSERT INTO d2c (device_id, body, properties, system_properties, enqueued) VALUES (?, ?, ?, ?, ?)',
      ),
      pruneD2C: db.prepare('DELETE FROM d2c WHERE seq <= (SELECT MAX(seq) FROM d2c) - ?'),
      listD2C: db.prepare<[number, number], MessageRow>(
        'SELECT * FROM d2c WHERE seq > ? ORDER BY seq LIMIT ?',
      ),
      listD2CDevice: db.prepare<[string, number, number], MessageRow>(
        'SELECT * FROM d2c WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      insertC2D: db.prepare(
        `INSERT INTO c2d (device_id, message_id, state, body, properties, system_properties, enqueued, expiry)
         VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)`,
      ),
      countC2D: db.prepare<[string], { n: number }>(
        "SELECT COUNT(*) AS n FROM c2d WHERE device_id = ? AND state IN ('queued','locked')",
      ),
      expireC2D: db.prepare(
        "UPDATE c2d SET state = 'expired', lock_token = NULL WHERE state IN ('queued','locked') AND expiry IS NOT NULL AND expiry <= ?",
      ),
      nextC2D: db.prepare<[string], C2DRow>(
        "SELECT * FROM c2d WHERE device_id = ? AND state = 'queued' ORDER BY seq LIMIT 1",
      ),
      lockC2D: db.prepare(
        "UPDATE c2d SET state = 'locked', lock_token = ?, delivery_count = delivery_count + 1 WHERE seq = ?",
      ),
      getC2DByLock: db.prepare<[string, string], C2DRow>(
        'SELECT * FROM c2d WHERE device_id = ? AND lock_token = ?',
      ),
      setC2DState: db.prepare('UPDATE c2d SET state = ?, lock_token = NULL WHERE seq = ?'),
      unlockAllC2D: db.prepare(
        "UPDATE c2d SET state = 'queued', lock_token = NULL WHERE device_id = ? AND state = 'locked'",
      ),
      listC2D: db.prepare<[string], C2DRow>('SELECT * FROM c2d WHERE device_id = ? ORDER BY seq'),
      bumpC2DCount: db.prepare('UPDATE devices SET c2d_count = c2d_count + ? WHERE device_id = ?'),
    };
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  /** The database itself, for the tables of other hub services (the DPS, `lib/hub/dps`). */
  get sqlite(): Database.Database {
    return this.db;
  }

  // ---- settings -------------------------------------------------------------------------------

  getMeta<T>(key: string): T | undefined {
    const row = this.st.getMeta.get(key);
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  setMeta(key: string, value: unknown): void {
    this.st.setMeta.run(key, JSON.stringify(value));
  }

  // ---- devices and twins ----------------------------------------------------------------------

  getDevice(deviceId: string): DeviceRecord | undefined {
    const r = this.st.getDevice.get(deviceId);
    return r ? toDevice(r) : undefined;
  }

  listDevices(): DeviceRecord[] {
    return this.st.listDevices.all().map(toDevice);
  }

  countDevices(): number {
    return this.st.countDevices.get()!.n;
  }

  /** Inserts a device and its twin together. */
  insertDevice(device: DeviceRecord, twin: TwinState): void {
    this.transaction(() => {
      this.st.insertDevice.run(deviceParams(device));
      this.putTwin(device.deviceId, twin);
    });
  }

  updateDevice(device: DeviceRecord): void {
    this.st.updateDevice.run(deviceParams(device));
  }

  /** Deletes a device, its twin and its C2D queue. Returns false when it did not exist. */
  deleteDevice(deviceId: string): boolean {
    return this.st.deleteDevice.run(deviceId).changes > 0;
  }

  getTwin(deviceId: string): TwinState | undefined {
    const r = this.st.getTwin.get(deviceId);
    return r ? (JSON.parse(r.doc) as TwinState) : undefined;
  }

  putTwin(deviceId: string, twin: TwinState): void {
    this.st.putTwin.run(
      deviceId,
      JSON.stringify(twin),
      twin.version,
      twin.desired.version,
      twin.reported.version,
    );
  }

  /** Every twin, by device id (the query engine's input). */
  listTwins(): StoredTwin[] {
    return this.st.listTwins
      .all()
      .map((r) => ({ deviceId: r.device_id, twin: JSON.parse(r.doc) as TwinState }));
  }

  // ---- jobs -----------------------------------------------------------------------------------

  putJob(job: JobRecord): void {
    this.st.putJob.run({ ...job, doc: JSON.stringify(job.doc) });
  }

  getJob(jobId: string): JobRecord | undefined {
    const r = this.st.getJob.get(jobId);
    return r ? toJob(r) : undefined;
  }

  listJobs(): JobRecord[] {
    return this.st.listJobs.all().map(toJob);
  }

  // ---- device-to-cloud messages ---------------------------------------------------------------

  /** Stores a D2C message; the oldest beyond the retention are dropped. Returns its sequence. */
  appendD2C(msg: Omit<D2CRecord, 'seq'>): number {
    return this.transaction(() => {
      const seq = Number(
        this.st.insertD2C.run(
          msg.deviceId,
          msg.body,
          JSON.stringify(msg.properties),
          JSON.stringify(msg.systemProperties),
          msg.enqueuedTime,
        ).lastInsertRowid,
      );
      this.st.pruneD2C.run(this.d2cRetention);
      return seq;
    });
  }

  /** D2C messages after `afterSeq` (oldest first), optionally of one device. */
  listD2C(options: { deviceId?: string; afterSeq?: number; limit?: number } = {}): D2CRecord[] {
    const after = options.afterSeq ?? 0;
    const limit = options.limit ?? 1000;
    const rows =
      options.deviceId === undefined
        ? this.st.listD2C.all(after, limit)
        : this.st.listD2CDevice.all(options.deviceId, after, limit);
    return rows.map(toD2C);
  }

  // ---- cloud-to-device queue ------------------------------------------------------------------

  /**
   * Queues a C2D message. 403004 `DeviceMaximumQueueDepthExceeded` when the device already has
   * `c2dQueueDepth` messages waiting or locked.
   */
  enqueueC2D(msg: {
    deviceId: string;
    messageId: string;
    body: Buffer;
    properties: Record<string, string>;
    systemProperties: Record<string, string>;
    enqueuedTime: string;
    expiryTime?: string | null;
  }): number {
    return this.transaction(() => {
      if (this.st.countC2D.get(msg.deviceId)!.n >= this.c2dQueueDepth) {
        throw new HubError(
          'DeviceMaximumQueueDepthExceeded',
          `Device ${msg.deviceId} already has ${this.c2dQueueDepth} cloud-to-device messages queued`,
        );
      }
      const seq = Number(
        this.st.insertC2D.run(
          msg.deviceId,
          msg.messageId,
          msg.body,
          JSON.stringify(msg.properties),
          JSON.stringify(msg.systemProperties),
          msg.enqueuedTime,
          msg.expiryTime ?? null,
        ).lastInsertRowid,
      );
      this.st.bumpC2DCount.run(1, msg.deviceId);
      return seq;
    });
  }

  /**
   * Takes the oldest queued message of a device, locking it under a new lock token (delivery
   * count +1). Expired messages are marked `expired` first. Undefined when nothing is queued.
   */
  lockNextC2D(deviceId: string, now = new Date().toISOString()): C2DRecord | undefined {
    return this.transaction(() => {
      this.st.expireC2D.run(now);
      const row = this.st.nextC2D.get(deviceId);
      if (!row) return undefined;
      const token = randomUUID();
      this.st.lockC2D.run(token, row.seq);
      return toC2D({
        ...row,
        state: 'locked',
        lock_token: token,
        delivery_count: row.delivery_count + 1,
      });
    });
  }

  /**
   * Settles a locked message: `completed` or `rejected` (final), or `abandoned` (back to the
   * queue). 412002 `DeviceMessageLockLost` when the lock token is unknown or no longer locked.
   */
  settleC2D(
    deviceId: string,
    lockToken: string,
    outcome: 'completed' | 'rejected' | 'abandoned',
  ): C2DRecord {
    return this.transaction(() => {
      const row = this.st.getC2DByLock.get(deviceId, lockToken);
      if (!row || row.state !== 'locked') {
        throw new HubError(
          'DeviceMessageLockLost',
          `Lock token ${lockToken} of device ${deviceId} is not held`,
        );
      }
      const state: C2DState = outcome === 'abandoned' ? 'queued' : outcome;
      this.st.setC2DState.run(state, row.seq);
      return toC2D({ ...row, state, lock_token: null });
    });
  }

  /** Puts every locked message of a device back in the queue (its connection ended). */
  unlockC2D(deviceId: string): number {
    return this.st.unlockAllC2D.run(deviceId).changes;
  }

  /** Every C2D message of a device, whatever its state (oldest first). */
  listC2D(deviceId: string): C2DRecord[] {
    return this.st.listC2D.all(deviceId).map(toC2D);
  }
}

function toJob(r: {
  job_id: string;
  type: string;
  status: string;
  created: string;
  doc: string;
}): JobRecord {
  return {
    jobId: r.job_id,
    type: r.type,
    status: r.status,
    createdTime: r.created,
    doc: JSON.parse(r.doc) as Record<string, unknown>,
  };
}
