/**
 * docs/security.md claim, tested: the DM-file methods (windows.enumDMFiles, uploadDMFile,
 * deleteDMFile) reach only the DM folder. Beyond test/unit/features/dm-files.test.ts (`..`,
 * absolute POSIX/Windows paths, UNC, separators, links): NUL and control characters, %-encoded
 * and Unicode look-alike traversals, Windows device names, alternate data streams, trailing dots
 * and spaces (explicit cases, 400), and a fast-check property over random names built from
 * traversal pieces: whatever the answer, no file outside the DM folder is read, uploaded or
 * deleted, and a 200 only ever names a file that is inside.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { JsonObject } from '../../lib/dm/handler';
import { createDiagnosticLogHandlers } from '../../lib/features/diagnostic-logs';
import { MemoryExternalStorage } from '../../lib/testing/memory-storage';
import { featureHarness, type Harness } from '../unit/features/fixture';

describe('security: the DM-file methods stay inside the DM folder', function () {
  this.timeout(60_000);
  let h: Harness;
  let storage: MemoryExternalStorage;
  let base: string;
  let dmFolder: string;
  const outsideFiles = (): string[] => readdirSync(path.join(base, 'outside')).sort();

  beforeEach(async () => {
    h = featureHarness();
    h.mock.setNode('./Device/Vendor/MSFT/DiagnosticLog/EtwLog/Collectors', { format: 'node' });
    storage = new MemoryExternalStorage();
    base = h.dirs.make('wdm-sec-files-');
    dmFolder = path.join(base, 'dm-files');
    mkdirSync(path.join(dmFolder, 'logs'), { recursive: true });
    mkdirSync(path.join(base, 'outside'), { recursive: true });
    writeFileSync(path.join(dmFolder, 'logs', 'a.etl'), 'AAAA');
    writeFileSync(path.join(base, 'outside', 'secret.txt'), 'SECRET');
    writeFileSync(path.join(base, 'secret.txt'), 'SECRET');
    await h.attach(createDiagnosticLogHandlers({ storage, dmFolder }));
  });
  afterEach(() => h.cleanup());

  const call = (name: string, payload: JsonObject) => h.link.invoke(`windows.${name}`, payload);

  // Names that are not plain names answer 400; encodings and look-alikes are plain names taken
  // literally (never decoded): they name a file inside the DM folder that does not exist, 404.
  const names: Array<[string, string, 400 | 404]> = [
    ['a NUL byte', 'a.etl\u0000.txt', 400],
    ['a NUL-terminated ".."', '..\u0000', 400],
    ['a newline', 'a\n.etl', 400],
    ['%-encoded "../"', '%2e%2e%2fsecret.txt', 404],
    ['double-encoded "../"', '%252e%252e%252fsecret.txt', 404],
    ['a fullwidth solidus', '..\uff0fsecret.txt', 404],
    ['a Windows device name', 'NUL', 400],
    ['a device name with an extension', 'com1.etl', 400],
    ['an alternate data stream', 'a.etl:hidden', 400],
    ['a trailing dot', 'a.etl.', 400],
    ['a trailing space', 'a.etl ', 400],
    ['a wildcard', '*.etl', 400],
    ['a drive letter', 'C:secret.txt', 400],
    ['a UNC path', '\\\\?\\C:\\secret.txt', 400],
  ];
  for (const [what, fileName, status] of names) {
    it(`${what}: ${status} (delete, upload, enum), nothing outside touched`, async () => {
      for (const folder of ['logs', fileName]) {
        const target = folder === 'logs' ? { folder, fileName } : { folder, fileName: 'a.etl' };
        const del = await call('deleteDMFile', target);
        assert.equal(del.status, status, `${what} ${JSON.stringify(del.body)}`);
        const up = await call('uploadDMFile', { ...target, container: 'c' });
        // An upload may also refuse the name as a blob name (400).
        assert.ok([status, 400].includes(up.status), `${what} ${JSON.stringify(up.body)}`);
      }
      const list = await call('enumDMFiles', { folder: fileName });
      assert.equal(list.status, status, JSON.stringify(list.body));
      assert.deepEqual(outsideFiles(), ['secret.txt']);
      assert.equal(readFileSync(path.join(base, 'secret.txt'), 'utf8'), 'SECRET');
      assert.equal(storage.transfers.length, 0);
    });
  }

  it('property: random names never reach a file outside the DM folder', async () => {
    const piece = fc.constantFrom(
      '..',
      '.',
      '/',
      '\\',
      '%2e',
      '%2f',
      '%5c',
      'C:',
      '\\\\srv\\share',
      '\u0000',
      '\uff0e',
      '\uff0f',
      'outside',
      'secret.txt',
      'logs',
      'a.etl',
      ' ',
      ':',
      '~',
      'NUL',
    );
    const name = fc.oneof(
      fc.array(piece, { minLength: 1, maxLength: 6 }).map((a) => a.join('')),
      fc.string({ maxLength: 12 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('deleteDMFile', 'uploadDMFile', 'enumDMFiles'),
        name,
        name,
        async (method, folder, fileName) => {
          const payload: JsonObject =
            method === 'enumDMFiles' ? { folder } : { folder, fileName, container: 'c' };
          const res = await call(method, payload);
          assert.ok([200, 202, 400, 404].includes(res.status), String(res.status));
          assert.deepEqual(outsideFiles(), ['secret.txt']);
          assert.equal(readFileSync(path.join(base, 'secret.txt'), 'utf8'), 'SECRET');
          for (const t of storage.transfers) assert.match(t.blob, /a\.etl$/, t.blob);
          if (res.status !== 400 && res.status !== 404) {
            // Accepted: it must name something that really is inside (logs/a.etl or logs).
            assert.equal(folder, 'logs', JSON.stringify(payload));
          }
          if (method === 'deleteDMFile' && res.status === 200) {
            writeFileSync(path.join(dmFolder, 'logs', 'a.etl'), 'AAAA');
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
