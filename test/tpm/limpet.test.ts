/**
 * LimpetTpm against swtpm: EK and registration id as tpm2-tools compute them, TPM HMAC against
 * node:crypto, the NV URI store, slots, refused inputs (slot 10, an NV index someone else
 * defined, malformed blobs, no TPM) with the TPM state left consistent, TPM2_Clear.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { InvalidArgumentError, TpmError, TpmUnavailableError } from '../../lib/errors';
import { HMAC_KEY_BASE, SRK_HANDLE, URI_NV_BASE } from '../../lib/tpm/api';
import {
  activateCredential,
  getHandles,
  importObject,
  load,
  nvReadPublic,
  readPublic,
} from '../../lib/tpm/commands';
import { LimpetTpm } from '../../lib/tpm/limpet';
import { base32LowerUnpadded, objectName } from '../../lib/tpm/structures';
import { TcpTpm } from '../../lib/tpm/tcp-transport';
import { startSwtpm, type SwtpmHandle } from './swtpm';

const execFileAsync = promisify(execFile);

async function tool(tpm: SwtpmHandle, cmd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(cmd, args, {
    env: { ...process.env, TPM2TOOLS_TCTI: tpm.tcti },
    cwd: tpm.stateDir,
  });
  return stdout;
}

/** The handles of `handles` that fall in the 10 slots from `base`. */
function inSlots(handles: number[], base: number): number[] {
  return handles.filter((h) => h >= base && h < base + 10);
}

/** No transient objects, sequences or sessions left in the TPM. */
async function assertNoTransients(channel: TcpTpm): Promise<void> {
  assert.deepEqual(await getHandles(channel, 0x80000000), [], 'transient objects');
  assert.deepEqual(await getHandles(channel, 0x02000000), [], 'loaded sessions');
  assert.deepEqual(await getHandles(channel, 0x03000000), [], 'saved sessions');
}

