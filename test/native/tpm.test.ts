/**
 * The addon's native TPM channel (AddonTpm over native/tpm): against swtpm on a Unix socket (raw
 * TPM framing), cross-checked with TcpTpm on a second simulator made from the
 * same factory state (mssim framing over TCP); against scripted fake TPMs (node:net servers on Unix sockets) for truncated,
 * oversized and missing answers; argument checks, close(), missing devices, and a worker_thread
 * torn down mid-command (the environment cleanup hook closes its channel).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { IotDmError, TpmError, TpmUnavailableError } from '../../lib/errors';
import { AddonTpm, TPM_DEVICE_ENV, resolveTpmPath } from '../../lib/native/addon-tpm';
import { TcpTpm } from '../../lib/tpm/tcp-transport';
import { startSwtpm, type SwtpmHandle } from '../tpm/swtpm';
import { getRandom, header, readPublic } from '../helpers/tpm-raw';

const ROOT = resolve(__dirname, '../..');

const hex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));

describe('native TPM channel over swtpm (Unix socket)', function () {
  this.timeout(60000);
  let swtpm: SwtpmHandle;
  let tpm: AddonTpm;

  before(async () => {
    swtpm = await startSwtpm({ unixSocket: true });
  });
  beforeEach(() => {
    tpm = new AddonTpm({ path: swtpm.socketPath as string });
  });
  afterEach(() => tpm.close());
  after(() => swtpm?.stop());

  it('reports a TPM 2.0 reached over a socket', async () => {
    assert.deepEqual(await tpm.info(), {
      transport: 'socket',
      tpmVersion: 2,
      path: swtpm.socketPath,
    });
  });

  it('round-trips TPM2_GetRandom', async () => {
    const response = await tpm.submit(getRandom(16));
    assert.ok(response instanceof Uint8Array);
    assert.deepEqual(header(response), { tag: 0x8001, size: 28, rc: 0 });
    assert.equal(Buffer.from(response).readUInt16BE(10), 16);
    const again = await tpm.submit(getRandom(16));
    assert.notDeepEqual(again.subarray(12), response.subarray(12));
  });

  it('round-trips TPM2_ReadPublic(0x81010001): the same bytes as TcpTpm gives', async () => {
    const response = await tpm.submit(readPublic(0x81010001));
    const h = header(response);
    assert.equal(h.rc, 0);
    assert.equal(h.size, response.length);
    // A second simulator from the same factory state, reached over TCP with mssim framing.
    const other = await startSwtpm();
    try {
      const tcp = new TcpTpm({ host: other.host, port: other.port });
      assert.deepEqual(Buffer.from(await tcp.submit(readPublic(0x81010001))), Buffer.from(response));
      await tcp.close();
    } finally {
      await other.stop();
    }
  });

  it('passes TPM errors through as responses (TPM_RC_HANDLE for an empty persistent handle)', async () => {
    const response = await tpm.submit(readPublic(0x81000fff));
    const h = header(response);
    assert.equal(h.size, 10);
    assert.equal(h.rc & 0x0bf, 0x08b); // TPM_RC_HANDLE (format-one, handle number bits masked)
  });

  it('serializes concurrent submits: every response answers its own request', async () => {
    const sizes = Array.from({ length: 40 }, (_, i) => (i * 7) % 32 + 1);
    const commands = sizes.map((n, i) => (i % 5 === 4 ? readPublic(0x81010001) : getRandom(n)));
    const responses = await Promise.all(commands.map((c) => tpm.submit(c)));
    const ekPublic = responses[4] as Uint8Array;
    responses.forEach((response, i) => {
      const n = sizes[i] as number;
      const h = header(response);
      assert.equal(h.rc, 0, `response ${i}`);
      if (i % 5 === 4) {
        assert.equal(h.size, ekPublic.length);
        assert.deepEqual(response, ekPublic);
      } else {
        assert.equal(h.size, 12 + n, `response ${i} has the size of GetRandom(${n})`);
        assert.equal(Buffer.from(response).readUInt16BE(10), n);
      }
    });
  });

  it('rejects what is not a whole TPM 2.0 command with ERR_INVALID_ARG, without sending it', async () => {
    const bad: unknown[] = [
      'GetRandom',
      Buffer.from(getRandom(8)).toJSON().data, // an array, not a Uint8Array
      new Uint16Array(6),
      hex('8001000000'), // shorter than a header
      hex('80010000000d0000017b0008'), // header says 13 bytes, 12 given
      hex('00c10000000c0000017b0008'), // TPM 1.2 tag
      new Uint8Array(9000), // larger than any command
    ];
    for (const command of bad) {
      await assert.rejects(tpm.submit(command as Uint8Array), (err: unknown) => {
        assert.ok(err instanceof IotDmError);
        assert.equal(err.code, 'ERR_INVALID_ARG');
        return true;
      });
    }
    assert.equal(header(await tpm.submit(getRandom(4))).rc, 0); // the channel is still in step
  });

  it('finishes commands queued before close(); later calls reject with ERR_TPM_UNAVAILABLE', async () => {
    const queued = [tpm.submit(getRandom(8)), tpm.submit(getRandom(9))];
    const closed = tpm.close();
    const after = tpm.submit(getRandom(8));
    after.catch(() => undefined); // asserted below
    const [a, b] = await Promise.all(queued);
    assert.equal(header(a as Uint8Array).size, 20);
    assert.equal(header(b as Uint8Array).size, 21);
    await closed;
    await assert.rejects(after, (err: unknown) => err instanceof TpmUnavailableError && /closed/.test(err.message));
    await assert.rejects(tpm.info(), TpmUnavailableError);
    await tpm.close(); // twice is fine
    // swtpm serves one client at a time: a new channel works only if the old one was closed.
    const next = new AddonTpm({ path: swtpm.socketPath as string, timeoutMs: 5000 });
    assert.equal(header(await next.submit(getRandom(2))).rc, 0);
    await next.close();
  });

  it('takes the path from $WINDOWS_IOT_DM_TPM_DEVICE', async () => {
    const saved = process.env[TPM_DEVICE_ENV];
    process.env[TPM_DEVICE_ENV] = swtpm.socketPath;
    try {
      assert.equal(resolveTpmPath(), swtpm.socketPath);
      const viaEnv = new AddonTpm();
      assert.equal((await viaEnv.info()).path, swtpm.socketPath);
      await viaEnv.close();
    } finally {
      if (saved === undefined) delete process.env[TPM_DEVICE_ENV];
      else process.env[TPM_DEVICE_ENV] = saved;
    }
    if (process.platform !== 'win32' && saved === undefined) assert.equal(resolveTpmPath(), '/dev/tpmrm0');
  });

  it('closes the channel of a worker_thread torn down mid-command (cleanup hook)', async () => {
    const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      const b = require(workerData.addon);
      const s = b.openTpm({ path: workerData.path });
      const cmd = Buffer.from('80010000000c0000017b0008', 'hex');
      s.submit(cmd).then(() => {
        parentPort.postMessage('ready');
        for (let i = 0; i < 200; i++) s.submit(cmd);
      });`;
    await tpm.close();
    const worker = new Worker(script, {
      eval: true,
      workerData: { addon: join(ROOT, 'build/Release/windows_iot_dm.node'), path: swtpm.socketPath },
    });
    await new Promise<void>((ok, fail) => {
      worker.once('message', () => ok());
      worker.once('error', fail);
    });
    await worker.terminate();
    const next = new AddonTpm({ path: swtpm.socketPath as string, timeoutMs: 5000 });
    assert.equal(header(await next.submit(getRandom(3))).rc, 0);
    await next.close();
  });
});

/** A fake TPM on a Unix socket: `answer` decides what each command gets. */
async function fakeTpm(
  answer: (command: Buffer, socket: net.Socket, index: number) => void,
): Promise<{ path: string; connections: () => number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'iotdm-faketpm-'));
  const path = join(dir, 'tpm.sock');
  let connections = 0;
  let index = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 10 && buffered.length >= buffered.readUInt32BE(2)) {
        const size = buffered.readUInt32BE(2);
        const command = buffered.subarray(0, size);
        buffered = buffered.subarray(size);
        answer(command, socket, index++);
      }
    });
  });
  await new Promise<void>((ok) => server.listen(path, ok));
  return {
    path,
    connections: () => connections,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A well-formed GetRandom answer for `command`. */
function randomAnswer(command: Buffer): Buffer {
  const n = command.readUInt16BE(10);
  const r = Buffer.alloc(12 + n, 0xab);
  r.writeUInt16BE(0x8001, 0);
  r.writeUInt32BE(12 + n, 2);
  r.writeUInt32BE(0, 6);
  r.writeUInt16BE(n, 10);
  return r;
}

describe('native TPM channel: malformed answers and missing TPMs', function () {
  this.timeout(30000);

  it('rejects a truncated response with TpmError (rc 0) and reconnects for the next command', async () => {
    const fake = await fakeTpm((command, socket, i) => {
      if (i === 0) {
        socket.end(randomAnswer(command).subarray(0, 15)); // 15 of the 28 bytes, then EOF
      } else socket.write(randomAnswer(command));
    });
    const tpm = new AddonTpm({ path: fake.path, timeoutMs: 5000 });
    try {
      await assert.rejects(tpm.submit(getRandom(16)), (err: unknown) => {
        assert.ok(err instanceof TpmError);
        assert.equal(err.code, 'ERR_TPM');
        assert.equal(err.rc, 0);
        assert.equal(err.command, 'TPM2_GetRandom');
        assert.match(err.message, /^TPM2_GetRandom: .*truncated: 15 of the 28 bytes/);
        return true;
      });
      const ok = await tpm.submit(getRandom(16));
      assert.deepEqual(header(ok), { tag: 0x8001, size: 28, rc: 0 });
      assert.equal(fake.connections(), 2);
    } finally {
      await tpm.close();
      await fake.stop();
    }
  });

  it('rejects an oversized or inconsistent response header with TpmError without reading on', async () => {
    const answers: Array<(command: Buffer) => Buffer> = [
      (c: Buffer) => Buffer.concat([hexBuf('800100018000'), Buffer.alloc(4), c.subarray(0, 0)]), // 98304 bytes announced
      () => hexBuf('80010000000400000000'), // size smaller than a header
      () => hexBuf('12340000000a00000000'), // not a response tag
    ];
    const fake = await fakeTpm((command, socket, i) => socket.write((answers[i] as (c: Buffer) => Buffer)(command)));
    const tpm = new AddonTpm({ path: fake.path, timeoutMs: 5000 });
    try {
      const expected = [/announces 98304 bytes, more than the 8192 accepted/, /announces 4 bytes, less than the header/, /tag 0x1234 is not a TPM 2\.0 response tag/];
      for (const pattern of expected) {
        await assert.rejects(tpm.submit(getRandom(8)), (err: unknown) => {
          assert.ok(err instanceof TpmError, String(err));
          assert.equal(err.rcName, 'MALFORMED');
          assert.match(err.message, pattern);
          return true;
        });
      }
      assert.equal(fake.connections(), 3); // each failure dropped the out-of-step connection
    } finally {
      await tpm.close();
      await fake.stop();
    }
  });

  it('rejects with ERR_TPM_UNAVAILABLE when the TPM hangs up or does not answer in time', async () => {
    const fake = await fakeTpm((_command, socket, i) => {
      if (i === 0) socket.destroy(); // hangs up without a word
      // i === 1: never answers
    });
    const tpm = new AddonTpm({ path: fake.path, timeoutMs: 300 });
    try {
      await assert.rejects(tpm.submit(getRandom(8)), (err: unknown) => {
        assert.ok(err instanceof TpmUnavailableError);
        assert.match(err.message, /closed the connection without answering/);
        return true;
      });
      await assert.rejects(tpm.submit(getRandom(8)), (err: unknown) => {
        assert.ok(err instanceof TpmUnavailableError);
        assert.match(err.message, /did not answer within 300 ms/);
        return true;
      });
    } finally {
      await tpm.close();
      await fake.stop();
    }
  });

  it('rejects with ERR_TPM_UNAVAILABLE for a path that does not exist', async () => {
    const path = join(tmpdir(), 'iotdm-no-such-dir', 'tpmrm0');
    const tpm = new AddonTpm({ path });
    for (const call of [() => tpm.info(), () => tpm.submit(getRandom(8))]) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof TpmUnavailableError);
        assert.equal(err.code, 'ERR_TPM_UNAVAILABLE');
        assert.equal(err.message.startsWith(`no TPM at ${path} (ENOENT`), true, err.message);
        assert.equal((err.cause as { osErrorName?: string }).osErrorName, 'ENOENT');
        return true;
      });
    }
  });

  it('explains permission denied (EACCES) with the tss group', function () {
    if (process.platform === 'win32') this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'iotdm-tpmperm-'));
    const path = join(dir, 'tpmrm0');
    writeFileSync(path, '');
    chmodSync(path, 0o000);
    chmodSync(dir, 0o755);
    // Root bypasses file modes: then the check runs in a child as nobody (uid/gid 65534).
    const asRoot = process.getuid?.() === 0;
    if (asRoot && !nobodyCanRead(ROOT)) this.skip(); // a checkout under a private (0700) folder
    const script = `
      const { AddonTpm } = require(${JSON.stringify(join(ROOT, 'lib/native/addon-tpm.ts'))});
      new AddonTpm({ path: ${JSON.stringify(path)} }).info().then(
        () => console.log('{"resolved":true}'),
        (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })));`;
    try {
      const stdout = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, WINDOWS_IOT_DM_ADDON: join(ROOT, 'build/Release/windows_iot_dm.node') },
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      });
      const out = JSON.parse(stdout.trim().split('\n').pop() as string);
      assert.equal(out.code, 'ERR_TPM_UNAVAILABLE');
      assert.equal(out.name, 'TpmUnavailableError');
      assert.match(out.message, /^permission denied opening the TPM at .* \(EACCES: .*add the user to the tss group/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options synchronously-checked with ERR_INVALID_ARG', async () => {
    for (const options of [{ path: 'a\u0000b' }, { timeoutMs: -1 }, { timeoutMs: 1.5 }]) {
      await assert.rejects(new AddonTpm({ path: '/dev/null', ...options }).info(), (err: unknown) => {
        assert.ok(err instanceof IotDmError);
        assert.equal(err.code, 'ERR_INVALID_ARG');
        return true;
      });
    }
  });
});

function hexBuf(text: string): Buffer {
  return Buffer.from(text, 'hex');
}

/** Whether uid 65534 can reach the checkout, its node_modules and the built addon. */
function nobodyCanRead(root: string): boolean {
  const probe = `for (const p of ${JSON.stringify([
    join(root, 'package.json'),
    join(root, 'node_modules/tsx/package.json'),
    join(root, 'build/Release/windows_iot_dm.node'),
  ])}) require('fs').accessSync(p, require('fs').constants.R_OK);`;
  try {
    execFileSync(process.execPath, ['-e', probe], { uid: 65534, gid: 65534, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
