/**
 * The service's pure parts: URI prefix matching of the policy (segments, %-escapes, the
 * ./Vendor alias, no escaping a prefix), the config checks, the frame decoder's limits, and the
 * token bucket.
 */
import assert from 'node:assert/strict';
import { InvalidValueError } from '../../../lib/errors';
import { parseServiceConfig } from '../../../lib/service/config';
import { TokenBucket } from '../../../lib/service/limits';
import type { Caller } from '../../../lib/service/peer';
import { Policy } from '../../../lib/service/policy';
import { FrameDecoder, encodeFrame } from '../../../lib/service/protocol';

const app: Caller = {
  uid: 1000,
  gid: 1000,
  pid: 1,
  user: 'app',
  gids: [1000, 990],
  groupNames: ['app', 'iotdm'],
  source: 'kernel',
};
const root: Caller = {
  uid: 0,
  gid: 0,
  pid: 1,
  user: 'root',
  gids: [0],
  groupNames: ['root'],
  source: 'kernel',
};

describe('service policy', () => {
  const policy = new Policy(
    parseServiceConfig({
      trustRoot: true,
      policy: {
        iotdm: {
          get: ['./DevDetail'],
          replace: ['./Device/Vendor/MSFT/Policy/Config/Update/'],
          system: ['bootTime'],
        },
        'user:app': { exec: ['./Device/Vendor/MSFT/Reboot/RebootNow'] },
      },
    }),
  );
  const denied = (verb: 'get' | 'replace' | 'exec' | 'delete', uri: string, who = app) =>
    policy.deniedOp(who, [{ verb, uri }]) !== undefined;

  it('matches URI prefixes segment by segment, per verb, across the caller groups and user', () => {
    assert.equal(denied('get', './DevDetail'), false);
    assert.equal(denied('get', './DevDetail/SwV'), false);
    assert.equal(denied('get', './DevDetail?list=StructData'), false);
    assert.equal(denied('get', './DevDetailX/SwV'), true, 'a prefix is a whole segment');
    assert.equal(denied('replace', './DevDetail/Ext/Microsoft/DeviceName'), true);
    assert.equal(
      denied('replace', './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart'),
      false,
    );
    assert.equal(
      denied('replace', './Vendor/MSFT/Policy/Config/Update/ActiveHoursStart'),
      false,
      './Vendor alias',
    );
    assert.equal(
      denied('delete', './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart'),
      true,
    );
    assert.equal(denied('exec', './Device/Vendor/MSFT/Reboot/RebootNow'), false, 'user: rule');
    assert.equal(policy.allowsSystem(app, 'bootTime'), true);
    assert.equal(policy.allowsSystem(app, 'setTimeZone'), false);
    assert.equal(policy.allowsRaw(app), false);
    assert.equal(policy.allowsTpm(app), false);
  });

  it('does not let %-escapes leave a prefix', () => {
    assert.equal(denied('get', './DevDetail%2F..%2FDevice/X'), true);
    assert.equal(denied('get', './Dev%44etail/SwV'), false, 'an escaped letter is the letter');
    assert.equal(denied('get', './DevDetail/%2e%2e/Device'), true);
    assert.equal(denied('get', './DevDetail/%zz'), true);
  });

  it('remembers decisions per caller without mixing callers, verbs or URIs (and past its bound)', () => {
    const other: Caller = { ...app, uid: 1001, user: 'other', groupNames: ['other'], gids: [1001] };
    for (let round = 0; round < 3; round++) {
      assert.equal(denied('get', './DevDetail/SwV'), false);
      assert.equal(denied('replace', './DevDetail/SwV'), true, 'same URI, another verb');
      assert.equal(denied('get', './DevDetail/SwV', other), true, 'another caller, no rule');
      assert.equal(denied('exec', './Device/Vendor/MSFT/Reboot/RebootNow'), false);
      assert.equal(denied('exec', './Device/Vendor/MSFT/Reboot/RebootNow', other), true);
    }
    // More distinct URIs than the per-caller memory holds: every answer still right.
    for (let i = 0; i < 5000; i++) {
      assert.equal(denied('get', `./DevDetail/Ext/N${i}`), false);
      assert.equal(denied('get', `./DevInfo/N${i}`), true);
    }
    const batch = [
      { verb: 'get' as const, uri: './DevDetail/SwV' },
      { verb: 'delete' as const, uri: './DevDetail/SwV' },
    ];
    assert.deepEqual(policy.deniedOp(app, batch), batch[1], 'the first op refused is named');
  });

  it('trusts root only when configured; otherwise root needs a rule too', () => {
    assert.equal(denied('delete', './Device/Vendor/MSFT/X', root), false);
    const strict = new Policy(
      parseServiceConfig({ trustRoot: false, policy: { iotdm: { get: ['./'] } } }),
    );
    assert.notEqual(strict.deniedOp(root, [{ verb: 'get', uri: './DevDetail/SwV' }]), undefined);
    assert.equal(strict.deniedOp(app, [{ verb: 'get', uri: './DevDetail/SwV' }]), undefined);
  });
});

