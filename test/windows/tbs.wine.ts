/**
 * Windows x64 under wine (scripts/test-windows.sh): the addon's TBS channel (native/tpm/tpm_win.cc,
 * tbs.dll from System32) over the TBS test double (native/test-doubles/tbs), which forwards to a
 * swtpm the script started on Linux ($WINDOWS_IOT_DM_TBS_SWTPM = host:port of its data port).
 * Cross-checked with TcpTpm talking to the same simulator directly; LimpetTpm on top.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { TpmUnavailableError } from '../../lib/errors';
import { AddonTpm } from '../../lib/native/addon-tpm';
import { LimpetTpm } from '../../lib/tpm/limpet';
import { TcpTpm } from '../../lib/tpm/tcp-transport';
import { getRandom, header, readPublic } from '../helpers/tpm-raw';

const TARGET = process.env.WINDOWS_IOT_DM_TBS_SWTPM ?? '';

describe('win32 under wine: the TBS path (tbs.dll test double -> swtpm)', function () {
  this.timeout(60000);
  let tpm: AddonTpm;

  before(() => {
    assert.equal(process.platform, 'win32');
    assert.match(TARGET, /^[\d.]+:\d+$/, 'WINDOWS_IOT_DM_TBS_SWTPM=host:port');
  });
  beforeEach(() => {
    tpm = new AddonTpm();
  });
  afterEach(() => tpm.close());

  it('opens TBS and reports a TPM 2.0', async () => {
    assert.deepEqual(await tpm.info(), { transport: 'tbs', tpmVersion: 2, path: 'TBS' });
  });

  it('round-trips TPM2_GetRandom', async () => {
    const response = await tpm.submit(getRandom(16));
    assert.deepEqual(header(response), { tag: 0x8001, size: 28, rc: 0 });
    const again = await tpm.submit(getRandom(16));
    assert.notDeepEqual(again.subarray(12), response.subarray(12));
  });

  it('reads the EK public: the same bytes as TcpTpm gets from the simulator directly', async () => {
    const response = await tpm.submit(readPublic(0x81010001));
    assert.equal(header(response).rc, 0);
    const [host, port] = TARGET.split(':') as [string, string];
    const tcp = new TcpTpm({ host, port: Number(port) });
    try {
      assert.deepEqual(
        Buffer.from(await tcp.submit(readPublic(0x81010001))),
        Buffer.from(response),
      );
    } finally {
      await tcp.close(); // swtpm serves one connection at a time
    }
  });

  it('passes TPM errors through as responses (TPM_RC_HANDLE)', async () => {
    const response = await tpm.submit(readPublic(0x81000fff));
    assert.equal(header(response).size, 10);
    assert.equal(header(response).rc & 0x0bf, 0x08b);
  });

  it('serializes concurrent submits: every response answers its own request', async () => {
    const sizes = Array.from({ length: 24 }, (_, i) => ((i * 7) % 32) + 1);
    const responses = await Promise.all(sizes.map((n) => tpm.submit(getRandom(n))));
    responses.forEach((response, i) => {
      assert.equal(header(response).rc, 0);
      assert.equal(header(response).size, 12 + (sizes[i] as number));
    });
  });

  it('LimpetTpm over TBS: an HMAC key in a slot signs like node:crypto, a URI round-trips', async () => {
    const limpet = new LimpetTpm(tpm);
    const key = Buffer.from('wine-tbs-test-key-0123456789abcdef', 'utf8');
    const data = Buffer.from('sr=hub.example/devices/wine&se=1700000000', 'utf8');
    try {
      await limpet.createHmacKey(7, key);
      assert.deepEqual(await limpet.hmac(7, data), createHmac('sha256', key).update(data).digest());
      await limpet.storeUri(7, 'hub.example.net/devices/wine');
      assert.equal(await limpet.readUri(7), 'hub.example.net/devices/wine');
      assert.match(await limpet.registrationId(), /^[a-z2-7]+$/);
    } finally {
      await limpet.destroySlot(7);
    }
    assert.equal(await limpet.readUri(7), undefined);
  });

  it('no simulator behind TBS: TpmUnavailableError (TBS_E_TPM_NOT_FOUND), not a crash', async () => {
    const saved = process.env.WINDOWS_IOT_DM_TBS_SWTPM;
    process.env.WINDOWS_IOT_DM_TBS_SWTPM = '127.0.0.1:1';
    const lonely = new AddonTpm();
    try {
      await assert.rejects(lonely.submit(getRandom(8)), (err: unknown) => {
        assert.ok(err instanceof TpmUnavailableError, String(err));
        assert.match(err.message, /Tbsi_Context_Create|8028400F/i);
        return true;
      });
    } finally {
      process.env.WINDOWS_IOT_DM_TBS_SWTPM = saved;
      lonely.close();
    }
  });
});
