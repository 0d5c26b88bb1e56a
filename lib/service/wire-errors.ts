/**
 * Errors across the service channel: the service sends the `IotDmError` its addon call raised
 * (class name, code, status/hresult and the class's own fields, never a stack); the client
 * rebuilds the same class, so a host sees the CspError / MdmApiError / TpmError /
 * MdmUnavailableError it would get in process.
 */
import {
  CspError,
  InvalidUriError,
  InvalidValueError,
  IotDmError,
  MdmApiError,
  MdmUnavailableError,
  ServiceError,
  SyncMLError,
  TpmError,
  TpmUnavailableError,
  type IotDmErrorCode,
  type ServiceErrorCode,
} from '../errors';
import type { CspVerb } from '../native/contract';
import type { WireError } from './protocol';

export function toWireError(err: unknown): WireError {
  if (!(err instanceof IotDmError)) {
    const message = err instanceof Error ? err.message : String(err);
    return { name: 'IotDmError', code: 'ERR_NATIVE', message };
  }
  const wire: WireError = { name: err.name, code: err.code, message: err.message };
  if (err.status !== undefined) wire.status = err.status;
  if (err.hresult !== undefined) wire.hresult = err.hresult;
  if (err instanceof CspError) Object.assign(wire, { verb: err.verb, uri: err.uri });
  if (err instanceof InvalidUriError) wire.uri = err.uri;
  if (err instanceof MdmApiError) {
    wire.api = err.api;
    if (err.detail !== undefined) wire.detail = err.detail;
  }
  if (err instanceof TpmError)
    Object.assign(wire, { rc: err.rc, rcName: err.rcName, command: err.command });
  if (err instanceof ServiceError) wire.fix = err.fix;
  return wire;
}

function str(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

/** Rebuilds the class the service raised (unknown names become a plain IotDmError). */
export function fromWireError(wire: WireError, path?: string): IotDmError {
  const message = str(wire.message, 'the service failed');
  switch (wire.name) {
    case 'CspError':
      return new CspError(wire.verb as CspVerb, str(wire.uri, ''), wire.status ?? 500);
    case 'MdmApiError':
      return new MdmApiError(
        str(wire.api, 'ApplyLocalManagementSyncML'),
        wire.hresult ?? 0x80004005,
        undefined,
        typeof wire.detail === 'string' ? wire.detail : undefined,
      );
    case 'MdmUnavailableError':
      return new MdmUnavailableError(`the service: ${message}`);
    case 'SyncMLError':
      return new SyncMLError(message);
    case 'TpmUnavailableError':
      return new TpmUnavailableError(message);
    case 'TpmError':
      return new TpmError(
        str(wire.command, 'TPM2 command'),
        typeof wire.rc === 'number' ? wire.rc : 0,
        str(wire.rcName, 'MALFORMED'),
        message,
      );
    case 'InvalidValueError':
      return new InvalidValueError(message);
    case 'InvalidUriError': {
      const e = new InvalidUriError(wire.uri, '');
      e.message = message;
      return e;
    }
    case 'ServiceError':
      return new ServiceError(wire.code as ServiceErrorCode, stripFix(message), {
        fix: str(wire.fix, ''),
        ...(path !== undefined ? { path } : {}),
        ...(wire.status !== undefined ? { status: wire.status } : {}),
      });
    default: {
      const e = new IotDmError(wire.code as IotDmErrorCode, message, {
        ...(wire.status !== undefined ? { status: wire.status } : {}),
        ...(wire.hresult !== undefined ? { hresult: wire.hresult } : {}),
      });
      return e;
    }
  }
}

function stripFix(message: string): string {
  const at = message.lastIndexOf('. Fix: ');
  return at === -1 ? message : message.slice(0, at);
}
