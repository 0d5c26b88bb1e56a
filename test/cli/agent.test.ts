/**
 * `iotdm agent`: command-line checks in process, then the agent against a LocalHub, in process
 * (credentials from a file and from the environment) and as a child process (the OEM branding
 * handler applied end to end through the real device SDK and the CSP emulator; SIGTERM; a
 * refused key). The device key must never appear in anything the agent prints.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_EXIT, AGENT_HELP, handlersOf, runAgent } from '../../lib/cli/agent-command';
import type { CliIo } from '../../lib/cli/io';
import { looseSecretFile } from '../../lib/cli/secret-file';
import { MAIN_HELP, main } from '../../lib/cli/main';
import type { LocalHub } from '../../lib/hub/hub';
import type { TwinState } from '../../lib/hub/twin/types';
import { BUILTIN_SECTIONS } from '../../lib/features';
import { startLocalHub } from '../hub/helpers/local-hub';
import { waitFor as waitUntil } from '../hub/helpers/mqtt-fixture';

const ROOT = path.join(__dirname, '../..');
const MAIN = path.join(ROOT, 'lib/cli/main.ts');
const BRANDING = path.join(ROOT, 'examples/oem/branding-handler.ts');

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

interface LogLine {
  level: number;
  msg: string;
  component?: string;
  [key: string]: unknown;
}

/** The agent as a child process (through tsx, like `npm run iotdm`). */
function spawnAgent(args: string[], env: NodeJS.ProcessEnv = {}) {
  const childEnv = { ...process.env, ...env };
  if (!('IOTDM_CONNECTION_STRING' in env)) delete childEnv.IOTDM_CONNECTION_STRING;
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'agent', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv,
  });
  let stderr = '';
  const lines: LogLine[] = [];
  const waiters: Array<{ test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  child.stderr.on('data', (c: Buffer) => {
    const start = stderr.lastIndexOf('\n') + 1;
    stderr += c.toString();
    for (const text of stderr.slice(start).split('\n').slice(0, -1)) {
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    waitFor(test: (l: LogLine) => boolean, what: string): Promise<LogLine> {
      const seen = lines.find(test);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ test, resolve });
        void exited.then((code) =>
          reject(new Error(`agent exited (${code}) before "${what}":\n${stderr}`)),
        );
      });
    },
  };
}

/** Resolves with the reported branding once the hub stores `lastChange.state` = completed. */
function reportedBranding(hub: LocalHub, deviceId: string, companyName: string): Promise<unknown> {
  return new Promise((resolve) => {
    const on = (e: { deviceId: string; twin: TwinState }): void => {
      const b = (e.twin.reported.props as { windows?: { branding?: Record<string, unknown> } })
        .windows?.branding;
      const change = b?.lastChange as { state?: string } | undefined;
      if (e.deviceId === deviceId && b?.companyName === companyName && change?.state) {
        hub.core.off('twin', on);
        resolve(b);
      }
    };
    hub.core.on('twin', on);
  });
}

