/** `iotdm hub`: in process (with an injected stop) and as a child process stopped by SIGTERM. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as DeviceClient } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { readFileSync } from 'node:fs';
import { main } from '../../lib/cli/main';
import { HUB_HELP, defaultHubDataDir, runHub } from '../../lib/cli/hub-command';
import type { CliIo } from '../../lib/cli/io';
import { startLocalHub } from './helpers/local-hub';

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

async function connect(connectionString: string, ca: string): Promise<void> {
  const client = DeviceClient.fromConnectionString(connectionString, Mqtt);
  await client.setOptions({ ca });
  await client.open();
  await client.close();
}

describe('iotdm hub', function () {
  this.timeout(30000);
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'wdm-hubcli-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('prints help and rejects bad command lines with exit code 2', async () => {
    let io = capture();
    assert.equal(await main(['hub', '--help'], io), 0);
    assert.equal(io.stdout[0], HUB_HELP);
    io = capture();
    assert.equal(await main(['hub', 'device', 'add', '--help'], io), 0);
    io = capture();
    assert.equal(await main(['--help'], io), 0);
    assert.match(io.stdout[0]!, /hub {6}run a local IoT Hub/);
    for (const argv of [
      ['--bogus'],
      ['--mqtt-port', 'x'],
      ['--https-port', '70000'],
      ['nope'],
      ['start', 'extra'],
      ['device'],
      ['device', 'remove'],
      ['device', 'add'],
      ['device', 'add', 'a', 'b'],
      ['device', 'list', 'x'],
    ]) {
      io = capture();
      assert.equal(await runHub(argv, io), 2, argv.join(' '));
      assert.match(io.stderr[0]!, /^iotdm hub: /);
    }
    io = capture();
    assert.equal(await runHub(['device', 'add', 'bad id!', '--data', tmp()], io), 2);
  });

  it('defaults the data folder to XDG_STATE_HOME or ~/.local/state', () => {
    assert.equal(defaultHubDataDir({ XDG_STATE_HOME: '/s' }), '/s/windows-iot-dm/hub');
    assert.equal(
      defaultHubDataDir({}),
      path.join(os.homedir(), '.local', 'state', 'windows-iot-dm', 'hub'),
    );
  });

  it('device add prints a connection string a real device connects with; list shows no keys', async () => {
    const { hub, dataDir, close } = await startLocalHub({ dataDir: tmp() });
    try {
      const port = String(hub.ports.mqtt);
      let io = capture();
      assert.equal(
        await runHub(['device', 'add', 'cli-1', '--data', dataDir, '--mqtt-port', port], io),
        0,
      );
      const cs = io.stdout[0]!;
      assert.match(cs, /^HostName=localhost:\d+;DeviceId=cli-1;SharedAccessKey=/);
      await connect(cs, hub.tls.caCertPem);
      io = capture();
      assert.equal(await runHub(['device', 'add', 'cli-1', '--data', dataDir], io), 1);
      io = capture();
      assert.equal(await runHub(['device', 'list', '--data', dataDir, '--json'], io), 0);
      const rows = JSON.parse(io.stdout[0]!) as { deviceId: string }[];
      assert.deepEqual(
        rows.map((r) => r.deviceId),
        ['cli-1'],
      );
      assert.doesNotMatch(io.stdout.join('\n'), /Key/i);
      io = capture();
      assert.equal(await runHub(['device', 'list', '--data', dataDir], io), 0);
      assert.match(io.stdout[0]!, /^cli-1\tenabled\tsas\t/);
    } finally {
      await close();
    }
    const io = capture();
    assert.equal(await runHub(['device', 'list', '--data', tmp()], io), 0);
    assert.equal(io.stdout[0], '(no devices)');
  });

  it('starts in process, device add finds the running ports, stops with exit 0', async () => {
    const dataDir = tmp();
    let stop!: (signal: string) => void;
    const io = capture();
    const done = runHub(['--data', dataDir, '--mqtt-port', '0', '--https-port', '0'], io, {
      waitForStop: () => new Promise((resolve) => (stop = resolve)),
    });
    const deadline = Date.now() + 15000;
    while (!io.stdout.some((l) => l.includes('Press Ctrl+C')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const text = io.stdout.join('\n');
    assert.match(
      text,
      /Service connection string: HostName=localhost:\d+;SharedAccessKeyName=iothubowner;/,
    );
    const caPath = /CA certificate: (.*)/.exec(text)![1]!;
    const add = capture();
    assert.equal(await runHub(['device', 'add', 'cli-2', '--data', dataDir], add), 0);
    await connect(add.stdout[0]!, readFileSync(caPath, 'utf8'));

    // a second hub on the same port cannot start
    const mqttPort = /MQTT \(devices\): localhost:(\d+)/.exec(text)![1]!;
    const busy = capture();
    assert.equal(
      await runHub(['--data', tmp(), '--mqtt-port', mqttPort, '--https-port', '0'], busy),
      4,
    );
    assert.match(busy.stderr[0]!, /cannot start the hub/);

    stop('SIGTERM');
    assert.equal(await done, 0);
    assert.equal(existsSync(path.join(dataDir, 'hub.json')), false);
  });

  it('runs as a child process, prints JSON, exits 0 on SIGTERM', async () => {
    const dataDir = tmp();
    const child = spawn(
      process.execPath,
      [
        '-r',
        'tsx/cjs',
        path.join(__dirname, '../../lib/cli/main.ts'),
        'hub',
        '--data',
        dataDir,
        '--mqtt-port',
        '0',
        '--https-port',
        '0',
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.on('exit', () => reject(new Error(`exited early: ${err}`)));
    });
    const info = JSON.parse(line) as {
      connectionString: string;
      caPath: string;
      ports: { mqtt: number };
    };
    assert.match(
      info.connectionString,
      /^HostName=localhost:\d+;SharedAccessKeyName=iothubowner;SharedAccessKey=/,
    );
    assert.ok(existsSync(info.caPath));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
  });
});
