/**
 * One simulated device of `iotdm demo`, in its own folder `<data>/devices/<id>/`:
 * `profile.json` (its emulator profile), `emulator-state.json` (its CSP emulator state), `dm/`
 * (the agent's `--state-dir`), `agent.log`, and either `tpm/` (its swtpm's state, manufactured
 * once) or `device.cs` (its connection string, 0600). `start()` launches its swtpm, provisions it
 * through the local DPS, asks for its `deviceInfo` and points its `externalStorage` at Azurite
 * (desired properties), and starts its agent process.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { LocalHub } from '../hub/hub';
import { AgentProcess } from './agent-process';
import { DEMO_TPM_SLOT, provisionSymmetric, provisionTpm } from './enroll';
import { writeDemoProfile } from './profiles';
import { launchSwtpm, manufactureSwtpm, type SwtpmProcess } from './swtpm';

export interface DemoDeviceOptions {
  hub: LocalHub;
  deviceId: string;
  /** 0-based position (picks the profile's facts). */
  index: number;
  dir: string;
  useTpm: boolean;
  /** Azurite's connection string, set as the device's desired `externalStorage`. */
  storageConnectionString?: string;
  notify: (line: string) => void;
  /** A child process started (the swtpm, or the agent again after a restart). */
  started: (what: string, pid: number) => void;
}

export const DEMO_CONTAINER = 'iotdm-demo';

export class DemoDevice {
  swtpm: SwtpmProcess | undefined;
  agent: AgentProcess | undefined;
  readonly #o: DemoDeviceOptions;

  constructor(options: DemoDeviceOptions) {
    this.#o = options;
  }

  get deviceId(): string {
    return this.#o.deviceId;
  }

  get credentials(): string {
    return this.#o.useTpm ? 'TPM (swtpm)' : 'symmetric key (group)';
  }

  async start(): Promise<void> {
    const o = this.#o;
    mkdirSync(path.join(o.dir, 'dm'), { recursive: true, mode: 0o700 });
    const profile = path.join(o.dir, 'profile.json');
    if (!existsSync(profile)) writeDemoProfile(profile, o.deviceId, o.index);
    const credentialArgs: string[] = [];
    if (o.useTpm) {
      const tpmDir = path.join(o.dir, 'tpm');
      if (!existsSync(path.join(tpmDir, 'tpm2-00.permall'))) await manufactureSwtpm(tpmDir);
      this.swtpm = await launchSwtpm(tpmDir);
      o.started(`swtpm ${o.deviceId}`, this.swtpm.pid);
      await provisionTpm(o.hub, o.deviceId, this.swtpm);
      credentialArgs.push(
        '--tpm-slot',
        String(DEMO_TPM_SLOT),
        '--tpm',
        `tcp:${this.swtpm.host}:${this.swtpm.port}`,
      );
    } else {
      const file = path.join(o.dir, 'device.cs');
      await provisionSymmetric(o.hub, o.deviceId, file);
      credentialArgs.push('--connection-string-file', file);
    }
    // What an operator would set first: report the device's facts, use the demo's storage.
    o.hub.core.updateTwin(o.deviceId, {
      properties: {
        desired: {
          windows: {
            deviceInfo: {},
            ...(o.storageConnectionString
              ? {
                  externalStorage: {
                    connectionString: o.storageConnectionString,
                    container: DEMO_CONTAINER,
                  },
                }
              : {}),
          },
        },
      },
    });
    this.agent = new AgentProcess({
      args: [
        ...credentialArgs,
        '--ca',
        o.hub.caPath,
        '--state-dir',
        path.join(o.dir, 'dm'),
        '--log-level',
        'info',
      ],
      env: {
        WINDOWS_IOT_DM_EMULATOR_STATE: path.join(o.dir, 'emulator-state.json'),
        WINDOWS_IOT_DM_EMULATOR_PROFILE: profile,
      },
      logFile: path.join(o.dir, 'agent.log'),
      notify: (line) => o.notify(`${o.deviceId}: ${line}`),
      started: (pid) => o.started(`agent ${o.deviceId}`, pid),
    });
    this.agent.start();
  }

  /** Stops the agent (SIGTERM, then SIGKILL after `graceMs`), then its swtpm. */
  async stop(graceMs?: number): Promise<void> {
    await this.agent?.stop(graceMs);
    await this.swtpm?.stop();
  }
}
