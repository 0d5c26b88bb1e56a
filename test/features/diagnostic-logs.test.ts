/**
 * `eventTracingCollectors` and the DM folder methods end to end: real device SDK over the local
 * hub, the DM engine over the real addon + CSP emulator (DiagnosticLog behaviour), a temporary DM
 * folder and Azurite. A collector is configured and started, then stopped: its (emulated) log is
 * exported block by block into the DM folder; the folder is listed, the file uploaded (read back
 * from Azurite) and deleted; paths that escape the DM folder answer 400; a bad collector fails
 * with its reason while another collector and another section complete.
 */
import assert from 'node:assert/strict';
import { promises as fsp, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDiagnosticLogHandlers } from '../../lib/features/diagnostic-logs';
import { createExternalStorage } from '../../lib/features/external-storage';
import { type AzuriteHandle, useAzurite } from '../storage/azurite';
import { DmEnv, leafHandler, readNode, unique, useDmEnv, waitFor } from '../dm/helpers';

type Obj = Record<string, unknown>;
const C = './Vendor/MSFT/DiagnosticLog/EtwLog/Collectors';
const GUID = 'D198EE7D-C5F1-4F5F-95BE-A2EE6FA45897';

describe('eventTracingCollectors and DM folder methods (real SDK, local hub, CSP emulator, Azurite)', function () {
  this.timeout(60000);
  let env!: DmEnv;
  let azurite!: AzuriteHandle;
  let base: string;
  useDmEnv((e) => (env = e));
  useAzurite((a) => (azurite = a));
  before(async () => {
    base = await fsp.mkdtemp(path.join(os.tmpdir(), 'wdm-etw-e2e-'));
  });
  after(async () => {
    await fsp.rm(base, { recursive: true, force: true });
  });

  const call = async (id: string, methodName: string, payload: Obj = {}) => {
    const r = await env.service.invokeDeviceMethod(id, {
      methodName,
      payload,
      responseTimeoutInSeconds: 15,
    });
    return r.result as { status: number; payload: Obj };
  };

  it('start, stop + export into the DM folder, enumerate, upload, delete; a bad collector fails alone', async () => {
    const id = 'etw-e2e';
    const dmFolder = path.join(base, 'dm-files');
    const { handler, storage } = createExternalStorage({ retry: { delayMs: 5 } });
    const leaf = leafHandler('etwNeighbour');
    const client = await env.openDevice(id);
    const dm = await env.attach(client, {
      handlers: [handler, ...createDiagnosticLogHandlers({ storage, dmFolder }), leaf],
    });
    await env.waitForSubscriptions(id);
    const c = `AzureDM${process.pid}`;
    const url = `https://example.com/${unique('logo')}.png`;
    env.setWindows(id, {
      externalStorage: { connectionString: azurite.connectionString, container: 'dmlogs' },
      eventTracingCollectors: {
        [c]: {
          reportProperties: 'yes',
          applyProperties: {
            traceLogFileMode: 'circular',
            logFileSizeLimitMB: 8,
            logFileFolder: 'AzureDMLogs',
            logFileName: 'session1',
            started: true,
            [GUID]: { traceLevel: 'information', keywords: '0x3', enabled: true, type: 'provider' },
          },
        },
        Escaping: { applyProperties: { logFileFolder: '../outside', started: false } },
      },
      etwNeighbour: { url },
    });
    let section = await env.waitForState(id, 'eventTracingCollectors', 'failed', 15000);
    await env.waitForState(id, 'etwNeighbour', 'completed');
    assert.match(
      String((section.lastChange as Obj).errContext),
      /1 collector\(s\) failed: "Escaping": logFileFolder: "\.\.\/outside" is not a plain name/,
    );
    assert.deepEqual(section[c], {
      traceLogFileMode: 'circular',
      logFileSizeLimitMB: 8,
      logFileFolder: 'AzureDMLogs',
      logFileName: 'session1.etl',
      started: true,
      [GUID]: { traceLevel: 'information', keywords: '0x3', enabled: true, type: 'provider' },
    });
    assert.equal(await readNode(`${C}/${c}/TraceStatus`), 1);
    assert.equal(await readNode(`${C}/Escaping`), undefined);
    await dm.settled();

    // Stop: the log is exported to <dmFolder>/AzureDMLogs/session1.etl.
    env.setWindows(id, {
      eventTracingCollectors: { [c]: { applyProperties: { started: false } }, Escaping: null },
    });
    await waitFor(
      () => (env.section(id, 'eventTracingCollectors')?.[c] as Obj | undefined)?.started === false,
      15000,
      'collector stopped',
    );
    section = await env.waitForState(id, 'eventTracingCollectors', 'completed', 15000);
    assert.equal((section[c] as Obj).logFileName, 'session1.etl');
    await dm.settled();
    assert.equal(await readNode(`${C}/${c}/TraceStatus`), 0);
    const file = path.join(dmFolder, 'AzureDMLogs', 'session1.etl');
    const log = readFileSync(file);
    assert.match(log.toString('utf8'), /^EMULATED ETL .*\nCollector: /);
    assert.ok(log.toString('utf8').includes(`Collector: ${c}\n`));
    assert.ok(log.toString('utf8').includes(`Providers: ${GUID}:4:0x3:true;`));
    assert.ok(log.length > 8192, 'several blocks');

    // The DM folder methods.
    const folders = await call(id, 'windows.enumDMFolders');
    assert.equal(folders.status, 200);
    assert.deepEqual(folders.payload, { list: ['AzureDMLogs'], errorCode: 0, errorMessage: '' });
    const files = await call(id, 'windows.enumDMFiles', { folder: 'AzureDMLogs' });
    assert.deepEqual(files.payload, { list: ['session1.etl'], errorCode: 0, errorMessage: '' });
    const up = await call(id, 'windows.uploadDMFile', {
      folder: 'AzureDMLogs',
      fileName: 'session1.etl',
      container: 'uploads',
    });
    assert.equal(up.status, 202);
    assert.equal(up.payload.response, 'accepted');
    await waitFor(
      () =>
        (
          (env.section(id, 'eventTracingCollectors')?.lastDMFileUpload as Obj | undefined)
            ?.lastChange as Obj | undefined
        )?.state === 'completed',
      15000,
      'upload reported',
    );
    const back = await createExternalStorage().storage.download('uploads/session1.etl', {
      connectionString: azurite.connectionString,
    });
    try {
      assert.deepEqual(await fsp.readFile(back.path), log);
    } finally {
      await back.remove();
    }

    // Escapes: 400, nothing outside read or removed.
    const outside = path.join(base, 'outside');
    mkdirSync(outside, { recursive: true });
    writeFileSync(path.join(outside, 'secret.txt'), 'SECRET');
    symlinkSync(outside, path.join(dmFolder, 'link'));
    symlinkSync(path.join(outside, 'secret.txt'), path.join(dmFolder, 'AzureDMLogs', 'x.etl'));
    for (const args of [
      { folder: '..', fileName: 'outside' },
      { folder: 'AzureDMLogs', fileName: '../../outside/secret.txt' },
      { folder: 'C:\\Windows', fileName: 'win.ini' },
      { folder: '\\\\server\\share', fileName: 'x' },
      { folder: '/tmp', fileName: 'x' },
      { folder: 'link', fileName: 'secret.txt' },
      { folder: 'AzureDMLogs', fileName: 'x.etl' },
    ]) {
      const del = await call(id, 'windows.deleteDMFile', args);
      assert.equal(del.status, 400, `${JSON.stringify(args)}: ${JSON.stringify(del.payload)}`);
      const u = await call(id, 'windows.uploadDMFile', { ...args, container: 'uploads' });
      assert.equal(u.status, 400, `${JSON.stringify(args)}: ${JSON.stringify(u.payload)}`);
    }
    assert.equal((await call(id, 'windows.enumDMFiles', { folder: 'link' })).status, 400);
    assert.equal(readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'SECRET');

    const del = await call(id, 'windows.deleteDMFile', {
      folder: 'AzureDMLogs',
      fileName: 'session1.etl',
    });
    assert.equal(del.status, 200);
    const after = await call(id, 'windows.enumDMFiles', { folder: 'AzureDMLogs' });
    assert.deepEqual(after.payload.list, []);
    assert.equal(
      (await call(id, 'windows.deleteDMFile', { folder: 'AzureDMLogs', fileName: 'session1.etl' }))
        .status,
      404,
    );
  });
});