describe('tpm/limpet (swtpm)', function () {
  this.timeout(60000);
  let sim: SwtpmHandle;
  let channel: TcpTpm;
  let limpet: LimpetTpm;

  beforeEach(async () => {
    sim = await startSwtpm();
    channel = new TcpTpm({ host: sim.host, port: sim.port });
    limpet = new LimpetTpm(channel);
  });
  afterEach(async () => {
    await channel?.close();
    await sim?.stop();
  });

  /** swtpm serves one connection at a time: tpm2-tools run while our channel is closed. */
  async function withTools<T>(run: () => Promise<T>): Promise<T> {
    await channel.close();
    try {
      return await run();
    } finally {
      channel = new TcpTpm({ host: sim.host, port: sim.port });
      limpet = new LimpetTpm(channel);
    }
  }

  it('EK PEM and registration id equal what tpm2-tools computes', async () => {
    const ek = await limpet.endorsementKey();
    const regId = await limpet.registrationId();
    const { pem, tpm2b } = await withTools(async () => {
      await tool(sim, 'tpm2_readpublic', ['-c', '0x81010001', '-f', 'pem', '-o', 'ek.pem']);
      await tool(sim, 'tpm2_readpublic', ['-c', '0x81010001', '-o', 'ek.pub']);
      return {
        pem: readFileSync(path.join(sim.stateDir, 'ek.pem'), 'utf8'),
        tpm2b: readFileSync(path.join(sim.stateDir, 'ek.pub')),
      };
    });
    assert.equal(ek.pem.trim(), pem.trim());
    assert.deepEqual(ek.tpm2bPublic, tpm2b);
    assert.deepEqual(ek.publicArea, tpm2b.subarray(2));
    assert.equal(regId, base32LowerUnpadded(createHash('sha256').update(tpm2b).digest()));
    assert.match(regId, /^[a-z2-7]{52}$/);
    assert.deepEqual(ek.name, (await readPublic(channel, 0x81010001)).name);
  });

  it('creates and persists the SRK once, and reports TPM info', async () => {
    const first = await limpet.storageRootKey();
    const again = await limpet.storageRootKey();
    assert.equal(first.pem, again.pem);
    assert.deepEqual(first.name, objectName(first.publicArea));
    assert.deepEqual((await readPublic(channel, SRK_HANDLE)).name, first.name);
    const info = await limpet.info();
    assert.equal(info.family, '2.0');
    assert.equal(info.manufacturer, 'IBM');
    assert.ok(info.revision > 1);
    assert.equal(info.disableClear, false);
    assert.equal(info.inLockout, false);
    await assertNoTransients(channel);
  });

  it('HMAC in the TPM equals node:crypto for short, 1024, 1025 and 5000-byte data', async () => {
    const key = randomBytes(32);
    await limpet.createHmacKey(2, key);
    for (const n of [0, 1, 100, 1024, 1025, 2048, 5000]) {
      const data = randomBytes(n);
      assert.deepEqual(
        await limpet.hmac(2, data),
        createHmac('sha256', key).update(data).digest(),
        `${n} bytes`,
      );
    }
    await assertNoTransients(channel);
  });

  it('createHmacKey replaces the slot key; evict and HMAC on an empty slot is a typed error', async () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(64);
    await limpet.createHmacKey(4, k1);
    await limpet.createHmacKey(4, k2);
    const data = Buffer.from('payload');
    assert.deepEqual(await limpet.hmac(4, data), createHmac('sha256', k2).update(data).digest());
    await limpet.evictHmacKey(4);
    await limpet.evictHmacKey(4); // absent: nothing to do
    await assert.rejects(limpet.hmac(4, data), (e: unknown) => {
      assert.ok(e instanceof TpmError);
      assert.equal(e.rcName, 'TPM_RC_HANDLE');
      assert.match(e.message, /Slot 4 has no HMAC key/);
      assert.ok(!e.message.includes(k2.toString('base64')));
      return true;
    });
    await assert.rejects(limpet.createHmacKey(4, Buffer.alloc(0)), InvalidArgumentError);
    await assert.rejects(limpet.createHmacKey(4, Buffer.alloc(129)), InvalidArgumentError);
    await assertNoTransients(channel);
  });

  it('stores, reads, replaces and destroys service URIs in NV (Limpet attributes)', async () => {
    assert.equal(await limpet.readUri(0), undefined);
    await limpet.storeUri(0, 'hub.example.net/dev1');
    assert.equal(await limpet.readUri(0), 'hub.example.net/dev1');
    const pub = await nvReadPublic(channel, URI_NV_BASE);
    assert.equal(pub.attributes & 0x02040004, 0x02040004);
    const long = `hub.example.net/${'d'.repeat(600)}/module-1`;
    await limpet.storeUri(0, long); // > TPM_PT_NV_BUFFER_MAX? chunked either way
    assert.equal(await limpet.readUri(0), long);
    await limpet.storeUri(9, 'other.example.net/dev9/m');
    const slots = await limpet.listSlots();
    assert.equal(slots.length, 10);
    assert.deepEqual(slots[0], { slot: 0, uri: long, hasHmacKey: false });
    assert.deepEqual(slots[9], { slot: 9, uri: 'other.example.net/dev9/m', hasHmacKey: false });
    assert.deepEqual(slots[5], { slot: 5, hasHmacKey: false });
    await limpet.destroyUri(0);
    await limpet.destroyUri(0);
    assert.equal(await limpet.readUri(0), undefined);
    await assert.rejects(limpet.storeUri(1, 'no-device-part'), InvalidArgumentError);
    await assert.rejects(limpet.storeUri(1, `h/${'x'.repeat(2000)}`), InvalidArgumentError);
    await assert.rejects(limpet.storeUri(1, ''), InvalidArgumentError);
  });

  it('the NV store agrees with tpm2_nvread', async () => {
    await limpet.storeUri(3, 'hub.example.net/dev3');
    const out = await withTools(async () => {
      await tool(sim, 'tpm2_nvread', ['0x1400103', '-o', 'uri.bin']);
      return readFileSync(path.join(sim.stateDir, 'uri.bin'), 'utf8');
    });
    assert.equal(out, 'hub.example.net/dev3');
  });

  it('slot 10 (and -1, 1.5) is refused everywhere before touching the TPM', async () => {
    const calls: Array<() => Promise<unknown>> = [
      () => limpet.storeUri(10, 'h/d'),
      () => limpet.readUri(10),
      () => limpet.destroyUri(10),
      () => limpet.createHmacKey(10, Buffer.alloc(32)),
      () => limpet.hmac(10, Buffer.alloc(1)),
      () => limpet.evictHmacKey(10),
      () => limpet.importConnectionString(10, 'HostName=h;DeviceId=d;SharedAccessKey=AAAA'),
      () => limpet.sasToken(10, 60),
      () => limpet.destroySlot(10),
      () => limpet.readUri(-1),
      () => limpet.readUri(1.5),
    ];
    for (const call of calls) {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError);
        assert.equal(e.code, 'ERR_INVALID_ARG');
        assert.match(e.message, /slot 0-9/);
        return true;
      });
    }
    assert.deepEqual(inSlots(await getHandles(channel, URI_NV_BASE), URI_NV_BASE), []);
  });

  it('an NV index defined by someone else is a typed error and is left as it was', async () => {
    await withTools(() =>
      tool(sim, 'tpm2_nvdefine', [
        '0x1400105',
        '-C',
        'o',
        '-s',
        '32',
        '-a',
        'ownerread|ownerwrite',
      ]),
    );
    const before = await nvReadPublic(channel, URI_NV_BASE + 5);
    for (const call of [
      () => limpet.storeUri(5, 'hub.example.net/dev5'),
      () => limpet.destroyUri(5),
      () => limpet.readUri(5),
    ]) {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof TpmError);
        assert.equal(e.rcName, 'TPM_RC_NV_DEFINED');
        assert.match(e.message, /0x1400105 is already defined with other attributes/);
        return true;
      });
    }
    assert.deepEqual(await nvReadPublic(channel, URI_NV_BASE + 5), before);
    // The other slots still work, and listSlots reports slot 5 without a URI.
    await limpet.storeUri(6, 'hub.example.net/dev6');
    const slots = await limpet.listSlots();
    assert.deepEqual(slots[5], { slot: 5, hasHmacKey: false });
    assert.equal(slots[6]?.uri, 'hub.example.net/dev6');
    await assertNoTransients(channel);
  });

  it('malformed or wrong blobs are TpmErrors and leave no transient handles', async () => {
    await limpet.storageRootKey();
    const ek = await limpet.endorsementKey();
    // Load: garbage private, a public area that does not parse.
    await assert.rejects(
      load(channel, SRK_HANDLE, randomBytes(64), ek.publicArea),
      (e: unknown) => e instanceof TpmError && e.rc !== 0 && e.command === 'TPM2_Load',
    );
    await assert.rejects(
      load(channel, SRK_HANDLE, randomBytes(64), randomBytes(20)),
      (e: unknown) => e instanceof TpmError && e.rc !== 0,
    );
    // Import: a duplicate that is not one.
    await assert.rejects(
      importObject(channel, SRK_HANDLE, {
        encryptionKey: randomBytes(16),
        objectPublic: ek.publicArea,
        duplicate: randomBytes(80),
        inSymSeed: randomBytes(256),
      }),
      (e: unknown) => e instanceof TpmError && e.rc !== 0 && e.command === 'TPM2_Import',
    );
    // ActivateCredential: a credential blob and secret that do not decrypt.
    await assert.rejects(
      activateCredential(channel, {
        activateHandle: SRK_HANDLE,
        keyHandle: 0x81010001,
        credentialBlob: randomBytes(66),
        secret: randomBytes(256),
      }),
      (e: unknown) =>
        e instanceof TpmError && e.rc !== 0 && e.command === 'TPM2_ActivateCredential',
    );
    await assertNoTransients(channel);
  });

  it('ActivateCredential recovers a secret tpm2_makecredential bound to the EK and the SRK', async () => {
    const srk = await limpet.storageRootKey();
    const ek = await limpet.endorsementKey();
    const secret = randomBytes(32);
    const blob = await withTools(async () => {
      const dir = sim.stateDir;
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path.join(dir, 'ek.pem'), ek.pem);
      writeFileSync(path.join(dir, 'secret.bin'), secret);
      writeFileSync(path.join(dir, 'srk.name'), srk.name);
      await execFileAsync(
        'tpm2_makecredential',
        [
          '-T',
          'none',
          '-e',
          'ek.pem',
          '-G',
          'rsa',
          '-s',
          'secret.bin',
          '-n',
          srk.name.toString('hex'),
          '-o',
          'cred.out',
        ],
        { cwd: dir },
      );
      return readFileSync(path.join(dir, 'cred.out'));
    });
    // tpm2-tools credential file: magic 0xBADCC0DE, version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET.
    assert.equal(blob.readUInt32BE(0), 0xbadcc0de);
    let at = 8;
    const credLen = blob.readUInt16BE(at);
    const credentialBlob = blob.subarray(at + 2, at + 2 + credLen);
    at += 2 + credLen;
    const secLen = blob.readUInt16BE(at);
    const encrypted = blob.subarray(at + 2, at + 2 + secLen);
    const recovered = await activateCredential(channel, {
      activateHandle: SRK_HANDLE,
      keyHandle: 0x81010001,
      credentialBlob,
      secret: encrypted,
    });
    assert.deepEqual(recovered, secret);
    await assertNoTransients(channel);
  });

  it('importConnectionString + sasToken: Limpet-shaped token signed in the TPM', async () => {
    const key = randomBytes(32).toString('base64');
    await limpet.importConnectionString(
      1,
      `HostName=hub.example.net;DeviceId=dev 1;ModuleId=mod;SharedAccessKey=${key}`,
    );
    assert.equal(await limpet.readUri(1), 'hub.example.net/dev 1/mod');
    const now = 1_800_000_000;
    const sas = await limpet.sasToken(1, 3600, now);
    const sr = 'hub.example.net%2Fdevices%2Fdev%201%2Fmodules%2Fmod';
    const sig = createHmac('sha256', Buffer.from(key, 'base64'))
      .update(`${sr}\n${now + 3600}`)
      .digest('base64');
    assert.equal(sas.expiry, now + 3600);
    assert.equal(
      sas.token,
      `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${now + 3600}`,
    );
    assert.equal(
      sas.connectionString,
      `HostName=hub.example.net;DeviceId=dev 1;ModuleId=mod;SharedAccessSignature=${sas.token}`,
    );
    const slots = await limpet.listSlots();
    assert.deepEqual(slots[1], { slot: 1, uri: 'hub.example.net/dev 1/mod', hasHmacKey: true });
    await limpet.destroySlot(1);
    assert.deepEqual((await limpet.listSlots())[1], { slot: 1, hasHmacKey: false });
    await assert.rejects(
      limpet.sasToken(1, 60),
      (e: unknown) => e instanceof TpmError && /no service URI/.test(e.message),
    );
    await assert.rejects(limpet.sasToken(1, 0), InvalidArgumentError);
    for (const bad of [
      'HostName=h;SharedAccessKey=AAAA',
      'HostName=h;DeviceId=d',
      'HostName=h;DeviceId=d;SharedAccessKeyName=p;SharedAccessKey=AAAA',
      'HostName=h;DeviceId=d;SharedAccessKey=not*base64',
      'garbage',
    ]) {
      await assert.rejects(limpet.importConnectionString(2, bad), (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError);
        assert.ok(!e.message.includes('AAAA'));
        return true;
      });
    }
    assert.deepEqual(inSlots(await getHandles(channel, HMAC_KEY_BASE), HMAC_KEY_BASE), []);
  });

  it('clear() wipes slots (EK comes back identical); refused when disableClear is set', async () => {
    const ekBefore = (await limpet.endorsementKey()).pem;
    await limpet.importConnectionString(
      0,
      `HostName=h.example;DeviceId=d;SharedAccessKey=${randomBytes(32).toString('base64')}`,
    );
    await limpet.clear();
    assert.deepEqual(
      await limpet.listSlots(),
      Array.from({ length: 10 }, (_, slot) => ({ slot, hasHmacKey: false })),
    );
    assert.equal((await limpet.endorsementKey()).pem, ekBefore);
    await limpet.storeUri(2, 'h.example/d2');
    await withTools(() => tool(sim, 'tpm2_clearcontrol', ['-C', 'l', 's']));
    assert.equal((await limpet.info()).disableClear, true);
    await assert.rejects(limpet.clear(), (e: unknown) => {
      assert.ok(e instanceof TpmError);
      assert.equal(e.rcName, 'TPM_RC_DISABLED');
      assert.equal(e.command, 'TPM2_Clear');
      return true;
    });
    assert.equal(await limpet.readUri(2), 'h.example/d2');
  });
});

describe('tpm/limpet without a TPM', () => {
  it('a closed port rejects with ERR_TPM_UNAVAILABLE', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const channel = new TcpTpm({ port });
    const limpet = new LimpetTpm(channel);
    for (const call of [
      () => limpet.endorsementKey(),
      () => limpet.sasToken(0, 60),
      () => limpet.listSlots(),
    ]) {
      await assert.rejects(
        call(),
        (e: unknown) => e instanceof TpmUnavailableError && e.code === 'ERR_TPM_UNAVAILABLE',
      );
    }
    await channel.close();
  });
});
