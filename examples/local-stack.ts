/**
 * Development launcher shared by the examples' one-command runs (not part of any example): a
 * LocalHub on free ports in a temporary folder, one registered device, the dashboard, and the
 * example's device program as a child process (its own emulator state file, the device's
 * connection string in a 0600 file, the hub's CA). Ctrl-C (or SIGTERM) stops the child with
 * SIGTERM, then the dashboard and the hub, and removes the folder. The LocalHub is the package's
 * development hub (lib/hub), not part of its public API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDashboard } from '../lib';
import { LocalHub } from '../lib/hub/hub';

export interface LocalStack {
  hub: LocalHub;
  dashboardUrl: string;
  deviceId: string;
  dir: string;
  child: ChildProcess;
  /** Merges `patch` into the device's `properties.desired.windows`. */
  setDesired(patch: Record<string, unknown>): void;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  deviceId: string;
  /** The device program's node arguments, given the files it needs. */
  args(files: { connectionStringFile: string; caFile: string; stateDir: string }): string[];
  env?: (dir: string) => NodeJS.ProcessEnv;
  dashboardPort?: number;
}

export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-example-'));
  const hub = await LocalHub.start({ dataDir: path.join(dir, 'hub'), mqttPort: 0, httpsPort: 0 });
  if (!hub.core.registry.find(o.deviceId)) hub.core.registry.create(o.deviceId);
  const connectionStringFile = path.join(dir, 'device.cs');
  writeFileSync(connectionStringFile, `${hub.deviceConnectionString(o.deviceId)}\n`, {
    mode: 0o600,
  });
  const dashboard = await startDashboard({
    connectionString: hub.connectionString,
    ca: hub.tls.caCertPem,
    port: o.dashboardPort ?? 0,
  });
  const child = spawn(
    process.execPath,
    o.args({ connectionStringFile, caFile: hub.caPath, stateDir: path.join(dir, 'state') }),
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        WINDOWS_IOT_DM_EMULATOR_STATE: path.join(dir, 'emulator-state.json'),
        ...o.env?.(dir),
      },
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  return {
    hub,
    dashboardUrl: dashboard.url,
    deviceId: o.deviceId,
    dir,
    child,
    setDesired(patch) {
      hub.core.updateTwin(o.deviceId, { properties: { desired: { windows: patch } } });
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        await dashboard.close();
        await hub.stop();
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/** Stops `stack` on SIGINT/SIGTERM or when its child exits; resolves once everything stopped. */
export function stopOnSignal(stack: LocalStack): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void stack.stop().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    stack.child.once('exit', stop);
  });
}
