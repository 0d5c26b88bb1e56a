/**
 * windows.desktopApps over MockMdm + MockTwinLink + MemoryExternalStorage: the MsiInstallJob sent
 * (file URI, the file's SHA-256, enforcement), polling Status until the device ends the job, a
 * failed job's LastError, an unchanged product left alone, uninstall by Delete (also when the key
 * leaves the desired properties), per-product failures, and every op checked against the DDFs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { JsonObject } from '../../../lib/dm/handler';
import {
  MSI,
  createDesktopAppsHandler,
  msiInstallJobXml,
  productId,
} from '../../../lib/features/desktop-apps';
import type { CspOp } from '../../../lib/native/contract';
import { MemoryExternalStorage } from '../../../lib/testing/memory-storage';
import { type Harness, ddfCheck, ddfCheckAvailable, ddfLines, featureHarness } from './fixture';

const A = '{4E3C5A1B-2D7F-4C8E-9A0B-1C2D3E4F5A6B}';
const B = '{11111111-2222-4333-8444-555555555555}';
const base = (id: string) => `${MSI}/${encodeURIComponent(id)}`;
const sentOps: CspOp[] = [];

/** Plays the device: DownloadInstall checks the file's hash and sets Status after two polls. */
function scriptDevice(h: Harness, jobs: string[]): void {
  for (const id of [A, B]) {
    h.mock.respond(`${base(id)}/DownloadInstall`, (op) => {
      const xml = String(op.data);
      jobs.push(xml);
      const file = fileURLToPath(/<ContentURL>([^<]+)</.exec(xml)?.[1] ?? '');
      const hash = /<FileHash>([^<]+)</.exec(xml)?.[1] ?? '';
      const real = createHash('sha256').update(readFileSync(file)).digest('hex').toUpperCase();
      const ok = real === hash && !file.includes('bad');
      h.mock.setNode(`${base(id)}/Status`, { value: 50, format: 'int' });
      setTimeout(() => {
        h.mock.setNode(`${base(id)}/Status`, { value: ok ? 70 : 60, format: 'int' });
        h.mock.setNode(`${base(id)}/LastError`, { value: ok ? 0 : -2147023293, format: 'int' });
        h.mock.setNode(`${base(id)}/LastErrorDesc`, {
          value: ok ? '' : 'Fatal error during installation.',
        });
        if (ok)
          h.mock.setNode(`${base(id)}/Version`, {
            value: /Version="([^"]+)"/.exec(xml)?.[1] ?? '',
          });
      }, 20);
      return 200;
    });
  }
}

