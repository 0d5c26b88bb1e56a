/**
 * End to end: a device of a LocalHub, its key imported into a swtpm slot with `iotdm tpm import`,
 * then `iotdm agent --tpm-slot 0 --tpm tcp:...` connects with SAS tokens signed in the TPM and
 * applies a desired section; with 5 s tokens renewed 2 s before expiry it renews at least twice
 * and still applies a later desired change. A slot holding a wrong key is refused (exit 5). With
 * the built-in features, clearTPM of a remote wipe clears that TPM before the (emulated) wipe.
 * Neither the key nor a token signature appears in anything printed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_EXIT, runAgent } from '../../lib/cli/agent-command';
import type { CliIo } from '../../lib/cli/io';
import { main } from '../../lib/cli/main';
import type { LocalHub } from '../../lib/hub/hub';
import type { TwinState } from '../../lib/hub/twin/types';
import { LimpetTpm } from '../../lib/tpm/limpet';
import { TcpTpm } from '../../lib/tpm/tcp-transport';
import { emulatorCounts } from '../features/reboot-e2e-helpers';
import { startLocalHub } from '../hub/helpers/local-hub';
import { startSwtpm, type SwtpmHandle } from './swtpm';

const BRANDING = path.join(__dirname, '../../examples/oem/branding-handler.ts');

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

/** `p`, or a rejection after `ms` (so a failure stops the agent instead of hanging). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Resolves once the hub stores the reported branding for `companyName`, completed. */
function reportedBranding(hub: LocalHub, deviceId: string, companyName: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (e: { deviceId: string; twin: TwinState }): void => {
      const b = (e.twin.reported.props as { windows?: { branding?: Record<string, unknown> } })
        .windows?.branding;
      const change = b?.lastChange as { state?: string } | undefined;
      if (e.deviceId === deviceId && b?.companyName === companyName && change?.state) {
        hub.core.off('twin', on);
        assert.equal(change.state, 'completed');
        resolve();
      }
    };
    hub.core.on('twin', on);
  });
}

