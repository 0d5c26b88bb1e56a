/**
 * The real addon: batching into one native call, load errors that explain, raw SyncML, and the
 * decoder's behaviour on malformed, truncated and inconsistent answers (fed by a scripted
 * library with the MDM ABI, test/fixtures/scripted-mdm).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  AddonMdm,
  Csp,
  MdmApiError,
  MdmUnavailableError,
  SyncMLError,
  type ApplyOptions,
  type CspOp,
  type NativeMdm,
} from '../../lib';

const ROOT = resolve(__dirname, '../..');

/** Counts calls that cross into native code. */
class CountingMdm implements NativeMdm {
  calls: Array<{ ops: number; atomic: boolean }> = [];
  constructor(private readonly inner: NativeMdm) {}
  apply(ops: readonly CspOp[], options?: ApplyOptions) {
    this.calls.push({ ops: ops.length, atomic: options?.atomic === true });
    return this.inner.apply(ops, options);
  }
  rawSyncML(body: string) {
    return this.inner.rawSyncML(body);
  }
}

describe('addon over the CSP emulator library', () => {
  it('sends 100 gets issued together to native code as exactly one apply call', async () => {
    const native = new CountingMdm(new AddonMdm());
    const csp = new Csp(native);
    const values = await Promise.all(Array.from({ length: 100 }, (_, i) => csp.get(i % 2 ? './DevDetail/SwV' : './DevInfo/DevId')));
    assert.deepEqual(native.calls, [{ ops: 100, atomic: false }]);
    assert.equal(values.length, 100);
    assert.ok(values.every((v) => typeof v === 'string' && v.length > 0));
  });

  it('keeps results in order under concurrent messages', async () => {
    const mdm = new AddonMdm();
    const batches = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        mdm.apply([
          { verb: 'get', uri: './DevDetail/SwV' },
          { verb: 'get', uri: `./Device/Vendor/MSFT/Nope${i}` },
        ]),
      ),
    );
    for (const results of batches) assert.deepEqual(results.map((r) => r.status), [200, 404]);
  });

  it('answers raw SyncML, hostile values included, with a Status per command', async () => {
    const answer = await new AddonMdm().rawSyncML(
      '<SyncBody><Get><CmdID>1</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get></SyncBody>',
    );
    assert.match(answer, /<Status>.*<CmdRef>1<\/CmdRef>.*<Data>200<\/Data>/s);
    assert.match(answer, /<Results>/);
  });

  it('rejects with ERR_MDM_UNAVAILABLE and an explanation for a missing library', async () => {
    const mdm = new AddonMdm({ libraryPath: '/nonexistent/mdm.so' });
    await assert.rejects(mdm.apply([{ verb: 'get', uri: './DevDetail/SwV' }]), (err: unknown) => {
      assert.ok(err instanceof MdmUnavailableError);
      assert.equal(err.code, 'ERR_MDM_UNAVAILABLE');
      assert.match(err.message, /\/nonexistent\/mdm\.so/);
      assert.match(err.message, /WINDOWS_IOT_DM_MDM_LIBRARY/);
      return true;
    });
  });

  it('rejects with ERR_MDM_UNAVAILABLE naming a missing symbol', async () => {
    const libm = ['/lib/x86_64-linux-gnu/libm.so.6', '/usr/lib/x86_64-linux-gnu/libm.so.6', '/lib/aarch64-linux-gnu/libm.so.6'].find((p) => {
      try {
        return execFileSync('test', ['-e', p]) !== undefined;
      } catch {
        return false;
      }
    });
    if (!libm) return;
    await assert.rejects(new AddonMdm({ libraryPath: libm }).apply([{ verb: 'get', uri: './DevDetail/SwV' }]), /RegisterDeviceWithLocalManagement/);
  });

  it('loads and works inside a worker thread alongside the main thread', async () => {
    const worker = new Worker(
      `require('tsx/cjs');
       const { AddonMdm } = require(${JSON.stringify(join(ROOT, 'lib/index.ts'))});
       const { parentPort } = require('node:worker_threads');
       new AddonMdm().apply(Array.from({ length: 50 }, () => ({ verb: 'get', uri: './DevDetail/SwV' })))
         .then((r) => parentPort.postMessage(r.filter((x) => x.status === 200).length), (e) => parentPort.postMessage(String(e)));`,
      { eval: true },
    );
    const main = new AddonMdm().apply(Array.from({ length: 50 }, () => ({ verb: 'get', uri: './DevInfo/DevId' })));
    const fromWorker = await new Promise((res, rej) => {
      worker.once('message', res);
      worker.once('error', rej);
    });
    await worker.terminate();
    assert.equal(fromWorker, 50);
    assert.equal((await main).length, 50);
  });
});

