/**
 * The `eventTracingCollectors` section over MockMdm (a scripted TraceStatus / TraceControl /
 * FileDownload channel) + MemoryExternalStorage + a temporary DM folder: collector settings and
 * providers written, START when started, STOP then the log exported block by block into the DM
 * folder, the read-back report, enumeration, per-collector failures (bad names, GUIDs, folder
 * escapes) while another collector completes; every URI checked with ddf-check.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CspOp } from '../../../lib/native/contract';
import type { JsonObject } from '../../../lib/dm/handler';
import { createDiagnosticLogHandlers } from '../../../lib/features/diagnostic-logs';
import { MemoryExternalStorage } from '../../../lib/testing/memory-storage';
import { ddfCheck, ddfCheckAvailable, ddfLines, featureHarness, type Harness } from './fixture';

const C = './Device/Vendor/MSFT/DiagnosticLog/EtwLog/Collectors';
const CH = './Device/Vendor/MSFT/DiagnosticLog/FileDownload/DMChannel';
const GUID = 'D198EE7D-C5F1-4F5F-95BE-A2EE6FA45897';

/** A collector as the device would hold it after Add (leaves with their DDF defaults). */
function seedCollector(h: Harness, c: string, providers: string[] = []): void {
  h.mock.setNode(`${C}/${c}/TraceLogFileMode`, { value: 1, format: 'int' });
  h.mock.setNode(`${C}/${c}/LogFileSizeLimitMB`, { value: 4, format: 'int' });
  h.mock.setNode(`${C}/${c}/Providers`, { format: 'node' });
  for (const g of providers) {
    h.mock.setNode(`${C}/${c}/Providers/${g}/TraceLevel`, { value: 5, format: 'int' });
    h.mock.setNode(`${C}/${c}/Providers/${g}/Keywords`, { value: '0' });
    h.mock.setNode(`${C}/${c}/Providers/${g}/State`, { value: 'true', format: 'bool' });
  }
}

/** TraceStatus / TraceControl / FileDownload of collector `c`, with `log` as its ETL content. */
function scriptTrace(h: Harness, c: string, log: Buffer, blockSize = 4096) {
  const state = { running: false, index: 0, controls: [] as string[] };
  h.mock.respond(`${C}/${c}/TraceStatus`, () => ({
    status: 200,
    data: state.running ? '1' : '0',
    format: 'int',
    items: [],
  }));
  h.mock.respond(`${C}/${c}/TraceControl`, (op: CspOp) => {
    state.controls.push(String(op.data));
    if (op.data === 'START') state.running = true;
    else if (op.data === 'STOP') state.running = false;
    else return 400;
    return 200;
  });
  h.mock.respond(`${CH}/${c}/BlockCount`, () => ({
    status: 200,
    data: String(Math.ceil(log.length / blockSize)),
    format: 'int',
    items: [],
  }));
  h.mock.respond(`${CH}/${c}/BlockIndexToRead`, (op: CspOp) => {
    state.index = Number(op.data);
    return 200;
  });
  h.mock.respond(`${CH}/${c}/BlockData`, () => ({
    status: 200,
    data: log.subarray(state.index * blockSize, (state.index + 1) * blockSize).toString('base64'),
    format: 'b64',
    items: [],
  }));
  return state;
}

