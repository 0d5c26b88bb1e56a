/**
 * examples/background-agent: its backoff (unit), then the program as a child process against a
 * LocalHub with a device connection string: a desired change applied and reported; the hub drops
 * the connection and a change made meanwhile is applied once it is back; the device is
 * disabled (the SDK gives up) and the agent's own loop keeps trying with backoff delays until it
 * is enabled again, then applies what changed; SIGTERM exits 0. The device key never appears in its output. Then
 * through the local DPS (symmetric key enrollment): registered, connected, a change applied; and with
 * the key held by a TPM slot (swtpm).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Backoff } from '../../examples/background-agent/backoff';
import { main } from '../../lib/cli/main';
import type { LocalHub } from '../../lib/hub/hub';
import { startLocalHub } from '../hub/helpers/local-hub';
import { startSwtpm } from '../tpm/swtpm';
import { waitFor } from '../hub/helpers/mqtt-fixture';

const ROOT = path.join(__dirname, '../..');
const MAIN = path.join(ROOT, 'examples/background-agent/main.ts');

interface LogLine {
  msg: string;
  [key: string]: unknown;
}

/** The example as a child process; its stderr JSON lines collected. */
function spawnExample(args: string[], env: NodeJS.ProcessEnv) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.IOTDM_CONNECTION_STRING;
  Object.assign(childEnv, env);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv,
  });
  let text = '';
  const lines: LogLine[] = [];
  const onData = (c: Buffer): void => {
    const start = text.lastIndexOf('\n') + 1;
    text += c.toString();
    for (const l of text.slice(start).split('\n').slice(0, -1)) {
      if (l.startsWith('{')) lines.push(JSON.parse(l) as LogLine);
    }
  };
  child.stderr!.on('data', onData);
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited, text: () => text };
}

