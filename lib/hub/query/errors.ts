/**
 * Query errors. IoT Hub has no query-specific error code: a query it cannot parse or run is a 400
 * (learn.microsoft.com/rest/api/iothub/common-error-codes); we answer 400004 `ArgumentInvalid`,
 * the code IoT Hub documents for "invalid request or user input"
 * (`Microsoft.Azure.Devices.Common.Exceptions.ErrorCode.ArgumentInvalid`). The text is ours and
 * says where the query went wrong and what was expected.
 */
import { HubError } from '../errors';

export class QueryError extends HubError {
  /** Offset (0-based, UTF-16 units) in the query text where the problem was found, if any. */
  readonly position: number | undefined;

  constructor(message: string, position?: number) {
    super(
      'ArgumentInvalid',
      position === undefined ? message : `${message} at position ${position}`,
    );
    this.position = position;
  }
}

/** `expected X, found Y at position N`. */
export function expected(what: string, found: string, position: number): QueryError {
  return new QueryError(`Query syntax error: expected ${what}, found ${found}`, position);
}
