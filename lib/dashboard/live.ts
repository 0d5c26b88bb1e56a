/**
 * Live updates (`GET /api/events`, server-sent events): one watcher polls the twins of the
 * watched devices with one IoT Hub query per interval (default 1 s; every device when a
 * subscriber watches them all) and compares etags and connection state with the last poll: a
 * changed etag sends `twin` `{ deviceId, etag, version, reported }`, a changed connection state or
 * last activity sends `device` `{ deviceId, connectionState, lastActivityTime }`, only to the
 * subscribers watching that device. A device's first sighting is its baseline (no event). A failed
 * poll sends `hubError` `{ code, message }` once until a poll succeeds. A comment line every 15 s
 * keeps the stream open; at most 64 streams at once (503 beyond). Polling stops when the last subscriber leaves.
 */
import type http from 'node:http';
import { ApiError, fromHubError } from './errors';
import type { HubClients } from './hub-client';

export interface LiveOptions {
  intervalMs?: number;
  keepAliveMs?: number;
  /** Event streams open at once (default 64); more are refused with 503. */
  maxStreams?: number;
}

interface Subscriber {
  /** `undefined`: every device. */
  deviceId?: string;
  send(event: string, data: unknown): void;
}

interface Seen {
  etag: string;
  connectionState: string;
  lastActivityTime: string | null;
}

type Row = {
  deviceId: string;
  etag?: string;
  version?: number;
  connectionState?: string;
  lastActivityTime?: string;
  properties?: { reported?: { windows?: unknown } };
};

export class LiveWatcher {
  private readonly subscribers = new Set<Subscriber>();
  private readonly seen = new Map<string, Seen>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  private failing = false;
  private closed = false;
  private readonly intervalMs: number;
  private readonly maxStreams: number;
  readonly keepAliveMs: number;

  constructor(
    private readonly hub: HubClients,
    options: LiveOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.keepAliveMs = options.keepAliveMs ?? 15000;
    this.maxStreams = options.maxStreams ?? 64;
  }

  /** Serves one `text/event-stream` response until the client goes away. */
  serve(req: http.IncomingMessage, res: http.ServerResponse, deviceId: string | undefined): void {
    if (this.subscribers.size >= this.maxStreams) {
      throw new ApiError(503, 'TooManyStreams', `at most ${this.maxStreams} event streams at once`);
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 3000\n\n');
    const sub: Subscriber = {
      ...(deviceId !== undefined ? { deviceId } : {}),
      send: (event, data) => {
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
    };
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), this.keepAliveMs);
    const stop = (): void => {
      clearInterval(keepAlive);
      this.subscribers.delete(sub);
      if (this.subscribers.size === 0) this.stopPolling();
    };
    req.on('close', stop);
    res.on('close', stop);
    this.subscribers.add(sub);
    this.startPolling();
  }

  close(): void {
    this.closed = true;
    this.stopPolling();
  }

  private startPolling(): void {
    if (this.timer || this.closed) return;
    const tick = (): void => {
      void this.poll().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  private stopPolling(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The query of one poll: every device, or the watched ones. */
  private query(): string | undefined {
    const ids = new Set<string>();
    for (const s of this.subscribers) {
      if (s.deviceId === undefined) return 'SELECT * FROM devices';
      ids.add(s.deviceId);
    }
    if (ids.size === 0) return undefined;
    // Ids were checked (no quotes) before a subscriber was added.
    return `SELECT * FROM devices WHERE ${[...ids].map((id) => `deviceId = '${id}'`).join(' OR ')}`;
  }

  private async poll(): Promise<void> {
    const sql = this.query();
    if (!sql || this.polling) return;
    this.polling = true;
    try {
      const rows: Row[] = [];
      const q = this.hub.registry.createQuery(sql, 1000);
      do {
        const page = await q.next();
        rows.push(...(page.result as Row[]));
      } while (q.hasMoreResults && rows.length < 10000);
      this.failing = false;
      for (const r of rows) this.diff(r);
    } catch (err) {
      if (!this.failing) {
        this.failing = true;
        const e = fromHubError(err);
        this.broadcast(undefined, 'hubError', { code: e.code, message: e.message });
      }
    } finally {
      this.polling = false;
    }
  }

  private diff(r: Row): void {
    const now: Seen = {
      etag: r.etag ?? '',
      connectionState: r.connectionState ?? 'Disconnected',
      lastActivityTime: r.lastActivityTime ?? null,
    };
    const before = this.seen.get(r.deviceId);
    this.seen.set(r.deviceId, now);
    if (!before) return;
    if (before.etag !== now.etag) {
      const w = r.properties?.reported?.windows;
      this.broadcast(r.deviceId, 'twin', {
        deviceId: r.deviceId,
        etag: now.etag,
        version: r.version ?? null,
        reported: typeof w === 'object' && w !== null ? w : {},
      });
    }
    if (
      before.connectionState !== now.connectionState ||
      before.lastActivityTime !== now.lastActivityTime
    ) {
      this.broadcast(r.deviceId, 'device', {
        deviceId: r.deviceId,
        connectionState: now.connectionState,
        lastActivityTime: now.lastActivityTime,
      });
    }
  }

  private broadcast(deviceId: string | undefined, event: string, data: unknown): void {
    for (const s of this.subscribers) {
      if (deviceId === undefined || s.deviceId === undefined || s.deviceId === deviceId) {
        s.send(event, data);
      }
    }
  }
}
