/**
 * The native seam: what the C++ addon (over mdmlocalmanagement.dll or the CSP emulator library)
 * and the in-memory mock in `windows-iot-dm/testing` both implement. Everything above this file
 * depends on these interfaces only.
 */

/** OMA-DM verbs a CSP node can be addressed with. */
export type CspVerb = 'get' | 'add' | 'replace' | 'delete' | 'exec';

/** SyncML Meta/Format values a CSP understands. `node` marks an interior node, `null` no value. */
export type CspFormat = 'chr' | 'int' | 'bool' | 'b64' | 'xml' | 'node' | 'null';

/** One CSP operation. `data` is the value as SyncML text (already b64-encoded for `b64`). */
export interface CspOp {
  verb: CspVerb;
  uri: string;
  format?: CspFormat;
  /** Meta/Type; defaults to `text/plain` when data is sent. */
  type?: string;
  data?: string;
}

/** One item of a Get's `<Results>` (a plain Get has one; `?list=StructData` has one per node). */
export interface CspResultItem {
  uri: string;
  data?: string;
  format?: string;
  type?: string;
}

/** The outcome of one op, in request order. `data`/`format`/`type` mirror the first result item. */
export interface CspResult {
  /** OMA-DM status code (200, 404, 405, 418, 500, 507, 216, ...). */
  status: number;
  data?: string;
  format?: string;
  type?: string;
  /** Every `<Results>` item for this op (Get only; empty otherwise). */
  items: CspResultItem[];
}

export interface ApplyOptions {
  /** Wrap all ops in one `<Atomic>`: all succeed or all are rolled back. */
  atomic?: boolean;
}

/**
 * The Windows local MDM API (or a library with its ABI). Calls are serialized by the
 * implementation; each `apply` is one SyncML message and one native round trip.
 */
export interface NativeMdm {
  /** Performs `ops` as one SyncML message; resolves with one result per op, in order. */
  apply(ops: readonly CspOp[], options?: ApplyOptions): Promise<CspResult[]>;
  /** Sends a raw `<SyncBody>` (diagnostics); resolves with the device's raw SyncML answer. */
  rawSyncML(body: string): Promise<string>;
}

/** What the TPM transport knows about the TPM it reaches. */
export interface TpmDeviceInfo {
  /** `tbs` (Windows TBS), `device` (/dev/tpmrm0 or a given path), `socket` (a simulator), `tcp`. */
  transport: 'tbs' | 'device' | 'socket' | 'tcp' | 'mock';
  /** 2 for TPM 2.0. */
  tpmVersion: number;
  /** Where it is: the device path, socket path or host:port; `TBS` on Windows. */
  path: string;
}

/**
 * A TPM 2.0 command channel: the byte streams `Tbsip_Submit_Command` carries on Windows and
 * `/dev/tpmrm0` on Linux (resource-managed: transient handles are the caller's to flush).
 * Commands are serialized by the implementation; each `submit` runs off the JS thread. No TPM
 * (or no access to it) rejects with `ERR_TPM_UNAVAILABLE`.
 */
export interface NativeTpm {
  /** Sends one complete command (header included); resolves with the complete response. */
  submit(command: Uint8Array): Promise<Uint8Array>;
  info(): Promise<TpmDeviceInfo>;
  /** Closes the channel; later calls reject with `ERR_TPM_UNAVAILABLE`. */
  close(): Promise<void>;
}
