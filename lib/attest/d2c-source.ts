/**
 * Where `iotdm attest` reads device-to-cloud messages from. `D2CSource` is the seam;
 * `LocalHubD2CSource` long-polls the local hub's `GET /messages/events` (lib/hub/service/
 * messages.ts) with a ServiceConnect token. Real Azure IoT Hub delivers D2C messages through its
 * Event Hub-compatible endpoint (AMQP): a source for it is not implemented (docs/attest.md).
 */
import https from 'node:https';
import type { Logger } from '../dm/logger';
import { endpointAgent, serviceToken, type HubEndpoint } from './hub-endpoint';

export interface D2CMessage {
  /** The source's position of the message (increasing). */
  seq: number;
  deviceId: string;
  body: Buffer;
  /** Application properties (e.g. `MessageType`). */
  properties: Record<string, string>;
  enqueuedTime: string;
}

export interface D2CSource {
  /**
   * Calls `onMessage` for every message after `after` (position), one at a time, in order,
   * until `close`; a rejected `onMessage` is logged, never stops the source.
   */
  start(onMessage: (m: D2CMessage) => Promise<void>, after?: number): void;
  /** Stops reading; resolves when the current message (if any) was handled. */
  close(): Promise<void>;
}

export interface LocalHubSourceOptions {
  endpoint: HubEndpoint;
  logger: Logger;
  /** Long-poll wait per request (ms). Default 20 000. */
  waitMs?: number;
  /** Pause after a failed request (ms). Default 2 000. */
  retryMs?: number;
}

interface MessagesReply {
  messages: Array<{
    seq: number;
    deviceId: string;
    body: string;
    properties: Record<string, string>;
    enqueuedTime: string;
  }>;
  last: number;
}

export class LocalHubD2CSource implements D2CSource {
  readonly #options: LocalHubSourceOptions;
  readonly #agent: https.Agent;
  #closed = false;
  #loop: Promise<void> | undefined;
  #request: import('node:http').ClientRequest | undefined;
  #sleep: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  constructor(options: LocalHubSourceOptions) {
    this.#options = options;
    this.#agent = endpointAgent(options.endpoint);
  }

  start(onMessage: (m: D2CMessage) => Promise<void>, after = 0): void {
    if (this.#loop) throw new Error('the source is already started');
    this.#loop = this.#run(onMessage, after);
  }

  async #run(onMessage: (m: D2CMessage) => Promise<void>, after: number): Promise<void> {
    let position = after;
    while (!this.#closed) {
      let reply: MessagesReply;
      try {
        reply = await this.#fetch(position);
      } catch (err) {
        if (this.#closed) return;
        this.#options.logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'reading device messages failed; retrying',
        );
        await this.#pause(this.#options.retryMs ?? 2000);
        continue;
      }
      for (const m of reply.messages) {
        if (this.#closed) return;
        position = m.seq;
        try {
          await onMessage({
            seq: m.seq,
            deviceId: m.deviceId,
            body: Buffer.from(m.body, 'base64'),
            properties: m.properties ?? {},
            enqueuedTime: m.enqueuedTime,
          });
        } catch (err) {
          this.#options.logger.error(
            {
              seq: m.seq,
              deviceId: m.deviceId,
              err: err instanceof Error ? err.message : String(err),
            },
            'handling a device message failed',
          );
        }
      }
      position = Math.max(position, reply.last);
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#sleep = undefined;
        resolve();
      }, ms);
      this.#sleep = { timer, resolve };
    });
  }

  #fetch(after: number): Promise<MessagesReply> {
    const e = this.#options.endpoint;
    const wait = this.#options.waitMs ?? 20_000;
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: e.host,
          port: e.port,
          method: 'GET',
          path: `/messages/events?after=${after}&wait=${wait}&api-version=2021-04-12`,
          agent: this.#agent,
          headers: { Authorization: serviceToken(e) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) {
              reject(
                new Error(`GET /messages/events answered ${res.statusCode}: ${text.slice(0, 200)}`),
              );
              return;
            }
            try {
              resolve(JSON.parse(text) as MessagesReply);
            } catch {
              reject(new Error('GET /messages/events answered something that is not JSON'));
            }
          });
          res.on('error', reject);
        },
      );
      this.#request = req;
      req.setTimeout(wait + 10_000, () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.on('close', () => {
        if (this.#request === req) this.#request = undefined;
      });
      req.end();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#request?.destroy();
    if (this.#sleep) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.resolve();
    }
    await this.#loop?.catch(() => undefined);
    this.#agent.destroy();
  }
}
