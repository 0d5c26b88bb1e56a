/**
 * Every error this package throws or rejects with is an `IotDmError` with a stable `code`, the
 * OMA-DM `status` or the `hresult` where one exists, and the underlying `cause`. Native errors are
 * mapped to these classes here and nowhere else (`fromNativeError`).
 */
import type { CspVerb, CspResult } from '../native/contract';
import { describeOmaStatus } from './oma-status';
import { describeHresult, formatHresult } from './hresult';

export { describeOmaStatus, isOmaSuccess } from './oma-status';
export { describeHresult, formatHresult } from './hresult';

export type IotDmErrorCode =
  | 'ERR_MDM_UNAVAILABLE'
  | 'ERR_MDM_HRESULT'
  | 'ERR_SYNCML_MALFORMED'
  | 'ERR_CSP_STATUS'
  | 'ERR_CSP_ATOMIC_FAILED'
  | 'ERR_INVALID_URI'
  | 'ERR_INVALID_VALUE'
  | 'ERR_INVALID_ARG'
  | 'ERR_NATIVE'
  | 'ERR_IOTHUB'
  | 'ERR_CSP_NOT_ALLOWED'
  | 'ERR_DM_STATE'
  | 'ERR_DM_REPORT'
  | 'ERR_DM_DETACHED'
  | 'ERR_STORAGE'
  | 'ERR_TPM_UNAVAILABLE'
  | 'ERR_TPM'
  | 'ERR_SERVICE_MISSING'
  | 'ERR_SERVICE_STOPPED'
  | 'ERR_SERVICE_VERSION'
  | 'ERR_SERVICE_ACCESS_DENIED'
  | 'ERR_SERVICE_LIMIT'
  | 'ERR_SERVICE_PROTOCOL'
  | 'ERR_SERVICE_OUTCOME_UNKNOWN';

export interface IotDmErrorDetails {
  status?: number;
  hresult?: number;
  cause?: unknown;
}

export class IotDmError extends Error {
  readonly code: IotDmErrorCode;
  /** OMA-DM status code, when the error comes from a CSP command. */
  readonly status?: number;
  /** HRESULT (unsigned), when the error comes from a Windows API. */
  readonly hresult?: number;

  constructor(code: IotDmErrorCode, message: string, details: IotDmErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    if (details.status !== undefined) this.status = details.status;
    if (details.hresult !== undefined) this.hresult = details.hresult >>> 0;
  }
}

/** The MDM API (or the emulator library, or the addon itself) cannot be used here. */
export class MdmUnavailableError extends IotDmError {
  constructor(message: string, details: IotDmErrorDetails = {}) {
    super('ERR_MDM_UNAVAILABLE', message, details);
  }
}

/** A local MDM API call returned a failure HRESULT. */
export class MdmApiError extends IotDmError {
  readonly api: string;
  /** Why, when the API said (e.g. the CSP emulator's reason for refusing a time zone). */
  readonly detail?: string;
  constructor(api: string, hresult: number, cause?: unknown, detail?: string) {
    super(
      'ERR_MDM_HRESULT',
      `${api} failed with HRESULT ${formatHresult(hresult)}: ${detail ?? describeHresult(hresult)}`,
      { hresult, cause },
    );
    this.api = api;
    if (detail !== undefined) this.detail = detail;
  }
}

/** A SyncML document (the device's answer, or one given to us) could not be decoded. */
export class SyncMLError extends IotDmError {
  constructor(message: string, cause?: unknown) {
    super('ERR_SYNCML_MALFORMED', message, { cause });
  }
}

/** A CSP command completed with a failure status. */
export class CspError extends IotDmError {
  readonly uri: string;
  readonly verb: CspVerb;
  constructor(verb: CspVerb, uri: string, status: number) {
    super('ERR_CSP_STATUS', `${verb} ${uri} failed: ${status} ${describeOmaStatus(status)}`, {
      status,
    });
    this.uri = uri;
    this.verb = verb;
  }
}

