/**
 * docs/security.md claims, tested: secrets never reach logs, reported properties or method
 * answers. The agent's pino logger (lib/dm/logger.ts createLogger, trace level) captures every
 * line while the built-in features get a storage connection string with an account key, one with
 * a SAS token, a DM-file upload with its own connection string, and malformed ones (error paths);
 * and none of them is at rest in the state folder; then `iotdm agent` runs in process against the local hub with a device key and with a device
 * SAS token, at trace level, and its log lines, stdout and stderr are grep'd for every secret.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { runAgent } from '../../lib/cli/agent-command';
import type { CliIo } from '../../lib/cli/io';
import { createLogger } from '../../lib/dm/logger';
import { builtinHandlers } from '../../lib/features';
import { generateDeviceSasToken } from '../../lib/hub/auth/sas';
import type { LocalHub } from '../../lib/hub/hub';
import { MockSystem } from '../../lib/testing/mock-system';
import { startLocalHub } from '../hub/helpers/local-hub';
import { featureHarness, type Harness } from '../unit/features/fixture';

const ACCOUNT_KEY = Buffer.from('storage-account-key-that-must-not-leak-0123456789').toString(
  'base64',
);
const SAS_SIG = 'sig=Zm9vYmFyc2VjcmV0c2lnbmF0dXJlMTIzNDU2Nzg5MA%3D%3D';
const STORAGE_KEY_CS = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:9/devstoreaccount1`;
const STORAGE_SAS_CS = `BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;SharedAccessSignature=sv=2022-11-02&ss=b&srt=co&sp=rwl&se=2030-01-01T00:00:00Z&${SAS_SIG}`;
const BROKEN_CS = `AccountName=x;AccountKey=${ACCOUNT_KEY};Nonsense`;

/**
 * What to grep for: each secret whole, and for keys and signatures (no ';' inside) also their
 * first and last 16 characters. A connection string's account name or host is not a secret.
 */
function needles(...secrets: string[]): string[] {
  return secrets
    .flatMap((s) => (s.includes(';') ? [s] : [s, s.slice(0, 16), s.slice(-16)]))
    .filter((s) => s.length >= 12);
}

function assertClean(text: string, secrets: string[], where: string): void {
  for (const n of needles(...secrets)) {
    assert.ok(!text.includes(n), `${where} contains a secret (${n.slice(0, 6)}...)`);
    assert.ok(
      !text.includes(encodeURIComponent(n)),
      `${where} contains an encoded secret (${n.slice(0, 6)}...)`,
    );
  }
}

function sink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
}

