/**
 * The original client's status object: `lastChange: { time, state, errSubSystem, errCode,
 * errContext }`, with `completed` (the code's word; its docs said `committed`). Every state
 * carries all five fields so a `completed` patch overwrites the error fields of an earlier
 * `failed` one in a single reported patch. Errors map to (subsystem, code) here only.
 */
import {
  CspError,
  CspNotAllowedError,
  CspTransactionError,
  IotDmError,
  MdmApiError,
  MdmUnavailableError,
  ServiceError,
  StorageError,
} from '../errors';

export type ChangeState = 'pending' | 'completed' | 'failed';

export interface LastChange {
  [key: string]: string | number;
  time: string;
  state: ChangeState;
  errSubSystem: string;
  errCode: number;
  errContext: string;
}

export interface ErrorStatus {
  errSubSystem: string;
  errCode: number;
  errContext: string;
  /** The HTTP-like status a direct method answers with. */
  httpStatus: number;
  /** Worth trying again later with the same input (the device or API was unavailable). */
  transient: boolean;
}

const MAX_CONTEXT = 512;

export function nowIso(): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function errorStatus(err: unknown): ErrorStatus {
  const message = err instanceof Error ? err.message : String(err);
  const errContext =
    message.length > MAX_CONTEXT ? `${message.slice(0, MAX_CONTEXT - 3)}...` : message;
  if (err instanceof CspTransactionError) {
    return {
      errSubSystem: 'CSP',
      errCode: err.failed?.status ?? 507,
      errContext,
      httpStatus: 500,
      transient: false,
    };
  }
  if (err instanceof CspError) {
    return {
      errSubSystem: 'CSP',
      errCode: err.status ?? 500,
      errContext,
      httpStatus: 500,
      transient: false,
    };
  }
  if (err instanceof CspNotAllowedError) {
    return {
      errSubSystem: 'DeviceManagement',
      errCode: 403,
      errContext,
      httpStatus: 500,
      transient: false,
    };
  }
  if (err instanceof MdmApiError) {
    return {
      errSubSystem: 'MDM',
      errCode: (err.hresult ?? 0x80004005) | 0,
      errContext,
      httpStatus: 500,
      transient: true,
    };
  }
  if (err instanceof MdmUnavailableError) {
    return { errSubSystem: 'MDM', errCode: 503, errContext, httpStatus: 503, transient: true };
  }
  if (err instanceof ServiceError) {
    // The privileged service (lib/service/): missing or stopped is worth retrying later (it may be
    // started); another version, refused access and limits need someone to act.
    const transient =
      err.code === 'ERR_SERVICE_MISSING' ||
      err.code === 'ERR_SERVICE_STOPPED' ||
      err.code === 'ERR_SERVICE_OUTCOME_UNKNOWN';
    const errCode =
      err.code === 'ERR_SERVICE_ACCESS_DENIED' ? 403 : err.code === 'ERR_SERVICE_LIMIT' ? 429 : 503;
    return {
      errSubSystem: 'Service',
      errCode,
      errContext,
      httpStatus: errCode === 503 ? 503 : 500,
      transient,
    };
  }
  if (err instanceof StorageError) {
    const status = err.status ?? 500;
    return {
      errSubSystem: 'Storage',
      errCode: status,
      errContext,
      httpStatus: status === 400 ? 400 : 500,
      transient: err.reason === 'unavailable',
    };
  }
  if (err instanceof IotDmError) {
    const invalid =
      err.code === 'ERR_INVALID_VALUE' ||
      err.code === 'ERR_INVALID_ARG' ||
      err.code === 'ERR_INVALID_URI';
    return {
      errSubSystem: 'DeviceManagement',
      errCode: invalid ? 400 : (err.status ?? 500),
      errContext,
      httpStatus: invalid ? 400 : 500,
      transient: false,
    };
  }
  return { errSubSystem: 'Unknown', errCode: 500, errContext, httpStatus: 500, transient: true };
}

export function lastChange(state: ChangeState, err?: unknown): LastChange {
  if (state === 'failed') {
    const e = errorStatus(err);
    return {
      time: nowIso(),
      state,
      errSubSystem: e.errSubSystem,
      errCode: e.errCode,
      errContext: e.errContext,
    };
  }
  return { time: nowIso(), state, errSubSystem: '', errCode: 0, errContext: '' };
}