/** An atomic transaction failed; `results` holds every command's own status. */
export class CspTransactionError extends IotDmError {
  readonly results: readonly CspResult[];
  /** The first command that failed (not merely rolled back). */
  readonly failed?: CspError;
  constructor(results: readonly CspResult[], failed?: CspError) {
    const what = failed ? `: ${failed.message}` : '';
    super('ERR_CSP_ATOMIC_FAILED', `atomic transaction rolled back${what}`, {
      status: 507,
      cause: failed,
    });
    this.results = results;
    if (failed) this.failed = failed;
  }
}

/** A feature handler tried a CSP node outside the ones it declared; nothing was sent. */
export class CspNotAllowedError extends IotDmError {
  readonly uri: string;
  readonly section: string;
  constructor(section: string, verb: CspVerb, uri: string) {
    super(
      'ERR_CSP_NOT_ALLOWED',
      `${verb} ${uri} is outside the CSP nodes declared by the "${section}" handler`,
    );
    this.uri = uri;
    this.section = section;
  }
}

/** The device-management client's persisted state could not be read or written. */
export class DmStateError extends IotDmError {
  constructor(message: string, cause?: unknown) {
    super('ERR_DM_STATE', message, { cause });
  }
}

/** A reported-properties patch could not be delivered (permanent failure, or over budget). */
export class ReportError extends IotDmError {
  constructor(message: string, cause?: unknown, status?: number) {
    super('ERR_DM_REPORT', message, status === undefined ? { cause } : { cause, status });
  }
}

/** A CSP URI was rejected before it reached native code. */
export class InvalidUriError extends IotDmError {
  readonly uri: unknown;
  constructor(uri: unknown, reason: string) {
    super('ERR_INVALID_URI', `invalid CSP URI ${describeValue(uri)}: ${reason}`);
    this.uri = uri;
  }
}

/** A value (twin value, method payload, CSP data) was rejected. */
export class InvalidValueError extends IotDmError {
  constructor(message: string, cause?: unknown) {
    super('ERR_INVALID_VALUE', message, { cause });
  }
}

/** Why a blob transfer failed (`StorageError.reason`), with the status it is reported as. */
export const STORAGE_REASONS = {
  /** No `externalStorage` section (and no connection string in the method payload). */
  notConfigured: 412,
  /** The connection string cannot be parsed or names no account. */
  badConnectionString: 400,
  /** A blob reference ("container/blob") is malformed or escapes its container. */
  badReference: 400,
  /** The container or blob does not exist. */
  notFound: 404,
  /** The blob is larger than the feature's limit. */
  tooLarge: 413,
  /** The content's SHA-256 (or thumbprint) is not the one expected. */
  integrity: 422,
  /** The account refused the credentials (bad key, expired SAS). */
  auth: 401,
  /** The account could not be reached (after the retries). */
  unavailable: 503,
  /** Anything else the storage service answered. */
  failed: 500,
} as const;
export type StorageReason = keyof typeof STORAGE_REASONS;

/**
 * A blob download or upload failed. The message names the container and blob, never the
 * connection string, key or SAS.
 */
export class StorageError extends IotDmError {
  readonly reason: StorageReason;
  /** `container/blob`, when the error is about one. */
  readonly blob?: string;
  constructor(
    reason: StorageReason,
    message: string,
    details: { blob?: string; cause?: unknown } = {},
  ) {
    super('ERR_STORAGE', message, { status: STORAGE_REASONS[reason], cause: details.cause });
    this.reason = reason;
    if (details.blob !== undefined) this.blob = details.blob;
  }
}

/** No TPM 2.0 can be reached (none present, no access, the simulator not running). */
export class TpmUnavailableError extends IotDmError {
  constructor(message: string, cause?: unknown) {
    super('ERR_TPM_UNAVAILABLE', message, { cause });
  }
}

/**
 * A TPM command failed. `rc` is the TPM response code (TPM_RC), `rcName` its TCG name
 * (`TPM_RC_HANDLE`, `TPM_RC_NV_DEFINED`, ...), `command` the command's name (`TPM2_NV_Write`).
 * Also used for malformed TPM data given to us (blobs, responses): `rc` 0 then.
 */
export class TpmError extends IotDmError {
  readonly rc: number;
  readonly rcName: string;
  readonly command: string;
  constructor(command: string, rc: number, rcName: string, message: string, cause?: unknown) {
    super('ERR_TPM', message, { cause });
    this.rc = rc >>> 0;
    this.rcName = rcName;
    this.command = command;
  }
}

