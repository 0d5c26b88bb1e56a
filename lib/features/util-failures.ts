/**
 * Per-item failures of a section (one Wi-Fi profile, one collector): each item is applied on its
 * own and the section then fails with one error naming every item that failed.
 */
import { InvalidValueError } from '../errors';
import { errorStatus } from '../dm/status';

export interface ItemFailure {
  name: string;
  err: unknown;
}

/**
 * One error for `failures` (non-empty): the first failure's error (so its class, errCode and
 * subsystem are reported) with a message naming every item and its reason.
 */
export function combineFailures(what: string, failures: readonly ItemFailure[]): unknown {
  const first = failures[0]?.err;
  const text = failures
    .map(({ name, err }) => `${JSON.stringify(name)}: ${errorStatus(err).errContext}`)
    .join('; ');
  const message = `${failures.length} ${what} failed: ${text}`;
  if (first instanceof Error) {
    first.message = message;
    return first;
  }
  return new InvalidValueError(message);
}