describe('examples/background-agent', function () {
  this.timeout(60000);

  it('backoff: doubles up to the cap, with jitter in [step/2, step], and resets', () => {
    const low = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0 });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => low.next()),
      [50, 100, 200, 400, 500, 500],
    );
    const high = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.999999 });
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => high.next()),
      [100, 200, 400, 800, 1000],
    );
    assert.equal(high.attempt, 5);
    high.reset();
    assert.equal(high.next(), 100);
    const real = new Backoff({ baseMs: 1000, capMs: 300_000 });
    for (let i = 0; i < 100; i++) {
      const d = real.next();
      assert.ok(d >= 500 && d <= 300_000, String(d));
    }
    assert.throws(() => new Backoff({ baseMs: 0 }), /baseMs/);
    assert.throws(() => new Backoff({ baseMs: 10, capMs: 5 }), /baseMs/);
  });

  it('refuses a command line without identity (exit 2, usage)', async () => {
    const run = spawnExample(['--log-level', 'loud'], {});
    assert.equal(await run.exited, 2);
    assert.match(run.text(), /no identity|--log-level/);
    const bad = spawnExample(['--tpm-slot', '12'], {});
    assert.equal(await bad.exited, 2);
    assert.match(bad.text(), /--tpm-slot must be 0-9/);
    const keyless = spawnExample([], { IOTDM_CONNECTION_STRING: 'HostName=h;DeviceId=d' });
    assert.equal(await keyless.exited, 2);
    assert.match(keyless.text(), /not HostName=\.\.\.;DeviceId=/);
  });

  it('service scripts: shell syntax, and the unit as install.sh writes it passes systemd-analyze', function () {
    const service = path.join(ROOT, 'examples/background-agent/service');
    for (const script of ['install.sh', 'uninstall.sh']) {
      const r = spawnSync('sh', ['-n', path.join(service, script)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${script}: ${r.stderr}`);
    }
    const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (analyze.error || analyze.status !== 0) this.skip();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-bg-unit-'));
    try {
      const entry = path.join(dir, 'main.js');
      writeFileSync(entry, '');
      const unit = readFileSync(path.join(service, 'windows-iot-dm-agent.service'), 'utf8')
        .replaceAll('@NODE@', process.execPath)
        .replaceAll('@ENTRY@', entry)
        .replaceAll('@ARGS@', '--connection-string-file %d/device.cs');
      const file = path.join(dir, 'windows-iot-dm-agent.service');
      writeFileSync(file, unit);
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('against a LocalHub', () => {
    let hub: LocalHub;
    let dataDir: string;
    let closeHub: () => Promise<void>;
    let dir: string;
    before(async () => {
      ({
        hub,
        dataDir,
        close: closeHub,
      } = await startLocalHub({ dpsPort: 0, dps: { retryAfterSeconds: 0.05 } }));
      dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-bg-agent-'));
    });
    after(async () => {
      await closeHub();
      rmSync(dir, { recursive: true, force: true });
    });

    const ntp = (id: string): unknown =>
      (
        hub.core.getTwin(id).properties.reported as {
          windows?: { timeInfo?: { ntpServer?: unknown; lastChange?: { state?: string } } };
        }
      ).windows?.timeInfo;

    const setNtp = (id: string, server: string): void => {
      hub.core.updateTwin(id, {
        properties: { desired: { windows: { timeInfo: { ntpServer: server } } } },
      });
    };

    const reportedNtp = (id: string, server: string, what: string): Promise<void> =>
      waitFor(
        () => {
          const t = ntp(id) as { ntpServer?: unknown; lastChange?: { state?: string } } | undefined;
          return t?.ntpServer === server && t.lastChange?.state === 'completed';
        },
        20000,
        what,
      );

    it('applies desired changes, survives a drop and a disabled device, and stops on SIGTERM', async () => {
      const id = 'bg-agent-1';
      const device = hub.core.registry.create(id);
      const csFile = path.join(dir, 'device.cs');
      writeFileSync(csFile, `${hub.deviceConnectionString(id)}\n`, { mode: 0o600 });
      const run = spawnExample(
        [
          '--connection-string-file',
          csFile,
          '--ca',
          hub.caPath,
          '--state-dir',
          path.join(dir, 'state'),
          '--backoff-base-ms',
          '300',
          '--backoff-cap-ms',
          '2000',
          '--reconnect-grace-ms',
          '1500',
        ],
        { WINDOWS_IOT_DM_EMULATOR_STATE: path.join(dir, 'emulator-state.json') },
      );
      try {
        await waitFor(() => run.lines.some((l) => l.msg === 'ready'), 20000, 'agent ready');

        // 1. A desired change, applied and reported.
        setNtp(id, 'pool.ntp.org');
        await reportedNtp(id, 'pool.ntp.org', 'first change reported');

        // 2. The hub drops the connection; a change is made while the device is away.
        hub.control.dropConnection(id);
        setNtp(id, 'time.example.org');
        await reportedNtp(id, 'time.example.org', 'change made during the drop reported');
        assert.ok(run.lines.some((l) => l.msg === 'connection dropped: the SDK is retrying'));

        // 3. The device is disabled in the registry: the hub drops it and refuses it (CONNACK 5),
        //    the SDK gives up, the agent's own loop keeps trying with backoff delays; a change is
        //    made meanwhile; once the device is enabled again a new session applies it.
        const readyBefore = run.lines.filter((l) => l.msg === 'ready').length;
        hub.core.putDevice(id, { deviceId: id, status: 'disabled' }, '*');
        setNtp(id, 'ntp.contoso.test');
        await waitFor(
          () => run.lines.filter((l) => l.msg === 'reconnecting').length >= 2,
          20000,
          'two reconnect delays',
        );
        hub.core.putDevice(id, { deviceId: id, status: 'enabled' }, '*');
        await waitFor(
          () => run.lines.filter((l) => l.msg === 'ready').length > readyBefore,
          20000,
          'a new session',
        );
        await reportedNtp(id, 'ntp.contoso.test', 'change made during the refusal reported');
        const delays = run.lines.filter((l) => l.msg === 'reconnecting');
        assert.ok(delays.length >= 2);
        for (const [i, d] of delays.entries()) {
          // Base 300 ms, cap 2000 ms: attempt n waits within [step/2, step].
          const step = Math.min(2000, 300 * 2 ** i);
          assert.ok((d.retryInMs as number) >= step / 2 && (d.retryInMs as number) <= step, `${i}`);
          assert.equal(d.attempt, i + 1);
        }
        assert.ok(run.lines.some((l) => l.msg === 'session failed'));

        // 4. SIGTERM: clean stop, exit 0.
        run.child.kill('SIGTERM');
        assert.equal(await run.exited, 0);
        assert.ok(run.lines.some((l) => l.msg === 'stopped'));
        assert.ok(!run.text().includes(device.primaryKey!), 'the device key was printed');
      } catch (err) {
        if (process.env.DEBUG_BG) console.log(run.text());
        throw err;
      } finally {
        if (run.child.exitCode === null) run.child.kill('SIGKILL');
      }
    });

    it('registers through the local DPS (symmetric key), then manages the assigned device', async () => {
      const out: string[] = [];
      const code = await main(
        [
          'hub',
          'enroll',
          'individual',
          '--registration-id',
          'bg-dps',
          '--symmetric-key',
          'auto',
          '--device-id',
          'bg-dps-device',
          '--data',
          dataDir,
          '--json',
        ],
        { out: (t) => out.push(t), err: (t) => out.push(t) },
      );
      assert.equal(code, 0, out.join('\n'));
      const { primaryKey } = JSON.parse(out.join('')) as { primaryKey: string };
      const keyFile = path.join(dir, 'dps.key');
      writeFileSync(keyFile, `${primaryKey}\n`, { mode: 0o600 });
      const run = spawnExample(
        [
          '--dps-endpoint',
          hub.dpsEndpoint,
          '--id-scope',
          hub.dpsIdScope,
          '--registration-id',
          'bg-dps',
          '--symmetric-key-file',
          keyFile,
          '--ca',
          hub.caPath,
          '--state-dir',
          path.join(dir, 'dps-state'),
        ],
        { WINDOWS_IOT_DM_EMULATOR_STATE: path.join(dir, 'dps-emulator-state.json') },
      );
      try {
        await waitFor(() => run.lines.some((l) => l.msg === 'ready'), 20000, 'agent ready');
        const assigned = run.lines.find((l) => l.msg === 'DPS assigned');
        assert.equal(assigned?.deviceId, 'bg-dps-device');
        setNtp('bg-dps-device', 'dps.ntp.test');
        await reportedNtp('bg-dps-device', 'dps.ntp.test', 'change reported');
        run.child.kill('SIGINT');
        assert.equal(await run.exited, 0);
        assert.ok(!run.text().includes(primaryKey), 'the key was printed');
      } finally {
        if (run.child.exitCode === null) run.child.kill('SIGKILL');
      }
    });

    it('connects with the key held by a TPM slot (swtpm), applies a change', async () => {
      const tpm = await startSwtpm();
      const id = 'bg-tpm-device';
      const key = hub.core.registry.create(id).primaryKey!;
      const csFile = path.join(dir, 'tpm.cs');
      writeFileSync(csFile, hub.deviceConnectionString(id), { mode: 0o600 });
      const spec = `tcp:${tpm.host}:${tpm.port}`;
      const out: string[] = [];
      const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
      assert.equal(
        await main(['tpm', 'import', '3', '--connection-string-file', csFile, '--tpm', spec], io),
        0,
        out.join('\n'),
      );
      rmSync(csFile);
      const run = spawnExample(
        [
          '--tpm-slot',
          '3',
          '--tpm',
          spec,
          '--ca',
          hub.caPath,
          '--state-dir',
          path.join(dir, 'tpm-state'),
        ],
        { WINDOWS_IOT_DM_EMULATOR_STATE: path.join(dir, 'tpm-emulator-state.json') },
      );
      try {
        await waitFor(() => run.lines.some((l) => l.msg === 'ready'), 20000, 'agent ready');
        assert.equal(run.lines.find((l) => l.msg === 'ready')?.deviceId, id);
        setNtp(id, 'tpm.ntp.test');
        await reportedNtp(id, 'tpm.ntp.test', 'change reported');
        run.child.kill('SIGTERM');
        assert.equal(await run.exited, 0);
        assert.ok(!run.text().includes(key), 'the key was printed');
        assert.ok(!/sig=[A-Za-z0-9%]{20,}/.test(run.text()), 'a token signature was printed');
      } finally {
        if (run.child.exitCode === null) run.child.kill('SIGKILL');
        await tpm.stop();
      }
    });
  });
});
