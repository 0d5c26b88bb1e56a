/**
 * The emulated DiagnosticLog CSP through the REAL addon (native/emulator/diagnostic_log.h):
 * TraceControl START/STOP (400 otherwise) recorded in the persisted `events.diagnosticLog`,
 * TraceStatus 1/0, and the FileDownload channel of a stopped collector: BlockCount from
 * BlockSizeKB, BlockData = the block at BlockIndexToRead, the blocks together = one deterministic,
 * clearly marked emulated log naming the collector and its providers. Also the WiFi CSP's
 * WlanXml stored by Add and answered by Get (no behaviour needed).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AddonMdm, Csp, CspError } from '../../lib';

const C = './Vendor/MSFT/DiagnosticLog/EtwLog/Collectors';
const CH = './Vendor/MSFT/DiagnosticLog/FileDownload/DMChannel';
const GUID = 'D198EE7D-C5F1-4F5F-95BE-A2EE6FA45897';

interface DiagState {
  collectors?: Record<
    string,
    { running: boolean; runs: number; started: number; stopped: number; providers: string }
  >;
  controls?: { collector: string; command: string; time: string }[];
}

function diagState(): DiagState {
  const file = process.env.WINDOWS_IOT_DM_EMULATOR_STATE as string;
  const state = JSON.parse(readFileSync(file, 'utf8')) as {
    events?: { diagnosticLog?: DiagState };
  };
  return state.events?.diagnosticLog ?? {};
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof CspError) return err.status as number;
    throw err;
  }
}

describe('CSP emulator: DiagnosticLog collectors and log download (real addon)', () => {
  const csp = new Csp(new AddonMdm());
  const name = `emu${process.pid}`;

  async function readLog(c: string): Promise<Buffer> {
    const count = (await csp.get(`${CH}/${c}/BlockCount`)) as number;
    const parts: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const [, data] = await Promise.all([
        csp.replace(`${CH}/${c}/BlockIndexToRead`, i, { format: 'int' }),
        csp.get(`${CH}/${c}/BlockData`),
      ]);
      parts.push(Buffer.from(data as Uint8Array));
    }
    return Buffer.concat(parts);
  }

  it('START / STOP drive TraceStatus and are recorded; anything else is 400', async () => {
    await csp.add(`${C}/${name}`);
    await csp.add(`${C}/${name}/Providers/${GUID}`);
    await csp.replace(`${C}/${name}/Providers/${GUID}/TraceLevel`, 3, { format: 'int' });
    assert.equal(await csp.get(`${C}/${name}/TraceStatus`), 0);
    assert.equal(await status(csp.get(`${CH}/${name}/BlockCount`)), 404, 'no log before a stop');
    await csp.exec(`${C}/${name}/TraceControl`, 'START', { format: 'chr' });
    assert.equal(await csp.get(`${C}/${name}/TraceStatus`), 1);
    assert.equal(
      await status(csp.exec(`${C}/${name}/TraceControl`, 'PAUSE', { format: 'chr' })),
      400,
    );
    assert.equal(await status(csp.exec(`${C}/${name}/TraceControl`)), 400);
    let st = diagState();
    assert.equal(st.collectors?.[name]?.running, true);
    assert.equal(st.collectors?.[name]?.runs, 1);
    await csp.exec(`${C}/${name}/TraceControl`, 'STOP', { format: 'chr' });
    assert.equal(await csp.get(`${C}/${name}/TraceStatus`), 0);
    st = diagState();
    assert.equal(st.collectors?.[name]?.running, false);
    assert.match(String(st.collectors?.[name]?.providers), new RegExp(`${GUID}:3:`));
    const mine = (st.controls ?? []).filter((c) => c.collector === name).map((c) => c.command);
    assert.deepEqual(mine, ['START', 'STOP']);
  });

  it('a stopped collector has a log: blocks of BlockSizeKB, deterministic, marked as emulated', async () => {
    const listed = (await csp.get(CH)) as string[];
    assert.ok(listed.includes(name), listed.join('/'));
    assert.equal(await csp.get(`${CH}/${name}/BlockSizeKB`), 4);
    const log = await readLog(name);
    const count = (await csp.get(`${CH}/${name}/BlockCount`)) as number;
    assert.equal(count, Math.ceil(log.length / 4096));
    assert.ok(count >= 2, 'spans several blocks');
    const text = log.toString('utf8');
    assert.match(text, /^EMULATED ETL \(windows-iot-dm CSP emulator; not a real ETW trace log\)\n/);
    assert.match(text, new RegExp(`Collector: ${name}\\n`));
    assert.match(text, new RegExp(`Providers: ${GUID}:3:`));
    assert.deepEqual(await readLog(name), log, 'same inputs, same bytes');
    // Larger blocks: fewer of them, same content; the index starts again at 0.
    await csp.replace(`${CH}/${name}/BlockSizeKB`, 16, { format: 'int' });
    assert.equal(await csp.get(`${CH}/${name}/BlockIndexToRead`), 0);
    assert.equal(await csp.get(`${CH}/${name}/BlockCount`), Math.ceil(log.length / 16384));
    assert.deepEqual(await readLog(name), log);
    assert.equal(
      await status(csp.replace(`${CH}/${name}/BlockIndexToRead`, 99, { format: 'int' })),
      400,
    );
    assert.equal(await status(csp.replace(`${CH}/${name}/BlockSizeKB`, 0, { format: 'int' })), 400);
    await csp.replace(`${CH}/${name}/BlockSizeKB`, 4, { format: 'int' });
    // Another session: another log (its times and runs differ only by the clock, so compare
    // through the recorded inputs).
    await csp.exec(`${C}/${name}/TraceControl`, 'START', { format: 'chr' });
    await csp.exec(`${C}/${name}/TraceControl`, 'STOP', { format: 'chr' });
    assert.equal(diagState().collectors?.[name]?.runs, 2);
    assert.match((await readLog(name)).toString('utf8'), /^EMULATED ETL/);
  });

  it('WiFi: an added WlanXml is stored and answered', async () => {
    const xml = `<WLANProfile><SSIDConfig><SSID><name>${name}</name></SSID></SSIDConfig></WLANProfile>`;
    await csp.add(`./Vendor/MSFT/WiFi/Profile/${name}/WlanXml`, xml, { format: 'chr' });
    assert.equal(await csp.get(`./Vendor/MSFT/WiFi/Profile/${name}/WlanXml`), xml);
    const items = await csp.list('./Vendor/MSFT/WiFi/Profile');
    assert.ok(items.some((i) => i.uri.endsWith(`/Profile/${name}`)));
    await csp.delete(`./Vendor/MSFT/WiFi/Profile/${name}`);
    assert.equal(await status(csp.get(`./Vendor/MSFT/WiFi/Profile/${name}/WlanXml`)), 404);
  });
});