describe('features: eventTracingCollectors (unit)', () => {
  let h: Harness;
  let dmFolder: string;
  beforeEach(() => {
    h = featureHarness();
    h.mock.setNode(C, { format: 'node' });
    dmFolder = path.join(h.dirs.make('wdm-etw-'), 'dm-files');
  });
  afterEach(() => h.cleanup());

  const attach = () =>
    h.attach(createDiagnosticLogHandlers({ storage: new MemoryExternalStorage(), dmFolder }));

  it('configures, starts, stops and exports the log block by block; reports what the CSP holds', async () => {
    seedCollector(h, 'AzureDM', [GUID]);
    const log = Buffer.alloc(10_000);
    for (let i = 0; i < log.length; i++) log[i] = (i * 7) & 0xff;
    const trace = scriptTrace(h, 'AzureDM', log);
    const dm = await attach();
    h.link.setDesired({
      windows: {
        eventTracingCollectors: {
          AzureDM: {
            reportProperties: 'yes',
            applyProperties: {
              traceLogFileMode: 'circular',
              logFileSizeLimitMB: 16,
              logFileFolder: 'AzureDMLogs',
              logFileName: 'trace1',
              started: true,
              [GUID]: { traceLevel: 'warning', keywords: '0x10', enabled: true, type: 'provider' },
            },
          },
        },
      },
    });
    await h.idle(dm);
    assert.equal(
      h.lastChange('eventTracingCollectors')?.state,
      'completed',
      JSON.stringify(h.section('eventTracingCollectors')),
    );
    assert.deepEqual(trace.controls, ['START']);
    assert.equal(h.mock.node(`${C}/AzureDM/TraceLogFileMode`)?.value, '2');
    assert.equal(h.mock.node(`${C}/AzureDM/LogFileSizeLimitMB`)?.value, '16');
    assert.equal(h.mock.node(`${C}/AzureDM/Providers/${GUID}/TraceLevel`)?.value, '3');
    assert.equal(h.mock.node(`${C}/AzureDM/Providers/${GUID}/Keywords`)?.value, '0x10');
    const reported = h.section('eventTracingCollectors')?.AzureDM as JsonObject;
    assert.deepEqual(reported, {
      traceLogFileMode: 'circular',
      logFileSizeLimitMB: 16,
      logFileFolder: 'AzureDMLogs',
      logFileName: 'trace1.etl',
      started: true,
      [GUID]: { traceLevel: 'warning', keywords: '0x10', enabled: true, type: 'provider' },
    });
    // Stop: STOP, then the log lands in the DM folder, read in 3 blocks.
    h.link.setDesired({
      windows: { eventTracingCollectors: { AzureDM: { applyProperties: { started: false } } } },
    });
    await h.idle(dm);
    assert.equal(h.lastChange('eventTracingCollectors')?.state, 'completed');
    assert.deepEqual(trace.controls, ['START', 'STOP']);
    const file = path.join(dmFolder, 'AzureDMLogs', 'trace1.etl');
    assert.deepEqual(readFileSync(file), log);
    assert.equal(existsSync(path.join(dmFolder, 'AzureDMLogs', '.trace1.etl.partial')), false);
    const reads = h.mock.sentOps.filter((op) => op.uri.endsWith('/BlockData'));
    assert.equal(reads.length, 3);
    assert.equal((h.section('eventTracingCollectors')?.AzureDM as JsonObject).started, false);
    // Already stopped: nothing is exported again.
    h.link.setDesired({
      windows: {
        eventTracingCollectors: {
          AzureDM: { applyProperties: { started: false, logFileSizeLimitMB: 8 } },
        },
      },
    });
    await h.idle(dm);
    assert.deepEqual(trace.controls, ['START', 'STOP']);
    if (ddfCheckAvailable()) {
      const r = ddfCheck(ddfLines(h.mock.sentOps));
      assert.deepEqual(r.invalid, [], r.raw);
      assert.ok(r.ok > 10);
    }
  });

  it('bad collector, GUID and folder names fail naming the collector; a good collector completes', async () => {
    seedCollector(h, 'Good');
    scriptTrace(h, 'Good', Buffer.from('x'));
    const dm = await attach();
    h.link.setDesired({
      windows: {
        eventTracingCollectors: {
          'bad name': { applyProperties: { started: true } },
          BadGuid: { applyProperties: { 'not-a-guid': { traceLevel: 'error' } } },
          Escape: { applyProperties: { logFileFolder: '../..', started: false } },
          Drive: { applyProperties: { logFileName: 'C:\\x', started: false } },
          Good: { applyProperties: { started: true } },
        },
      },
    });
    await h.idle(dm);
    const lc = h.lastChange('eventTracingCollectors') as JsonObject;
    assert.equal(lc.state, 'failed');
    assert.equal(lc.errCode, 400);
    const ctx = String(lc.errContext);
    assert.match(ctx, /4 collector\(s\) failed/);
    assert.match(ctx, /"bad name": the collector name/);
    assert.match(ctx, /"BadGuid": "not-a-guid" is not a provider GUID/);
    assert.match(ctx, /"Escape": logFileFolder: "\.\.\/\.\." is not a plain name/);
    assert.match(ctx, /"Drive": logFileName/);
    assert.equal((h.section('eventTracingCollectors')?.Good as JsonObject).started, true);
    assert.equal(h.mock.node(`${C}/Escape`), undefined);
  });

  it('schema: out-of-range size and unknown levels fail the section with 400', async () => {
    const dm = await attach();
    h.link.setDesired({
      windows: {
        eventTracingCollectors: {
          X: { applyProperties: { logFileSizeLimitMB: 4096, [GUID]: { traceLevel: 'loud' } } },
        },
      },
    });
    await h.idle(dm);
    const lc = h.lastChange('eventTracingCollectors') as JsonObject;
    assert.equal(lc.state, 'failed');
    assert.equal(lc.errCode, 400);
    assert.match(String(lc.errContext), /above 2048/);
  });

  it('"?": detailed reports unmanaged collectors in full, minimal by name, none not at all; reportProperties "no" hides one', async () => {
    seedCollector(h, 'Managed');
    seedCollector(h, 'Hidden');
    seedCollector(h, 'Foreign', [GUID]);
    scriptTrace(h, 'Managed', Buffer.alloc(0));
    scriptTrace(h, 'Hidden', Buffer.alloc(0));
    scriptTrace(h, 'Foreign', Buffer.alloc(0));
    const dm = await attach();
    const set = (e: string) =>
      h.link.setDesired({
        windows: {
          eventTracingCollectors: {
            Managed: { applyProperties: 'no', reportProperties: 'yes' },
            Hidden: { applyProperties: 'no', reportProperties: 'no' },
            '?': e,
          },
        },
      });
    set('detailed');
    await h.idle(dm);
    let sec = h.section('eventTracingCollectors') as JsonObject;
    assert.equal((sec.Foreign as JsonObject)[GUID] !== undefined, true);
    assert.ok(sec.Managed);
    assert.equal(sec.Hidden, undefined);
    set('minimal');
    await h.idle(dm);
    sec = h.section('eventTracingCollectors') as JsonObject;
    assert.equal(sec.Foreign, '');
    set('none');
    await h.idle(dm);
    sec = h.section('eventTracingCollectors') as JsonObject;
    assert.equal(sec.Foreign, undefined);
    assert.equal((sec.Managed as JsonObject).started, false);
  });
});
