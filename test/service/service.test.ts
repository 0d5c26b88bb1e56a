/**
 * The privileged service end to end (real addon over the CSP emulator): diagnostics for a
 * missing / stopped / other-version / refusing service, access refused to a user outside the
 * group (an unprivileged child), policy denial, the audit log (no values), limits (size, rate,
 * malformed and slow clients), and restarts while a host is attached (no op lost or run twice).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Csp, CspError, ServiceError } from '../../lib';
import { DeviceManagementClient } from '../../lib/dm/client';
import { silentLogger } from '../../lib/dm/logger';
import { errorStatus } from '../../lib/dm/status';
import { deviceInfoHandler } from '../../lib/features/device-info';
import { createRebootHandlers } from '../../lib/features/reboot';
import { MockTwinLink } from '../../lib/testing';
import { connectService, type ServiceClient } from '../../lib/service/client';
import { encodeFrame } from '../../lib/service/protocol';
import { startService, type RunningService } from '../../lib/service/server';
import {
  CLI,
  ROOT,
  RawClient,
  rebootCount,
  startChildService,
  stopChild,
  tempService,
  type TempService,
} from './helpers';

interface AuditLine {
  caller: { uid: number; gid: number; pid: number; user?: string; groups: string[] };
  clientId: string;
  result: string;
  ops: Array<{ verb: string; uri: string; status?: number }>;
}

const REBOOT_NOW = './Device/Vendor/MSFT/Reboot/RebootNow';
const DEVICE_NAME = './DevDetail/Ext/Microsoft/DeviceName';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err as Error,
  );
}

describe('iotdm service', function () {
  let temp: TempService;
  let service: RunningService | undefined;
  const clients: ServiceClient[] = [];
  const client = (path = temp.socket) => {
    const c = connectService({ path, reconnectWindowMs: 20_000 });
    clients.push(c);
    return c;
  };
  beforeEach(() => {
    temp = tempService();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await service?.close();
    service = undefined;
    temp.cleanup();
  });

  describe('diagnostics', () => {
    it('no socket: ERR_SERVICE_MISSING naming the install and start commands', async () => {
      const err = await rejection(client().bootTime());
      assert.ok(err instanceof ServiceError);
      assert.equal(err.code, 'ERR_SERVICE_MISSING');
      assert.match(err.message, /not installed or not running/);
      assert.match(err.fix, /sudo iotdm service install/);
      assert.equal(errorStatus(err).transient, true);
    });

    it('a stale socket (nothing listens): ERR_SERVICE_STOPPED with the start command; a new service replaces it', async () => {
      // A service killed with SIGKILL leaves its socket file behind.
      const file = temp.configFile();
      const child = await startChildService(file, { WINDOWS_IOT_DM_EMULATOR_STATE: ':memory:' });
      await stopChild(child, 'SIGKILL');
      const err = await rejection(client().bootTime());
      assert.ok(err instanceof ServiceError);
      assert.equal(err.code, 'ERR_SERVICE_STOPPED');
      assert.match(err.fix, /systemctl start windows-iot-dm/);
      service = await startService({ config: temp.config(), log: () => {} });
      assert.equal(typeof (await client().bootTime()), 'number');
    });

    it('another protocol version: ERR_SERVICE_VERSION, both sides told', async () => {
      service = await startService({ config: temp.config(), log: () => {} });
      const raw = new RawClient(temp.socket);
      const answer = await raw.hello('v', 99);
      assert.equal(answer.t, 'fatal');
      assert.equal((answer.error as { code: string }).code, 'ERR_SERVICE_VERSION');
      await raw.closed;
      // And the client side: a "service" answering with another protocol.
      const fake = createServer((s) => {
        s.once('data', () =>
          s.write(
            encodeFrame({ t: 'welcome', protocol: 2, packageVersion: '9.9.9', instance: 'x' }),
          ),
        );
      });
      const fakePath = join(temp.dir, 'fake.sock');
      await new Promise<void>((r) => fake.listen(fakePath, r));
      try {
        const err = await rejection(client(fakePath).bootTime());
        assert.ok(err instanceof ServiceError);
        assert.equal(err.code, 'ERR_SERVICE_VERSION');
        assert.match(err.fix, /same windows-iot-dm version/);
      } finally {
        fake.close();
      }
    });
  });

  describe('access', () => {
    // The client side for nobody: connectService and Csp bundled by esbuild into a world-readable
    // temp folder. nobody may not read the checkout (a CI clone can sit in a 0700 folder) nor
    // write c8's coverage folder, so the child needs neither.
    let bundleDir = '';
    before(async function () {
      if (process.getuid?.() !== 0) return;
      this.timeout(60_000);
      bundleDir = mkdtempSync(join(tmpdir(), 'wdm-nobody-'));
      chmodSync(bundleDir, 0o755);
      const entry = join(bundleDir, 'entry.ts');
      writeFileSync(
        entry,
        `export { connectService } from ${JSON.stringify(join(ROOT, 'lib/service/client'))};\n` +
          `export { Csp } from ${JSON.stringify(join(ROOT, 'lib/csp/csp'))};\n`,
      );
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const esbuild = require('esbuild') as typeof import('esbuild');
      await esbuild.build({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        outfile: join(bundleDir, 'client.js'),
        logLevel: 'error',
      });
      chmodSync(join(bundleDir, 'client.js'), 0o644);
    });
    after(() => {
      if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
    });

    // Runs connectService as nobody (uid 65534), with or without the socket's group.
    async function asNobody(
      groups: string,
      script: string,
    ): Promise<{ code: string; message: string; fix?: string; value?: unknown }> {
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: '/tmp' };
      delete env.NODE_V8_COVERAGE;
      delete env.NODE_OPTIONS;
      // Asynchronously: the service runs in this process and must keep answering.
      const r = await promisify(execFile)(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          groups === '' ? '--clear-groups' : `--groups=${groups}`,
          process.execPath,
          '-e',
          `const { connectService, Csp } = require(${JSON.stringify(join(bundleDir, 'client.js'))});
           const c = connectService({ path: ${JSON.stringify(temp.socket)} });
           const csp = new Csp(c);
           (async () => { ${script} })().then(
             (value) => console.log(JSON.stringify({ code: 'ok', value })),
             (e) => console.log(JSON.stringify({ code: e.code, message: e.message, fix: e.fix })),
           ).finally(() => c.close());`,
        ],
        { cwd: bundleDir, encoding: 'utf8', env, timeout: 60_000 },
      );
      return JSON.parse(r.stdout.trim().split('\n').pop()!);
    }

    it('refuses a user outside the group (EACCES): ERR_SERVICE_ACCESS_DENIED with the usermod command', async function () {
      if (process.getuid?.() !== 0) this.skip();
      service = await startService({ config: temp.config({ group: 'users' }), log: () => {} });
      const out = await asNobody('', 'return await c.bootTime();');
      assert.equal(out.code, 'ERR_SERVICE_ACCESS_DENIED');
      assert.match(out.fix ?? '', /usermod -aG users \$USER/);
      // The same user in the group gets in.
      const ok = await asNobody('100', 'return typeof (await c.bootTime());');
      assert.deepEqual(ok, { code: 'ok', value: 'number' });
    });

    it('applies the policy per group and verb (caller identified by the kernel); denials are audited', async function () {
      if (process.getuid?.() !== 0) this.skip();
      service = await startService({
        config: temp.config({
          group: 'users',
          trustRoot: false,
          policy: {
            users: { get: ['./DevDetail'], replace: ['./Device/Vendor/MSFT/Policy/Config/Update'] },
          },
        }),
        log: () => {},
      });
      const got = await asNobody('100', "return await csp.get('./DevDetail/SwV');");
      assert.equal(got.code, 'ok');
      const denied = await asNobody('100', `return await csp.replace('${DEVICE_NAME}', 'x');`);
      assert.equal(denied.code, 'ERR_SERVICE_ACCESS_DENIED');
      assert.match(
        denied.message,
        /does not allow nobody .*replace \.\/DevDetail\/Ext\/Microsoft\/DeviceName/,
      );
      const sys = await asNobody('100', 'return await c.bootTime();');
      assert.equal(sys.code, 'ERR_SERVICE_ACCESS_DENIED');
      // root is not trusted here either: no rule for group root.
      const err = await rejection(new Csp(client()).get('./DevDetail/SwV'));
      assert.ok(err instanceof ServiceError && err.code === 'ERR_SERVICE_ACCESS_DENIED');
      await service.close();
      service = undefined;
      const lines = readFileSync(temp.audit, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditLine);
      const nobody = lines.filter((l) => l.caller.uid === 65534);
      assert.deepEqual(
        nobody.map((l) => l.result),
        ['ok', 'denied', 'denied'],
      );
      const [first, second] = nobody;
      assert.ok(first && second);
      assert.equal(first.caller.user, 'nobody');
      assert.ok(first.caller.groups.includes('users'));
      assert.equal(typeof first.caller.pid, 'number');
      assert.deepEqual(second.ops, [{ verb: 'replace', uri: DEVICE_NAME }]);
    });
  });

  it('audits every operation with the caller and URIs, never the values', async () => {
    service = await startService({ config: temp.config(), log: () => {} });
    const c = client();
    const csp = new Csp(c);
    const original = (await csp.get(DEVICE_NAME)) as string;
    const secret = 'secret-value-7f3a9c';
    await csp.replace(DEVICE_NAME, secret);
    assert.equal(await csp.get(DEVICE_NAME), secret);
    await csp.replace(DEVICE_NAME, original);
    await assert.rejects(csp.get('./Device/Vendor/MSFT/NoSuchCsp/X'), CspError);
    const sock = execFileSync('stat', ['-c', '%a', temp.socket], { encoding: 'utf8' }).trim();
    assert.equal(sock, '660');
    await service.close();
    service = undefined;
    const text = readFileSync(temp.audit, 'utf8');
    assert.ok(!text.includes(secret), 'a value reached the audit log');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditLine);
    assert.equal(lines.length, 5);
    assert.deepEqual(
      lines.map((l) => l.ops.map((o) => `${o.verb} ${o.status}`).join()),
      ['get 200', 'replace 200', 'get 200', 'replace 200', 'get 404'],
    );
    for (const l of lines) {
      assert.equal(l.caller.uid, process.getuid?.());
      assert.equal(l.caller.pid, process.pid);
      assert.equal(l.clientId, c.clientId);
    }
    const mode = execFileSync('stat', ['-c', '%a', temp.audit], { encoding: 'utf8' }).trim();
    assert.equal(mode, '600');
  });

  it('a change is in the audit log before its answer arrives; reads are written by a clean stop', async () => {
    const file = temp.configFile();
    const child = await startChildService(file, { WINDOWS_IOT_DM_EMULATOR_STATE: ':memory:' });
    const read = () =>
      readFileSync(temp.audit, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as AuditLine & { requestId: number });
    try {
      const c = client();
      const csp = new Csp(c);
      const original = (await csp.get(DEVICE_NAME)) as string;
      for (let i = 0; i < 20; i++) await csp.get('./DevDetail/SwV');
      await csp.replace(DEVICE_NAME, 'audited-before-answer');
      // No waiting: the Replace's line (and every read before it, in order) is already written.
      const lines = read();
      assert.equal(lines.length, 22);
      assert.deepEqual(
        lines.map((l) => l.ops.map((o) => o.verb).join()),
        [...Array<string>(21).fill('get'), 'replace'],
      );
      assert.deepEqual(
        lines.map((l) => l.requestId),
        lines.map((l) => l.requestId).sort((a, b) => a - b),
        'in request order',
      );
      await csp.replace(DEVICE_NAME, original);
      for (let i = 0; i < 30; i++) await csp.get('./DevInfo/DevId');
    } finally {
      assert.equal(await stopChild(child, 'SIGTERM'), 0);
    }
    // The 30 trailing reads were held in memory (flushMs); the clean stop wrote them.
    const all = read();
    assert.equal(all.length, 53);
    assert.equal(all.filter((l) => l.ops[0]?.uri === './DevInfo/DevId').length, 30);
  });

  for (const inlineReads of [true, false]) {
    it(`a read sent right after a change sees it (inlineReads: ${inlineReads})`, async () => {
      service = await startService({ config: temp.config({ inlineReads }), log: () => {} });
      const c = client();
      const original = (await c.apply([{ verb: 'get', uri: DEVICE_NAME }]))[0]?.data;
      for (const value of ['ordered-1', 'ordered-2', original ?? 'x']) {
        // Not awaited in between: the read arrives while the change is queued or running, so it
        // must not run on the service's thread ahead of it.
        const write = c.apply([{ verb: 'replace', uri: DEVICE_NAME, format: 'chr', data: value }]);
        const read = c.apply([{ verb: 'get', uri: DEVICE_NAME }]);
        assert.equal((await write)[0]?.status, 200);
        assert.equal((await read)[0]?.data, value);
      }
    });
  }

  describe('limits', () => {
    it('closes a connection sending a malformed frame; others are unaffected', async () => {
      service = await startService({ config: temp.config(), log: () => {} });
      const raw = new RawClient(temp.socket);
      assert.equal((await raw.hello()).t, 'welcome');
      const garbage = Buffer.from('{not json');
      const header = Buffer.alloc(4);
      header.writeUInt32BE(garbage.length);
      raw.socket.write(Buffer.concat([header, garbage]));
      const answer = await raw.next();
      assert.equal(answer.t, 'fatal');
      assert.equal((answer.error as { code: string }).code, 'ERR_SERVICE_PROTOCOL');
      await raw.closed;
      // A well-formed frame that is not a request.
      const raw2 = new RawClient(temp.socket);
      await raw2.hello();
      raw2.send({ t: 'req', id: 'x', op: 'mdm.apply', args: [] });
      assert.equal(((await raw2.next()).error as { code: string }).code, 'ERR_SERVICE_PROTOCOL');
      await raw2.closed;
      assert.equal(typeof (await client().bootTime()), 'number');
    });

    it('refuses an oversized request before reading it (ERR_SERVICE_LIMIT)', async () => {
      service = await startService({
        config: temp.config({ maxRequestBytes: 4096 }),
        log: () => {},
      });
      const c = client();
      const err = await rejection(c.rawSyncML('<SyncBody>' + 'x'.repeat(5000) + '</SyncBody>'));
      assert.ok(err instanceof ServiceError);
      assert.equal(err.code, 'ERR_SERVICE_LIMIT');
      assert.match(err.message, /over the limit of 4096/);
      // The client reconnects for the next call.
      assert.equal(typeof (await c.bootTime()), 'number');
    });

    it('times out a slow client (partial frame, then nothing) while others are served', async () => {
      service = await startService({ config: temp.config({ frameTimeoutMs: 300 }), log: () => {} });
      const slow = new RawClient(temp.socket);
      await slow.hello();
      const header = Buffer.alloc(4);
      header.writeUInt32BE(100);
      slow.socket.write(Buffer.concat([header, Buffer.from('{"t":"req"')]));
      const csp = new Csp(client());
      const served = await Promise.all(
        Array.from({ length: 20 }, () => csp.get('./DevDetail/SwV')),
      );
      assert.equal(served.length, 20);
      await slow.closed; // closed by the service (the test would time out otherwise)
      assert.ok(slow.socket.destroyed);
      // A client that connects and never says hello is closed too.
      const silent = new RawClient(temp.socket);
      await silent.closed;
    });

    it('rate-limits per caller (each op of a batch counts)', async () => {
      service = await startService({
        config: temp.config({ rate: { opsPerSecond: 0.001, burst: 10 } }),
        log: () => {},
      });
      const csp = new Csp(client());
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, () => csp.get('./DevDetail/SwV')),
      );
      // The 12 gets travel as one batch of 12 > burst 10: refused as a whole.
      assert.ok(
        outcomes.every(
          (o) => o.status === 'rejected' && (o.reason as ServiceError).code === 'ERR_SERVICE_LIMIT',
        ),
      );
      const ok = await Promise.all(Array.from({ length: 10 }, () => csp.get('./DevDetail/SwV')));
      assert.equal(ok.length, 10);
      const err = await rejection(csp.get('./DevDetail/SwV'));
      assert.equal((err as ServiceError).code, 'ERR_SERVICE_LIMIT');
      assert.equal(errorStatus(err).errCode, 429);
    });
  });

  describe('restarts (no operation lost or run twice)', () => {
    let state: string;
    beforeEach(() => {
      state = join(temp.dir, 'emulator-state.json');
    });

    it('a host keeps working across a service restart: every Exec ran exactly once', async () => {
      const file = temp.configFile();
      const env = { WINDOWS_IOT_DM_EMULATOR_STATE: state };
      let child = await startChildService(file, env);
      const c = client();
      const csp = new Csp(c);
      const before = rebootCount(state);
      let done = 0;
      const results: number[] = [];
      const worker = async () => {
        while (done < 60) {
          done++;
          results.push((await csp.exec(REBOOT_NOW)).status);
        }
      };
      const running = Promise.all([worker(), worker(), worker()]);
      while (results.length < 15) await new Promise((r) => setTimeout(r, 5));
      await stopChild(child); // SIGTERM: running requests finish and are answered
      child = await startChildService(file, env);
      await running;
      await stopChild(child);
      assert.equal(results.length, 60);
      assert.ok(results.every((s) => s === 200));
      assert.equal(rebootCount(state) - before, 60, 'Execs counted by the emulator');
      assert.ok(c.reconnects + (c.serviceVersion !== undefined ? 1 : 0) >= 1);
    });

    it('a re-sent request is answered from the result cache, also across a clean restart', async () => {
      const file = temp.configFile();
      const env = { WINDOWS_IOT_DM_EMULATOR_STATE: state };
      let child = await startChildService(file, env);
      const raw = new RawClient(temp.socket);
      const welcome = await raw.hello('cache-client');
      const exec = {
        t: 'req',
        id: 7,
        op: 'mdm.apply',
        args: [[{ verb: 'exec', uri: REBOOT_NOW }], {}],
      };
      raw.send(exec);
      const first = await raw.next();
      assert.equal(first.ok, true);
      const count = rebootCount(state);
      // The answer was lost: the same request again on a new connection, as a retry.
      raw.socket.destroy();
      const again = new RawClient(temp.socket);
      await again.hello('cache-client');
      again.send({ ...exec, retryOf: welcome.instance });
      assert.deepEqual(await again.next(), first);
      assert.equal(rebootCount(state), count, 'not run twice');
      again.socket.destroy();
      // Across a clean restart.
      await stopChild(child);
      child = await startChildService(file, env);
      const third = new RawClient(temp.socket);
      await third.hello('cache-client');
      third.send({ ...exec, retryOf: welcome.instance });
      assert.deepEqual(await third.next(), first);
      assert.equal(rebootCount(state), count, 'not run twice after the restart');
      // Another client id does not get it (it runs as its own request).
      third.socket.destroy();
      await stopChild(child);
    });

    it('after a crash, a retried Exec is refused as outcome unknown (never run twice)', async () => {
      const file = temp.configFile();
      const env = { WINDOWS_IOT_DM_EMULATOR_STATE: state };
      let child = await startChildService(file, env);
      const raw = new RawClient(temp.socket);
      const welcome = await raw.hello('crash-client');
      const exec = {
        t: 'req',
        id: 1,
        op: 'mdm.apply',
        args: [[{ verb: 'exec', uri: REBOOT_NOW }], {}],
      };
      raw.send(exec);
      await raw.next();
      const count = rebootCount(state);
      await stopChild(child, 'SIGKILL');
      child = await startChildService(file, env);
      const again = new RawClient(temp.socket);
      await again.hello('crash-client');
      again.send({ ...exec, retryOf: welcome.instance });
      const answer = await again.next();
      assert.equal(answer.ok, false);
      assert.equal((answer.error as { code: string }).code, 'ERR_SERVICE_OUTCOME_UNKNOWN');
      assert.equal(rebootCount(state), count);
      // A retried read runs again (harmless).
      again.send({
        t: 'req',
        id: 2,
        op: 'mdm.apply',
        args: [[{ verb: 'get', uri: './DevDetail/SwV' }], {}],
        retryOf: welcome.instance,
      });
      assert.equal((await again.next()).ok, true);
      again.socket.destroy();
      await stopChild(child);
    });
  });

  it('DeviceManagementClient.attach(link, { native: connectService() }) works, also across a restart', async () => {
    service = await startService({ config: temp.config(), log: () => {} });
    const native = client();
    const link = new MockTwinLink();
    const dm = await DeviceManagementClient.attach(link, {
      native,
      handlers: [deviceInfoHandler, ...createRebootHandlers({ system: native })],
      stateDir: join(temp.dir, 'dm'),
      logger: silentLogger(),
    });
    try {
      await link.waitReported(
        (r) => typeof (r.windows as { deviceInfo?: unknown } | undefined)?.deviceInfo === 'object',
      );
      await service.close(); // a clean restart while the host is attached
      service = await startService({ config: temp.config(), log: () => {} });
      const state = process.env.WINDOWS_IOT_DM_EMULATOR_STATE as string;
      const before = rebootCount(state);
      const answer = await link.invoke('windows.rebootAsync', { requestId: 'svc-1' });
      assert.equal(answer.status, 200);
      await dm.settled();
      await link.waitReported((r) => JSON.stringify(r).includes('"scheduled"'));
      assert.equal(rebootCount(state) - before, 1, 'one RebootNow through the restarted service');
    } finally {
      await dm.detach(50);
    }
  });

  it('iotdm service install/uninstall --dry-run print the steps for systemd and Windows', () => {
    const run = (args: string[]) =>
      execFileSync(process.execPath, ['--import', 'tsx', CLI, 'service', ...args], {
        cwd: ROOT,
        encoding: 'utf8',
      });
    const linux = run([
      'install',
      '--dry-run',
      '--platform',
      'linux',
      '--config',
      '/etc/x/service.json',
    ]);
    assert.match(linux, /write \/etc\/systemd\/system\/windows-iot-dm\.service/);
    assert.match(linux, /ExecStart=\S+node.* service run --config \/etc\/x\/service\.json/);
    assert.match(linux, /run systemctl enable --now windows-iot-dm\.service/);
    const win = run(['install', '--dry-run', '--platform', 'win32', '--winsw', 'C:\\t\\WinSW.exe']);
    assert.match(win, /run sc\.exe config windows-iot-dm obj= LocalSystem start= auto/);
    assert.match(win, /<executable>/);
    const un = run(['uninstall', '--dry-run', '--platform', 'linux']);
    assert.match(un, /systemctl disable --now windows-iot-dm\.service/);
  });
});
