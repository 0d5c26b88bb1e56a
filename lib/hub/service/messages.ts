/**
 * `GET /messages/events?after=<seq>&wait=<ms>[&deviceId=<id>][&limit=<n>]` of the local hub's
 * service API: the device-to-cloud messages the hub stored (`lib/hub/store`), oldest first, with
 * a sequence number above `after` (default 0). With `wait` > 0 and nothing stored yet, the
 * request is held until a message arrives or `wait` ms pass (long poll; at most
 * `MAX_WAIT_MS`). Answer 200:
 *
 *   { "messages": [{ "seq", "deviceId", "body" (base64), "properties", "systemProperties",
 *                    "enqueuedTime" }], "last": <highest seq returned, else `after`> }
 *
 * Real IoT Hub has no such REST route: its built-in endpoint is an Event Hub (AMQP). This is the
 * local hub's stand-in, so service code (e.g. `iotdm attest`) can read device messages here.
 */
import type http from 'node:http';
import type { HubCore } from '../core';
import { argumentInvalid } from '../errors';
import type { D2CRecord } from '../store';

export const MESSAGES_RESOURCE = 'messages/events';
/** Longest long poll (ms). */
export const MAX_WAIT_MS = 60_000;
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export interface D2CMessageJson {
  seq: number;
  deviceId: string;
  /** The body, base64. */
  body: string;
  properties: Record<string, string>;
  systemProperties: Record<string, string>;
  enqueuedTime: string;
}

function count(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const text = query.get(name);
  if (text === null || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw argumentInvalid(`${name} must be a non-negative integer, not ${JSON.stringify(text)}`);
  }
  if (n > max) throw argumentInvalid(`${name} must be at most ${max}`);
  return n;
}

function toJson(r: D2CRecord): D2CMessageJson {
  return {
    seq: r.seq,
    deviceId: r.deviceId,
    body: r.body.toString('base64'),
    properties: r.properties,
    systemProperties: r.systemProperties,
    enqueuedTime: r.enqueuedTime,
  };
}

/** Runs the request; resolves with the reply body. */
export async function readMessages(
  core: HubCore,
  query: URLSearchParams,
  req: http.IncomingMessage,
): Promise<{ messages: D2CMessageJson[]; last: number }> {
  const after = count(query, 'after', 0, Number.MAX_SAFE_INTEGER);
  const wait = count(query, 'wait', 0, MAX_WAIT_MS);
  const limit = count(query, 'limit', DEFAULT_LIMIT, MAX_LIMIT) || DEFAULT_LIMIT;
  const deviceId = query.get('deviceId') ?? undefined;
  const list = (): D2CRecord[] =>
    core.store.listD2C({ afterSeq: after, limit, ...(deviceId ? { deviceId } : {}) });
  let found = list();
  if (found.length === 0 && wait > 0) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        core.off('d2c', onMessage);
        req.socket.off('close', done);
        resolve();
      };
      const onMessage = (m: { seq: number; deviceId: string }): void => {
        if (m.seq > after && (!deviceId || m.deviceId === deviceId)) done();
      };
      const timer = setTimeout(done, wait);
      core.on('d2c', onMessage);
      req.socket.on('close', done);
    });
    found = list();
  }
  const messages = found.map(toJson);
  return { messages, last: messages.length > 0 ? messages[messages.length - 1]!.seq : after };
}
