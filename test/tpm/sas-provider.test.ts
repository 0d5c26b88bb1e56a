/**
 * `TpmSasAuthenticationProvider` against an in-memory `sasToken`/`readUri` fake (signing is the
 * fake's: the provider's contract is what is checked): the SDK's provider contract (type Token,
 * getDeviceCredentials by promise and callback, one signing shared by concurrent callers),
 * renewal (`newTokenAvailable` with a new token, timers stopped by `stop`), failures (no URI, a
 * malformed URI, a signing error emitted and retried), bad options. The end-to-end use with the
 * SDK and a hub is test/tpm/sas-agent.test.ts.
 */
import assert from 'node:assert/strict';
import { AuthenticationType } from 'azure-iot-common';
import { InvalidArgumentError, TpmError } from '../../lib/errors';
import type { SasToken } from '../../lib/tpm/api';
import { TpmSasAuthenticationProvider, type TpmTransportConfig } from '../../lib/tpm/sas-provider';

class FakeTpm {
  uris = new Map<number, string>([[2, 'hub.example.net/dev-2']]);
  calls: Array<{ slot: number; validity: number }> = [];
  fail: Error | undefined;
  private n = 0;
  readUri(slot: number): Promise<string | undefined> {
    return Promise.resolve(this.uris.get(slot));
  }
  async sasToken(slot: number, validity: number): Promise<SasToken> {
    this.calls.push({ slot, validity });
    await new Promise((r) => setImmediate(r));
    if (this.fail) throw this.fail;
    this.n += 1;
    const expiry = Math.floor(Date.now() / 1000) + validity;
    const token = `SharedAccessSignature sr=x&sig=s${this.n}&se=${expiry}`;
    return { token, expiry, connectionString: `HostName=x;SharedAccessSignature=${token}` };
  }
}

const nextEvent = <T>(p: TpmSasAuthenticationProvider, name: string): Promise<T> =>
  new Promise((resolve) => p.once(name, resolve));

describe('tpm/sas-provider', function () {
  this.timeout(20000);
  const providers: TpmSasAuthenticationProvider[] = [];
  afterEach(() => {
    for (const p of providers.splice(0)) p.stop();
  });
  const make = async (
    tpm: FakeTpm,
    slot = 2,
    options = {},
  ): Promise<TpmSasAuthenticationProvider> => {
    const p = await TpmSasAuthenticationProvider.create(tpm, slot, options);
    providers.push(p);
    return p;
  };

  it('has the SDK contract: Token type, credentials by promise and callback, one signing', async () => {
    const tpm = new FakeTpm();
    const p = await make(tpm);
    assert.equal(p.type, AuthenticationType.Token);
    assert.deepEqual(p.identity, { host: 'hub.example.net', deviceId: 'dev-2' });
    const [a, b] = await Promise.all([p.getDeviceCredentials(), p.getDeviceCredentials()]);
    assert.equal(tpm.calls.length, 1, 'concurrent callers share one signing');
    assert.deepEqual(tpm.calls[0], { slot: 2, validity: 3600 });
    assert.equal(a.host, 'hub.example.net');
    assert.equal(a.deviceId, 'dev-2');
    assert.match(a.sharedAccessSignature!, /^SharedAccessSignature sr=x&sig=s1&se=\d+$/);
    assert.deepEqual(a, b);
    const c = await new Promise<TpmTransportConfig>((resolve, reject) =>
      p.getDeviceCredentials((err, creds) => (err ? reject(err) : resolve(creds!))),
    );
    assert.deepEqual(c, a);
    assert.equal(tpm.calls.length, 1, 'a valid token is reused');
    assert.ok(p.tokenExpiry! > Date.now() / 1000 + 3500);
  });

  it('module URIs give the module id', async () => {
    const tpm = new FakeTpm();
    tpm.uris.set(4, 'hub.example.net/dev-4/mod-a');
    const p = await make(tpm, 4);
    assert.deepEqual(p.identity, { host: 'hub.example.net', deviceId: 'dev-4', moduleId: 'mod-a' });
    assert.equal((await p.getDeviceCredentials()).moduleId, 'mod-a');
  });

  it('renews before expiry with newTokenAvailable, until stopped', async () => {
    const tpm = new FakeTpm();
    const p = await make(tpm, 2, { tokenValidTimeInSeconds: 2, tokenRenewalMarginInSeconds: 1 });
    const first = await p.getDeviceCredentials();
    const renewed = await nextEvent<TpmTransportConfig>(p, 'newTokenAvailable');
    assert.notEqual(renewed.sharedAccessSignature, first.sharedAccessSignature);
    assert.match(renewed.sharedAccessSignature!, /sig=s2&/);
    assert.deepEqual(await p.getDeviceCredentials(), renewed);
    const again = await nextEvent<TpmTransportConfig>(p, 'newTokenAvailable');
    assert.match(again.sharedAccessSignature!, /sig=s3&/);
    assert.ok(tpm.calls.every((c) => c.validity === 2));
    p.stop();
    const count = tpm.calls.length;
    let emitted = 0;
    p.on('newTokenAvailable', () => (emitted += 1));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(emitted, 0);
    assert.equal(tpm.calls.length, count);
  });

  it('a signing failure: rejected credentials, then an error event and a retry on renewal', async () => {
    const tpm = new FakeTpm();
    const p = await make(tpm, 2, { tokenValidTimeInSeconds: 2, tokenRenewalMarginInSeconds: 1 });
    const bad = new TpmError('TPM2_HMAC', 0x18b, 'TPM_RC_HANDLE', 'Slot 2 has no HMAC key');
    tpm.fail = bad;
    await assert.rejects(p.getDeviceCredentials(), (e: unknown) => e === bad);
    tpm.fail = undefined;
    await p.getDeviceCredentials();
    tpm.fail = bad;
    const err = await nextEvent<Error>(p, 'error');
    assert.equal(err, bad);
    tpm.fail = undefined;
    const renewed = await nextEvent<TpmTransportConfig>(p, 'newTokenAvailable');
    assert.match(renewed.sharedAccessSignature!, /^SharedAccessSignature /);
  });

  it('refuses a slot without URI, a malformed URI, bad slots and renewal values', async () => {
    const tpm = new FakeTpm();
    await assert.rejects(TpmSasAuthenticationProvider.create(tpm, 1), (e: unknown) => {
      assert.ok(e instanceof TpmError);
      assert.equal(e.rcName, 'NO_URI');
      assert.match(e.message, /Slot 1 has no service URI/);
      return true;
    });
    tpm.uris.set(3, 'hub-only');
    await assert.rejects(TpmSasAuthenticationProvider.create(tpm, 3), /MALFORMED|not "<hubHost>/);
    const id = { host: 'h', deviceId: 'd' };
    assert.throws(() => new TpmSasAuthenticationProvider(tpm, 10, id), InvalidArgumentError);
    assert.throws(
      () =>
        new TpmSasAuthenticationProvider(tpm, 0, id, {
          tokenValidTimeInSeconds: 10,
          tokenRenewalMarginInSeconds: 10,
        }),
      /tokenRenewalMarginInSeconds/,
    );
    assert.throws(
      () => new TpmSasAuthenticationProvider(tpm, 0, id, { tokenValidTimeInSeconds: 0 }),
      /tokenValidTimeInSeconds/,
    );
    const p = new TpmSasAuthenticationProvider(tpm, 0, id);
    assert.throws(() => p.setTokenRenewalValues(5, 6), /tokenRenewalMarginInSeconds/);
  });
});
