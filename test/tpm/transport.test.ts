/** TcpTpm against swtpm (mssim over TCP, raw over a Unix socket) and against broken peers. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { TcpTpm } from '../../lib/tpm/tcp-transport';
import { TpmError, TpmUnavailableError } from '../../lib/errors';
import { startSwtpm, type SwtpmHandle } from './swtpm';

/** TPM2_GetRandom(8), TPM_ST_NO_SESSIONS. */
const GET_RANDOM_8 = Buffer.from('80010000000c0000017b0008', 'hex');

function checkGetRandom(response: Uint8Array): Buffer {
  const r = Buffer.from(response);
  assert.equal(r.readUInt16BE(0), 0x8001);
  assert.equal(r.readUInt32BE(2), r.length);
  assert.equal(r.readUInt32BE(6), 0, 'rc');
  assert.equal(r.readUInt16BE(10), 8);
  return r.subarray(12, 20);
}

describe('tpm/tcp-transport', function () {
  this.timeout(60000);

  describe('over TCP (mssim framing)', () => {
    let tpm: SwtpmHandle;
    before(async () => {
      tpm = await startSwtpm();
    });
    after(async () => {
      await tpm?.stop();
    });

    it('round-trips TPM2_GetRandom, queued commands in order, then closes', async () => {
      const channel = new TcpTpm({ host: tpm.host, port: tpm.port });
      const results = await Promise.all([1, 2, 3].map(() => channel.submit(GET_RANDOM_8)));
      const randoms = results.map(checkGetRandom);
      assert.notDeepEqual(randoms[0], randoms[1]);
      assert.deepEqual(await channel.info(), {
        transport: 'tcp',
        tpmVersion: 2,
        path: `${tpm.host}:${tpm.port}`,
      });
      await channel.close();
      await assert.rejects(channel.submit(GET_RANDOM_8), TpmUnavailableError);
      // swtpm takes a new connection after TPM_SESSION_END.
      const again = new TcpTpm({ port: tpm.port });
      checkGetRandom(await again.submit(GET_RANDOM_8));
      await again.close();
    });
  });

  describe('over a Unix socket (raw)', () => {
    let tpm: SwtpmHandle;
    before(async () => {
      tpm = await startSwtpm({ unixSocket: true });
    });
    after(async () => {
      await tpm?.stop();
    });

    it('round-trips TPM2_GetRandom', async () => {
      assert.ok(tpm.socketPath);
      const channel = new TcpTpm({ path: tpm.socketPath });
      checkGetRandom(await channel.submit(GET_RANDOM_8));
      checkGetRandom(await channel.submit(GET_RANDOM_8));
      assert.equal((await channel.info()).transport, 'socket');
      await channel.close();
    });
  });

  describe('a TPM that goes away', () => {
    it('a command after the simulator stopped rejects with ERR_TPM_UNAVAILABLE', async () => {
      const tpm = await startSwtpm();
      const channel = new TcpTpm({ host: tpm.host, port: tpm.port });
      try {
        checkGetRandom(await channel.submit(GET_RANDOM_8));
        await tpm.stop();
        await assert.rejects(channel.submit(GET_RANDOM_8), TpmUnavailableError);
      } finally {
        await channel.close();
        await tpm.stop();
      }
    });
  });

  describe('broken peers', () => {
    it('a closed port rejects with ERR_TPM_UNAVAILABLE', async () => {
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      await new Promise<void>((r) => server.close(() => r()));
      const channel = new TcpTpm({ port });
      await assert.rejects(channel.submit(GET_RANDOM_8), (e: unknown) => {
        assert.ok(e instanceof TpmUnavailableError);
        assert.equal(e.code, 'ERR_TPM_UNAVAILABLE');
        return true;
      });
      await channel.close();
    });

    it('a truncated response rejects with TpmError naming the command', async () => {
      const server = net.createServer((socket) => {
        socket.once('data', () => {
          // Frame says 20 bytes, only 12 arrive, then the peer hangs up.
          const partial = Buffer.from('00000014' + '800100000014000000000008', 'hex');
          socket.end(partial);
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      const channel = new TcpTpm({ port });
      await assert.rejects(channel.submit(GET_RANDOM_8), (e: unknown) => {
        assert.ok(e instanceof TpmError);
        assert.equal(e.rc, 0);
        assert.equal(e.command, 'TPM2_GetRandom');
        return true;
      });
      await channel.close();
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('a response whose header size disagrees with its frame rejects with TpmError', async () => {
      const server = net.createServer((socket) => {
        socket.once('data', () => {
          socket.write(Buffer.from('0000000c' + '800100000099000000000000' + '00000000', 'hex'));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      const channel = new TcpTpm({ port });
      await assert.rejects(channel.submit(GET_RANDOM_8), TpmError);
      await channel.close();
      await new Promise<void>((r) => server.close(() => r()));
    });
  });
});
