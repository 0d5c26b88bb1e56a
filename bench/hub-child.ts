/**
 * The hub side of `bench/hub.ts`, in its own process so that its memory is measured alone: a
 * `LocalHub` on 127.0.0.1 (ephemeral ports) in the data folder the parent gives, driven over IPC.
 *
 * Messages in: `{ cmd: 'start', dataDir, devices }` (start, register `devices` SAS devices through
 * the store, tag them `bench = 'hub'`), `{ cmd: 'rss' }` (RSS after a GC, in bytes),
 * `{ cmd: 'stop' }`. Every answer is `{ id, ok, value | error }`. The hub stops and the process
 * exits when the parent goes away.
 */
import { LocalHub } from '../lib/hub/hub';

export interface HubChildStarted {
  mqttPort: number;
  httpsPort: number;
  caCertPem: string;
  serviceConnectionString: string;
  devices: Array<{ id: string; key: string }>;
}

export type HubChildRequest =
  | { id: number; cmd: 'start'; dataDir: string; devices: number }
  | { id: number; cmd: 'rss' }
  | { id: number; cmd: 'stop' };

export type HubChildReply =
  { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

let hub: LocalHub | undefined;

async function start(dataDir: string, count: number): Promise<HubChildStarted> {
  hub = await LocalHub.start({ dataDir, mqttPort: 0, httpsPort: 0, bindAddress: '127.0.0.1' });
  const devices: Array<{ id: string; key: string }> = [];
  for (let i = 0; i < count; i++) {
    const id = `bench-${String(i).padStart(4, '0')}`;
    const d = hub.core.registry.create(id);
    hub.core.updateTwin(id, { tags: { bench: 'hub' } });
    devices.push({ id, key: d.primaryKey! });
  }
  return {
    mqttPort: hub.ports.mqtt,
    httpsPort: hub.ports.https!,
    caCertPem: hub.tls.caCertPem,
    serviceConnectionString: hub.connectionString,
    devices,
  };
}

async function rss(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((r) => setTimeout(r, 50));
  gc?.();
  return process.memoryUsage().rss;
}

async function handle(msg: HubChildRequest): Promise<unknown> {
  switch (msg.cmd) {
    case 'start':
      return start(msg.dataDir, msg.devices);
    case 'rss':
      return rss();
    case 'stop':
      await hub?.stop();
      hub = undefined;
      return null;
  }
}

process.on('message', (msg: HubChildRequest) => {
  handle(msg).then(
    (value) => process.send?.({ id: msg.id, ok: true, value } satisfies HubChildReply),
    (err: unknown) =>
      process.send?.({ id: msg.id, ok: false, error: String(err) } satisfies HubChildReply),
  );
});

process.on('disconnect', () => {
  void (hub?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
});