/**
 * The privileged DM service (`iotdm service`, lib/service/) could not do what was asked. `code`
 * says why; `fix` is the command (or step) that fixes it, also at the end of the message.
 *  - ERR_SERVICE_MISSING: no socket / pipe at the path (not installed, or another path)
 *  - ERR_SERVICE_STOPPED: the socket is there but nothing listens (stopped, crashed, stale)
 *  - ERR_SERVICE_VERSION: the service speaks another protocol version
 *  - ERR_SERVICE_ACCESS_DENIED: the socket refuses this user (EACCES) or the policy refuses the op
 *  - ERR_SERVICE_LIMIT: a request over the size limit, or over the caller's rate
 *  - ERR_SERVICE_PROTOCOL: a malformed frame or message (either side)
 *  - ERR_SERVICE_OUTCOME_UNKNOWN: the connection dropped while a non-idempotent request ran and
 *    the service that restarted cannot tell whether it completed (nothing was re-sent)
 */
export class ServiceError extends IotDmError {
  /** The command or step that fixes it ("" when there is none). */
  readonly fix: string;
  /** The socket or pipe path the client used. */
  readonly path?: string;
  constructor(
    code: ServiceErrorCode,
    message: string,
    details: { fix?: string; path?: string; status?: number; cause?: unknown } = {},
  ) {
    const fix = details.fix ?? '';
    super(code, fix === '' ? message : `${message}. Fix: ${fix}`, {
      ...(details.status !== undefined ? { status: details.status } : {}),
      cause: details.cause,
    });
    this.fix = fix;
    if (details.path !== undefined) this.path = details.path;
  }
}

export type ServiceErrorCode = Extract<IotDmErrorCode, `ERR_SERVICE_${string}`>;

/** An argument of a public function was of the wrong type or shape. */
export class InvalidArgumentError extends IotDmError {
  constructor(name: string, expected: string, actual: unknown) {
    super(
      'ERR_INVALID_ARG',
      `Expected ${expected} for ${name} but received ${describeValue(actual)}`,
    );
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 80 ? value.slice(0, 77) + '...' : value;
    return JSON.stringify(shown);
  }
  return `${String(value)} of type ${value === null ? 'null' : typeof value}`;
}

interface NativeErrorShape {
  code?: unknown;
  message?: unknown;
  hresult?: unknown;
  api?: unknown;
  detail?: unknown;
  library?: unknown;
  command?: unknown;
}

/**
 * Maps an error raised by the addon (or by loading it) to the package's classes. The original
 * error is kept as `cause`; an error that is already an `IotDmError` passes through.
 */
export function fromNativeError(err: unknown): IotDmError {
  if (err instanceof IotDmError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as NativeErrorShape;
  const message = typeof e.message === 'string' ? e.message : String(err);
  switch (e.code) {
    case 'ERR_MDM_UNAVAILABLE':
      return new MdmUnavailableError(message, { cause: err });
    case 'ERR_MDM_HRESULT':
      return new MdmApiError(
        typeof e.api === 'string' ? e.api : 'ApplyLocalManagementSyncML',
        typeof e.hresult === 'number' ? e.hresult : 0x80004005,
        err,
        typeof e.detail === 'string' && e.detail !== '' ? e.detail : undefined,
      );
    case 'ERR_SYNCML_MALFORMED':
      return new SyncMLError(
        `the MDM answer could not be decoded: ${typeof e.detail === 'string' ? e.detail : message}`,
        err,
      );
    case 'ERR_INVALID_ARG':
      return new IotDmError('ERR_INVALID_ARG', message, { cause: err });
    case 'ERR_TPM_UNAVAILABLE':
      return new TpmUnavailableError(message, err);
    case 'ERR_TPM':
      // The addon raises it for responses that break the TPM framing: no TPM_RC (rc 0).
      return new TpmError(
        typeof e.command === 'string' ? e.command : 'TPM2 command',
        0,
        'MALFORMED',
        message,
        err,
      );
    default:
      return new IotDmError('ERR_NATIVE', message, { cause: err });
  }
}
