/**
 * `iotdm tpm` against swtpm (`--tpm tcp:...` and `--tpm socket:...`): every subcommand in text
 * and JSON, EK/SRK in PEM and base64 (the PEM matching the public area), the DPS enrollment formats,
 * import from a file / the environment, HMAC keys, SAS tokens verified with the key, clear with
 * and without confirmation; usage errors (exit 2), TPM errors (1, with the TPM_RC name), no TPM
 * (3); the command as a child process. The key is never printed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT, type CliIo } from '../../lib/cli/io';
import { MAIN_HELP, main } from '../../lib/cli/main';
import { TPM_HELP, runTpm, type TpmCommandDeps } from '../../lib/cli/tpm-command';
import { parseTpmSpec } from '../../lib/cli/tpm-select';
import { loadAddon } from '../../lib/native/load';
import { startSwtpm, type SwtpmHandle } from '../tpm/swtpm';

function capture(): CliIo & { stdout: string[]; stderr: string[]; all(): string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (t) => stdout.push(t),
    err: (t) => stderr.push(t),
    all: () => stdout.join('\n') + stderr.join('\n'),
  };
}

const KEY = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
const CS = `HostName=hub.example.net;DeviceId=dev-1;SharedAccessKey=${KEY}`;

describe('iotdm tpm', function () {
  this.timeout(60000);
  let tpm: SwtpmHandle;
  let dir: string;
  let spec: string;
  const everything: string[] = [];

  const run = async (
    args: string[],
    deps: TpmCommandDeps = {},
  ): Promise<{ code: number; out: string; err: string }> => {
    const io = capture();
    const code = await runTpm([...args, '--tpm', spec], io, { env: {}, ...deps });
    everything.push(io.all());
    return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
  };
  const json = async (args: string[], deps: TpmCommandDeps = {}): Promise<unknown> => {
    const r = await run([...args, '--json'], deps);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    return JSON.parse(r.out) as unknown;
  };

  before(async () => {
    tpm = await startSwtpm();
    spec = `tcp:${tpm.host}:${tpm.port}`;
    dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-tpm-cli-'));
  });
  after(async () => {
    await tpm?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    // The key never appears in anything printed, in any test.
    const printed = everything.join('\n');
    assert.ok(!printed.includes(KEY), 'the key was printed');
    assert.ok(!printed.includes(KEY.slice(0, 16)), 'part of the key was printed');
  });

  it('is listed in the main help; help and bad command lines', async () => {
    assert.match(MAIN_HELP, /\n {2}tpm {6}the TPM/);
    let io = capture();
    assert.equal(await main(['tpm', '--help'], io), EXIT.ok);
    assert.equal(io.stdout[0], TPM_HELP);
    io = capture();
    assert.equal(await main(['tpm'], io), EXIT.usage);
    const cases: Array<[string[], RegExp]> = [
      [['bogus'], /unknown subcommand "bogus"/],
      [['uri', 'read', '10'], /slot must be 0-9, not "10"/],
      [['uri', 'read', '-1'], /Unknown option|slot must be/],
      [['uri', 'store', '1'], /uri store needs <slot> <uri>/],
      [['uri', 'list', '1'], /uri needs store, read or destroy/],
      [['destroy', 'x'], /slot must be 0-9/],
      [['destroy'], /a slot number is required/],
      [['ek', '--format', 'der'], /--format must be pem, base64/],
      [['enrollment-info', '--format', 'xml'], /--format must be json, csv, txt/],
      [['sas', '0', '--validity', '0'], /--validity must be/],
      [['import', '0'], /import needs a device connection string/],
      [['hmac-key', 'create', '0'], /needs --key-file/],
      [['hmac-key', 'create', '0', '--key-file', path.join(os.tmpdir(), 'nope-k')], /ENOENT/],
      [['info', 'extra'], /unexpected argument "extra"/],
      [['clear'], /give --yes/],
      [['info', '--nope'], /Unknown option '--nope'/],
    ];
    io = capture();
    assert.equal(await runTpm(['info', '--tpm', 'carrier-pigeon'], io), EXIT.usage);
    assert.match(io.stderr[0]!, /--tpm must be tbs, device\[:path\], tcp:host:port or socket:path/);
    for (const [argv, message] of cases) {
      const r = await run(argv, { isTTY: false });
      assert.equal(r.code, EXIT.usage, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, message, argv.join(' '));
    }
  });

  it('parses --tpm specs', () => {
    assert.deepEqual(parseTpmSpec(undefined), { kind: 'native' });
    assert.deepEqual(parseTpmSpec('tbs'), { kind: 'tbs' });
    assert.deepEqual(parseTpmSpec('device'), { kind: 'device' });
    assert.deepEqual(parseTpmSpec('device:/dev/tpm0'), { kind: 'device', path: '/dev/tpm0' });
    assert.deepEqual(parseTpmSpec('tcp:127.0.0.1:2321'), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 2321,
    });
    assert.deepEqual(parseTpmSpec('tcp:[::1]:2321'), { kind: 'tcp', host: '::1', port: 2321 });
    assert.deepEqual(parseTpmSpec('socket:/run/s'), { kind: 'socket', path: '/run/s' });
    for (const bad of ['tcp:h', 'tcp:h:0', 'tcp:h:70000', 'tcp::1', 'socket:', 'device:', 'x']) {
      assert.throws(() => parseTpmSpec(bad), /--tpm must be/, bad);
    }
  });

  it('info, ek, srk, regid, enrollment-info (text, json, pem, base64, --out)', async () => {
    const info = (await json(['info'])) as { family: string; manufacturer: string };
    assert.equal(info.family, '2.0');
    assert.equal(info.manufacturer, 'IBM');
    assert.match((await run(['info'])).out, /^Manufacturer: +IBM$/m);

    const pem = (await run(['ek'])).out;
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----/);
    const ekKey = createPublicKey(pem);
    assert.equal(ekKey.asymmetricKeyType, 'rsa');
    const b64 = (await run(['ek', '--format', 'base64'])).out;
    const tpm2b = Buffer.from(b64, 'base64');
    assert.equal(tpm2b.readUInt16BE(0), tpm2b.length - 2);
    // The PEM is the key of the public area (an RSA-2048 EK ends with its modulus).
    const n = Buffer.from(ekKey.export({ format: 'jwk' }).n!, 'base64url');
    assert.equal(n.length, 256);
    assert.deepEqual(tpm2b.subarray(-256), n);
    const ekJson = (await json(['ek'])) as { tpm2bPublic: string; handle: string; pem: string };
    assert.equal(ekJson.tpm2bPublic, b64);
    assert.equal(ekJson.handle, '0x81010001');

    const out = path.join(dir, 'srk.pem');
    const w = await run(['srk', '--out', out]);
    assert.equal(w.code, 0, w.err);
    assert.match(w.out, /Written to/);
    assert.equal(createPublicKey(readFileSync(out, 'utf8')).asymmetricKeyType, 'rsa');
    assert.notEqual(readFileSync(out, 'utf8'), pem);

    const regid = (await run(['regid'])).out;
    assert.match(regid, /^[a-z2-7]{52}$/);
    assert.deepEqual(await json(['regid']), { registrationId: regid });

    const bulk = await json(['enrollment-info']);
    assert.deepEqual(bulk, [
      { attestation: { type: 'tpm', tpm: { endorsementKey: b64 } }, registrationId: regid },
    ]);
    assert.deepEqual(JSON.parse((await run(['enrollment-info'])).out), bulk);
    assert.equal(
      (await run(['enrollment-info', '--format', 'csv'])).out,
      `registrationId,endorsementKey\n${regid},${b64}`,
    );
    assert.equal(
      (await run(['enrollment-info', '--format', 'txt'])).out,
      `Registration Id: ${regid}\nEndorsement Key: ${b64}`,
    );
  });

  it('uri store/read/destroy, list', async () => {
    let r = await run(['uri', 'store', '3', 'hub.example.net/dev-3']);
    assert.equal(r.code, 0, r.err);
    assert.equal((await run(['uri', 'read', '3'])).out, 'hub.example.net/dev-3');
    assert.deepEqual(await json(['uri', 'read', '3']), { slot: 3, uri: 'hub.example.net/dev-3' });
    assert.deepEqual(await json(['list']), {
      slots: [{ slot: 3, hasHmacKey: false, uri: 'hub.example.net/dev-3' }],
    });
    assert.match((await run(['list'])).out, /^3 +no key +hub\.example\.net\/dev-3$/m);
    r = await run(['uri', 'store', '3', 'not a uri']);
    assert.equal(r.code, EXIT.usage, r.err);
    assert.equal((await run(['uri', 'destroy', '3'])).code, 0);
    r = await run(['uri', 'read', '3']);
    assert.equal(r.code, 1);
    assert.match(r.out, /Slot 3: no URI/);
    assert.equal((await run(['list'])).out, 'No slot in use');
  });

  it('import (file, environment, --connection-string), sas verified with the key, destroy', async () => {
    const file = path.join(dir, 'dev.cs');
    writeFileSync(file, `  ${CS}\n`);
    let r = await run(['import', '0', '--connection-string-file', file]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /Slot 0: key and URI imported from --connection-string-file .* \(hub\.example\.net\/dev-1\)/,
    );
    r = await run(['import', '1'], {
      env: { IOTDM_CONNECTION_STRING: CS.replace('dev-1', 'dev-2') },
    });
    assert.equal(r.code, 0, r.err);
    r = await run(['import', '2', '--connection-string', CS.replace('dev-1', 'dev-3')]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(await json(['list']), {
      slots: [
        { slot: 0, hasHmacKey: true, uri: 'hub.example.net/dev-1' },
        { slot: 1, hasHmacKey: true, uri: 'hub.example.net/dev-2' },
        { slot: 2, hasHmacKey: true, uri: 'hub.example.net/dev-3' },
      ],
    });

    const sas = (await json(['sas', '0', '--validity', '120'])) as {
      token: string;
      expiry: number;
      expiresAt: string;
    };
    const now = Math.floor(Date.now() / 1000);
    assert.ok(sas.expiry > now + 100 && sas.expiry <= now + 121, String(sas.expiry));
    const sr = encodeURIComponent('hub.example.net/devices/dev-1');
    const sig = createHmac('sha256', Buffer.from(KEY, 'base64'))
      .update(`${sr}\n${sas.expiry}`)
      .digest('base64');
    assert.equal(
      sas.token,
      `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${sas.expiry}`,
    );
    const text = (await run(['sas', '1'])).out;
    assert.match(text, /^SharedAccessSignature sr=hub\.example\.net%2Fdevices%2Fdev-2&sig=/);
    const cs = (await run(['sas', '2', '--connection-string'])).out;
    assert.match(
      cs,
      /^HostName=hub\.example\.net;DeviceId=dev-3;SharedAccessSignature=SharedAccessSignature sr=/,
    );
    const csJson = (await json(['--connection-string', 'sas', '2'])) as Record<string, unknown>;
    assert.match(String(csJson.connectionString), /^HostName=hub\.example\.net;DeviceId=dev-3;/);

    // A malformed connection string: usage error, nothing echoed.
    r = await run(['import', '4', '--connection-string', `HostName=h;SharedAccessKey=${KEY}`]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /no DeviceId/);

    assert.equal((await run(['destroy', '1'])).code, 0);
    assert.equal((await run(['hmac-key', 'evict', '2'])).code, 0);
    assert.deepEqual(await json(['list']), {
      slots: [
        { slot: 0, hasHmacKey: true, uri: 'hub.example.net/dev-1' },
        { slot: 2, hasHmacKey: false, uri: 'hub.example.net/dev-3' },
      ],
    });
    // No key in slot 2 any more: a TPM error, named.
    r = await run(['sas', '2']);
    assert.equal(r.code, 1);
    assert.match(r.err, /^iotdm tpm sas: TPM_RC_HANDLE: Slot 2 has no HMAC key/);
    r = await run(['sas', '1']);
    assert.equal(r.code, 1);
    assert.match(r.err, /NO_URI: Slot 1 has no service URI/);
  });

  it('hmac-key create from a base64 or raw key file', async () => {
    const b64File = path.join(dir, 'key.b64');
    writeFileSync(b64File, KEY + '\n');
    let r = await run(['hmac-key', 'create', '5', '--key-file', b64File]);
    assert.equal(r.code, 0, r.err);
    assert.equal((await run(['uri', 'store', '5', 'h.example/d5'])).code, 0);
    const sas = (await json(['sas', '5'])) as { token: string; expiry: number };
    const sr = encodeURIComponent('h.example/devices/d5');
    const sig = createHmac('sha256', Buffer.from(KEY, 'base64'))
      .update(`${sr}\n${sas.expiry}`)
      .digest('base64');
    assert.ok(sas.token.includes(`sig=${encodeURIComponent(sig)}&`));

    const rawFile = path.join(dir, 'key.bin');
    writeFileSync(rawFile, Buffer.from([0, 1, 2, 250, 251, 252]));
    r = await run(['hmac-key', 'create', '6', '--key-file', rawFile]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /is not base64 text/);
    r = await run(['hmac-key', 'create', '6', '--key-file', rawFile, '--key-format', 'raw']);
    assert.equal(r.code, 0, r.err);
    assert.equal(((await json(['list'])) as { slots: Array<{ slot: number }> }).slots.length, 4);
  });

  it('clear: refused on a terminal when not confirmed, done with --yes or a yes', async () => {
    let asked = '';
    let r = await run(['clear'], {
      isTTY: true,
      confirm: (q) => {
        asked = q;
        return Promise.resolve(false);
      },
    });
    assert.equal(r.code, 1);
    assert.match(asked, /Clear the TPM\?/);
    assert.match(r.out, /Not cleared/);
    assert.ok(((await json(['list'])) as { slots: unknown[] }).slots.length > 0);
    r = await run(['clear'], { isTTY: true, confirm: () => Promise.resolve(true) });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(await json(['list']), { slots: [] });
    assert.deepEqual(await json(['clear', '--yes']), { ok: true, cleared: true });
  });

  it('over a Unix socket too; no TPM reachable exits 3', async () => {
    const sock = await startSwtpm({ unixSocket: true });
    try {
      const io = capture();
      assert.equal(await runTpm(['regid', '--tpm', `socket:${sock.socketPath!}`], io), 0);
      assert.match(io.stdout[0]!, /^[a-z2-7]{52}$/);
    } finally {
      await sock.stop();
    }
    const io = capture();
    assert.equal(await runTpm(['info', '--tpm', 'tcp:127.0.0.1:1'], io), EXIT.unavailable);
    assert.match(io.stderr[0]!, /^iotdm tpm info: no TPM: /);
    const env = capture();
    assert.equal(
      await runTpm(['info'], env, { env: { IOTDM_TPM: 'socket:/nonexistent/tpm.sock' } }),
      EXIT.unavailable,
    );
    if (process.platform !== 'win32') {
      const tbs = capture();
      assert.equal(await runTpm(['info', '--tpm', 'tbs'], tbs), EXIT.unavailable);
      assert.match(tbs.stderr[0]!, /only on Windows/);
    }
  });

  it('through the addon channel: --tpm device:<simulator socket>, $IOTDM_TPM', async function () {
    let hasTpm: boolean;
    try {
      hasTpm = typeof (loadAddon() as { openTpm?: unknown }).openTpm === 'function';
    } catch {
      hasTpm = false;
    }
    // The addon is built by CI (npm run build:native); an older build has no TPM channel.
    if (!hasTpm) this.skip();
    const sock = await startSwtpm({ unixSocket: true });
    try {
      let io = capture();
      assert.equal(await runTpm(['regid', '--tpm', `device:${sock.socketPath!}`], io), 0);
      assert.match(io.stdout[0]!, /^[a-z2-7]{52}$/);
      io = capture();
      const env = { IOTDM_TPM: `device:${sock.socketPath!}` };
      assert.equal(await runTpm(['info', '--json'], io, { env }), 0);
      assert.equal((JSON.parse(io.stdout[0]!) as { family: string }).family, '2.0');
    } finally {
      await sock.stop();
    }
    const io = capture();
    assert.equal(await runTpm(['info', '--tpm', 'device:/nonexistent/tpm'], io), EXIT.unavailable);
    assert.match(io.stderr[0]!, /no TPM: .*ENOENT/);
  });

  it('as a child process (iotdm tpm through main)', () => {
    const main = path.join(__dirname, '../../lib/cli/main.ts');
    const env = { ...process.env, IOTDM_TPM: spec };
    const ok = spawnSync(process.execPath, ['--import', 'tsx', main, 'tpm', 'regid', '--json'], {
      env,
      encoding: 'utf8',
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(
      (JSON.parse(ok.stdout) as { registrationId: string }).registrationId,
      /^[a-z2-7]{52}$/,
    );
    const bad = spawnSync(process.execPath, ['--import', 'tsx', main, 'tpm', 'destroy', '10'], {
      env,
      encoding: 'utf8',
    });
    assert.equal(bad.status, EXIT.usage);
    assert.match(bad.stderr, /slot must be 0-9/);
  });
});
