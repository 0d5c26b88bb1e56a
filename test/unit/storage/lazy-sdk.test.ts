/**
 * `@azure/storage-blob` is loaded on the first transfer only: importing the externalStorage
 * feature and configuring it (a parse, no client) leave it unloaded. Runs in a child process so
 * that the module cache starts empty.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

describe('storage: the Azure SDK is loaded lazily', function () {
  this.timeout(60000);
  it('is not loaded by import or configure, and is by the first transfer', () => {
    const script = `
      const loaded = () => Object.keys(require.cache).some((k) => k.includes('@azure/storage-blob'));
      const { createExternalStorage } = require('./lib/features/external-storage.ts');
      const { storage } = createExternalStorage();
      const out = { afterImport: loaded() };
      storage.configure({ connectionString: 'UseDevelopmentStorage=true', container: 'abc' });
      out.afterConfigure = loaded();
      storage.download('abc/x', { connectionString: 'BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;SharedAccessSignature=sig=x' })
        .catch(() => { out.afterTransfer = loaded(); console.log(JSON.stringify(out)); });`;
    const stdout = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() as string);
    assert.deepEqual(out, { afterImport: false, afterConfigure: false, afterTransfer: true });
  });
});
