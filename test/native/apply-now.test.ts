/**
 * AddonMdm.applyNow (MdmSession.applyNow): apply()'s round trip on the JS thread, used by the
 * service for reads. Same results and errors as apply(); nothing done (undefined) while a call
 * of the same library is running or queued, so the FIFO order of apply() is kept. The policy
 * nodes written are put back as they were (mocha's one process shares one emulator state).
 */
import assert from 'node:assert/strict';
import { AddonMdm, MdmUnavailableError, type CspOp, type CspResult } from '../../lib';

const POLICY = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart';

/** Puts a node back as `before` found it (absent: deleted; present: its value). */
async function restore(mdm: AddonMdm, uri: string, before: CspResult): Promise<void> {
  if (before.status === 200) {
    await mdm.apply([{ verb: 'replace', uri, format: 'int', data: before.data ?? '' }]);
  } else {
    await mdm.apply([{ verb: 'delete', uri }]);
  }
  const now = (await mdm.apply([{ verb: 'get', uri }]))[0]!;
  assert.deepEqual([now.status, now.data], [before.status, before.data], `${uri} put back`);
}

describe('AddonMdm.applyNow over the CSP emulator library', () => {
  it('gives what apply() gives, in order, for reads, a 404 and a change', async () => {
    const mdm = new AddonMdm();
    const ops: CspOp[] = [
      { verb: 'get', uri: './DevDetail/SwV' },
      { verb: 'get', uri: './Device/Vendor/MSFT/NoSuchCsp/X' },
      { verb: 'get', uri: './DevInfo/DevId' },
    ];
    const now = mdm.applyNow(ops);
    assert.ok(now, 'an idle queue runs it now');
    assert.deepEqual(now, await mdm.apply(ops));
    assert.deepEqual(
      now.map((r) => r.status),
      [200, 404, 200],
    );
    assert.equal(typeof now[0]?.data, 'string');
    const before = (await mdm.apply([{ verb: 'get', uri: POLICY }]))[0]!;
    const set = before.status === 200 ? 'replace' : 'add';
    assert.deepEqual(
      mdm.applyNow([{ verb: set, uri: POLICY, format: 'int', data: '7' }])?.map((r) => r.status),
      [200],
    );
    assert.equal((await mdm.apply([{ verb: 'get', uri: POLICY }]))[0]?.data, '7');
    assert.deepEqual(mdm.applyNow([]), []);
    await restore(mdm, POLICY, before);
  });

  it('does nothing while a call is running or queued; apply() order is kept', async () => {
    const mdm = new AddonMdm();
    const uri = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursEnd';
    const first = await mdm.apply([{ verb: 'get', uri }]);
    const verb = first[0]!.status === 200 ? 'replace' : 'add';
    const write = mdm.apply([{ verb, uri, format: 'int', data: '11' }]);
    assert.equal(mdm.applyNow([{ verb: 'get', uri }]), undefined, 'the write is in flight');
    const queued = mdm.apply([{ verb: 'get', uri }]);
    assert.equal(mdm.applyNow([{ verb: 'get', uri }]), undefined);
    await write;
    assert.equal((await queued)[0]?.data, '11', 'the queued read ran after the write');
    assert.equal(mdm.applyNow([{ verb: 'get', uri }])?.[0]?.data, '11');
    await restore(mdm, uri, first[0]!);
  });

  it('throws apply()\'s errors synchronously (a missing library)', () => {
    const mdm = new AddonMdm({ libraryPath: '/nonexistent/mdm.so' });
    assert.throws(
      () => mdm.applyNow([{ verb: 'get', uri: './DevDetail/SwV' }]),
      (err: unknown) => err instanceof MdmUnavailableError && /\/nonexistent\/mdm\.so/.test(err.message),
    );
  });

  it('validates its arguments like apply()', () => {
    const mdm = new AddonMdm();
    assert.throws(() => mdm.applyNow([{ verb: 'nope' as 'get', uri: './DevDetail/SwV' }]));
  });
});
