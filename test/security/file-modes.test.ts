/**
 * docs/security.md claim, tested (POSIX): files holding secrets or device state are created for
 * the owner only: folders 0700, files 0600, whatever the umask. Covered here: the DM state folder
 * and dm-state.json, the DM folder (exported logs), the local hub's data folder, hub.db (device
 * and policy keys; with its WAL files), hub.json and the attestation service's database. Elsewhere: the emulator's state file, its
 * folders and lock file (native/test/state_test.cc TestRoundTrip), `iotdm provision --out`
 * (test/cli/provision.test.ts), the hub's TLS keys (test/hub/auth-tls.test.ts), downloads and the
 * download folder (test/storage/blob-storage.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CliIo } from '../../lib/cli/io';
import { runHub } from '../../lib/cli/hub-command';
import { ReportStore } from '../../lib/attest/report-store';
import { builtinHandlers } from '../../lib/features';
import { MockSystem } from '../../lib/testing/mock-system';
import { featureHarness, type Harness } from '../unit/features/fixture';

const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);

describe('security: state and secret files are the owner’s only (0700 folders, 0600 files)', function () {
  this.timeout(60_000);
  if (process.platform === 'win32') return;
  let previousUmask: number;
  let base: string;
  before(() => {
    previousUmask = process.umask(0o022); // a permissive, common umask: modes must not rely on it
  });
  after(() => {
    process.umask(previousUmask);
  });
  beforeEach(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'wdm-sec-modes-'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  describe('the DM client', () => {
    let h: Harness;
    beforeEach(() => {
      h = featureHarness();
    });
    afterEach(() => h.cleanup());

    it('state folder 0700, dm-state.json 0600, DM folder and its subfolders 0700', async () => {
      const stateDir = path.join(base, 'state', 'dm');
      const dmFolder = path.join(base, 'dm-files');
      const dm = await h.attach(builtinHandlers({ system: new MockSystem(), stateDir, dmFolder }), {
        stateDir,
      });
      h.link.setDesired({ windows: { windowsTelemetry: { level: 'basic' } } });
      await h.idle(dm);
      assert.equal(mode(stateDir), '700');
      const files = readdirSync(stateDir);
      assert.ok(files.includes('dm-state.json'), files.join());
      for (const f of files) assert.equal(mode(path.join(stateDir, f)), '600', f);
      const res = await h.link.invoke('windows.enumDMFolders', {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(mode(dmFolder), '700');
    });
  });

  it('the attestation service database (nonces, health reports) 0600', () => {
    const file = path.join(base, 'attest.db');
    const store = new ReportStore(file);
    try {
      for (const f of readdirSync(base).filter((n) => n.startsWith('attest.db'))) {
        assert.equal(mode(path.join(base, f)), '600', f);
      }
    } finally {
      store.close();
    }
  });

  describe('the local hub (iotdm hub)', () => {
    const io = (): CliIo & { stdout: string[]; stderr: string[] } => {
      const stdout: string[] = [];
      const stderr: string[] = [];
      return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
    };

    it('data folder 0700; hub.db (keys) and its WAL files 0600; hub.json 0600', async () => {
      const data = path.join(base, 'hub-data');
      const add = io();
      assert.equal(
        await runHub(['device', 'add', 'modes-1', '--data', data], add),
        0,
        add.stderr.join(),
      );
      assert.equal(mode(data), '700');
      for (const f of readdirSync(data).filter((n) => n.startsWith('hub.db'))) {
        assert.equal(mode(path.join(data, f)), '600', f);
      }
      let stop!: (signal: string) => void;
      const run = io();
      const done = runHub(['--data', data, '--mqtt-port', '0', '--https-port', '0'], run, {
        waitForStop: () => new Promise((resolve) => (stop = resolve)),
      });
      const deadline = Date.now() + 15_000;
      while (!existsSync(path.join(data, 'hub.json')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      try {
        assert.equal(mode(path.join(data, 'hub.json')), '600');
        const dbFiles = readdirSync(data).filter((n) => n.startsWith('hub.db'));
        assert.ok(dbFiles.includes('hub.db'), dbFiles.join());
        for (const f of dbFiles) assert.equal(mode(path.join(data, f)), '600', f);
        for (const f of readdirSync(path.join(data, 'tls')).filter((n) => n.endsWith('key.pem'))) {
          assert.equal(mode(path.join(data, 'tls', f)), '600', f);
        }
      } finally {
        stop('SIGTERM');
        assert.equal(await done, 0, run.stderr.join('\n'));
      }
    });
  });
});
