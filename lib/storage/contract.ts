/**
 * The storage seam: how features move files through Azure Blob Storage (the original client's
 * `externalStorage`). `BlobExternalStorage` (lib/storage/external-storage.ts) implements it over
 * `@azure/storage-blob`; tests of feature logic may use `MemoryExternalStorage`
 * (lib/testing/memory-storage.ts). Every failure is a `StorageError` (lib/errors) whose message
 * names the blob and never the connection string, key or SAS.
 */

/** A blob: its container and its name inside the container. */
export interface BlobLocation {
  container: string;
  blob: string;
}

export interface DownloadOptions {
  /** Refuse (reason `tooLarge`) a blob larger than this many bytes. Default 512 MiB. */
  maxBytes?: number;
  /** Expected SHA-256 of the content (hex, any case); a mismatch is reason `integrity`. */
  sha256?: string;
  /**
   * A connection string given with the request (the original's method payloads carry one);
   * default: the `externalStorage` section's.
   */
  connectionString?: string;
}

export interface UploadOptions {
  contentType?: string;
  /** As in `DownloadOptions`. */
  connectionString?: string;
}

/** What a finished transfer moved. */
export interface TransferResult {
  location: BlobLocation;
  bytes: number;
  /** SHA-256 of the content, lower-case hex. */
  sha256: string;
}

/** A downloaded blob in a private download folder; `remove()` deletes it. */
export interface DownloadedFile extends TransferResult {
  path: string;
  remove(): Promise<void>;
}

export interface ExternalStorage {
  /** True once the `externalStorage` section (or the constructor) gave a connection string. */
  readonly configured: boolean;
  /**
   * Parses a blob reference: `"container/blob"` or `"container\\blob"` (the original's form), or
   * a bare `"blob"` in the section's `container`. Throws `StorageError` (`badReference`) for an
   * empty part, a `..` segment or an invalid container name.
   */
  locate(ref: string): BlobLocation;
  /**
   * Streams the blob to a new file (never the whole content in memory), checking the size limit
   * and SHA-256 while it arrives; retried on transient failures. The file appears complete or
   * not at all.
   */
  download(ref: string | BlobLocation, options?: DownloadOptions): Promise<DownloadedFile>;
  /** Streams a local file (path) or bytes into the blob (block upload), replacing it; retried. */
  upload(
    ref: string | BlobLocation,
    source: string | Uint8Array,
    options?: UploadOptions,
  ): Promise<TransferResult>;
}
