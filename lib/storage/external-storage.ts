/**
 * `BlobExternalStorage`: the `ExternalStorage` seam (lib/storage/contract.ts) over Azure Blob
 * Storage (`@azure/storage-blob`). Downloads stream into `<downloadDir>/<uuid>.part` through a
 * byte counter + SHA-256 hasher (size limit enforced from Content-Length and while bytes arrive),
 * are fsync'ed and renamed when complete, and the part file is deleted on any failure. Uploads
 * stream from a file in blocks (bounded concurrency) or from bytes, hashing as they go, and
 * create the container when it is missing. Whole transfers are retried, with backoff, on
 * transient failures only (network errors, 408/429/5xx). Every failure goes through
 * `toStorageError` and never carries the connection string, key or SAS.
 */
import { randomUUID, createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobServiceClient } from '@azure/storage-blob';
import { StorageError } from '../errors';
import type { Logger } from '../dm/logger';
import { silentLogger } from '../dm/logger';
import {
  blobServiceClient,
  parseConnectionString,
  type StorageConnection,
} from './connection-string';
import type {
  BlobLocation,
  DownloadOptions,
  DownloadedFile,
  ExternalStorage,
  TransferResult,
  UploadOptions,
} from './contract';

export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
const MAX_BLOB_NAME = 1024;
const CONTAINER_NAME = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/;

export interface RetryOptions {
  /** Attempts per transfer, the first included. Default 3. */
  attempts?: number;
  /** Delay before the second attempt, doubled each time (with jitter). Default 500 ms. */
  delayMs?: number;
  /** Upper bound of one delay. Default 10 s. */
  maxDelayMs?: number;
}

export interface BlobExternalStorageOptions {
  connectionString?: string;
  /** Container of bare blob names (`"blob"` rather than `"container/blob"`). */
  container?: string;
  /**
   * Where downloads go (created 0700 if missing). Default: a private folder made on the first
   * download (`mkdtemp` of `<tmpdir>/windows-iot-dm-dl-`), never a shared, guessable path.
   */
  downloadDir?: string;
  logger?: Logger;
  retry?: RetryOptions;
  /** Block size of file uploads. Default 4 MiB. */
  blockSize?: number;
  /** Blocks of one upload in flight at once. Default 2. */
  uploadConcurrency?: number;
}

/** What `configure` is given: the `externalStorage` section's desired content. */
export interface StorageSettings {
  connectionString: string;
  container?: string;
}

/** A live account: the parsed string and its client (both hold the secret: never log). */
interface Account {
  readonly conn: StorageConnection;
  readonly service: BlobServiceClient;
}

export class BlobExternalStorage implements ExternalStorage {
  readonly #log: Logger;
  readonly #downloadDirOption: string | undefined;
  #downloadDir: Promise<string> | undefined;
  readonly #retry: Required<RetryOptions>;
  readonly #blockSize: number;
  readonly #uploadConcurrency: number;
  #account: Account | undefined;
  #container: string | undefined;
  /** The last connection string given with a request, and its client. */
  #adHoc: { text: string; account: Account } | undefined;

