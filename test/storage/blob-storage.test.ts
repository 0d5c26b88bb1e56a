/**
 * `BlobExternalStorage` against a real Azurite blob service (test/storage/azurite.ts): a
 * multi-block round trip with SHA-256, the size limit, integrity, missing blobs and containers,
 * a wrong key, an unreachable account (after the retries), container creation on upload,
 * per-request connection strings, and no part file left behind by any failure.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobServiceClient,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
} from '@azure/storage-blob';
import { StorageError, type StorageReason } from '../../lib/errors';
import { BlobExternalStorage } from '../../lib/storage/external-storage';
import type { Logger } from '../../lib/dm/logger';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteHandle } from './azurite';

const MiB = 1024 * 1024;

function sha(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function rejectsWith(p: Promise<unknown>, reason: StorageReason, message?: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StorageError, `not a StorageError: ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** A logger that keeps every line, to check no secret is ever logged. */
function recordingLogger(lines: string[]): Logger {
  const make = (bindings: Record<string, unknown>): Logger => {
    const log = (level: string) => (obj: object | string, msg?: string) =>
      lines.push(JSON.stringify({ level, ...bindings, obj, msg }));
    return {
      trace: log('trace'),
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  return make({});
}

describe('storage: BlobExternalStorage over Azurite', function () {
  this.timeout(60000);
  let azurite: AzuriteHandle;
  let dir: string;
  let downloads: string;
  let logLines: string[];
  let storage: BlobExternalStorage;

  before(async () => {
    azurite = await startAzurite();
  });
  after(async () => {
    await azurite?.stop();
  });
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wdm-blob-test-'));
    downloads = path.join(dir, 'downloads');
    logLines = [];
    storage = new BlobExternalStorage({
      connectionString: azurite.connectionString,
      container: 'files',
      downloadDir: downloads,
      logger: recordingLogger(logLines),
      retry: { attempts: 3, delayMs: 5 },
    });
  });
  afterEach(async () => {
    for (const line of logLines) {
      assert.ok(!line.includes(AZURITE_KEY), 'a log line holds the account key');
      assert.ok(!line.includes('AccountKey'), 'a log line holds the connection string');
    }
    await fsp.rm(dir, { recursive: true, force: true });
  });

  async function downloadFiles(): Promise<string[]> {
    return fsp.readdir(downloads).catch(() => []);
  }

  it('round-trips a 9 MiB file in several blocks, with the SHA-256 of both transfers', async () => {
    const data = randomBytes(9 * MiB + 123);
    const src = path.join(dir, 'big.bin');
    await fsp.writeFile(src, data);
    const up = await storage.upload('files/dir/big.bin', src, {
      contentType: 'application/octet-stream',
    });
    assert.deepEqual(up, {
      location: { container: 'files', blob: 'dir/big.bin' },
      bytes: data.length,
      sha256: sha(data),
    });
    // Stored as committed blocks of 4 MiB (block upload), with the content type.
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const blob = service.getContainerClient('files').getBlockBlobClient('dir/big.bin');
    const blocks = await blob.getBlockList('committed');
    assert.equal(blocks.committedBlocks?.length, 3);
    assert.equal((await blob.getProperties()).contentType, 'application/octet-stream');

    const got = await storage.download('files\\dir\\big.bin', { sha256: sha(data).toUpperCase() });
    assert.equal(got.bytes, data.length);
    assert.equal(got.sha256, sha(data));
    assert.deepEqual(got.location, { container: 'files', blob: 'dir/big.bin' });
    assert.equal(path.dirname(got.path), downloads);
    assert.match(path.basename(got.path), /-big\.bin$/);
    assert.ok((await fsp.readFile(got.path)).equals(data));
    assert.equal((await fsp.stat(got.path)).mode & 0o777, 0o600);
    assert.deepEqual(await downloadFiles(), [path.basename(got.path)]);
    await got.remove();
    assert.deepEqual(await downloadFiles(), []);
  });

  it('uploads bytes into a bare blob name in the default container, creating the container', async () => {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const s2 = new BlobExternalStorage({
      connectionString: azurite.connectionString,
      container: 'fresh-container',
      downloadDir: downloads,
    });
    assert.equal(await service.getContainerClient('fresh-container').exists(), false);
    const bytes = new TextEncoder().encode('hello blob');
    const up = await s2.upload('note.txt', bytes);
    assert.equal(up.bytes, 10);
    assert.equal(up.sha256, sha(bytes));
    assert.equal(await service.getContainerClient('fresh-container').exists(), true);
    const back = await s2.download('note.txt');
    assert.equal(await fsp.readFile(back.path, 'utf8'), 'hello blob');
    // A file upload into a missing container creates it too.
    const src = path.join(dir, 'f.txt');
    await fsp.writeFile(src, 'file content');
    await storage.upload('other-new/f.txt', src);
    assert.equal(await service.getContainerClient('other-new').exists(), true);
  });

  it('refuses a blob over maxBytes from its Content-Length, leaving no file', async () => {
    await storage.upload('files/large.bin', randomBytes(64 * 1024));
    await rejectsWith(
      storage.download('files/large.bin', { maxBytes: 64 * 1024 - 1 }),
      'tooLarge',
      /files\/large\.bin is larger than 65535 bytes/,
    );
    assert.deepEqual(await downloadFiles(), []);
    const ok = await storage.download('files/large.bin', { maxBytes: 64 * 1024 });
    assert.equal(ok.bytes, 64 * 1024);
  });

  it('refuses content whose SHA-256 is not the expected one, leaving no file', async () => {
    const data = randomBytes(300_000);
    await storage.upload('files/signed.bin', data);
    const wrong = sha(Buffer.from('something else'));
    await rejectsWith(
      storage.download('files/signed.bin', { sha256: wrong }),
      'integrity',
      /files\/signed\.bin does not have the expected SHA-256/,
    );
    await rejectsWith(storage.download('files/signed.bin', { sha256: 'abc' }), 'integrity');
    assert.deepEqual(await downloadFiles(), []);
  });

  it('a missing blob or container is notFound, naming container/blob', async () => {
    await storage.upload('files/present.txt', Buffer.from('x'));
    await rejectsWith(
      storage.download('files/absent.txt'),
      'notFound',
      /blob files\/absent\.txt does not exist/,
    );
    await rejectsWith(
      storage.download({ container: 'nosuchcontainer', blob: 'a/b.txt' }),
      'notFound',
      /container nosuchcontainer does not exist \(blob nosuchcontainer\/a\/b\.txt\)/,
    );
    assert.deepEqual(await downloadFiles(), []);
  });

  it('a wrong account key is auth, not retried, and the key is in no message', async () => {
    const wrongKey = Buffer.alloc(64, 7).toString('base64');
    const bad = new BlobExternalStorage({
      connectionString: azurite.connectionString.replace(AZURITE_KEY, wrongKey),
      downloadDir: downloads,
      logger: recordingLogger(logLines),
      retry: { attempts: 3, delayMs: 5 },
    });
    const err = await bad.download('files/whatever.bin').catch((e: unknown) => e);
    assert.ok(err instanceof StorageError);
    assert.equal(err.reason, 'auth');
    assert.equal(err.status, 401);
    assert.match(err.message, /refused access to files\/whatever\.bin/);
    assert.ok(!err.message.includes(wrongKey));
    assert.ok(!JSON.stringify(err).includes(wrongKey));
    await rejectsWith(bad.upload('files/up.bin', Buffer.from('x')), 'auth');
    // One failure line per transfer, no retry line.
    assert.equal(logLines.filter((l) => l.includes('retrying')).length, 0);
    for (const line of logLines) assert.ok(!line.includes(wrongKey));
    assert.deepEqual(await downloadFiles(), []);
  });

  it('an unreachable account is unavailable after the retries', async () => {
    const port = await closedPort();
    const down = new BlobExternalStorage({
      connectionString: azurite.connectionString.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`),
      downloadDir: downloads,
      logger: recordingLogger(logLines),
      retry: { attempts: 3, delayMs: 5 },
    });
    await rejectsWith(
      down.download('files/x.bin'),
      'unavailable',
      /could not be reached for files\/x\.bin/,
    );
    assert.equal(logLines.filter((l) => l.includes('retrying')).length, 2);
    await rejectsWith(down.upload('files/x.bin', Buffer.from('x')), 'unavailable');
    assert.deepEqual(await downloadFiles(), []);
  });

  it('uses a connection string given with the request; unconfigured storage refuses without one', async () => {
    const bare = new BlobExternalStorage({ downloadDir: downloads });
    assert.equal(bare.configured, false);
    await rejectsWith(bare.download('files/a.txt'), 'notConfigured');
    await rejectsWith(bare.upload('files/a.txt', Buffer.from('a')), 'notConfigured');
    const up = await bare.upload('files/a.txt', Buffer.from('abc'), {
      connectionString: azurite.connectionString,
    });
    assert.equal(up.bytes, 3);
    const got = await bare.download('files/a.txt', { connectionString: azurite.connectionString });
    assert.equal(await fsp.readFile(got.path, 'utf8'), 'abc');
    await rejectsWith(
      bare.download('files/a.txt', { connectionString: 'AccountName=abc' }),
      'badConnectionString',
    );
  });

  it('configure() switches accounts; a bad string leaves it unconfigured', () => {
    assert.equal(storage.configured, true);
    assert.equal(storage.account, 'devstoreaccount1');
    assert.throws(
      () => storage.configure({ connectionString: 'AccountName=abc;AccountKey=%%%' }),
      (e: unknown) => e instanceof StorageError && e.reason === 'badConnectionString',
    );
    assert.equal(storage.configured, false);
    assert.equal(storage.container, undefined);
    storage.configure({ connectionString: azurite.connectionString, container: 'abc' });
    assert.equal(storage.container, 'abc');
    storage.configure(undefined);
    assert.equal(storage.configured, false);
  });

  it('locate: container/blob, container\\blob, bare names; refuses bad references', () => {
    assert.deepEqual(storage.locate('c01/a/b.txt'), { container: 'c01', blob: 'a/b.txt' });
    assert.deepEqual(storage.locate('c01\\a\\b.txt'), { container: 'c01', blob: 'a/b.txt' });
    assert.deepEqual(storage.locate('b.txt'), { container: 'files', blob: 'b.txt' });
    for (const bad of ['', 'c01/', '/b.txt', 'c01/../x', 'c01/./x', 'Caps/x', 'ab/x', 'a--b/x']) {
      assert.throws(
        () => storage.locate(bad),
        (e: unknown) => e instanceof StorageError && e.reason === 'badReference',
        bad,
      );
    }
    const noDefault = new BlobExternalStorage({ connectionString: azurite.connectionString });
    assert.throws(() => noDefault.locate('b.txt'), /names no container/);
  });

  it('works with a SAS connection string; an expired SAS is auth', async () => {
    const sas = (expiresOn: Date) =>
      generateAccountSASQueryParameters(
        {
          expiresOn,
          permissions: AccountSASPermissions.parse('rwlc'),
          resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
          services: AccountSASServices.parse('b').toString(),
        },
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      ).toString();
    const valid = sas(new Date(Date.now() + 3600_000));
    const viaSas = new BlobExternalStorage({
      connectionString: `BlobEndpoint=${azurite.blobEndpoint};SharedAccessSignature=${valid}`,
      downloadDir: downloads,
      logger: recordingLogger(logLines),
    });
    assert.equal(viaSas.account, AZURITE_ACCOUNT);
    await viaSas.upload('sas-box/s.txt', Buffer.from('via sas'));
    const got = await viaSas.download('sas-box/s.txt');
    assert.equal(await fsp.readFile(got.path, 'utf8'), 'via sas');
    const expired = sas(new Date(Date.now() - 3600_000));
    const old = new BlobExternalStorage({
      connectionString: `BlobEndpoint=${azurite.blobEndpoint};SharedAccessSignature=${expired}`,
      downloadDir: downloads,
      logger: recordingLogger(logLines),
    });
    const err = await old.download('sas-box/s.txt').catch((e: unknown) => e);
    assert.ok(err instanceof StorageError && err.reason === 'auth', String(err));
    const sig = /sig=([^&]+)/.exec(expired)![1]!;
    assert.ok(!err.message.includes(sig) && !err.message.includes(decodeURIComponent(sig)));
    for (const line of logLines)
      assert.ok(!line.includes(sig) && !line.includes(decodeURIComponent(sig)));
  });

  it('downloads into a private folder of its own by default; an unusable folder is failed', async () => {
    await storage.upload('files/d.txt', Buffer.from('d'));
    const own = new BlobExternalStorage({ connectionString: azurite.connectionString });
    const a = await own.download('files/d.txt');
    const b = await own.download('files/d.txt');
    try {
      const folder = path.dirname(a.path);
      assert.equal(path.dirname(b.path), folder);
      assert.equal(path.dirname(folder), os.tmpdir());
      assert.match(path.basename(folder), /^windows-iot-dm-dl-/);
      assert.equal((await fsp.stat(folder)).mode & 0o777, 0o700);
    } finally {
      await a.remove();
      await b.remove();
      await fsp.rm(path.dirname(a.path), { recursive: true, force: true });
    }
    const blocker = path.join(dir, 'a-file');
    await fsp.writeFile(blocker, 'x');
    const blocked = new BlobExternalStorage({
      connectionString: azurite.connectionString,
      downloadDir: path.join(blocker, 'sub'),
    });
    await rejectsWith(
      blocked.download('files/d.txt'),
      'failed',
      /no download folder for files\/d\.txt \(ENOTDIR\)/,
    );
  });

  it('refuses an upload source that is not a readable file', async () => {
    await rejectsWith(
      storage.upload('files/x', path.join(dir, 'missing.bin')),
      'failed',
      /not a readable file/,
    );
    await rejectsWith(storage.upload('files/x', dir), 'failed', /not a readable file/);
  });
});