describe('features/desktopApps (unit)', () => {
  let h: Harness;
  let storage: MemoryExternalStorage;
  let jobs: string[];
  beforeEach(() => {
    h = featureHarness();
    storage = new MemoryExternalStorage();
    jobs = [];
    h.mock.setNode(MSI, { format: 'node' });
    scriptDevice(h, jobs);
  });
  afterEach(async () => {
    sentOps.push(...h.mock.sentOps);
    await h.cleanup();
  });

  const attach = () =>
    h.attach([createDesktopAppsHandler({ storage, pollIntervalMs: 5, installTimeoutMs: 3000 })]);
  const product = (id: string) => h.section('desktopApps')?.[id] as JsonObject;

  it('installs with the MsiInstallJob, polls to the end, reports the MSI nodes, leaves an installed one alone', async () => {
    storage.put('msi/tools.msi', 'MSI A');
    const dm = await attach();
    h.link.setDesired({
      windows: {
        desktopApps: {
          [A]: { version: '2.1.0', source: 'msi/tools.msi', commandLine: '/qn REBOOT=R' },
        },
      },
    });
    await h.idle(dm);
    assert.equal(
      h.lastChange('desktopApps')?.state,
      'completed',
      JSON.stringify(h.lastChange('desktopApps')),
    );
    assert.equal(jobs.length, 1);
    const sha = createHash('sha256').update('MSI A').digest('hex').toUpperCase();
    assert.match(
      jobs[0]!,
      new RegExp(
        `^<MsiInstallJob id="\\{4E3C5A1B-2D7F-4C8E-9A0B-1C2D3E4F5A6B\\}"><Product Version="2\\.1\\.0"><Download><ContentURLList><ContentURL>file://[^<]+/tools\\.msi</ContentURL></ContentURLList></Download><Validation><FileHash>${sha}</FileHash></Validation><Enforcement><CommandLine>/qn REBOOT=R</CommandLine><TimeOut>5</TimeOut><RetryCount>3</RetryCount><RetryInterval>5</RetryInterval></Enforcement></Product></MsiInstallJob>$`,
      ),
    );
    const staged = fileURLToPath(/<ContentURL>([^<]+)</.exec(jobs[0]!)![1]!);
    assert.ok(!existsSync(staged), 'the staged MSI is removed after the job');
    assert.ok(h.mock.sentOps.some((op) => op.verb === 'add' && op.uri === base(A)));
    assert.equal(product(A).version, '2.1.0');
    assert.equal(product(A).status, 70);
    assert.equal(product(A).installPath, '<not set>');
    // Same desired again (another key changes): nothing sent for A.
    storage.put('msi/b.msi', 'MSI B');
    h.link.setDesired({
      windows: { desktopApps: { [B]: { version: '1.0.0', source: 'msi/b.msi' } } },
    });
    await h.idle(dm);
    assert.equal(jobs.length, 2);
    assert.match(jobs[1]!, /11111111-2222-4333-8444-555555555555/);
  });

  it('a failed job reports LastError; a missing blob names it; the other product completes', async () => {
    storage.put('msi/bad.msi', 'MSI bad');
    storage.put('msi/good.msi', 'MSI good');
    const dm = await attach();
    h.link.setDesired({
      windows: {
        desktopApps: {
          [A]: { version: '1.0.0', source: 'msi/bad.msi' },
          [B]: { version: '1.0.0', source: 'msi/good.msi' },
        },
      },
    });
    await h.idle(dm);
    let lc = h.lastChange('desktopApps')!;
    assert.equal(lc.state, 'failed');
    assert.match(
      String(lc.errContext),
      /1 product\(s\) failed: \{4E3C5A1B.*installation failed \(Status 60\): 0x80070643 Fatal error/,
    );
    assert.equal(product(B).status, 70);
    h.link.setDesired({
      windows: { desktopApps: { [A]: { version: '1.0.1', source: 'msi/none.msi' } } },
    });
    await h.idle(dm);
    lc = h.lastChange('desktopApps')!;
    assert.equal(lc.state, 'failed');
    assert.match(String(lc.errContext), /msi\/none\.msi/);
    assert.equal(lc.errCode, 404);
  });

  it('uninstalls with Delete MSI/<ProductID> (null), and the product leaves the report', async () => {
    storage.put('msi/tools.msi', 'MSI A');
    const dm = await attach();
    h.link.setDesired({
      windows: { desktopApps: { [A]: { version: '2.1.0', source: 'msi/tools.msi' } } },
    });
    await h.idle(dm);
    h.link.setDesired({ windows: { desktopApps: { [A]: null } } });
    await h.idle(dm);
    assert.equal(h.lastChange('desktopApps')?.state, 'completed');
    assert.deepEqual(
      h.mock.sentOps.filter((op) => op.verb === 'delete').map((op) => op.uri),
      [base(A)],
    );
    assert.equal(product(A), undefined);
  });

  it('refuses keys that are not product codes and bad versions/hashes (400, nothing sent)', async () => {
    const dm = await attach();
    const cases: JsonObject[] = [
      { 'not-a-guid': { version: '1.0.0', source: 'msi/x.msi' } },
      { [A]: { version: 'one', source: 'msi/x.msi' } },
      { [A]: { version: '1.0.0', source: 'msi/x.msi', sha256: 'abc' } },
    ];
    for (const bad of cases) {
      h.link.setDesired({ windows: { desktopApps: bad } });
      await h.idle(dm);
      assert.equal(h.lastChange('desktopApps')?.errCode, 400, JSON.stringify(bad));
      h.link.setDesired({ windows: { desktopApps: null } });
      await h.idle(dm);
    }
    assert.equal(h.mock.sentOps.filter((op) => op.verb !== 'get').length, 0);
  });

  it('product ids and the job XML are normalized and escaped', () => {
    assert.equal(productId('4e3c5a1b-2d7f-4c8e-9a0b-1c2d3e4f5a6b'), A);
    assert.equal(productId('nope'), undefined);
    assert.match(
      msiInstallJobXml({
        productId: A,
        version: '1.0.0',
        contentUrl: 'file:///a&b.msi',
        sha256: 'ab'.repeat(32),
        commandLine: '/q PROP="<x>"',
        timeOutMinutes: 1,
        retryCount: 0,
        retryIntervalMinutes: 1,
      }),
      /<ContentURL>file:\/\/\/a&amp;b\.msi<\/ContentURL>.*<CommandLine>\/q PROP=&quot;&lt;x&gt;&quot;<\/CommandLine>/,
    );
  });

  it('every op sent is valid for the DDFs (ddf-check)', function () {
    if (!ddfCheckAvailable()) this.skip();
    const lines = [...new Set(ddfLines(sentOps).map((l) => l.split(' ').slice(0, 2).join(' ')))];
    assert.ok(lines.some((l) => l.startsWith('Exec ') && l.endsWith('/DownloadInstall')));
    assert.ok(lines.some((l) => l.startsWith('Delete ')));
    const r = ddfCheck(lines);
    assert.deepEqual(r.invalid, [], r.raw);
  });
});