describe('security: secrets absent from logs, reported state and method answers', function () {
  this.timeout(60_000);

  describe('DM client with the built-in features (pino at trace)', () => {
    let h: Harness;
    beforeEach(() => {
      h = featureHarness();
    });
    afterEach(() => h.cleanup());

    it('storage connection strings (account key, SAS, malformed) and an upload connection string', async () => {
      const lines: string[] = [];
      const logger = createLogger('trace', sink(lines));
      const dmFolder = path.join(h.stateDir, 'dm-files');
      mkdirSync(path.join(dmFolder, 'logs'), { recursive: true });
      writeFileSync(path.join(dmFolder, 'logs', 'a.etl'), 'AAAA');
      const handlers = builtinHandlers({
        system: new MockSystem(),
        stateDir: h.stateDir,
        dmFolder,
        externalStorageOptions: { logger, retry: { attempts: 1, delayMs: 1 } },
      });
      const dm = await h.attach(handlers, { logger, logLevel: 'trace' });
      const answers: unknown[] = [];
      for (const cs of [STORAGE_KEY_CS, STORAGE_SAS_CS, BROKEN_CS]) {
        h.link.setDesired({
          windows: {
            externalStorage: { connectionString: cs, container: 'dm' },
            certificates: { rootCATrustedCertificates_Root: 'dm/root.cer' },
          },
        });
        await h.idle(dm);
        const res = await h.link.invoke('windows.uploadDMFile', {
          folder: 'logs',
          fileName: 'a.etl',
          connectionString: cs,
          container: 'dmlogs',
        });
        answers.push(res);
        await h.idle(dm);
      }
      // Let the uploads fail (connection refused) and log it.
      await new Promise((r) => setTimeout(r, 300));
      await h.idle(dm);
      assert.ok(lines.length > 5, `only ${lines.length} log lines`);
      const secrets = [STORAGE_KEY_CS, STORAGE_SAS_CS, BROKEN_CS, ACCOUNT_KEY, SAS_SIG];
      assertClean(lines.join(''), secrets, 'the log');
      assertClean(JSON.stringify(h.link.reported), secrets, 'reported properties');
      assertClean(JSON.stringify(answers), secrets, 'method answers');
      // Nothing at rest either: the state folder (dm-state.json, handler stores, the DM folder).
      for (const f of readdirSync(h.stateDir, { recursive: true, withFileTypes: true })) {
        if (!f.isFile()) continue;
        const file = path.join(f.parentPath, f.name);
        assertClean(readFileSync(file, 'utf8'), secrets, file);
      }
      assert.ok(existsSync(path.join(h.stateDir, 'dm-state.json')));
      const reported = h.section('externalStorage');
      assert.ok(
        reported?.connectionString === '<set>' || reported?.connectionString === '<not set>',
        JSON.stringify(reported),
      );
    });
  });

  describe('iotdm agent in process (local hub, trace level)', () => {
    let hub: LocalHub;
    let closeHub: () => Promise<void>;
    let dir: string;
    before(async () => {
      ({ hub, close: closeHub } = await startLocalHub());
      dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-sec-agent-'));
    });
    after(async () => {
      await closeHub();
      rmSync(dir, { recursive: true, force: true });
    });

    const handlerModule = (): string => {
      const file = path.join(dir, 'storage-handler.ts');
      const lib = path.resolve(__dirname, '../../lib/features/external-storage');
      writeFileSync(
        file,
        `import { createExternalStorage } from ${JSON.stringify(lib)};\nexport const handler = createExternalStorage().handler;\n`,
      );
      return file;
    };

    for (const kind of ['device key', 'device SAS token'] as const) {
      it(`with a ${kind}: no secret in log lines, stdout or stderr`, async () => {
        const id = `sec-${kind.replace(/ /g, '-')}`;
        const device = hub.core.registry.create(id);
        const key = device.primaryKey!;
        let cs = hub.deviceConnectionString(id);
        let token = '';
        if (kind === 'device SAS token') {
          token = generateDeviceSasToken(hub.deviceHost, id, key, { ttlSeconds: 3600 });
          cs = cs.replace(/SharedAccessKey=[^;]*/, `SharedAccessSignature=${token}`);
        }
        const logs: string[] = [];
        const stdout: string[] = [];
        const stderr: string[] = [];
        const io: CliIo = { out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
        let stop!: (signal: string) => void;
        let ready!: () => void;
        const isReady = new Promise<void>((resolve) => (ready = resolve));
        const done = runAgent(
          [
            '--connection-string',
            cs,
            '--ca',
            hub.caPath,
            '--state-dir',
            path.join(dir, id),
            '--no-builtin',
            '--handler',
            handlerModule(),
            '--log-level',
            'trace',
          ],
          io,
          {
            env: {},
            waitForStop: () => new Promise((resolve) => (stop = resolve)),
            writeLog: (l) => logs.push(l),
            onReady: ready,
          },
        );
        await Promise.race([
          isReady,
          done.then((c) => assert.fail(`exited ${c}: ${stderr.join('\n')}`)),
        ]);
        hub.core.updateTwin(id, {
          properties: {
            desired: { windows: { externalStorage: { connectionString: STORAGE_KEY_CS } } },
          },
        });
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline) {
          const w = hub.core.getTwin(id).properties.reported.windows as
            { externalStorage?: { lastChange?: { state?: string } } } | undefined;
          if (w?.externalStorage?.lastChange?.state) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        stop('SIGTERM');
        assert.equal(await done, 0, stderr.join('\n'));
        assert.ok(logs.length > 5, `only ${logs.length} log lines`);
        const secrets = [cs, key, ACCOUNT_KEY, STORAGE_KEY_CS, ...(token ? [token] : [])];
        if (token) secrets.push(token.split('sig=')[1]!.split('&')[0]!);
        assertClean(logs.join('\n'), secrets, 'the agent log');
        assertClean(stdout.join('\n'), secrets, 'stdout');
        assertClean(stderr.join('\n'), secrets, 'stderr');
        assertClean(
          JSON.stringify(hub.core.getTwin(id).properties.reported),
          secrets,
          'reported properties',
        );
      });
    }
  });
});
