/**
 * `iotdm agent` (child process) when the hub drops its connection during start-up, right after
 * its first messages (found by the chaos test): it must come back online and get ready, never
 * sit offline for good nor exit (it once exited with code 0 when the SDK did not reconnect
 * during attach and nothing else held the event loop). And SIGTERM during a start-up that
 * cannot finish (no twin answer) must stop it at once (it was ignored until attach returned).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalHub } from '../hub/helpers/local-hub';
import type { LocalHub } from '../../lib/hub/hub';
import { AgentProcess, bundleCli, type AgentProcessOptions, type LogLine } from './agent-process';

function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(what())), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** `iotdm agent` for device `id` of the local hub, its state in `dir`. */
function agentFor(
  hub: LocalHub,
  dir: string,
  id: string,
  bundle: string | undefined,
  extra: Partial<AgentProcessOptions> = {},
): AgentProcess {
  return new AgentProcess({
    ...(bundle ? { bundle } : {}),
    connectionString: hub.deviceConnectionString(id),
    caPath: hub.caPath,
    stateDir: path.join(dir, 'dm'),
    emulatorState: path.join(dir, 'emulator-state.json'),
    ...extra,
  });
}

describe('iotdm agent: connection dropped during start-up', function () {
  this.timeout(120_000);

  for (const after of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`dropped after ${after} message(s): reconnects and gets ready`, async () => {
      const { hub, close } = await startLocalHub();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-agent-drop-'));
      const bundle = bundleCli();
      const id = `drop-${after}`;
      hub.core.registry.create(id);
      const agent = agentFor(hub, dir, id, bundle);
      try {
        hub.control.dropConnection(id, { afterMessages: after });
        agent.start();
        await within(agent.ready, 60_000, () => `not ready in 60 s:\n${agent.tail()}`);
        assert.deepEqual(agent.crashes, []);
      } finally {
        await agent.kill();
        await close();
        rmSync(dir, { recursive: true, force: true });
      }
      assert.deepEqual(agent.crashes, []);
    });
  }

  it('SIGTERM while attach waits for a twin answer that never comes: exits 0 at once', async () => {
    const { hub, close } = await startLocalHub();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-agent-drop-'));
    const bundle = bundleCli();
    const id = 'stalled-attach';
    hub.core.registry.create(id);
    const lines: LogLine[] = [];
    const agent = agentFor(hub, dir, id, bundle, { onLine: (l) => lines.push(l) });
    try {
      // No twin answer at all: the first read waits 30 s per attempt, 5 attempts, so attach
      // cannot return for minutes.
      hub.control.dropTwinResponses(1000);
      let twinRequests = 0;
      const counted = hub.control.twinFault.bind(hub.control);
      hub.control.twinFault = (deviceId) => {
        twinRequests += 1;
        return counted(deviceId);
      };
      agent.start();
      const child = agent.child!;
      const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      // Attach is under way once the hub has swallowed the first twin GET.
      await within(
        (async () => {
          while (twinRequests === 0) await new Promise((r) => setTimeout(r, 50));
        })(),
        60_000,
        () => `no twin request in 60 s:\n${agent.tail()}`,
      );
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(!lines.some((l) => l.msg === 'ready'), 'ready although no twin answer was sent');
      child.kill('SIGTERM');
      const { code, signal } = await within(
        exit,
        15_000,
        () => `no exit within 15 s of SIGTERM (attach ignores it):\n${agent.tail()}`,
      );
      assert.equal(signal, null);
      assert.equal(code, 0, agent.tail());
      assert.ok(
        lines.some((l) => l.msg === 'stopping during start-up'),
        agent.tail(),
      );
      assert.ok(
        lines.some((l) => l.msg === 'stopped'),
        agent.tail(),
      );
      assert.deepEqual(
        lines.filter((l) => l.level >= 50).map((l) => l.msg),
        [],
      );
    } finally {
      await agent.kill();
      await close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
