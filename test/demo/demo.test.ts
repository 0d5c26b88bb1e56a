/**
 * `iotdm demo` end to end, as a person runs it: `tsx lib/cli/main.ts demo --devices 3 --data
 * <tmp> --fresh` as a child process (with its own TMPDIR), until the dashboard API lists 3
 * connected devices whose `deviceInfo` is `completed`; then SIGINT, and the checks of the issue's
 * "Done when": exit code 0, no process left (the pids the demo wrote to `<data>/demo.json`, and
 * any process whose command line names the data folder: agents, swtpm, Azurite), every port
 * closed, nothing left in its TMPDIR, the run files removed. The time to "3 devices reporting" is
 * printed (not asserted: performance belongs to benchmarks).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pids of processes whose command line mentions `text`. */
function processesNaming(text: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(text)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

interface DeviceRow {
  deviceId: string;
  connectionState: string;
  sections: Record<string, string>;
}

describe('iotdm demo (child process)', function () {
  this.timeout(180_000);
  let root: string;
  let child: ChildProcess | undefined;

  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'wdm-demo-test-'));
  });

  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('brings up 3 reporting devices and leaves nothing behind on Ctrl+C', async () => {
    const dataDir = path.join(root, 'data');
    const tmp = path.join(root, 'tmp');
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    const t0 = performance.now();
    child = spawn(
      process.execPath,
      [
        require.resolve('tsx/cli'),
        path.join(ROOT, 'lib', 'cli', 'main.ts'),
        'demo',
        '--devices',
        '3',
        '--data',
        dataDir,
        '--fresh',
        '--port',
        '0',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, TMPDIR: tmp },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exit = new Promise<number | null>((resolve) => child!.once('exit', resolve));

    // The dashboard URL, then its API until the 3 devices report.
    let url: string | undefined;
    while (!url) {
      assert.equal(child.exitCode, null, `the demo exited early:\n${out}`);
      url = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
      await delay(100);
    }
    let devices: DeviceRow[];
    for (;;) {
      assert.equal(child.exitCode, null, `the demo exited early:\n${out}`);
      const res = await fetch(`${url}api/devices`);
      assert.equal(res.status, 200);
      devices = ((await res.json()) as { devices: DeviceRow[] }).devices;
      const reporting = devices.filter(
        (d) => d.connectionState === 'Connected' && d.sections.deviceInfo === 'completed',
      );
      if (reporting.length === 3) break;
      assert.ok(performance.now() - t0 < 150_000, `devices never all reported:\n${out}`);
      await delay(250);
    }
    const seconds = (performance.now() - t0) / 1000;
    console.log(`      3 devices reporting ${seconds.toFixed(1)} s after starting the demo`);
    assert.deepEqual(devices.map((d) => d.deviceId).sort(), ['demo-01', 'demo-02', 'demo-03']);

    // What runs: the demo's own record, and the ports it listens on.
    const run = JSON.parse(readFileSync(path.join(dataDir, 'demo.json'), 'utf8')) as {
      pid: number;
      children: Record<string, number>;
    };
    const agents = Object.keys(run.children).filter((k) => k.startsWith('agent '));
    assert.equal(agents.length, 3, JSON.stringify(run.children));
    const pids = [run.pid, ...Object.values(run.children)];
    for (const pid of pids) assert.ok(alive(pid), `pid ${pid} should run`);
    const hub = JSON.parse(readFileSync(path.join(dataDir, 'hub', 'hub.json'), 'utf8')) as {
      mqttPort: number;
      httpsPort: number;
    };
    const ports = [
      hub.mqttPort,
      hub.httpsPort,
      Number(new URL(url).port),
      Number(/DPS localhost:(\d+)/.exec(out)?.[1]),
      ...[...out.matchAll(/127\.0\.0\.1:(\d+)\//g)].map((m) => Number(m[1])),
    ];
    const started = processesNaming(dataDir);
    // 3 agents (--state-dir), Azurite (--location), and swtpm (--tpmstate) for TPM devices.
    assert.ok(started.length >= 4, `processes of the demo: ${started.join(' ')}`);
    for (const pid of started) {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      for (const m of cmd.matchAll(/port=(\d+)/g)) ports.push(Number(m[1]));
    }
    for (const port of ports) assert.ok(port > 0 && (await portOpen(port)), `port ${port} open`);

    child.kill('SIGINT');
    const code = await Promise.race([exit, delay(60_000).then(() => 'timeout' as const)]);
    assert.equal(code, 0, `exit code (output:\n${out})`);
    assert.match(out, /Stopped: every process of the demo has ended/);

    for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} is still running`);
    assert.deepEqual(processesNaming(dataDir), [], 'processes started from the data folder');
    for (const port of ports) assert.ok(!(await portOpen(port)), `port ${port} is still open`);
    // tsx (the TypeScript runner, not the demo) keeps its compile cache in TMPDIR.
    const left = readdirSync(tmp).filter((name) => !name.startsWith('tsx-'));
    assert.deepEqual(left, [], 'files left in TMPDIR');
    assert.ok(!existsSync(path.join(dataDir, 'demo.json')), 'demo.json removed');
    assert.ok(!existsSync(path.join(dataDir, 'hub', 'hub.json')), 'hub.json removed');
    // The state stays for the next run.
    assert.ok(existsSync(path.join(dataDir, 'devices', 'demo-01', 'emulator-state.json')));
  });
});