  constructor(options: BlobExternalStorageOptions = {}) {
    this.#log = options.logger ?? silentLogger();
    this.#downloadDirOption = options.downloadDir;
    this.#retry = {
      attempts: Math.max(1, options.retry?.attempts ?? 3),
      delayMs: options.retry?.delayMs ?? 500,
      maxDelayMs: options.retry?.maxDelayMs ?? 10_000,
    };
    this.#blockSize = options.blockSize ?? 4 * 1024 * 1024;
    this.#uploadConcurrency = Math.max(1, options.uploadConcurrency ?? 2);
    if (options.connectionString !== undefined) {
      this.configure({
        connectionString: options.connectionString,
        ...(options.container !== undefined ? { container: options.container } : {}),
      });
    } else if (options.container !== undefined) {
      this.#container = checkContainer(options.container, options.container);
    }
  }

  get configured(): boolean {
    return this.#account !== undefined;
  }

  /** The configured account's name (not a secret), if any. */
  get account(): string | undefined {
    return this.#account?.conn.account;
  }

  /** The default container, if any. */
  get container(): string | undefined {
    return this.#container;
  }

  /**
   * Sets (or, with `undefined`, clears) the account and default container. A connection string
   * that cannot be used throws `StorageError('badConnectionString')` and leaves the storage
   * unconfigured: transfers then fail `notConfigured` rather than use older credentials.
   */
  configure(settings: StorageSettings | undefined): void {
    this.#account = undefined;
    this.#container = undefined;
    if (settings === undefined) return;
    const container =
      settings.container !== undefined
        ? checkContainer(settings.container, settings.container)
        : undefined;
    this.#account = openAccount(settings.connectionString);
    this.#container = container;
  }

  locate(ref: string): BlobLocation {
    if (typeof ref !== 'string' || ref === '') {
      throw new StorageError('badReference', 'an empty blob reference');
    }
    const parts = ref.split(/[\\/]/);
    if (parts.length === 1 && this.#container === undefined) {
      throw new StorageError(
        'badReference',
        `"${ref}" names no container and externalStorage has no container`,
      );
    }
    const container = parts.length > 1 ? parts[0]! : this.#container!;
    return checkLocation(
      { container, blob: (parts.length > 1 ? parts.slice(1) : parts).join('/') },
      ref,
    );
  }

  async download(
    ref: string | BlobLocation,
    options: DownloadOptions = {},
  ): Promise<DownloadedFile> {
    const loc = this.#resolve(ref);
    const account = this.#accountFor(options.connectionString);
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    const expected = options.sha256?.toLowerCase();
    if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
      throw new StorageError(
        'integrity',
        `the expected SHA-256 of ${name(loc)} is not 64 hex digits`,
        {
          blob: name(loc),
        },
      );
    }
    const dir = await this.#downloadFolder().catch((err: unknown) => {
      throw new StorageError('failed', `no download folder for ${name(loc)} (${errCodeOf(err)})`, {
        blob: name(loc),
      });
    });
    return this.#withRetry('download', loc, () =>
      this.#downloadOnce(account, loc, dir, maxBytes, expected),
    );
  }

  async upload(
    ref: string | BlobLocation,
    source: string | Uint8Array,
    options: UploadOptions = {},
  ): Promise<TransferResult> {
    const loc = this.#resolve(ref);
    const account = this.#accountFor(options.connectionString);
    if (typeof source === 'string') {
      const st = await fsp.stat(source).catch(() => undefined);
      if (!st?.isFile()) {
        throw new StorageError(
          'failed',
          `the upload source for ${name(loc)} is not a readable file`,
          {
            blob: name(loc),
          },
        );
      }
    }
    return this.#withRetry('upload', loc, () =>
      this.#uploadOnce(account, loc, source, options.contentType),
    );
  }

  // ------------------------------------------------------------------------------ internals

  #resolve(ref: string | BlobLocation): BlobLocation {
    if (typeof ref === 'string') return this.locate(ref);
    return checkLocation(
      { container: ref.container, blob: ref.blob },
      `${ref.container}/${ref.blob}`,
    );
  }

  /** The download folder, made once (a failure is not kept: the next download tries again). */
  #downloadFolder(): Promise<string> {
    this.#downloadDir ??= (async () => {
      const given = this.#downloadDirOption;
      if (given !== undefined) {
        await fsp.mkdir(given, { recursive: true, mode: 0o700 });
        return given;
      }
      return fsp.mkdtemp(path.join(os.tmpdir(), 'windows-iot-dm-dl-'));
    })();
    this.#downloadDir.catch(() => (this.#downloadDir = undefined));
    return this.#downloadDir;
  }

  #accountFor(connectionString: string | undefined): Account {
    if (connectionString !== undefined) {
      if (this.#adHoc?.text !== connectionString) {
        this.#adHoc = { text: connectionString, account: openAccount(connectionString) };
      }
      return this.#adHoc.account;
    }
    if (this.#account === undefined) {
      throw new StorageError('notConfigured', 'externalStorage is not configured');
    }
    return this.#account;
  }

  async #withRetry<T>(kind: string, loc: BlobLocation, once: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once();
      } catch (err) {
        const { error, transient } = toStorageError(err, loc);
        if (!transient || attempt >= this.#retry.attempts) {
          this.#log.warn(
            { blob: name(loc), attempt, reason: error.reason, err: error.message },
            `blob ${kind} failed`,
          );
          throw error;
        }
        const delay = Math.min(
          this.#retry.maxDelayMs,
          this.#retry.delayMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2),
        );
        this.#log.info(
          { blob: name(loc), attempt, reason: error.reason, delayMs: Math.round(delay) },
          `blob ${kind} failed, retrying`,
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async #downloadOnce(
    account: Account,
    loc: BlobLocation,
    dir: string,
    maxBytes: number,
    expected: string | undefined,
  ): Promise<DownloadedFile> {
    const id = randomUUID();
    const part = path.join(dir, `${id}.part`);
    const final = path.join(dir, `${id}-${safeFileName(loc.blob)}`);
    const blob = account.service.getContainerClient(loc.container).getBlobClient(loc.blob);
    try {
      const response = await blob.download(0, undefined, { maxRetryRequests: 3 });
      const body = response.readableStreamBody;
      if (response.contentLength !== undefined && response.contentLength > maxBytes) {
        body?.destroy();
        throw tooLarge(loc, maxBytes);
      }
      if (body === undefined) throw new StorageError('failed', `${name(loc)}: no content`);
      const meter = new ByteMeter(maxBytes, () => tooLarge(loc, maxBytes));
      await pipeline(body, meter, createWriteStream(part, { flags: 'wx', mode: 0o600 }));
      // fsync applies to the file, whichever descriptor asks: the content is on disk before
      // the rename makes it visible.
      const file = await fsp.open(part, 'r');
      try {
        await file.sync();
      } finally {
        await file.close();
      }
      const sha256 = meter.hash.digest('hex');
      if (expected !== undefined && expected !== sha256) {
        throw new StorageError('integrity', `${name(loc)} does not have the expected SHA-256`, {
          blob: name(loc),
        });
      }
      await fsp.rename(part, final);
      this.#log.debug({ blob: name(loc), bytes: meter.bytes }, 'blob downloaded');
      return {
        location: loc,
        bytes: meter.bytes,
        sha256,
        path: final,
        remove: () => fsp.rm(final, { force: true }),
      };
    } catch (err) {
      await fsp.rm(part, { force: true });
      throw err;
    }
  }

  async #uploadOnce(
    account: Account,
    loc: BlobLocation,
    source: string | Uint8Array,
    contentType: string | undefined,
  ): Promise<TransferResult> {
    const containerClient = account.service.getContainerClient(loc.container);
    const blob = containerClient.getBlockBlobClient(loc.blob);
    const headers = contentType !== undefined ? { blobContentType: contentType } : undefined;
    const send = async (): Promise<{ bytes: number; sha256: string }> => {
      if (typeof source !== 'string') {
        const data = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
        await blob.uploadData(data, {
          blockSize: this.#blockSize,
          concurrency: this.#uploadConcurrency,
          ...(headers ? { blobHTTPHeaders: headers } : {}),
        });
        return { bytes: data.byteLength, sha256: createHash('sha256').update(data).digest('hex') };
      }
      const meter = new ByteMeter(Number.POSITIVE_INFINITY, () => new Error('unreachable'));
      const input = createReadStream(source, { highWaterMark: 256 * 1024 });
      input.once('error', (e) => meter.destroy(e));
      const stream = input.pipe(meter);
      try {
        await blob.uploadStream(stream, this.#blockSize, this.#uploadConcurrency, {
          ...(headers ? { blobHTTPHeaders: headers } : {}),
        });
      } finally {
        input.destroy();
      }
      return { bytes: meter.bytes, sha256: meter.hash.digest('hex') };
    };
    let sent: { bytes: number; sha256: string };
    try {
      sent = await send();
    } catch (err) {
      if (!isContainerMissing(err)) throw err;
      await containerClient.createIfNotExists();
      this.#log.info({ container: loc.container }, 'container created');
      sent = await send();
    }
    this.#log.debug({ blob: name(loc), bytes: sent.bytes }, 'blob uploaded');
    return { location: loc, ...sent };
  }
}

