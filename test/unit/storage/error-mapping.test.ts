/**
 * The one mapping of transfer failures to `StorageError` (`toStorageError` in
 * lib/storage/external-storage.ts), what is retried, and the byte meter that enforces the size
 * limit while bytes arrive. Errors are shaped as @azure/storage-blob and Node raise them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RestError } from '@azure/storage-blob';
import { StorageError } from '../../../lib/errors';
import { errorStatus } from '../../../lib/dm/status';
import { ByteMeter, toStorageError } from '../../../lib/storage/external-storage';

const LOC = { container: 'certs', blob: 'dir/device.pfx' };
const SECRET = 'sig=c2VjcmV0U2lnbmF0dXJl';

function rest(statusCode: number | undefined, code: string | undefined): RestError {
  return new RestError(`request to https://x.blob.core.windows.net/certs?${SECRET} failed`, {
    ...(statusCode !== undefined ? { statusCode } : {}),
    ...(code !== undefined ? { code } : {}),
  });
}

function sysError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

describe('storage/external-storage: error mapping', () => {
  const cases: [string, unknown, string, boolean, RegExp][] = [
    [
      '404 BlobNotFound',
      rest(404, 'BlobNotFound'),
      'notFound',
      false,
      /blob certs\/dir\/device\.pfx does not exist/,
    ],
    [
      '404 ContainerNotFound',
      rest(404, 'ContainerNotFound'),
      'notFound',
      false,
      /container certs does not exist \(blob certs\/dir\/device\.pfx\)/,
    ],
    [
      '401',
      rest(401, 'InvalidAuthenticationInfo'),
      'auth',
      false,
      /refused access to certs\/dir\/device\.pfx/,
    ],
    [
      '403',
      rest(403, 'AuthorizationFailure'),
      'auth',
      false,
      /refused access.*403 AuthorizationFailure/,
    ],
    [
      '413',
      rest(413, 'RequestBodyTooLarge'),
      'failed',
      false,
      /failed \(413 RequestBodyTooLarge\)/,
    ],
    ['400', rest(400, 'InvalidBlockList'), 'failed', false, /failed \(400 InvalidBlockList\)/],
    ['408', rest(408, undefined), 'unavailable', true, /unavailable.*408/],
    ['429', rest(429, undefined), 'failed', true, /failed \(429\)/],
    ['500', rest(500, 'InternalError'), 'failed', true, /failed \(500 InternalError\)/],
    ['503', rest(503, 'ServerBusy'), 'unavailable', true, /unavailable.*503 ServerBusy/],
    [
      'REQUEST_SEND_ERROR',
      rest(undefined, 'REQUEST_SEND_ERROR'),
      'unavailable',
      true,
      /could not be reached for certs\/dir\/device\.pfx \(REQUEST_SEND_ERROR\)/,
    ],
    [
      'ECONNREFUSED',
      sysError('ECONNREFUSED'),
      'unavailable',
      true,
      /could not be reached.*ECONNREFUSED/,
    ],
    ['ENOTFOUND', sysError('ENOTFOUND'), 'unavailable', true, /could not be reached/],
    ['ECONNRESET', sysError('ECONNRESET'), 'unavailable', true, /could not be reached/],
    [
      'a local ENOSPC',
      sysError('ENOSPC'),
      'failed',
      false,
      /transfer of certs\/dir\/device\.pfx failed \(ENOSPC\)/,
    ],
    [
      'a plain Error',
      new Error('boom'),
      'failed',
      false,
      /transfer of certs\/dir\/device\.pfx failed$/,
    ],
  ];
  for (const [what, err, reason, transient, message] of cases) {
    it(`${what} → ${reason}${transient ? ' (retried)' : ''}`, () => {
      const mapped = toStorageError(err, LOC);
      assert.ok(mapped.error instanceof StorageError);
      assert.equal(mapped.error.reason, reason);
      assert.equal(mapped.transient, transient);
      assert.match(mapped.error.message, message);
      assert.equal(mapped.error.blob, 'certs/dir/device.pfx');
      // The SDK error (its URL may carry the SAS) is neither quoted nor kept as cause.
      assert.ok(!mapped.error.message.includes(SECRET));
      assert.equal(mapped.error.cause, undefined);
    });
  }

  it('passes a StorageError through, never retried (tooLarge, integrity, ...)', () => {
    const e = new StorageError('integrity', 'x');
    assert.deepEqual(toStorageError(e, LOC), { error: e, transient: false });
  });

  it('reports each reason with its status as lastChange errCode', () => {
    const code = (err: unknown) => errorStatus(toStorageError(err, LOC).error).errCode;
    assert.equal(code(rest(404, 'BlobNotFound')), 404);
    assert.equal(code(rest(403, 'AuthorizationFailure')), 401);
    assert.equal(code(sysError('ECONNREFUSED')), 503);
    assert.equal(code(rest(500, 'InternalError')), 500);
    assert.equal(errorStatus(toStorageError(sysError('ECONNREFUSED'), LOC).error).transient, true);
  });
});

describe('storage/external-storage: ByteMeter', () => {
  async function run(chunks: Buffer[], max: number): Promise<{ meter: ByteMeter; got: Buffer }> {
    const meter = new ByteMeter(max, () => new StorageError('tooLarge', 'too large'));
    const got: Buffer[] = [];
    await pipeline(
      Readable.from(chunks),
      meter,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          got.push(chunk);
          cb();
        },
      }),
    );
    return { meter, got: Buffer.concat(got) };
  }

  it('passes bytes through, counting and hashing them', async () => {
    const chunks = [Buffer.from('hello '), Buffer.from('world'), Buffer.alloc(70_000, 1)];
    const { meter, got } = await run(chunks, 70_011);
    const all = Buffer.concat(chunks);
    assert.deepEqual(got, all);
    assert.equal(meter.bytes, 70_011);
    assert.equal(meter.hash.digest('hex'), createHash('sha256').update(all).digest('hex'));
  });

  it('fails with the given error as soon as the count passes the limit, passing no more bytes', async () => {
    const got: Buffer[] = [];
    const meter = new ByteMeter(10, () => new StorageError('tooLarge', 'too large'));
    let pulled = 0;
    // An endless source (as a download body): the failure has to stop it.
    const source = new Readable({
      highWaterMark: 4,
      read() {
        pulled++;
        this.push(Buffer.alloc(4, pulled));
      },
    });
    await assert.rejects(
      pipeline(
        source,
        meter,
        new Writable({
          write(chunk: Buffer, _e, cb) {
            got.push(chunk);
            cb();
          },
        }),
      ),
      (e: unknown) => e instanceof StorageError && e.reason === 'tooLarge',
    );
    assert.equal(Buffer.concat(got).length, 8);
    await new Promise((r) => setImmediate(r));
    assert.ok(source.destroyed, 'the source is destroyed (the download is aborted)');
    assert.ok(pulled < 100, `pulled ${pulled} chunks`);
  });
});