describe('iotdm agent --tpm-slot (SAS tokens signed in swtpm)', function () {
  this.timeout(60000);
  let hub: LocalHub;
  let closeHub: () => Promise<void>;
  let tpm: SwtpmHandle;
  let spec: string;
  let dir: string;
  before(async () => {
    ({ hub, close: closeHub } = await startLocalHub());
    tpm = await startSwtpm();
    spec = `tcp:${tpm.host}:${tpm.port}`;
    dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-tpm-agent-'));
  });
  after(async () => {
    await closeHub?.();
    await tpm?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const importInto = async (slot: number, cs: string): Promise<void> => {
    const file = path.join(dir, `slot${slot}.cs`);
    writeFileSync(file, cs + '\n');
    const io = capture();
    const code = await main(
      ['tpm', 'import', String(slot), '--connection-string-file', file, '--tpm', spec],
      io,
    );
    assert.equal(code, 0, io.stderr.join('\n'));
    rmSync(file);
  };

  it('connects, applies a section, renews the token twice and still applies changes', async () => {
    const deviceId = 'tpm-agent';
    const key = hub.core.registry.create(deviceId).primaryKey!;
    await importInto(0, hub.deviceConnectionString(deviceId));

    const logs: string[] = [];
    let stop!: (signal: string) => void;
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const renewals: number[] = [];
    let onRenewal: (() => void) | undefined;
    const io = capture();
    const done = runAgent(
      [
        '--tpm-slot',
        '0',
        '--tpm',
        spec,
        '--ca',
        hub.caPath,
        '--state-dir',
        path.join(dir, 'state'),
        '--no-builtin',
        '--handler',
        BRANDING,
      ],
      io,
      {
        env: {},
        waitForStop: () => new Promise((resolve) => (stop = resolve)),
        writeLog: (l) => {
          logs.push(l);
          const line = JSON.parse(l) as { msg: string; expiry?: number };
          if (line.msg === 'TPM SAS token renewed') {
            renewals.push(line.expiry!);
            onRenewal?.();
          }
        },
        onReady: ready,
        tpmSasOptions: { tokenValidTimeInSeconds: 5, tokenRenewalMarginInSeconds: 2 },
      },
    );
    try {
      await Promise.race([isReady, done.then((c) => assert.fail(`exited ${c}: ${io.stderr}`))]);
      const first = reportedBranding(hub, deviceId, 'Contoso TPM');
      hub.core.updateTwin(deviceId, {
        properties: { desired: { windows: { branding: { companyName: 'Contoso TPM' } } } },
      });
      await within(first, 15000, 'the first branding report');

      // Two renewals (every 3 s), each a new token sent to the hub.
      await within(
        new Promise<void>((resolve) => {
          onRenewal = () => {
            if (renewals.length >= 2) resolve();
          };
          onRenewal();
        }),
        20000,
        'two token renewals',
      );
      assert.ok(renewals[1]! > renewals[0]!, `expiries ${renewals.join(', ')}`);

      const second = reportedBranding(hub, deviceId, 'Fabrikam TPM');
      hub.core.updateTwin(deviceId, {
        properties: { desired: { windows: { branding: { companyName: 'Fabrikam TPM' } } } },
      });
      await within(second, 15000, 'the branding report after the renewals');
    } finally {
      stop?.('SIGTERM');
    }
    assert.equal(await done, 0, io.stderr.join('\n'));
    const all = logs.join('') + io.stdout.join('') + io.stderr.join('');
    assert.ok(!all.includes(key), 'the key is printed');
    assert.doesNotMatch(all, /sig=(?!\[redacted\])/);
    const msgs = logs.map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.ok(msgs.includes('ready'));
    assert.equal(msgs.at(-1), 'stopped');
  });

  it('a slot holding another key is refused by the hub (exit 5); an empty slot is a usage error', async () => {
    const deviceId = 'tpm-agent-wrong';
    hub.core.registry.create(deviceId);
    const wrong = Buffer.from('not the key of this device, 32 b').toString('base64');
    const cs = hub
      .deviceConnectionString(deviceId)
      .replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${wrong}`);
    await importInto(1, cs);
    let io = capture();
    const args = ['--tpm', spec, '--ca', hub.caPath, '--state-dir', path.join(dir, 's1')];
    assert.equal(
      await runAgent(['--tpm-slot', '1', ...args, '--no-builtin', '--handler', BRANDING], io, {
        env: {},
        writeLog: () => undefined,
      }),
      AGENT_EXIT.connection,
    );
    assert.match(io.stderr.join('\n'), /IoT Hub refused the credentials .* as tpm-agent-wrong/);
    io = capture();
    assert.equal(
      await runAgent(['--tpm-slot', '5', ...args, '--no-builtin', '--handler', BRANDING], io, {
        env: {},
        writeLog: () => undefined,
      }),
      AGENT_EXIT.usage,
    );
    assert.match(io.stderr.join('\n'), /TPM slot 5: NO_URI: Slot 5 has no service URI/);
  });

  it('rejects --tpm-slot with a connection string, a bad slot, --tpm alone, an unreachable TPM', async () => {
    const cs = `HostName=h;DeviceId=d;SharedAccessKey=${Buffer.alloc(32, 1).toString('base64')}`;
    const cases: Array<[string[], number, RegExp]> = [
      [['--tpm-slot', '0', '--connection-string', cs], AGENT_EXIT.usage, /exclude each other/],
      [['--tpm-slot', '10'], AGENT_EXIT.usage, /--tpm-slot must be 0-9/],
      [['--tpm', spec, '--connection-string', cs], AGENT_EXIT.usage, /--tpm needs --tpm-slot/],
      [['--tpm-slot', '0', '--tpm', 'tcp:nohost'], AGENT_EXIT.usage, /--tpm must be/],
      [
        ['--tpm-slot', '0', '--tpm', 'tcp:127.0.0.1:1', '--no-builtin'],
        AGENT_EXIT.unavailable,
        /no TPM/,
      ],
    ];
    for (const [argv, code, message] of cases) {
      const io = capture();
      assert.equal(
        await runAgent(argv, io, { env: {}, writeLog: () => undefined }),
        code,
        argv.join(' '),
      );
      assert.match(io.stderr.join('\n'), message);
    }
  });

  it('with the built-in features: windows.startRemoteWipeAsync clearTPM clears this TPM, then wipes', async () => {
    const deviceId = 'tpm-agent-wipe';
    hub.core.registry.create(deviceId);
    await importInto(2, hub.deviceConnectionString(deviceId));
    let stop!: (signal: string) => void;
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const io = capture();
    const done = runAgent(
      ['--tpm-slot', '2', '--tpm', spec, '--ca', hub.caPath, '--state-dir', path.join(dir, 's2')],
      io,
      {
        env: {},
        waitForStop: () => new Promise((resolve) => (stop = resolve)),
        writeLog: () => undefined,
        onReady: ready,
      },
    );
    try {
      await Promise.race([isReady, done.then((c) => assert.fail(`exited ${c}: ${io.stderr}`))]);
      const before = emulatorCounts();
      const r = await hub.core.invokeMethod(deviceId, 'windows.startRemoteWipeAsync', {
        clearTPM: 'true',
      });
      assert.equal(r.status, 200, JSON.stringify(r.payload));
      assert.equal(emulatorCounts().wipes, before.wipes + 1);
    } finally {
      stop?.('SIGTERM');
    }
    assert.equal(await done, 0, io.stderr.join('\n'));
    // swtpm serves one connection at a time: the agent's is closed now. The TPM was cleared
    // (every slot is gone).
    const native = new TcpTpm({ host: tpm.host, port: tpm.port });
    try {
      const limpet = new LimpetTpm(native);
      assert.equal(await limpet.readUri(2), undefined);
      assert.equal(await limpet.readUri(0), undefined);
      assert.deepEqual(
        await limpet.listSlots().then((l) => l.filter((x) => x.uri || x.hasHmacKey)),
        [],
      );
    } finally {
      await native.close();
    }
  });
});
