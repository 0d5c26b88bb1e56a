/**
 * `iotdm attest`: command-line checks, then the service against a LocalHub with the local HAS
 * (in process, stopped by the injected signal): it starts, answers a device's DHA-Nonce message
 * with windows.deviceHealthAttestationGetReport (the real device SDK receives it), and prints no
 * key.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as DeviceClient, Message } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { ATTEST_HELP, runAttest } from '../../lib/cli/attest-command';
import type { CliIo } from '../../lib/cli/io';
import { MAIN_HELP, main } from '../../lib/cli/main';
import { silentLogger } from '../../lib/dm/logger';
import { startLocalHub } from '../hub/helpers/local-hub';
import { waitFor } from '../hub/helpers/mqtt-fixture';

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

describe('iotdm attest', function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-attest-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is listed in the main help and prints its own', async () => {
    assert.match(MAIN_HELP, /attest/);
    const io = capture();
    assert.equal(await main(['attest', '--help'], io), 0);
    assert.equal(io.stdout[0], ATTEST_HELP);
  });

  it('refuses bad command lines (exit 2)', async () => {
    const cs = 'HostName=localhost:1;SharedAccessKeyName=service;SharedAccessKey=a2V5';
    const policy = path.join(dir, 'bad.json');
    writeFileSync(policy, '{"rules": [{"name": "x"}]}');
    const saved = process.env.IOTHUB_CONNECTION_STRING;
    delete process.env.IOTHUB_CONNECTION_STRING;
    try {
      for (const [args, why] of [
        [[], /--hub-connection-string is required/],
        [['--hub-connection-string', 'HostName=x'], /needs HostName/],
        [['--hub-connection-string', cs, '--local-has', '--has-url', 'http://x'], /exclude/],
        [['--hub-connection-string', cs, '--has-url', 'ftp://x'], /http\(s\) URL/],
        [['--hub-connection-string', cs, '--log-level', 'loud'], /--log-level/],
        [['--hub-connection-string', cs, '--policy', policy], /rules\[0\]\.when/],
        [['--hub-connection-string', cs, '--after', '-3'], /--after/],
        [['--nope'], /Unknown option/],
      ] as const) {
        const io = capture();
        assert.equal(await runAttest([...args], io), 2, args.join(' '));
        assert.match(io.stderr.join('\n'), why);
        assert.doesNotMatch(io.stderr.join('\n'), /a2V5/);
      }
    } finally {
      if (saved !== undefined) process.env.IOTHUB_CONNECTION_STRING = saved;
    }
  });

  it('runs against a local hub: a DHA-Nonce message is answered with GetReport', async () => {
    const { hub, close } = await startLocalHub();
    const device = DeviceClient.fromConnectionString(
      (hub.core.registry.create('cli-dha'), hub.deviceConnectionString('cli-dha')),
      Mqtt,
    );
    try {
      await device.setOptions({ ca: hub.tls.caCertPem });
      await device.open();
      const nonces: string[] = [];
      device.onDeviceMethod('windows.deviceHealthAttestationGetReport', (req, res) => {
        nonces.push((req.payload as { Nonce: string }).Nonce);
        void res.send(200, { response: 'succeeded', reason: '' });
      });
      await waitFor(() => hub.mqtt.isConnected('cli-dha'), 5000, 'device connected');
      let stop!: (s: string) => void;
      const stopped = new Promise<string>((r) => (stop = r));
      let hasUrl: string | undefined;
      const io = capture();
      const db = path.join(dir, 'attest.db');
      const ca = path.join(dir, 'ca.pem');
      writeFileSync(ca, hub.tls.caCertPem);
      const run = runAttest(
        [
          '--hub-connection-string',
          hub.connectionString,
          '--hub-ca',
          ca,
          '--local-has',
          '--db',
          db,
        ],
        io,
        {
          waitForStop: () => stopped,
          logger: silentLogger(),
          onStarted: (_s, info) => (hasUrl = info.hasUrl),
        },
      );
      await waitFor(() => io.stdout.length > 0, 5000, 'started');
      assert.match(io.stdout[0]!, /Attestation service running/);
      assert.match(hasUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/DeviceHealthAttestation\//);
      const m = new Message('{}');
      m.properties.add('MessageType', 'DHA-Nonce');
      await device.sendEvent(m);
      await waitFor(() => nonces.length === 1, 10000, 'GetReport invoked');
      assert.match(nonces[0]!, /^[0-9a-f]{32}$/);
      stop('SIGTERM');
      assert.equal(await run, 0);
      assert.ok(existsSync(db));
      const key = hub.core.registry.policy('iothubowner')!.primaryKey;
      assert.doesNotMatch(
        [...io.stdout, ...io.stderr].join('\n'),
        new RegExp(key.replace(/[+/=]/g, '.')),
      );
    } finally {
      await device.close().catch(() => undefined);
      await close();
    }
  });
});
