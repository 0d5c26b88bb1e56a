/**
 * `runDemo` in this process: without swtpm on the PATH it says how to install it and every device
 * uses the symmetric-key group; an agent that dies is reported and restarted (a new pid in
 * `demo.json`) and its device reports again; a reboot asked from the dashboard restarts the
 * agent; a second demo on the same data folder is refused;
 * `stop()` ends every child. A dashboard port in use is explained and nothing stays running;
 * bad options are usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { runDemoCommand } from '../../lib/cli/demo-command';
import { runDemo, type DemoRun } from '../../lib/demo/run';

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await delay(100);
  }
}

describe('runDemo (in process)', function () {
  this.timeout(120_000);
  let dataDir: string;
  let run: DemoRun | undefined;
  const lines: string[] = [];

  before(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'wdm-demo-run-'));
  });
  after(async () => {
    await run?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('falls back to symmetric keys without swtpm, restarts a dead agent, reboots, stops cleanly', async () => {
    run = await runDemo({
      dataDir,
      devices: 2,
      fresh: true,
      dashboardPort: 0,
      env: { PATH: '/nonexistent' },
      print: (line) => lines.push(line),
    });
    const text = (): string => lines.join('\n');
    assert.match(text(), /swtpm is not installed.*apt-get install swtpm swtpm-tools/);
    assert.match(text(), /demo-01: agent started \(symmetric key \(group\)\)/);
    assert.match(text(), /demo-02: agent started \(symmetric key \(group\)\)/);
    await until('both devices report', () => run!.reporting().length === 2);
    assert.match(text(), /All 2 devices report/);

    await assert.rejects(
      runDemo({ dataDir, devices: 1, dashboardPort: 0, print: () => undefined }),
      /already running/,
    );

    const record = (): { children: Record<string, number> } =>
      JSON.parse(readFileSync(path.join(dataDir, 'demo.json'), 'utf8')) as {
        children: Record<string, number>;
      };
    const first = record().children['agent demo-01']!;
    process.kill(first, 'SIGKILL');
    await until('the restart is reported', () => /demo-01: agent exited \(SIGKILL\)/.test(text()));
    await until('a new agent', () => {
      const pid = record().children['agent demo-01'];
      return pid !== undefined && pid !== first && alive(pid);
    });
    const count = lines.filter((l) => l.startsWith('demo-01: connected')).length;
    await until(
      'demo-01 connected again',
      () => lines.filter((l) => l.startsWith('demo-01: connected')).length > count,
    );

    // A reboot asked from the dashboard: the demo restarts the agent, as the device would.
    const url = run.dashboardUrl;
    const { csrf } = (await (await fetch(`${url}api/session`)).json()) as { csrf: string };
    const answer = await fetch(`${url}api/devices/demo-02/methods/windows.rebootAsync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: '{}',
    });
    assert.equal(answer.status, 200, await answer.text());
    const before = record().children['agent demo-02']!;
    await until('the reboot', () => /demo-02: rebooting/.test(text()));
    await until('the agent restarted', () => {
      const pid = record().children['agent demo-02'];
      return pid !== undefined && pid !== before && alive(pid);
    });
    assert.ok(!alive(before), 'the agent before the reboot has ended');

    const pids = Object.values(record().children);
    await run.stop();
    run = undefined;
    for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} still runs`);
  });

  it('explains a dashboard port in use and leaves nothing running', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-demo-port-'));
    const seen: string[] = [];
    try {
      await assert.rejects(
        runDemo({
          dataDir: dir,
          devices: 1,
          dashboardPort: port,
          env: { PATH: '/nonexistent' },
          print: (l) => seen.push(l),
        }),
        new RegExp(`port ${port} is in use: choose another --port`),
      );
      assert.match(seen.join('\n'), /demo-01: agent started/);
      const leftovers = readdirSync('/proc')
        .filter((e) => /^\d+$/.test(e))
        .filter((e) => {
          try {
            return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir);
          } catch {
            return false;
          }
        });
      assert.deepEqual(leftovers, [], 'processes of the failed demo');
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad options (exit 2)', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (t: string) => err.push(t) };
    assert.equal(await runDemoCommand(['--devices', '0'], io), 2);
    assert.match(err.join('\n'), /--devices must be 1-50/);
    assert.equal(await runDemoCommand(['--port', 'x'], io), 2);
    assert.equal(await runDemoCommand(['--bogus'], io), 2);
  });
});
