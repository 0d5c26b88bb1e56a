/**
 * The toaster app: it owns the `azure-iot-device` Client, attaches the DM client with the
 * built-in feature handlers and the toaster's `isRebootAllowed()` (./reboot-gate.ts), and serves
 * its page (./server.ts). `startToaster` is what main.ts and the test call.
 *
 * Local DM setting: the Windows telemetry level can be changed from the page. The device cannot
 * write its own desired properties, so (as the original's local `SetWindowsTelemetryLevelAsync`)
 * the app writes the same CSP node the `windowsTelemetry` handler writes and has the DM client
 * report the section again: the twin's reported level shows the local change, desired keeps
 * what the operator asked.
 */
import type { Client } from 'azure-iot-device';
import {
  builtinHandlers,
  createLogger,
  Csp,
  defaultNativeSystem,
  DeviceManagementClient,
  ScopedCsp,
  type JsonObject,
  type Logger,
  type LogLevel,
  type NativeSystem,
} from '../../lib';
import { TELEMETRY_CONFIG } from '../../lib/features/telemetry';
import { RebootGate, type RebootPrompt } from './reboot-gate';
import { ReportedMirror } from './reported-mirror';
import { startToasterServer, type ToasterServer } from './server';
import { Toaster, type ToasterState } from './toaster';

export const LOCAL_TELEMETRY_LEVELS = { security: 0, basic: 1, full: 3 } as const;

export interface ToasterOptions {
  /** The device connection string (HostName=...;DeviceId=...;SharedAccessKey=...). */
  connectionString: string;
  /** PEM CA to trust for the hub (the local hub's). */
  ca?: string;
  /** The DM client's state folder. */
  stateDir: string;
  /** The page's port on 127.0.0.1 (default 8090; 0 = any free port). */
  port?: number;
  /** How often a refused reboot is asked for again (ms, default 60 000). */
  recheckMs?: number;
  /** A toast takes darkness × this (ms, default 10 000). */
  toastMsPerLevel?: number;
  logLevel?: LogLevel;
  logger?: Logger;
  /** The native system part (default: the addon's). */
  system?: NativeSystem;
}

export interface ToasterView {
  deviceId: string;
  connected: boolean;
  toaster: ToasterState;
  prompt: RebootPrompt | null;
  /** The last reboot the DM client sent to the device (the `rebootPending` event). */
  rebootSent: JsonObject | null;
  reported: JsonObject;
  desired: JsonObject;
}

export interface ToasterApp {
  url: string;
  deviceId: string;
  toaster: Toaster;
  gate: RebootGate;
  dm: DeviceManagementClient;
  view(): ToasterView;
  setTelemetryLevel(level: unknown): Promise<void>;
  close(): Promise<void>;
}

export class ToasterInputError extends Error {}

function deviceIdOf(cs: string): string {
  const m = /(?:^|;)DeviceId=([^;]+)/.exec(cs);
  if (!m?.[1] || !/(?:^|;)HostName=[^;]+/.test(cs) || /SharedAccessKeyName=/.test(cs)) {
    throw new ToasterInputError(
      'not a device connection string (expected HostName=...;DeviceId=...;SharedAccessKey=...)',
    );
  }
  return m[1];
}

export async function startToaster(o: ToasterOptions): Promise<ToasterApp> {
  const deviceId = deviceIdOf(o.connectionString);
  const logger = o.logger ?? createLogger(o.logLevel ?? 'warn');
  const log = logger.child({ component: 'toaster' });
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded when the app starts */
  const { Client: DeviceClient } = require('azure-iot-device') as typeof import('azure-iot-device');
  const { Mqtt } = require('azure-iot-device-mqtt') as typeof import('azure-iot-device-mqtt');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const client: Client = DeviceClient.fromConnectionString(o.connectionString, Mqtt);
  if (o.ca !== undefined) await client.setOptions({ ca: o.ca });
  client.on('error', (err: Error) => log.warn({ err: err.message }, 'IoT Hub client error'));
  await client.open();

  const toaster = new Toaster(o.toastMsPerLevel);
  const csp = new Csp();
  const local = new ScopedCsp(csp, 'toaster', [TELEMETRY_CONFIG]);
  const mirror = new ReportedMirror(
    client as unknown as ConstructorParameters<typeof ReportedMirror>[0],
  );
  let dm: DeviceManagementClient | undefined;
  const gate = new RebootGate(
    () => toaster.toasting,
    async () => {
      await dm?.reportNow('rebootInfo');
    },
  );
  let rebootSent: JsonObject | null = null;
  let server: ToasterServer | undefined;
  let stopping = false;
  let retry: NodeJS.Timeout | undefined;
  let retryDelay = 1000;
  const reopen = (): void => {
    if (stopping || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      client.open().then(
        () => (retryDelay = 1000),
        () => {
          retryDelay = Math.min(retryDelay * 2, 60_000);
          reopen();
        },
      );
    }, retryDelay);
  };
  try {
    dm = await DeviceManagementClient.attach(mirror, {
      handlers: builtinHandlers({
        system: o.system ?? defaultNativeSystem(),
        stateDir: o.stateDir,
        reboot: { recheckMs: o.recheckMs ?? 60_000 },
      }),
      csp,
      stateDir: o.stateDir,
      logger,
      isRebootAllowed: gate.isRebootAllowed,
      listeners: {
        rebootPending: (detail) => {
          // On Windows the device restarts now; the CSP emulator only records the reboot.
          rebootSent = { ...detail, time: new Date().toISOString() };
          toaster.stop('reboot');
          log.info(detail, 'reboot sent to the device');
        },
      },
    });
    client.on('disconnect', reopen);
    toaster.on('change', (s) => {
      if (!s.toasting) {
        gate
          .idle()
          .catch((err: unknown) => log.warn({ err: String(err) }, 'reboot recheck failed'));
      }
    });
    const app: ToasterApp = {
      url: '',
      deviceId,
      toaster,
      gate,
      dm,
      view: () => ({
        deviceId,
        connected: mirror.connected,
        toaster: toaster.state,
        prompt: gate.prompt ?? null,
        rebootSent,
        reported: mirror.reported,
        desired: mirror.desired,
      }),
      async setTelemetryLevel(level: unknown) {
        if (typeof level !== 'string' || !Object.hasOwn(LOCAL_TELEMETRY_LEVELS, level)) {
          throw new ToasterInputError(
            `telemetry level must be one of ${Object.keys(LOCAL_TELEMETRY_LEVELS).join(', ')}, not ${JSON.stringify(level)}`,
          );
        }
        await local.put(
          TELEMETRY_CONFIG,
          LOCAL_TELEMETRY_LEVELS[level as keyof typeof LOCAL_TELEMETRY_LEVELS],
        );
        await dm!.reportNow('windowsTelemetry');
        await dm!.flushReports();
      },
      async close() {
        stopping = true;
        clearTimeout(retry);
        toaster.close();
        await server?.close();
        client.removeListener('disconnect', reopen);
        await dm?.detach(2000);
        await client.close().catch(() => undefined);
      },
    };
    server = await startToasterServer(app, { port: o.port ?? 8090, log });
    app.url = server.url;
    return app;
  } catch (err) {
    stopping = true;
    await server?.close();
    await dm?.detach(1000).catch(() => undefined);
    await client.close().catch(() => undefined);
    throw err;
  }
}
