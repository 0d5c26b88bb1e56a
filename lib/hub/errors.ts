/**
 * Errors of the local IoT Hub, with the numeric `errorCode` and the name IoT Hub itself returns
 * (learn.microsoft.com/rest/api/iothub/common-error-codes; names from the service SDK's
 * `Microsoft.Azure.Devices.Common.Exceptions.ErrorCode`). Transports turn them into bodies:
 *
 * - MQTT (device side): `toMqttBody()` → `{"errorCode":400004,"message":"..."}` — the device SDK
 *   treats a twin response as failed only when its JSON body has an `errorCode`.
 * - HTTPS (service side): `toRestBody()` → `{"Message":"ErrorCode:ArgumentInvalid;...",
 *   "ExceptionMessage":"..."}` — `azure-iothub` (`Http.parseErrorBody`) splits `Message` on `;`
 *   and `:` and picks the error class from the HTTP status and the name.
 */
import { IotDmError } from '../errors';

/** Every hub error: numeric code, IoT Hub's name for it, HTTP status. */
export const HUB_ERRORS = {
  InvalidOperation: { errorCode: 400003, status: 400 },
  ArgumentInvalid: { errorCode: 400004, status: 400 },
  ArgumentNull: { errorCode: 400005, status: 400 },
  IotHubFormatError: { errorCode: 400006, status: 400 },
  IotHubUnauthorizedAccess: { errorCode: 401002, status: 401 },
  DeviceMaximumQueueDepthExceeded: { errorCode: 403004, status: 403 },
  /** Name ours; code and status as IoT Hub answered an oversized section (Azure/iotedge#7035). */
  TwinSizeExceeded: { errorCode: 403100, status: 403 },
  DeviceNotFound: { errorCode: 404001, status: 404 },
  JobNotFound: { errorCode: 404002, status: 404 },
  DeviceNotOnline: { errorCode: 404103, status: 404 },
  DeviceAlreadyExists: { errorCode: 409001, status: 409 },
  JobAlreadyExists: { errorCode: 409007, status: 409 },
  PreconditionFailed: { errorCode: 412001, status: 412 },
  DeviceMessageLockLost: { errorCode: 412002, status: 412 },
  MessageTooLarge: { errorCode: 413001, status: 413 },
  ThrottlingException: { errorCode: 429001, status: 429 },
  ServerError: { errorCode: 500001, status: 500 },
  GatewayTimeout: { errorCode: 504101, status: 504 },
} as const;

export type HubErrorName = keyof typeof HUB_ERRORS;

export class HubError extends IotDmError {
  /** IoT Hub's numeric error code, e.g. 400004. */
  readonly errorCode: number;
  /** IoT Hub's name for the code, e.g. `ArgumentInvalid`. */
  readonly errorName: HubErrorName;
  /** HTTP status (also the MQTT `$iothub/twin/res/{status}`). */
  override readonly status: number;

  constructor(name: HubErrorName, message: string, cause?: unknown) {
    const { errorCode, status } = HUB_ERRORS[name];
    super('ERR_IOTHUB', message, { status, cause });
    this.errorCode = errorCode;
    this.errorName = name;
    this.status = status;
  }

  /** Device-side (MQTT) error body. */
  toMqttBody(): { errorCode: number; message: string } {
    return { errorCode: this.errorCode, message: this.message };
  }

  /** Service-side (HTTPS) error body, as `azure-iothub` parses it. */
  toRestBody(): { Message: string; ExceptionMessage: string } {
    // parseErrorBody keeps only the text between the first and second ';'.
    const text = this.message.replace(/;/g, ',');
    return {
      Message: `ErrorCode:${this.errorName};${text}`,
      ExceptionMessage: `ErrorCode:${this.errorCode};${text}`,
    };
  }
}

export const argumentInvalid = (message: string): HubError =>
  new HubError('ArgumentInvalid', message);
export const deviceNotFound = (deviceId: string): HubError =>
  new HubError('DeviceNotFound', `Device ${deviceId} not registered`);
export const preconditionFailed = (message = 'Precondition failed: etag mismatch'): HubError =>
  new HubError('PreconditionFailed', message);

/** Converts anything thrown inside the hub into a `HubError` (unknown errors → 500 ServerError). */
export function toHubError(err: unknown): HubError {
  if (err instanceof HubError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new HubError('ServerError', message, err);
}
