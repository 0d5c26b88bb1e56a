/**
 * An `ExternalStorage` held in memory, for unit tests of feature logic (no Azurite). Blobs are
 * put with `put()` and read back with `get()`; downloads are written to a temporary folder so the
 * feature code sees a real file, as with the real store.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StorageError } from '../errors';
import type {
  BlobLocation,
  DownloadOptions,
  DownloadedFile,
  ExternalStorage,
  TransferResult,
  UploadOptions,
} from '../storage/contract';

const CONTAINER_NAME = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/;

export class MemoryExternalStorage implements ExternalStorage {
  readonly configured: boolean;
  readonly blobs = new Map<string, Uint8Array>();
  /** Every transfer, in order (`download`/`upload` and `container/blob`). */
  readonly transfers: { kind: 'download' | 'upload'; blob: string }[] = [];
  private dir: string | undefined;

  constructor(private readonly options: { container?: string; configured?: boolean } = {}) {
    this.configured = options.configured ?? true;
  }

  put(ref: string, content: string | Uint8Array): void {
    const loc = this.locate(ref);
    this.blobs.set(key(loc), typeof content === 'string' ? Buffer.from(content) : content);
  }

  get(ref: string): Buffer | undefined {
    const content = this.blobs.get(key(this.locate(ref)));
    return content === undefined ? undefined : Buffer.from(content);
  }

  locate(ref: string): BlobLocation {
    const parts = ref.split(/[\\/]/);
    const container = parts.length > 1 ? parts[0]! : (this.options.container ?? '');
    const rest = parts.length > 1 ? parts.slice(1) : parts;
    if (!CONTAINER_NAME.test(container) || rest.some((p) => p === '' || p === '..' || p === '.')) {
      throw new StorageError('badReference', `"${ref}" is not a valid blob reference`);
    }
    return { container, blob: rest.join('/') };
  }

  async download(
    ref: string | BlobLocation,
    options: DownloadOptions = {},
  ): Promise<DownloadedFile> {
    this.checkConfigured(options.connectionString);
    const loc = typeof ref === 'string' ? this.locate(ref) : ref;
    this.transfers.push({ kind: 'download', blob: key(loc) });
    const content = this.blobs.get(key(loc));
    if (content === undefined) {
      throw new StorageError('notFound', `blob ${key(loc)} does not exist`, { blob: key(loc) });
    }
    if (content.byteLength > (options.maxBytes ?? 512 * 1024 * 1024)) {
      throw new StorageError('tooLarge', `blob ${key(loc)} is larger than the limit`, {
        blob: key(loc),
      });
    }
    const sha256 = createHash('sha256').update(content).digest('hex');
    if (options.sha256 !== undefined && options.sha256.toLowerCase() !== sha256) {
      throw new StorageError('integrity', `blob ${key(loc)} does not have the expected SHA-256`, {
        blob: key(loc),
      });
    }
    this.dir ??= await fsp.mkdtemp(path.join(os.tmpdir(), 'iotdm-memstore-'));
    const file = path.join(this.dir, `${this.transfers.length}-${path.basename(loc.blob)}`);
    await fsp.writeFile(file, content);
    return {
      location: loc,
      bytes: content.byteLength,
      sha256,
      path: file,
      remove: () => fsp.rm(file, { force: true }),
    };
  }

  async upload(
    ref: string | BlobLocation,
    source: string | Uint8Array,
    options: UploadOptions = {},
  ): Promise<TransferResult> {
    this.checkConfigured(options.connectionString);
    const loc = typeof ref === 'string' ? this.locate(ref) : ref;
    this.transfers.push({ kind: 'upload', blob: key(loc) });
    const content = typeof source === 'string' ? await fsp.readFile(source) : source;
    this.blobs.set(key(loc), content);
    return {
      location: loc,
      bytes: content.byteLength,
      sha256: createHash('sha256').update(content).digest('hex'),
    };
  }

  private checkConfigured(connectionString: string | undefined): void {
    if (!this.configured && connectionString === undefined) {
      throw new StorageError('notConfigured', 'externalStorage is not configured');
    }
  }
}

function key(loc: BlobLocation): string {
  return `${loc.container}/${loc.blob}`;
}