describe('service config', () => {
  it('fills defaults and refuses unknown or ill-typed members', () => {
    const c = parseServiceConfig({});
    assert.equal(c.maxRequestBytes, 1024 * 1024);
    assert.ok(c.policy['*']);
    assert.throws(() => parseServiceConfig({ sockett: '/x' }), InvalidValueError);
    assert.equal(c.inlineReads, true);
    assert.equal(parseServiceConfig({ inlineReads: false }).inlineReads, false);
    assert.throws(
      () => parseServiceConfig({ inlineReads: 'yes' }),
      /inlineReads must be a boolean/,
    );
    assert.throws(() => parseServiceConfig({ maxRequestBytes: -1 }), InvalidValueError);
    assert.throws(
      () => parseServiceConfig({ policy: { g: { get: ['DevDetail'] } } }),
      /starting with "\.\/"/,
    );
    assert.throws(
      () => parseServiceConfig({ policy: { g: { write: ['./'] } } }),
      InvalidValueError,
    );
  });
});

describe('service frames', () => {
  it('splits a stream into frames however it is chunked', () => {
    const frames = Buffer.concat([
      encodeFrame({ a: 1 }),
      encodeFrame({ b: 'é😀' }),
      encodeFrame({ c: [] }),
    ]);
    for (const size of [1, 3, 7, frames.length]) {
      const d = new FrameDecoder(1024);
      const got: unknown[] = [];
      for (let i = 0; i < frames.length; i += size) {
        for (const e of d.push(frames.subarray(i, i + size)))
          got.push(e.kind === 'message' ? e.value : e);
      }
      assert.deepEqual(got, [{ a: 1 }, { b: 'é😀' }, { c: [] }]);
      assert.equal(d.pending, 0);
    }
  });

  it('reports an oversized frame from its header alone, and a frame that is not a JSON object', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(2000);
    assert.deepEqual(new FrameDecoder(1024).push(header), [{ kind: 'oversized', length: 2000 }]);
    const body = Buffer.from('[1]');
    const h2 = Buffer.alloc(4);
    h2.writeUInt32BE(body.length);
    assert.equal(new FrameDecoder(1024).push(Buffer.concat([h2, body]))[0]?.kind, 'malformed');
  });
});

describe('service rate limit', () => {
  it('refills at the rate up to the burst', () => {
    const b = new TokenBucket(10, 5, 0);
    assert.equal(b.take(5, 0), true);
    assert.equal(b.take(1, 0), false);
    assert.equal(b.take(1, 100), true, '100 ms at 10/s gives one token');
    assert.equal(b.take(6, 10_000), false, 'never more than the burst');
    assert.equal(b.take(5, 10_000), true);
  });
});