describe('iotdm agent', function () {
  this.timeout(30000);
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'wdm-agent-'));
    dirs.push(d);
    return d;
  };
  let hub: LocalHub;
  let closeHub: () => Promise<void>;
  before(async () => {
    ({ hub, close: closeHub } = await startLocalHub());
  });
  after(async () => {
    await closeHub();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const device = (id: string): { cs: string; key: string } => {
    const d = hub.core.registry.create(id);
    return { cs: hub.deviceConnectionString(id), key: d.primaryKey! };
  };

  it('prints help, is listed in the main help, and rejects bad command lines with 2', async () => {
    let io = capture();
    assert.equal(await main(['agent', '--help'], io), 0);
    assert.equal(io.stdout[0], AGENT_HELP);
    assert.match(MAIN_HELP, /\n {2}agent {4}run the device-management agent/);
    const key = 'c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk=';
    const cs = `HostName=h;DeviceId=d;SharedAccessKey=${key}`;
    const empty = mkdtempSync(path.join(os.tmpdir(), 'wdm-agent-'));
    dirs.push(empty);
    writeFileSync(path.join(empty, 'none.js'), 'module.exports = { answer: 42 };\n');
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [[], {}, /no device connection string/],
      [['--bogus'], {}, /Unknown option '--bogus'/],
      [['stray'], {}, /Unexpected argument 'stray'/],
      [['--connection-string', cs, '--transport', 'amqp'], {}, /--transport must be mqtt/],
      [['--connection-string', cs, '--log-level', 'loud'], {}, /--log-level must be/],
      [
        ['--connection-string', cs, '--sas-renewal', '5'],
        {},
        /--sas-renewal must be .* at least 10/,
      ],
      [
        [
          '--connection-string',
          `HostName=h;DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=h&sig=${key}&se=1`,
          '--sas-renewal',
          '60',
        ],
        {},
        /--sas-renewal needs a connection string with a SharedAccessKey/,
      ],
      [
        ['--connection-string', cs, '--exclude', 'dmAppStoreUpdate'],
        {},
        /--exclude dmAppStoreUpdate: not a built-in section/,
      ],
      [['--connection-string', `DeviceId=d;SharedAccessKey=${key}`], {}, /missing HostName/],
      [
        [],
        {
          IOTDM_CONNECTION_STRING: `HostName=h;SharedAccessKeyName=iothubowner;SharedAccessKey=${key}`,
        },
        /service \(shared access policy\) connection string/,
      ],
      [['--connection-string-file', path.join(empty, 'nope')], {}, /cannot read .*nope \(ENOENT\)/],
      [['--connection-string', cs, '--ca', path.join(empty, 'ca.pem')], {}, /cannot read --ca/],
      [['--connection-string', cs, '--handler', './no/such/module.js'], {}, /module not found/],
      [
        ['--connection-string', cs, '--handler', path.join(empty, 'none.js')],
        {},
        /exports no feature handler/,
      ],
    ];
    for (const [argv, env, message] of cases) {
      io = capture();
      assert.equal(await runAgent(argv, io, { env }), AGENT_EXIT.usage, argv.join(' '));
      const text = io.stderr.join('\n');
      assert.match(text, /^iotdm agent: /);
      assert.match(text, message);
      assert.doesNotMatch(text, new RegExp(key.slice(0, 12)));
    }
  });

  it('finds handlers as default export, `handler`, `handlers` or any named export', () => {
    const a = { section: 'a', nodes: [] };
    const b = { section: 'b', nodes: ['./Device/Vendor/MSFT/X/*'] };
    const c = { section: 'c', nodes: [] };
    assert.deepEqual(handlersOf({ default: a }), [a]);
    assert.deepEqual(handlersOf({ default: { default: a, other: b } }), [a, b]);
    assert.deepEqual(handlersOf({ handler: a, handlers: [b, c], again: a }), [a, b, c]);
    assert.deepEqual(handlersOf({ brandingHandler: b, notOne: { section: 'x' } }), [b]);
    assert.deepEqual(handlersOf(a), [a]);
    assert.deepEqual(handlersOf({ value: 1 }), []);
  });

  it('runs in process with the connection string from a file or the environment', async () => {
    const { cs, key } = device('agent-inproc');
    const dir = tmp();
    const file = path.join(dir, 'device.cs');
    writeFileSync(file, `\n  ${cs}  \n`);
    chmodSync(file, 0o644);
    for (const [argv, env] of [
      [['--connection-string-file', file], {}],
      [[], { IOTDM_CONNECTION_STRING: cs }],
    ] as Array<[string[], NodeJS.ProcessEnv]>) {
      const logs: string[] = [];
      let stop!: (signal: string) => void;
      let ready!: () => void;
      const isReady = new Promise<void>((resolve) => (ready = resolve));
      const io = capture();
      const done = runAgent(
        [
          ...argv,
          '--ca',
          hub.caPath,
          '--state-dir',
          path.join(dir, 'state'),
          '--handler',
          BRANDING,
        ],
        io,
        {
          env,
          waitForStop: () => new Promise((resolve) => (stop = resolve)),
          writeLog: (l) => logs.push(l),
          onReady: ready,
        },
      );
      await Promise.race([isReady, done.then((c) => assert.fail(`exited ${c}: ${io.stderr}`))]);
      stop('SIGTERM');
      assert.equal(await done, 0, io.stderr.join('\n'));
      const msgs = logs.map((l) => (JSON.parse(l) as LogLine).msg);
      assert.ok(msgs.includes('ready'), msgs.join(','));
      assert.equal(msgs.at(-1), 'stopped');
      assert.doesNotMatch(logs.join(''), new RegExp(key.slice(0, 12).replace(/[+/]/g, '.')));
      // The file was written 0644: a warning names the fix; the environment gets none.
      const warned = msgs.filter((m) => m.includes('readable by other users'));
      assert.deepEqual(
        warned,
        argv.length
          ? [`the connection string file is readable by other users: chmod 600 ${file}`]
          : [],
      );
    }
    // Owner-only: no warning.
    chmodSync(file, 0o600);
    assert.equal(looseSecretFile(file), undefined);
    assert.deepEqual(looseSecretFile(file, 'win32'), undefined);
    chmodSync(file, 0o640);
    assert.deepEqual(looseSecretFile(file), { mode: '0640', fix: `chmod 600 ${file}` });
  });

  it('as a child process: applies windows.branding, reports completed, exits 0 on SIGTERM', async () => {
    const { cs, key } = device('agent-child');
    const dir = tmp();
    const agent = spawnAgent(
      ['--ca', hub.caPath, '--state-dir', dir, '--handler', BRANDING, '--log-level', 'debug'],
      { IOTDM_CONNECTION_STRING: cs },
    );
    try {
      const ready = await agent.waitFor((l) => l.msg === 'ready', 'ready');
      assert.deepEqual(ready.sections, [...BUILTIN_SECTIONS, 'branding']);
      // The built-in features report on attach: deviceInfo read from the (emulated) device.
      await waitUntil(() => {
        const windows = hub.core.getTwin('agent-child').properties.reported.windows as
          { deviceInfo?: { osVer?: string } } | undefined;
        return typeof windows?.deviceInfo?.osVer === 'string' && windows.deviceInfo.osVer !== '';
      });
      const reported = reportedBranding(hub, 'agent-child', 'Contoso IoT');
      hub.core.updateTwin('agent-child', {
        properties: { desired: { windows: { branding: { companyName: 'Contoso IoT' } } } },
      });
      const branding = (await reported) as { lastChange: { state: string } };
      assert.equal(branding.lastChange.state, 'completed');
      await agent.waitFor((l) => l.msg === 'section applied', 'section applied');
    } finally {
      agent.child.kill('SIGTERM');
    }
    assert.equal(await agent.exited, 0, agent.stderr());
    assert.equal(agent.lines.at(-1)?.msg, 'stopped');
    assert.equal(agent.lines.at(-1)?.signal, 'SIGTERM');
    assert.ok(!agent.stderr().includes(key), 'the key is in the log');
    assert.ok(!agent.stderr().includes(cs), 'the connection string is in the log');
  });

  it('as a child process: a refused key exits 5, a missing connection string 2, neither prints the key', async () => {
    const { cs, key } = device('agent-badkey');
    const wrong = Buffer.from('not the key of this device, 32 b').toString('base64');
    const badCs = cs.replace(key, wrong);
    const refused = spawnAgent(['--ca', hub.caPath, '--state-dir', tmp()], {
      IOTDM_CONNECTION_STRING: badCs,
    });
    const missing = spawnAgent([]);
    assert.equal(await refused.exited, AGENT_EXIT.connection, refused.stderr());
    assert.match(
      refused.stderr(),
      /iotdm agent: IoT Hub refused the credentials \(localhost:\d+ as agent-badkey, mqtt\)/,
    );
    assert.ok(!refused.stderr().includes(wrong));
    assert.ok(!refused.stderr().includes(key));
    assert.equal(await missing.exited, AGENT_EXIT.usage, missing.stderr());
    assert.match(missing.stderr(), /no device connection string/);
  });
});
