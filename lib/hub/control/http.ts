/**
 * The control API over HTTP, served by the service API (`ServiceApi`) under `/$control`, only to
 * callers with a token of the `iothubowner` policy (any other policy: 401). Bodies are JSON.
 *
 * | request | body | effect |
 * |---|---|---|
 * | `GET /$control` | | 200, the faults in force |
 * | `POST /$control/reset` | | clears every fault |
 * | `POST /$control/devices/{id}/drop` | `{afterMessages?: n}` | drop the connection now / after n messages |
 * | `POST /$control/devices/{id}/expire-tokens` | | the device's tokens are expired from now on |
 * | `POST /$control/expire-tokens` | | every device's tokens are expired from now on |
 * | `POST /$control/twin/delay` | `{ms}` | delay twin answers |
 * | `POST /$control/twin/drop` | `{count}` | drop the next count twin answers |
 * | `POST /$control/twin/drop-desired` | `{count}` | drop the next count desired notifications |
 * | `POST /$control/fail` | `{count, status: 429 or 500, scope?: rest, twin or all}` | fail the next count operations |
 *
 * Every POST answers 200 with the faults in force; unknown paths 404, other methods 405.
 */
import { HubError, argumentInvalid } from '../errors';
import type { FaultScope, FaultStatus, HubControl } from './control';

export const CONTROL_PREFIX = '$control';

export interface ControlReply {
  status: number;
  body?: unknown;
}

/** Serves `segments` (the path after `/$control`). */
export function handleControlRequest(
  control: HubControl,
  method: string,
  segments: readonly string[],
  body: unknown,
): ControlReply {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b))
    throw argumentInvalid('The body must be a JSON object');
  const path = segments.join('/');
  if (segments.length === 0) {
    if (method !== 'GET') return notAllowed(method, path);
    return { status: 200, body: control.state };
  }
  if (method !== 'POST') return notAllowed(method, path);
  const [a, id, action, ...rest] = segments;
  if (a === 'reset' && segments.length === 1) control.reset();
  else if (a === 'expire-tokens' && segments.length === 1) control.expireTokens();
  else if (a === 'twin' && id === 'delay' && segments.length === 2) {
    control.delayTwinResponses(b.ms as number);
  } else if (a === 'twin' && id === 'drop' && segments.length === 2) {
    control.dropTwinResponses(b.count as number);
  } else if (a === 'twin' && id === 'drop-desired' && segments.length === 2) {
    control.dropDesiredNotifications(b.count as number);
  } else if (a === 'fail' && segments.length === 1) {
    const opts = b.scope === undefined ? {} : { scope: b.scope as FaultScope };
    control.failNext(b.count as number, b.status as FaultStatus, opts);
  } else if (a === 'devices' && id !== undefined && rest.length === 0 && action === 'drop') {
    const n = b.afterMessages;
    control.dropConnection(id, n === undefined ? {} : { afterMessages: n as number });
  } else if (
    a === 'devices' &&
    id !== undefined &&
    rest.length === 0 &&
    action === 'expire-tokens'
  ) {
    control.expireTokens(id);
  } else {
    return {
      status: 404,
      body: { Message: `ErrorCode:NotFound;/$control/${path} is not a control operation` },
    };
  }
  return { status: 200, body: control.state };
}

function notAllowed(method: string, path: string): ControlReply {
  const e = new HubError('InvalidOperation', `${method} /$control/${path} is not allowed`);
  return { status: 405, body: e.toRestBody() };
}
