/**
 * `iotdm hub enroll` and `iotdm provision` (symmetric key individual and group, X.509) against a
 * local hub with its DPS: what gets enrolled, what provision writes (`--out`, mode 0600, JSON or
 * the bare connection string the agent reads), that keys are never printed by provision, and the
 * usage and refusal exit codes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as DeviceClient } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import type { CliIo } from '../../lib/cli/io';
import { runHub } from '../../lib/cli/hub-command';
import { main } from '../../lib/cli/main';
import type { LocalHub } from '../../lib/hub/hub';
import { mintDeviceCertificate } from '../../lib/hub/tls';
import { deriveGroupDeviceKey } from '../../lib/provisioning/provision';
import { startLocalHub } from '../hub/helpers/local-hub';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIo = { out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
  const code = await main(argv, io);
  return { code, out: stdout.join('\n'), err: stderr.join('\n') };
}

describe('iotdm hub enroll / iotdm provision', function () {
  this.timeout(30000);
  let hub: LocalHub;
  let dataDir: string;
  let closeHub: () => Promise<void>;
  let dir: string;

  before(async () => {
    ({
      hub,
      dataDir,
      close: closeHub,
    } = await startLocalHub({
      dpsPort: 0,
      dps: { retryAfterSeconds: 0.05 },
    }));
    dir = mkdtempSync(path.join(os.tmpdir(), 'iotdm-provision-'));
  });
  after(async () => {
    await closeHub();
    rmSync(dir, { recursive: true, force: true });
  });

  const dps = (): string[] => [
    '--global-endpoint',
    hub.dpsEndpoint,
    '--id-scope',
    hub.dpsIdScope,
    '--ca',
    hub.caPath,
  ];

  it('enroll individual --symmetric-key auto prints the key once; provision writes the connection string', async () => {
    const e = await run([
      'hub',
      'enroll',
      'individual',
      '--registration-id',
      'cli-sym',
      '--symmetric-key',
      'auto',
      '--device-id',
      'cli-device',
      '--data',
      dataDir,
      '--json',
    ]);
    assert.equal(e.code, 0, e.err);
    const { primaryKey, idScope } = JSON.parse(e.out) as { primaryKey: string; idScope: string };
    assert.equal(idScope, hub.dpsIdScope);
    const keyFile = path.join(dir, 'sym.key');
    writeFileSync(keyFile, primaryKey + '\n');
    const out = path.join(dir, 'device.cs');
    const p = await run([
      'provision',
      ...dps(),
      '--registration-id',
      'cli-sym',
      '--symmetric-key-file',
      keyFile,
      '--out',
      out,
    ]);
    assert.equal(p.code, 0, p.err);
    assert.match(p.out, /Assigned: cli-device on /);
    assert.ok(!p.out.includes(primaryKey));
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const cs = readFileSync(out, 'utf8').trim();
    assert.equal(
      cs,
      `HostName=${hub.deviceHost};DeviceId=cli-device;SharedAccessKey=${primaryKey}`,
    );
    const client = DeviceClient.fromConnectionString(cs, Mqtt);
    await client.setOptions({ ca: hub.tls.caCertPem });
    await client.open();
    await client.close();
    // a duplicate enrollment → exit 1
    const dup = await run([
      'hub',
      'enroll',
      'individual',
      '--registration-id',
      'cli-sym',
      '--symmetric-key',
      'auto',
      '--data',
      dataDir,
    ]);
    assert.equal(dup.code, 1);
  });

  it('enroll group + provision --group-key-file: derived key, JSON --out', async () => {
    const groupKey = Buffer.alloc(32, 3).toString('base64');
    const e = await run([
      'hub',
      'enroll',
      'group',
      '--name',
      'cli-group',
      '--symmetric-key',
      groupKey,
      '--data',
      dataDir,
    ]);
    assert.equal(e.code, 0, e.err);
    assert.ok(!e.out.includes(groupKey), 'a given key is not echoed');
    const keyFile = path.join(dir, 'group.key');
    writeFileSync(keyFile, groupKey);
    const out = path.join(dir, 'device.json');
    const p = await run([
      'provision',
      ...dps(),
      '--registration-id',
      'cli-member-1',
      '--group-key-file',
      keyFile,
      '--out',
      out,
      '--json',
    ]);
    assert.equal(p.code, 0, p.err);
    const saved = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string>;
    assert.equal(saved.deviceId, 'cli-member-1');
    assert.equal(saved.assignedHub, hub.deviceHost);
    assert.match(
      saved.connectionString!,
      new RegExp(
        `SharedAccessKey=${deriveGroupDeviceKey(groupKey, 'cli-member-1').replace(/[+/]/g, '.')}$`,
      ),
    );
    assert.equal(
      hub.core.registry.get('cli-member-1').primaryKey,
      deriveGroupDeviceKey(groupKey, 'cli-member-1'),
    );
  });

  it('enroll individual --cert-file + provision --cert/--key (registration id = CN)', async () => {
    const cert = mintDeviceCertificate({ deviceId: 'cli-x509' });
    const certFile = path.join(dir, 'dev.pem');
    const keyFile = path.join(dir, 'dev.key');
    writeFileSync(certFile, cert.certPem);
    writeFileSync(keyFile, cert.keyPem);
    const e = await run([
      'hub',
      'enroll',
      'individual',
      '--registration-id',
      'cli-x509',
      '--cert-file',
      certFile,
      '--data',
      dataDir,
    ]);
    assert.equal(e.code, 0, e.err);
    const out = path.join(dir, 'x509.json');
    const p = await run([
      'provision',
      ...dps(),
      '--cert',
      certFile,
      '--key',
      keyFile,
      '--out',
      out,
    ]);
    assert.equal(p.code, 0, p.err);
    const saved = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string>;
    assert.equal(saved.connectionString, `HostName=${hub.deviceHost};DeviceId=cli-x509;x509=true`);
    assert.equal(hub.core.registry.get('cli-x509').primaryThumbprint, cert.thumbprintSha256);
  });

  it('enroll list shows the enrollments, never keys', async () => {
    const l = await run(['hub', 'enroll', 'list', '--data', dataDir, '--json']);
    assert.equal(l.code, 0, l.err);
    const list = JSON.parse(l.out) as {
      individual: Array<Record<string, unknown>>;
      groups: unknown[];
    };
    assert.ok(
      list.individual.some((e) => e.registrationId === 'cli-sym' && e.deviceId === 'cli-device'),
    );
    for (const e of hub.enrollments.listIndividual()) {
      if (e.primaryKey) assert.ok(!l.out.includes(e.primaryKey));
    }
    assert.ok(!l.out.includes('primaryKey'));
  });

  it('refusals and usage errors', async () => {
    const keyFile = path.join(dir, 'wrong.key');
    writeFileSync(keyFile, Buffer.alloc(32, 5).toString('base64'));
    const wrong = await run([
      'provision',
      ...dps(),
      '--registration-id',
      'cli-sym',
      '--symmetric-key-file',
      keyFile,
    ]);
    assert.equal(wrong.code, 1, wrong.err);
    assert.match(wrong.err, /UnauthorizedError/);
    for (const argv of [
      ['provision', ...dps()],
      ['provision', ...dps(), '--symmetric-key-file', keyFile],
      ['provision', ...dps(), '--tpm-slot', '10'],
      ['provision', ...dps(), '--tpm-slot', '1', '--out', 'x.json'],
      ['provision', '--id-scope', 'x', '--symmetric-key-file', keyFile, '--registration-id', 'a'],
      [
        'hub',
        'enroll',
        'individual',
        '--registration-id',
        'Bad_ID',
        '--symmetric-key',
        'auto',
        '--data',
        dataDir,
      ],
      ['hub', 'enroll', 'individual', '--registration-id', 'x', '--data', dataDir],
      ['hub', 'enroll', 'individual', '--tpm-ek', 'AAAA', '--data', dataDir],
      ['hub', 'enroll', 'group', '--name', 'g', '--ca-cert', keyFile, '--data', dataDir],
      ['hub', 'enroll', 'bogus', '--data', dataDir],
    ]) {
      const r = await run(argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    }
  });

  it('iotdm hub --dps-port 0 serves the DPS and prints its endpoint and ID scope', async () => {
    const data = mkdtempSync(path.join(dir, 'hub-'));
    const out: string[] = [];
    let stop!: (signal: string) => void;
    let started!: () => void;
    const isStarted = new Promise<void>((r) => (started = r));
    const io: CliIo = {
      out: (t) => {
        out.push(t);
        started();
      },
      err: (t) => out.push(t),
    };
    const done = runHub(
      ['--data', data, '--mqtt-port', '0', '--https-port', '0', '--dps-port', '0', '--json'],
      io,
      { waitForStop: () => new Promise((resolve) => (stop = resolve)) },
    );
    await isStarted;
    const info = JSON.parse(out[0]!) as {
      ports: { dps: number };
      dps: { globalEndpoint: string; idScope: string };
    };
    assert.equal(info.dps.globalEndpoint, `localhost:${info.ports.dps}`);
    assert.match(info.dps.idScope, /^0ne[0-9A-F]{8}$/);
    // the same scope as the enrollments in that data folder
    const list = await run(['hub', 'enroll', 'list', '--data', data, '--json']);
    assert.equal((JSON.parse(list.out) as { idScope: string }).idScope, info.dps.idScope);
    stop('SIGTERM');
    assert.equal(await done, 0);
  });
});
