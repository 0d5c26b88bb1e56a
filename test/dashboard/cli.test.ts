/**
 * `iotdm dashboard`: with no --hub it finds the local hub of `iotdm hub` in the data folder
 * (hub.json + the store's iothubowner key + its CA), prints the URL (with the token off
 * loopback) and never the connection string; explains when no hub runs; usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runDashboard } from '../../lib/cli/dashboard-command';
import { runHub } from '../../lib/cli/hub-command';
import { main } from '../../lib/cli/main';
import type { CliIo } from '../../lib/cli/io';
import type { Dashboard } from '../../lib/dashboard';
import { eventually } from './api-fleet';

function capture(): CliIo & { text: () => string } {
  const lines: string[] = [];
  return { out: (t) => lines.push(t), err: (t) => lines.push(t), text: () => lines.join('\n') };
}

function stopper(): { wait: () => Promise<string>; stop: () => void } {
  let stop!: () => void;
  const p = new Promise<string>((resolve) => (stop = () => resolve('test')));
  return { wait: () => p, stop };
}

describe('iotdm dashboard', function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-dash-cli-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the local hub running in --data; prints the URL, never the key', async () => {
    const hubIo = capture();
    const hubStop = stopper();
    const hubDone = runHub(
      ['--data', dir, '--mqtt-port', '0', '--https-port', '0', '--json'],
      hubIo,
      {
        waitForStop: hubStop.wait,
      },
    );
    await eventually(() => hubIo.text().includes('connectionString'), 10000, 'hub started');
    const key = /SharedAccessKey=([^;"]+)/.exec(hubIo.text())![1]!;
    const io = capture();
    const dashStop = stopper();
    let dash: Dashboard | undefined;
    const done = runDashboard(['--data', dir, '--port', '0'], io, {
      waitForStop: dashStop.wait,
      env: {},
      started: (d) => (dash = d),
    });
    try {
      await eventually(() => dash !== undefined, 10000, 'dashboard started');
      assert.match(io.text(), new RegExp(`DM dashboard for the local hub in ${dir}`));
      assert.match(io.text(), /Open: http:\/\/127\.0\.0\.1:\d+\//);
      const res = await fetch(`${dash!.url}api/devices`);
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.deepEqual(JSON.parse(text).devices, []);
      const session = await (await fetch(`${dash!.url}api/session`)).json();
      assert.match((session as { hub: { host: string } }).hub.host, /^localhost:\d+$/);
      assert.ok(!io.text().includes(key));
    } finally {
      dashStop.stop();
      assert.equal(await done, 0);
      hubStop.stop();
      await hubDone;
    }
  });

  it('off loopback it prints the login URL with the token (JSON too)', async () => {
    const hubIo = capture();
    const hubStop = stopper();
    const hubDone = runHub(
      ['--data', dir, '--mqtt-port', '0', '--https-port', '0', '--json'],
      hubIo,
      {
        waitForStop: hubStop.wait,
      },
    );
    await eventually(() => hubIo.text().includes('connectionString'), 10000, 'hub started');
    const io = capture();
    const dashStop = stopper();
    let dash: Dashboard | undefined;
    const done = runDashboard(['--data', dir, '--port', '0', '--host', '0.0.0.0', '--json'], io, {
      waitForStop: dashStop.wait,
      env: {},
      started: (d) => (dash = d),
    });
    try {
      await eventually(() => io.text().includes('loginUrl'), 10000, 'dashboard started');
      const out = JSON.parse(io.text()) as { url: string; loginUrl: string; token: string };
      assert.equal(out.token, dash!.token);
      assert.equal(out.loginUrl, `${out.url}login?token=${out.token}`);
      const port = dash!.port;
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/session`)).status, 401);
      const ok = await fetch(`http://127.0.0.1:${port}/api/session`, {
        headers: { Authorization: `Bearer ${out.token}` },
      });
      assert.equal(ok.status, 200);
    } finally {
      dashStop.stop();
      await done;
      hubStop.stop();
      await hubDone;
    }
  });

  it('explains when no local hub runs; usage errors exit 2', async () => {
    const io = capture();
    assert.equal(await runDashboard(['--data', dir], io, { env: {} }), 4);
    assert.match(io.text(), /no local hub is running in .*; start one with: iotdm hub --data/);
    writeFileSync(
      path.join(dir, 'hub.json'),
      JSON.stringify({ pid: 2 ** 22 + 12345, hostName: 'localhost', httpsPort: 1 }),
    );
    const stale = capture();
    assert.equal(await runDashboard(['--data', dir], stale, { env: {} }), 4);
    assert.match(stale.text(), /is not running \(stale hub\.json\)/);
    const bad = capture();
    assert.equal(await runDashboard(['--port', 'eighty'], bad, { env: {} }), 2);
    assert.match(bad.text(), /--port must be a port number/);
    const badCs = capture();
    assert.equal(await runDashboard(['--hub', 'HostName=x'], badCs, { env: {} }), 4);
    assert.match(badCs.text(), /needs HostName, SharedAccessKeyName and SharedAccessKey/);
    const help = capture();
    assert.equal(await main(['dashboard', '--help'], help), 0);
    assert.match(help.text(), /Usage: iotdm dashboard/);
  });
});