/** Counts and hashes the bytes passing through; fails with `onTooLarge()` past `maxBytes`. */
export class ByteMeter extends Transform {
  bytes = 0;
  readonly hash: Hash = createHash('sha256');
  constructor(
    private readonly maxBytes: number,
    private readonly onTooLarge: () => Error,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      cb(this.onTooLarge());
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

/** Parses now (bad strings fail at once); builds the client, and loads the SDK, on first use. */
function openAccount(connectionString: string): Account {
  const conn = parseConnectionString(connectionString);
  let service: BlobServiceClient | undefined;
  return {
    conn,
    get service() {
      return (service ??= blobServiceClient(conn));
    },
  };
}

function name(loc: BlobLocation): string {
  return `${loc.container}/${loc.blob}`;
}

function tooLarge(loc: BlobLocation, maxBytes: number): StorageError {
  return new StorageError('tooLarge', `${name(loc)} is larger than ${maxBytes} bytes`, {
    blob: name(loc),
  });
}

function checkContainer(container: string, ref: string): string {
  if (typeof container !== 'string' || !CONTAINER_NAME.test(container)) {
    throw new StorageError(
      'badReference',
      `"${ref}": the container name must be 3-63 lower-case letters, digits and single hyphens`,
    );
  }
  return container;
}

function checkLocation(loc: BlobLocation, ref: string): BlobLocation {
  checkContainer(loc.container, ref);
  const segments = typeof loc.blob === 'string' ? loc.blob.split('/') : [''];
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new StorageError('badReference', `"${ref}" is not a valid blob reference`);
  }
  if (loc.blob.length > MAX_BLOB_NAME) {
    throw new StorageError('badReference', `"${ref.slice(0, 80)}...": blob name too long`);
  }
  return loc;
}

/** The blob's last segment, made safe as a file name (keeps the extension). */
function safeFileName(blob: string): string {
  const base = blob.split('/').pop() ?? 'blob';
  const safe = base.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe.slice(-100) || 'blob';
}

const NETWORK_CODES = new Set([
  'REQUEST_SEND_ERROR',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errCodeOf(err: unknown): string {
  return errorCode(err) ?? 'error';
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function isContainerMissing(err: unknown): boolean {
  return statusOf(err) === 404 && errorCode(err) === 'ContainerNotFound';
}

/**
 * The one mapping of a transfer failure to a `StorageError` and whether to retry it. The
 * SDK's error is not kept as `cause` (its request may carry the SAS); its status and service
 * error code are copied into the message instead.
 */
export function toStorageError(
  err: unknown,
  loc: BlobLocation,
): { error: StorageError; transient: boolean } {
  if (err instanceof StorageError) return { error: err, transient: false };
  const blob = name(loc);
  const status = statusOf(err);
  const code = errorCode(err);
  const detail = [status, code].filter((x) => x !== undefined).join(' ');
  if (status === 404) {
    const what =
      code === 'ContainerNotFound'
        ? `container ${loc.container} does not exist (blob ${blob})`
        : `blob ${blob} does not exist`;
    return { error: new StorageError('notFound', what, { blob }), transient: false };
  }
  if (status === 401 || status === 403) {
    return {
      error: new StorageError('auth', `the storage account refused access to ${blob} (${detail})`, {
        blob,
      }),
      transient: false,
    };
  }
  if (status === undefined && ((code !== undefined && NETWORK_CODES.has(code)) || isNetwork(err))) {
    return {
      error: new StorageError(
        'unavailable',
        `the storage account could not be reached for ${blob}${code ? ` (${code})` : ''}`,
        { blob },
      ),
      transient: true,
    };
  }
  const transient = status === 408 || status === 429 || (status !== undefined && status >= 500);
  if (transient && (status === 503 || status === 408)) {
    return {
      error: new StorageError(
        'unavailable',
        `the storage service is unavailable for ${blob} (${detail})`,
        {
          blob,
        },
      ),
      transient: true,
    };
  }
  const message =
    status !== undefined || code !== undefined
      ? `the transfer of ${blob} failed (${detail})`
      : `the transfer of ${blob} failed`;
  return { error: new StorageError('failed', message, { blob }), transient };
}

/** A socket-level failure the SDK did not label with a code. */
function isNetwork(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const cause = (err as { cause?: unknown }).cause;
  const c = errorCode(cause);
  return (c !== undefined && NETWORK_CODES.has(c)) || err.name === 'AbortError';
}
