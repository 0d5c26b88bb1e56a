/**
 * examples/oem-extension: the sensor handler in the DM engine over MockTwinLink/MockMdm (rate
 * applied to the settings file and reported, bad values refused with 400 and the file left alone,
 * the calibrate method, a corrupt file), then end to end: `iotdm agent --handler` as a child
 * process over a LocalHub applies a desired rate, and the dashboard API's device GET shows the
 * section in `reported` (while a desired edit of it through the dashboard is refused: the
 * dashboard validates built-in sections only); and `run.ts`, the one-command run, as a child
 * process (the dashboard shows the rate it sets and the one typed on its stdin; Ctrl-C removes
 * its temporary folder and exits 0).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CALIBRATE,
  FACTORY,
  createSensorHandler,
  handler as defaultHandler,
  readSettings,
} from '../../examples/oem-extension/sensor-handler';
import * as sensorModule from '../../examples/oem-extension/sensor-handler';
import { handlersOf } from '../../lib/cli/agent-command';
import { startDashboard, type Dashboard } from '../../lib/dashboard';
import { DeviceManagementClient } from '../../lib/dm/client';
import { silentLogger } from '../../lib/dm/logger';
import type { JsonObject } from '../../lib/dm/handler';
import type { LocalHub } from '../../lib/hub/hub';
import { MockMdm, MockTwinLink } from '../../lib/testing';
import { startLocalHub } from '../hub/helpers/local-hub';
import { waitFor } from '../hub/helpers/mqtt-fixture';

const ROOT = path.join(__dirname, '../..');
const HANDLER = path.join(ROOT, 'examples/oem-extension/sensor-handler.ts');

type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('examples/oem-extension', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-oem-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('the handler in the DM engine (MockTwinLink, MockMdm)', () => {
    let link: MockTwinLink;
    let dm: DeviceManagementClient;
    let file: string;
    const sensor = (): Loose =>
      ((link.reported.windows as Loose | undefined)?.oemSensor ?? {}) as Loose;

    beforeEach(async () => {
      link = new MockTwinLink();
      file = path.join(dir, 'sensor.json');
      dm = await DeviceManagementClient.attach(link, {
        handlers: [createSensorHandler({ file })],
        native: new MockMdm(),
        stateDir: path.join(dir, 'state'),
        logger: silentLogger(),
      });
    });
    afterEach(async () => dm.detach(500));

    it('is what the agent loads from the module, and reports the factory settings', async () => {
      const found = handlersOf(sensorModule);
      assert.deepEqual(
        found.map((h) => h.section),
        ['oemSensor'],
      );
      assert.equal(found[0], defaultHandler);
      await dm.reportNow('oemSensor');
      assert.equal(sensor().samplingRateHz, FACTORY.samplingRateHz);
      assert.equal(sensor().store, 'file');
    });

    it('applies a desired rate to the settings file and reports what the file holds', async () => {
      link.setDesired({ windows: { oemSensor: { samplingRateHz: 25 } } });
      await link.waitReported(
        () => (sensor().lastChange as Loose | undefined)?.state === 'completed',
      );
      assert.equal(readSettings(file).samplingRateHz, 25);
      assert.equal(sensor().samplingRateHz, 25);
      assert.equal(JSON.parse(readFileSync(file, 'utf8')).samplingRateHz, 25);
    });

    for (const [bad, why] of [
      [0, /samplingRateHz/],
      [1001, /samplingRateHz/],
      [2.5, /samplingRateHz/],
      ['fast', /samplingRateHz/],
    ] as const) {
      it(`refuses samplingRateHz ${JSON.stringify(bad)} with 400 and leaves the file alone`, async () => {
        link.setDesired({ windows: { oemSensor: { samplingRateHz: 40 } } });
        await link.waitReported(() => sensor().samplingRateHz === 40);
        link.setDesired({
          windows: { oemSensor: { samplingRateHz: bad } } as unknown as JsonObject,
        });
        await link.waitReported(
          () => (sensor().lastChange as Loose | undefined)?.state === 'failed',
        );
        const lc = sensor().lastChange as Loose;
        assert.equal(lc.errCode, 400);
        assert.match(String(lc.errContext), why);
        assert.equal(readSettings(file).samplingRateHz, 40);
      });
    }

    it('refuses unknown keys', async () => {
      link.setDesired({ windows: { oemSensor: { samplingRateHz: 5, gain: 2 } } });
      await link.waitReported(() => (sensor().lastChange as Loose | undefined)?.state === 'failed');
      assert.equal((sensor().lastChange as Loose).errCode, 400);
      assert.equal(readSettings(file).samplingRateHz, FACTORY.samplingRateHz);
    });

    it('windows.oemSensorCalibrate sets the offset; bad payloads answer 400', async () => {
      const ok = await link.invoke(CALIBRATE, { offset: -7 });
      assert.equal(ok.status, 200);
      assert.equal((ok.body as Loose).calibrationOffset, -7);
      const saved = readSettings(file);
      assert.equal(saved.calibrationOffset, -7);
      assert.ok(saved.lastCalibration && !Number.isNaN(Date.parse(saved.lastCalibration)));
      await link.waitReported(() => sensor().calibrationOffset === -7);
      for (const payload of [
        { offset: 500 },
        { offset: 'x' },
        {},
        undefined,
        { offset: 1, x: 1 },
      ]) {
        const r = await link.invoke(CALIBRATE, payload as JsonObject | undefined);
        assert.equal(r.status, 400, JSON.stringify(payload));
      }
      assert.equal(readSettings(file).calibrationOffset, -7);
    });

    it('a corrupt settings file fails the section instead of being overwritten', async () => {
      writeFileSync(file, '{"samplingRateHz": "much"}');
      link.setDesired({ windows: { oemSensor: { samplingRateHz: 30 } } });
      await link.waitReported(() => (sensor().lastChange as Loose | undefined)?.state === 'failed');
      assert.equal(readFileSync(file, 'utf8'), '{"samplingRateHz": "much"}');
    });
  });

  describe('end to end: iotdm agent --handler over a LocalHub, seen by the dashboard', () => {
    let hub: LocalHub;
    let closeHub: () => Promise<void>;
    let dash: Dashboard;
    before(async () => {
      ({ hub, close: closeHub } = await startLocalHub());
      dash = await startDashboard({
        connectionString: hub.connectionString,
        ca: hub.tls.caCertPem,
        port: 0,
      });
    });
    after(async () => {
      await dash?.close();
      await closeHub();
    });

    it('applies the desired rate, reports it, and the dashboard shows it in reported', async () => {
      const id = 'oem-sensor-e2e';
      hub.core.registry.create(id);
      const csFile = path.join(dir, 'device.cs');
      writeFileSync(csFile, hub.deviceConnectionString(id), { mode: 0o600 });
      const sensorFile = path.join(dir, 'oem-sensor.json');
      const env: NodeJS.ProcessEnv = { ...process.env, OEM_SENSOR_FILE: sensorFile };
      delete env.IOTDM_CONNECTION_STRING;
      env.WINDOWS_IOT_DM_EMULATOR_STATE = path.join(dir, 'emulator-state.json');
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(ROOT, 'lib/cli/main.ts'),
          'agent',
          '--connection-string-file',
          csFile,
          '--ca',
          hub.caPath,
          '--state-dir',
          path.join(dir, 'state'),
          '--handler',
          HANDLER,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], env },
      );
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      try {
        await waitFor(() => stderr.includes('"msg":"ready"'), 30000, 'agent ready');
        hub.core.updateTwin(id, {
          properties: { desired: { windows: { oemSensor: { samplingRateHz: 50 } } } },
        });
        const reported = (): Loose =>
          ((hub.core.getTwin(id).properties.reported as Loose).windows?.oemSensor ?? {}) as Loose;
        await waitFor(
          () => reported().samplingRateHz === 50 && reported().lastChange?.state === 'completed',
          20000,
          'oemSensor reported',
        );
        assert.equal(readSettings(sensorFile).samplingRateHz, 50);

        const base = dash.url.replace(/\/$/, '');
        const res = await fetch(`${base}/api/devices/${id}`);
        assert.equal(res.status, 200);
        const device = (await res.json()) as Loose;
        assert.equal(device.reported.oemSensor.samplingRateHz, 50);
        assert.equal(device.reported.oemSensor.lastChange.state, 'completed');
        assert.deepEqual(device.desired.oemSensor, { samplingRateHz: 50 });

        // Editing it through the dashboard: refused (400), it validates built-in sections only.
        const session = (await (await fetch(`${base}/api/session`)).json()) as Loose;
        const patch = await fetch(`${base}/api/devices/${id}/desired`, {
          method: 'PATCH',
          headers: {
            'content-type': 'application/json',
            'x-csrf-token': session.csrf,
            'if-match': device.etag,
          },
          body: JSON.stringify({ windows: { oemSensor: { samplingRateHz: 60 } } }),
        });
        assert.equal(patch.status, 400);
        assert.match(
          ((await patch.json()) as Loose).error.message,
          /oemSensor is not a known section/,
        );

        child.kill('SIGTERM');
        assert.equal(await exited, 0);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });
  });

  it('run.ts: one command brings up hub, dashboard and agent; a typed rate is applied; Ctrl-C cleans up', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'examples/oem-extension/run.ts')],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env } },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor(() => /Ctrl-C stops/.test(out), 30000, 'run.ts started');
      const url = /dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)![1]!;
      const folder = path.dirname(/sensor settings file: (.*)/.exec(out)![1]!);
      const rate = async (): Promise<unknown> => {
        const res = await fetch(`${url}/api/devices/oem-sensor-1`);
        if (res.status !== 200) return undefined;
        const d = (await res.json()) as Loose;
        return d.reported?.oemSensor?.lastChange?.state === 'completed'
          ? d.reported.oemSensor.samplingRateHz
          : undefined;
      };
      let last: unknown;
      const poll = async (want: number, what: string): Promise<void> => {
        const until = Date.now() + 30000;
        while (Date.now() < until) {
          last = await rate();
          if (last === want) return;
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`${what}: last ${String(last)}\n${out}`);
      };
      await poll(50, 'the initial 50 Hz');
      child.stdin.write('75\n');
      await poll(75, 'the typed 75 Hz');
      child.kill('SIGINT');
      assert.equal(await exited, 0, out);
      assert.equal(existsSync(folder), false, 'the temporary folder was left behind');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
