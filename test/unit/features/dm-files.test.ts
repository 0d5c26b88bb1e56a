/**
 * The DM folder methods (windows.enumDMFolders / enumDMFiles / uploadDMFile / deleteDMFile) over
 * MockTwinLink + MemoryExternalStorage and a real temporary DM folder: listings, upload answered
 * 202 then reported, delete, and confinement: `..`, absolute POSIX and Windows paths, separators
 * of either kind, and symbolic links (file, folder, the DM folder's parent chain) all answer 400
 * and touch nothing outside.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../../../lib/dm/handler';
import { createDiagnosticLogHandlers } from '../../../lib/features/diagnostic-logs';
import { plainName } from '../../../lib/features/dm-files';
import { MemoryExternalStorage } from '../../../lib/testing/memory-storage';
import { featureHarness, type Harness } from './fixture';

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('features: DM folder methods (unit)', () => {
  let h: Harness;
  let storage: MemoryExternalStorage;
  let dmFolder: string;
  let outside: string;
  beforeEach(async () => {
    h = featureHarness();
    h.mock.setNode('./Device/Vendor/MSFT/DiagnosticLog/EtwLog/Collectors', { format: 'node' });
    storage = new MemoryExternalStorage();
    const base = h.dirs.make('wdm-dmfiles-');
    dmFolder = path.join(base, 'dm-files');
    outside = path.join(base, 'outside');
    mkdirSync(path.join(dmFolder, 'logs'), { recursive: true });
    mkdirSync(path.join(dmFolder, 'other'), { recursive: true });
    mkdirSync(outside, { recursive: true });
    writeFileSync(path.join(dmFolder, 'logs', 'a.etl'), 'AAAA');
    writeFileSync(path.join(dmFolder, 'logs', 'b.etl'), 'BBBBBB');
    writeFileSync(path.join(dmFolder, 'logs', '.c.etl.partial'), 'export under way');
    writeFileSync(path.join(dmFolder, 'top.txt'), 'not a folder');
    writeFileSync(path.join(outside, 'secret.txt'), 'SECRET');
    symlinkSync(outside, path.join(dmFolder, 'linked'));
    symlinkSync(path.join(outside, 'secret.txt'), path.join(dmFolder, 'logs', 'link.etl'));
    await h.attach(createDiagnosticLogHandlers({ storage, dmFolder }));
  });
  afterEach(() => h.cleanup());

  const call = (name: string, payload?: JsonObject) => h.link.invoke(`windows.${name}`, payload);

  it('enumDMFolders / enumDMFiles list real folders and files only (links left out)', async () => {
    const folders = await call('enumDMFolders');
    assert.equal(folders.status, 200);
    assert.deepEqual(folders.body, { list: ['logs', 'other'], errorCode: 0, errorMessage: '' });
    const files = await call('enumDMFiles', { folder: 'logs' });
    assert.deepEqual(files.body, { list: ['a.etl', 'b.etl'], errorCode: 0, errorMessage: '' });
    const missing = await call('enumDMFiles', { folder: 'nope' });
    assert.equal(missing.status, 404);
    assert.equal((missing.body as JsonObject).errorCode, 404);
  });

  it('uploadDMFile answers 202 accepted, uploads the file and reports the outcome', async () => {
    const r = await call('uploadDMFile', {
      folder: 'logs',
      fileName: 'b.etl',
      container: 'dmlogs',
    });
    assert.equal(r.status, 202);
    assert.equal((r.body as JsonObject).response, 'accepted');
    await until(() => storage.get('dmlogs/b.etl') !== undefined);
    assert.equal(storage.get('dmlogs/b.etl')?.toString(), 'BBBBBB');
    await until(() => {
      const up = h.section('eventTracingCollectors')?.lastDMFileUpload as JsonObject | undefined;
      return (up?.lastChange as JsonObject | undefined)?.state === 'completed';
    });
    const up = h.section('eventTracingCollectors')?.lastDMFileUpload as JsonObject;
    assert.equal(up.bytes, 6);
    assert.equal(up.fileName, 'b.etl');
    const missing = await call('uploadDMFile', {
      folder: 'logs',
      fileName: 'zz',
      container: 'dmlogs',
    });
    assert.equal(missing.status, 404);
    const unconfigured = new MemoryExternalStorage({ configured: false });
    await h.cleanup();
    h = featureHarness();
    await h.attach(createDiagnosticLogHandlers({ storage: unconfigured, dmFolder }));
    const r412 = await call('uploadDMFile', {
      folder: 'logs',
      fileName: 'a.etl',
      container: 'dmlogs',
    });
    assert.equal(r412.status, 412);
  });

  it('deleteDMFile deletes a file; again 404', async () => {
    const r = await call('deleteDMFile', { folder: 'logs', fileName: 'a.etl' });
    assert.equal(r.status, 200);
    assert.equal(existsSync(path.join(dmFolder, 'logs', 'a.etl')), false);
    assert.equal((await call('deleteDMFile', { folder: 'logs', fileName: 'a.etl' })).status, 404);
  });

  const escapes: [string, JsonObject][] = [
    ['a ".." folder', { folder: '..', fileName: 'secret.txt' }],
    ['".." inside a folder', { folder: 'logs/../..', fileName: 'x' }],
    ['a POSIX absolute folder', { folder: '/etc', fileName: 'passwd' }],
    ['a Windows drive path', { folder: 'C:\\Windows', fileName: 'win.ini' }],
    ['a drive-relative name', { folder: 'C:', fileName: 'x' }],
    ['a UNC path', { folder: '\\\\server\\share', fileName: 'x' }],
    ['a "/" in the file name', { folder: 'logs', fileName: '../../outside/secret.txt' }],
    ['a "\\" in the file name', { folder: 'logs', fileName: '..\\..\\outside\\secret.txt' }],
    ['a ".." file name', { folder: 'logs', fileName: '..' }],
    ['a symlinked folder', { folder: 'linked', fileName: 'secret.txt' }],
    ['a symlinked file', { folder: 'logs', fileName: 'link.etl' }],
  ];
  for (const [what, args] of escapes) {
    it(`refuses ${what} with 400 (delete, upload, enum), nothing outside touched`, async () => {
      const del = await call('deleteDMFile', args);
      assert.equal(del.status, 400, JSON.stringify(del.body));
      assert.match(String((del.body as JsonObject).errorMessage), /\S/);
      const up = await call('uploadDMFile', { ...args, container: 'dmlogs' });
      assert.equal(up.status, 400, JSON.stringify(up.body));
      assert.equal((up.body as JsonObject).response, 'rejected');
      const list = await call('enumDMFiles', { folder: args.folder as string });
      if (args.folder !== 'logs') assert.equal(list.status, 400, JSON.stringify(list.body));
      assert.equal(readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'SECRET');
      assert.equal(storage.transfers.length, 0);
    });
  }

  it('a DM folder given through a link is used from its real path', async () => {
    const base = h.dirs.make('wdm-dmfiles-link-');
    symlinkSync(outside, path.join(base, 'dm'));
    await h.cleanup();
    h = featureHarness();
    // The DM folder path is a link: its real path is used as the root, so files in it are fine,
    // but a link inside still is refused.
    await h.attach(createDiagnosticLogHandlers({ storage, dmFolder: path.join(base, 'dm') }));
    const r = await call('enumDMFolders');
    assert.equal(r.status, 200);
  });

  it('plainName', () => {
    assert.equal(plainName('f', 'logs-1.etl'), 'logs-1.etl');
    for (const bad of [
      '',
      '.',
      '..',
      'a/b',
      'a\\b',
      'C:',
      ' x',
      'x ',
      'a\u0000b',
      'a*b',
      'NUL',
      'com1.txt',
      'trailing.',
      'x'.repeat(129),
    ]) {
      assert.throws(() => plainName('f', bad), /f:/, bad);
    }
    assert.throws(() => plainName('f', 3), /non-empty name/);
  });
});