describe('addon decoding of scripted answers', function () {
  this.timeout(60000);
  let lib: string;
  let dir: string;
  const saved = { ...process.env };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'iotdm-scripted-'));
    lib = join(dir, 'scripted_mdm.so');
    execFileSync('cc', ['-shared', '-fPIC', '-O1', '-o', lib, join(ROOT, 'test/fixtures/scripted-mdm/scripted_mdm.c')]);
  });
  afterEach(() => {
    for (const k of ['SCRIPTED_MDM_RESPONSE', 'SCRIPTED_MDM_HRESULT', 'SCRIPTED_MDM_ONCE']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  function answer(xml: string): void {
    const file = join(dir, 'answer.xml');
    writeFileSync(file, xml);
    process.env.SCRIPTED_MDM_RESPONSE = file;
  }

  const TWO_GETS: CspOp[] = [
    { verb: 'get', uri: './DevDetail/SwV' },
    { verb: 'get', uri: './DevInfo/DevId' },
  ];
  const status = (ref: number, code: number | string, cmd = 'Get') =>
    `<Status><CmdID>${ref + 1}</CmdID><MsgRef>1</MsgRef><CmdRef>${ref}</CmdRef><Cmd>${cmd}</Cmd><Data>${code}</Data></Status>`;
  const results = (ref: number, uri: string, data: string) =>
    `<Results><CmdID>${ref + 10}</CmdID><MsgRef>1</MsgRef><CmdRef>${ref}</CmdRef><Item><Source><LocURI>${uri}</LocURI></Source><Meta><Format xmlns="syncml:metinf">chr</Format></Meta><Data>${data}</Data></Item></Results>`;
  const wrap = (body: string) =>
    `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr><SyncBody>${status(0, 200, 'SyncHdr')}${body}<Final/></SyncBody></SyncML>`;
  const GOOD = wrap(status(1, 200) + results(1, './DevDetail/SwV', 'a &lt;b&gt; &amp; &#x263A;') + status(2, 404));

  it('decodes a well-formed answer, entities included', async () => {
    answer(GOOD);
    const r = await new AddonMdm({ libraryPath: lib }).apply(TWO_GETS);
    assert.deepEqual(r.map((x) => x.status), [200, 404]);
    assert.equal(r[0]?.data, 'a <b> & ☺');
    assert.equal(r[0]?.format, 'chr');
  });

  it('never resolves a truncated answer: every prefix is an error', async () => {
    const mdm = new AddonMdm({ libraryPath: lib });
    let checked = 0;
    for (let cut = 0; cut < GOOD.length; cut++) {
      answer(GOOD.slice(0, cut));
      await assert.rejects(mdm.apply(TWO_GETS), (e: unknown) => e instanceof SyncMLError && e.code === 'ERR_SYNCML_MALFORMED', `prefix of ${cut} bytes`);
      checked++;
    }
    assert.equal(checked, GOOD.length);
  });

  const broken: Array<[string, string]> = [
    ['not XML at all', 'HTTP/1.1 500 oops'],
    ['a status missing for one op', wrap(status(1, 200))],
    ['a duplicated status', wrap(status(1, 200) + status(1, 200) + status(2, 200))],
    ['a non-numeric status code', wrap(status(1, 'OK') + status(2, 200))],
    ['a status for an op that was never sent', wrap(status(1, 200) + status(2, 200) + status(3, 200))],
    ['mismatched tags', wrap(status(1, 200) + status(2, 200)).replace('</SyncBody>', '</SyncBodyX>')],
    ['an unknown entity', wrap(status(1, 200) + results(1, './DevDetail/SwV', '&bogus;') + status(2, 200))],
    ['a DOCTYPE (entity expansion)', '<!DOCTYPE x [<!ENTITY a "aaaa">]>' + GOOD],
    ['garbage after the root', GOOD + '<more/>'],
  ];
  for (const [what, xml] of broken) {
    it(`rejects ${what} with ERR_SYNCML_MALFORMED`, async () => {
      answer(xml);
      await assert.rejects(new AddonMdm({ libraryPath: lib }).apply(TWO_GETS), (e: unknown) => e instanceof SyncMLError && e.code === 'ERR_SYNCML_MALFORMED');
    });
  }

  it('maps a failure HRESULT to MdmApiError', async () => {
    process.env.SCRIPTED_MDM_HRESULT = '80070005';
    await assert.rejects(new AddonMdm({ libraryPath: lib }).apply(TWO_GETS), (e: unknown) => {
      assert.ok(e instanceof MdmApiError);
      assert.equal(e.hresult, 0x80070005);
      assert.equal(e.api, 'ApplyLocalManagementSyncML');
      assert.match(e.message, /0x80070005/);
      return true;
    });
  });

  it('registers again and retries once when the device reports it is not registered', async () => {
    answer(GOOD);
    process.env.SCRIPTED_MDM_HRESULT = '80070490';
    process.env.SCRIPTED_MDM_ONCE = '1';
    const r = await new AddonMdm({ libraryPath: lib }).apply(TWO_GETS);
    assert.deepEqual(r.map((x) => x.status), [200, 404]);
  });
});
