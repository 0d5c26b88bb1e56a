import assert from 'node:assert/strict';
import {
  Csp,
  CspError,
  InvalidArgumentError,
  InvalidUriError,
  MdmUnavailableError,
} from '../../lib';
import { MockMdm } from '../../lib/testing';
import { SEED_NODES } from '../fixtures/seed-nodes';

describe('Csp batching and errors (mock)', () => {
  let mock: MockMdm;
  let csp: Csp;
  beforeEach(() => {
    mock = new MockMdm({ nodes: SEED_NODES });
    csp = new Csp(mock);
  });

  it('sends 100 gets issued together as exactly one apply call', async () => {
    const values = await Promise.all(Array.from({ length: 100 }, () => csp.get('./DevDetail/SwV')));
    assert.equal(mock.calls.length, 1);
    assert.equal(mock.calls[0]?.ops.length, 100);
    assert.equal(mock.calls[0]?.atomic, false);
    assert.ok(values.every((v) => v === '10.0.26100.1'));
  });

  it('gathers ops issued from different async continuations in the same tick', async () => {
    const p1 = (async () => {
      await Promise.resolve();
      return csp.get('./DevDetail/SwV');
    })();
    const p2 = csp.get('./DevInfo/DevId');
    await Promise.all([p1, p2]);
    assert.equal(mock.calls.length, 1);
    assert.equal(mock.calls[0]?.ops.length, 2);
  });

  it('splits bursts larger than maxOpsPerMessage, keeping order', async () => {
    csp = new Csp(mock, { maxOpsPerMessage: 40 });
    await Promise.all(Array.from({ length: 100 }, () => csp.get('./DevDetail/SwV')));
    assert.deepEqual(
      mock.calls.map((c) => c.ops.length),
      [40, 40, 20],
    );
  });

  it('sends ops issued in different ticks as separate messages', async () => {
    await csp.get('./DevDetail/SwV');
    await csp.get('./DevDetail/SwV');
    assert.equal(mock.calls.length, 2);
  });

  it('gives each caller its own result or CspError within one message', async () => {
    mock.respond('./DevDetail/OEM', 500);
    const [a, b, c] = await Promise.allSettled([
      csp.get('./DevDetail/SwV'),
      csp.get('./DevDetail/OEM'),
      csp.replace('./DevDetail/SwV', 'x'),
    ]);
    assert.equal(mock.calls.length, 1);
    assert.equal(a.status, 'fulfilled');
    assert.ok(b.status === 'rejected' && b.reason instanceof CspError);
    assert.equal((b as PromiseRejectedResult).reason.status, 500);
    assert.equal((b as PromiseRejectedResult).reason.uri, './DevDetail/OEM');
    assert.equal((b as PromiseRejectedResult).reason.verb, 'get');
    assert.equal((b as PromiseRejectedResult).reason.code, 'ERR_CSP_STATUS');
    assert.match(
      (b as PromiseRejectedResult).reason.message,
      /get \.\/DevDetail\/OEM failed: 500 command failed/,
    );
    assert.ok(c.status === 'rejected' && (c.reason as CspError).status === 405);
  });

  it('rejects every caller of a message when native code fails', async () => {
    const unavailable = new MdmUnavailableError('no MDM here');
    mock.throwNext(unavailable);
    const outcomes = await Promise.allSettled([
      csp.get('./DevDetail/SwV'),
      csp.get('./DevInfo/DevId'),
    ]);
    for (const o of outcomes) assert.ok(o.status === 'rejected' && o.reason === unavailable);
  });

  it('validates before anything reaches native code', async () => {
    await assert.rejects(csp.get('../etc/passwd'), InvalidUriError);
    await assert.rejects(
      csp.replace('./DevDetail/SwV', undefined as unknown as string),
      InvalidArgumentError,
    );
    await assert.rejects(csp.delete('./DevDetail?list=StructData'), InvalidArgumentError);
    await assert.rejects(csp.add('./X', 1), InvalidUriError);
    await assert.rejects(csp.replace('./DevDetail/SwV', 1.5), /integer/);
    assert.equal(mock.calls.length, 0);
  });

  it('keeps queue order between single ops and transactions', async () => {
    const order: string[] = [];
    const p1 = csp.get('./DevDetail/SwV').then(() => order.push('get1'));
    const p2 = csp
      .transaction(
        (tx) => void tx.add('./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursEnd', 17),
      )
      .then(() => order.push('tx'));
    const p3 = csp.get('./DevInfo/DevId').then(() => order.push('get2'));
    await Promise.all([p1, p2, p3]);
    assert.deepEqual(
      mock.calls.map((c) => [c.atomic, c.ops.length]),
      [
        [false, 1],
        [true, 1],
        [false, 1],
      ],
    );
  });

  it('sends an empty transaction nowhere and rejects a transaction that threw', async () => {
    assert.deepEqual(await csp.transaction(() => undefined), []);
    await assert.rejects(
      csp.transaction(() => {
        throw new Error('caller bug');
      }),
      /caller bug/,
    );
    assert.equal(mock.calls.length, 0);
  });

  it('refuses writes on a transaction after it closed', async () => {
    let saved: import('../../lib').CspTransaction | undefined;
    await csp.transaction((tx) => {
      saved = tx;
      tx.add('./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursEnd', 17);
    });
    assert.throws(() => saved?.delete('./DevDetail/SwV'), InvalidArgumentError);
  });

  it('applies scripted delays without blocking other work', async () => {
    mock.delay(30);
    let ticked = false;
    const timer = setTimeout(() => (ticked = true), 5);
    await csp.get('./DevDetail/SwV');
    clearTimeout(timer);
    assert.ok(ticked);
  });

  it('records raw SyncML and returns the scripted answer', async () => {
    mock.setRawResponse((body) => `<SyncML><SyncBody>${body.length}</SyncBody></SyncML>`);
    assert.equal(await csp.rawSyncML('<SyncBody/>'), '<SyncML><SyncBody>11</SyncBody></SyncML>');
    assert.deepEqual(mock.rawCalls, ['<SyncBody/>']);
    await assert.rejects(csp.rawSyncML('  '), InvalidArgumentError);
  });
});
