/**
 * `@azure/storage-blob` is loaded on the first transfer only: importing the externalStorage
 * feature and configuring it (a parse, no client) leave it unloaded. Runs in a child process so
 * that the module cache starts empty.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

describe('storage: the Azure SDK is loaded lazily', function () {
  this.timeout(60000);
  it('is not loaded by import or configure, and is by the first transfer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wdm-lazy-sdk-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const script = `
      const loaded = () => Object.keys(require.cache).some((k) => k.includes('@azure/storage-blob'));
      const { createExternalStorage } = require('./lib/features/external-storage.ts');
      const { storage } = createExternalStorage({ downloadDir: process.env.DL, retry: { delayMs: 1 } });
      const out = { afterImport: loaded() };
      storage.configure({ connectionString: 'UseDevelopmentStorage=true', container: 'abc' });
      out.afterConfigure = loaded();
      storage.download('abc/x', { connectionString: 'BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;SharedAccessSignature=sig=x' })
        .catch(() => { out.afterTransfer = loaded(); console.log(JSON.stringify(out)); });`;
    const stdout = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, DL: dir },
      encoding: 'utf8',
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() as string);
    assert.deepEqual(out, { afterImport: false, afterConfigure: false, afterTransfer: true });
    assert.deepEqual(readdirSync(dir), []);
  });
});
