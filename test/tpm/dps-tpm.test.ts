/**
 * The full TPM DPS flow, from a blank swtpm (the fixture's manufacturer step creates the EK) to
 * `iotdm agent --tpm-slot 0` connected to the local hub with SAS tokens signed in the TPM:
 *
 *   iotdm tpm enrollment-info --format json  →  iotdm hub enroll --from FILE
 *   iotdm provision --tpm-slot 0 (real provisioning client, our TPM security client; the local
 *   DPS answers with the challenge, then the device key encrypted to the EK)
 *   iotdm agent --tpm-slot 0
 *
 * and the failures: a TPM that is not enrolled (exit 1, nothing stored), no TPM (exit 3); no
 * transient object or session is left in the TPM.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { runAgent } from '../../lib/cli/agent-command';
import type { CliIo } from '../../lib/cli/io';
import { main } from '../../lib/cli/main';
import { deviceResource, verifySasToken } from '../../lib/hub/auth/sas';
import type { LocalHub } from '../../lib/hub/hub';
import { getHandles } from '../../lib/tpm/commands';
import { LimpetTpm } from '../../lib/tpm/limpet';
import { TcpTpm } from '../../lib/tpm/tcp-transport';
import { startLocalHub } from '../hub/helpers/local-hub';
import { waitFor } from '../hub/helpers/mqtt-fixture';
import { startSwtpm, type SwtpmHandle } from './swtpm';

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(argv, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('TPM DPS flow: blank swtpm → iotdm provision → iotdm agent --tpm-slot', function () {
  this.timeout(60000);
  let sw: SwtpmHandle;
  let hub: LocalHub;
  let dataDir: string;
  let closeHub: () => Promise<void>;
  let dir: string;
  let tpmSpec: string;

  before(async () => {
    sw = await startSwtpm();
    tpmSpec = `tcp:${sw.host}:${sw.port}`;
    ({
      hub,
      dataDir,
      close: closeHub,
    } = await startLocalHub({
      dpsPort: 0,
      dps: { retryAfterSeconds: 0.05 },
    }));
    dir = mkdtempSync(path.join(os.tmpdir(), 'iotdm-dps-tpm-'));
  });
  after(async () => {
    await closeHub?.();
    await sw?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function withTpm<T>(fn: (limpet: LimpetTpm, channel: TcpTpm) => Promise<T>): Promise<T> {
    const channel = new TcpTpm({ host: sw.host, port: sw.port });
    try {
      return await fn(new LimpetTpm(channel), channel);
    } finally {
      await channel.close();
    }
  }

  const leftovers = (): Promise<number[]> =>
    withTpm(async (_l, c) => [
      ...(await getHandles(c, 0x80000000)),
      ...(await getHandles(c, 0x02000000)),
      ...(await getHandles(c, 0x03000000)),
    ]);

  const provisionArgs = (): string[] => [
    'provision',
    '--global-endpoint',
    hub.dpsEndpoint,
    '--id-scope',
    hub.dpsIdScope,
    '--tpm-slot',
    '0',
    '--tpm',
    tpmSpec,
    '--ca',
    hub.caPath,
    '--json',
  ];

  it('a TPM that is not enrolled: exit 1 (DPS 404), nothing stored in the slot', async () => {
    const r = await run(provisionArgs());
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /is this TPM enrolled/);
    assert.equal(await withTpm((l) => l.readUri(0)), undefined);
    assert.deepEqual(await leftovers(), []);
  });

  it('enrolled with another EK: DPS sends no challenge (401), exit 1, nothing stored', async () => {
    const { ek, registrationId } = await withTpm(async (l) => ({
      ek: (await l.endorsementKey()).tpm2bPublic,
      registrationId: await l.registrationId(),
    }));
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const n = Buffer.from(publicKey.export({ format: 'jwk' }).n as string, 'base64url');
    const foreign = Buffer.concat([ek.subarray(0, ek.length - 256), n]).toString('base64');
    const e = await run([
      'hub',
      'enroll',
      'individual',
      '--registration-id',
      registrationId,
      '--tpm-ek',
      foreign,
      '--data',
      dataDir,
    ]);
    assert.equal(e.code, 0, e.err);
    const r = await run(provisionArgs());
    assert.equal(r.code, 1, r.err);
    assert.equal(await withTpm((l) => l.readUri(0)), undefined);
    assert.equal(hub.core.registry.find(registrationId), undefined);
    assert.deepEqual(await leftovers(), []);
  });

  it('no TPM at --tpm: exit 3', async () => {
    const args = provisionArgs();
    args[args.indexOf('--tpm') + 1] = `tcp:127.0.0.1:${await closedPort()}`;
    const r = await run(args);
    assert.equal(r.code, 3, r.err);
  });

  it('enrollment-info → hub enroll --from → provision → agent connects with TPM-signed tokens', async () => {
    const info = await run(['tpm', 'enrollment-info', '--format', 'json', '--tpm', tpmSpec]);
    assert.equal(info.code, 0, info.err);
    const file = path.join(dir, 'enrollment.json');
    writeFileSync(file, info.out);
    const enrolled = await run(['hub', 'enroll', '--from', file, '--data', dataDir, '--json']);
    assert.equal(enrolled.code, 0, enrolled.err);
    const registrationId = await withTpm((l) => l.registrationId());
    assert.deepEqual((JSON.parse(enrolled.out) as { enrolled: string[] }).enrolled, [
      registrationId,
    ]);
    assert.equal(hub.enrollments.individual(registrationId)?.attestation, 'tpm');

    const p = await run(provisionArgs());
    assert.equal(p.code, 0, p.err);
    const result = JSON.parse(p.out) as { deviceId: string; assignedHub: string; storedIn: string };
    assert.equal(result.deviceId, registrationId);
    assert.equal(result.assignedHub, hub.deviceHost);
    assert.equal(result.storedIn, 'TPM slot 0');
    assert.equal(await withTpm((l) => l.readUri(0)), `${hub.deviceHost}/${registrationId}`);
    // The device exists in the hub with the key DPS sent (never printed by provision).
    const device = hub.core.registry.get(registrationId);
    assert.equal(device.authType, 'sas');
    assert.ok(!p.out.includes(device.primaryKey!) && !p.err.includes(device.primaryKey!));
    // The slot's key is the device's primary key: a TPM-made token verifies against it.
    const token = await withTpm((l) => l.sasToken(0, 600));
    assert.ok(
      verifySasToken(token.token, {
        target: deviceResource(hub.deviceHost, registrationId),
        primaryKey: device.primaryKey!,
      }).ok,
    );
    assert.deepEqual(await leftovers(), []);

    // iotdm agent --tpm-slot 0
    const logs: string[] = [];
    let stop!: (signal: string) => void;
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const io = capture();
    const done = runAgent(
      [
        '--tpm-slot',
        '0',
        '--tpm',
        tpmSpec,
        '--ca',
        hub.caPath,
        '--state-dir',
        path.join(dir, 'state'),
      ],
      io,
      {
        waitForStop: () => new Promise((resolve) => (stop = resolve)),
        writeLog: (l) => logs.push(l),
        onReady: ready,
      },
    );
    await Promise.race([
      isReady,
      done.then((c) => assert.fail(`agent exited ${c}: ${io.stderr.join('\n')}`)),
    ]);
    await waitFor(() => hub.core.registry.get(registrationId).connectionState === 'Connected');
    stop('SIGTERM');
    assert.equal(await done, 0, io.stderr.join('\n'));
    assert.ok(!logs.join('').includes(device.primaryKey!));
    assert.deepEqual(await leftovers(), []);
  });
});
