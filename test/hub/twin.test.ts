import assert from 'node:assert/strict';
import { HubError, toHubError } from '../../lib/hub/errors';
import {
  TWIN_LIMITS,
  checkIfMatch,
  createTwin,
  desiredPatchBody,
  deviceTwinBody,
  normalizeEtag,
  patchReported,
  patchTwin,
  replaceDesired,
  replaceTwin,
  serviceTwin,
  twinEtag,
  twinSize,
  type JsonObject,
  type MetadataNode,
  type TwinIdentity,
} from '../../lib/hub/twin';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:01.000Z';
const T2 = '2026-01-01T00:00:02.000Z';

function hubError(fn: () => unknown): HubError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof HubError, `expected HubError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a HubError');
}

function nest(depth: number): JsonObject {
  let o: JsonObject = { property: 'value' };
  for (let i = 0; i < depth; i++) o = { [`l${i}`]: o };
  return o;
}

const identity: TwinIdentity = {
  deviceId: 'dev1',
  deviceEtag: 'MQ==',
  status: 'enabled',
  statusUpdateTime: '0001-01-01T00:00:00Z',
  connectionState: 'Disconnected',
  lastActivityTime: '0001-01-01T00:00:00Z',
  cloudToDeviceMessageCount: 0,
  authenticationType: 'sas',
  x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
};

describe('hub twin: documents', () => {
  it('a new twin has empty sections at $version 1 and twin version 1', () => {
    const t = createTwin(T0);
    assert.deepEqual(deviceTwinBody(t, false), {
      desired: { $version: 1 },
      reported: { $version: 1 },
    });
    assert.equal(t.version, 1);
    assert.equal(twinEtag(t.version), 'AAAAAAAAAAE=');
    assert.equal(twinEtag(7), 'AAAAAAAAAAc=');
  });

  it('merges desired patches: nested merge, null deletes, $version +1, metadata at every level', () => {
    let t = createTwin(T0);
    let u = patchTwin(t, { properties: { desired: { a: { b: 1, c: { d: 'x' } }, e: true } } }, T1);
    t = u.twin;
    assert.equal(t.desired.version, 2);
    assert.equal(t.version, 2);
    assert.deepEqual(u.desiredPatch, { a: { b: 1, c: { d: 'x' } }, e: true });
    u = patchTwin(t, { properties: { desired: { a: { b: null, c: { f: 2 } }, e: null } } }, T2);
    t = u.twin;
    assert.deepEqual(t.desired.props, { a: { c: { d: 'x', f: 2 } } });
    assert.equal(t.desired.version, 3);
    const m = t.desired.metadata;
    assert.equal(m.$lastUpdated, T2);
    assert.equal(m.$lastUpdatedVersion, 3);
    const a = m.a as MetadataNode;
    const c = a.c as MetadataNode;
    assert.equal(a.$lastUpdated, T2);
    assert.equal(c.$lastUpdated, T2);
    assert.equal((c.d as MetadataNode).$lastUpdated, T1);
    assert.equal((c.d as MetadataNode).$lastUpdatedVersion, 2);
    assert.equal((c.f as MetadataNode).$lastUpdatedVersion, 3);
    assert.equal(a.b, undefined);
    assert.equal(m.e, undefined);
    assert.deepEqual(desiredPatchBody(u.desiredPatch!, t.desired.version), {
      a: { b: null, c: { f: 2 } },
      e: null,
      $version: 3,
    });
  });

  it('replaces a scalar by an object (metadata for the whole subtree) and keeps arrays whole', () => {
    let t = createTwin(T0);
    t = patchTwin(t, { properties: { desired: { a: 1, list: [1, 2, 3] } } }, T1).twin;
    t = patchTwin(
      t,
      { properties: { desired: { a: { x: { y: null, z: 1 } }, list: [4] } } },
      T2,
    ).twin;
    assert.deepEqual(t.desired.props, { a: { x: { z: 1 } }, list: [4] });
    const ax = (t.desired.metadata.a as MetadataNode).x as MetadataNode;
    assert.equal((ax.z as MetadataNode).$lastUpdated, T2);
  });

  it('reported patches have $metadata without $lastUpdatedVersion and bump the reported $version', () => {
    const t = patchReported(createTwin(T0), { fw: { v: '1.0' } }, T1).twin;
    assert.equal(t.reported.version, 2);
    assert.equal(t.desired.version, 1);
    assert.equal(t.reported.metadata.$lastUpdatedVersion, undefined);
    assert.equal(((t.reported.metadata.fw as MetadataNode).v as MetadataNode).$lastUpdated, T1);
    const body = deviceTwinBody(t);
    assert.deepEqual(body.reported.fw, { v: '1.0' });
    assert.ok('$metadata' in body.reported);
  });

  it('merges tags without touching property versions; a body without changes keeps the version', () => {
    let t = createTwin(T0);
    const u = patchTwin(t, { tags: { site: { room: 'a' } } }, T1);
    t = u.twin;
    assert.equal(u.desiredPatch, undefined);
    assert.deepEqual(t.tags, { site: { room: 'a' } });
    assert.equal(t.desired.version, 1);
    assert.equal(t.version, 2);
    t = patchTwin(t, { tags: { site: { room: null, floor: 2 } } }, T2).twin;
    assert.deepEqual(t.tags, { site: { floor: 2 } });
    assert.equal(patchTwin(t, {}, T2).twin.version, 3);
  });

  it('PUT replaces desired and sends removed keys as null; tags replaced only when given', () => {
    let t = createTwin(T0);
    t = patchTwin(
      t,
      { tags: { a: 1 }, properties: { desired: { x: 1, o: { p: 1, q: 2 } } } },
      T1,
    ).twin;
    const u = replaceTwin(t, { properties: { desired: { o: { q: 3 }, n: null, y: 'new' } } }, T2);
    assert.deepEqual(u.twin.desired.props, { o: { q: 3 }, y: 'new' });
    assert.deepEqual(u.desiredPatch, { x: null, o: { p: null, q: 3 }, y: 'new' });
    assert.equal(u.twin.desired.version, t.desired.version + 1);
    assert.deepEqual(u.twin.tags, { a: 1 });
    assert.equal((u.twin.desired.metadata.o as MetadataNode).$lastUpdatedVersion, 3);
    const v = replaceTwin(u.twin, { tags: { b: { c: null, d: 1 } } }, T2);
    assert.deepEqual(v.twin.tags, { b: { d: 1 } });
    assert.equal(v.desiredPatch, undefined);
    assert.deepEqual(replaceDesired(v.twin, {}, T2).desiredPatch, { o: null, y: null });
  });

  it('never mutates its input twin', () => {
    const t = patchTwin(createTwin(T0), { properties: { desired: { a: { b: 1 } } } }, T1).twin;
    const before = structuredClone(t);
    patchTwin(t, { properties: { desired: { a: { b: 2 } } } }, T2);
    patchReported(t, { r: 1 }, T2);
    assert.deepEqual(t, before);
  });

  it('service view: identity fields, etag, $metadata and $version in both sections', () => {
    const t = patchTwin(createTwin(T0), { properties: { desired: { a: 1 } } }, T1).twin;
    const s = serviceTwin({ ...identity, statusReason: 'why' }, t);
    assert.equal(s.etag, 'AAAAAAAAAAI=');
    assert.equal(s.version, 2);
    assert.equal(s.properties.desired.$version, 2);
    assert.ok(s.properties.reported.$metadata);
    assert.equal(s.statusReason, 'why');
    assert.equal(s.modelId, '');
    assert.equal(serviceTwin(identity, t).statusReason, undefined);
  });
});

describe('hub twin: rules and limits', () => {
  it('rejects keys with . $ space or control characters, empty and > 1 KB keys (400004)', () => {
    for (const key of ['a.b', '$x', 'a b', 'a\u0001', 'a\u0085', '', 'k'.repeat(1025)]) {
      const e = hubError(() => patchReported(createTwin(T0), { ok: { [key]: 1 } }));
      assert.equal(e.errorCode, 400004, key);
      assert.equal(e.status, 400);
    }
    patchReported(createTwin(T0), { ['k'.repeat(1024)]: 1, 'ü-ok_#': 1 });
  });

  it('rejects strings over 4 KB, integers outside ±2^52, non-finite numbers, non-objects', () => {
    const tw = createTwin(T0);
    assert.equal(hubError(() => patchReported(tw, { s: 'x'.repeat(4097) })).errorCode, 400004);
    patchReported(tw, { s: 'x'.repeat(4096) });
    assert.match(
      hubError(() => patchReported(tw, { n: TWIN_LIMITS.maxInteger + 1 })).message,
      /outside/,
    );
    patchReported(tw, { n: TWIN_LIMITS.minInteger, f: 0.5 });
    hubError(() => patchReported(tw, { n: Infinity }));
    hubError(() => patchReported(tw, [1]));
    hubError(() => patchReported(tw, 'x'));
    hubError(() => patchReported(tw, { u: undefined }));
    hubError(() => patchTwin(tw, 'x'));
    hubError(() => patchTwin(tw, { properties: 1 }));
    hubError(() => patchTwin(tw, { properties: { reported: { a: 1 } } }));
    hubError(() => patchTwin(tw, { tags: [] }));
    patchTwin(tw, { tags: null, properties: { reported: {}, desired: null } });
  });

  it('allows arrays (of scalars and objects) and checks what they hold', () => {
    const t = patchReported(createTwin(T0), { a: [1, 'x', true, { b: 2 }, [3]] }).twin;
    assert.deepEqual(t.reported.props.a, [1, 'x', true, { b: 2 }, [3]]);
    hubError(() => patchReported(t, { a: [{ 'bad.key': 1 }] }));
  });

  it('depth: 10 nested objects below the section root pass, 11 fail', () => {
    patchTwin(createTwin(T0), { tags: nest(10) });
    const e = hubError(() => patchTwin(createTwin(T0), { tags: nest(11) }));
    assert.match(e.message, /depth/);
    hubError(() => patchReported(createTwin(T0), nest(11)));
  });

  it('size is measured as IoT Hub documents it: key + value (strings by characters, numbers 8, booleans 4)', () => {
    assert.equal(
      twinSize({ ab: 'xyz', n: 1, b: true, o: { k: null } }),
      2 + 3 + 1 + 8 + 1 + 4 + 1 + 1,
    );
    assert.equal(twinSize({ s: 'é\u0001' }), 2);
    assert.equal(twinSize([1, 'ab']), 10);
  });

  it('rejects sections over 8 KB (tags) / 32 KB (desired, reported) with 403100 and the IoT Hub message', () => {
    const big = (n: number): JsonObject => {
      const o: JsonObject = {};
      for (let i = 0; i < n; i++) o[`k${String(i).padStart(4, '0')}`] = 'v'.repeat(3995);
      return o;
    };
    // each entry: 5 + 3995 = 4000
    let t = patchReported(createTwin(T0), big(8)).twin;
    const e = hubError(() => patchReported(t, { more: 'x'.repeat(1000) }));
    assert.equal(e.errorCode, 403100);
    assert.equal(e.message, "'Properties.Reported' size should be less than 32768 bytes.");
    t = patchReported(t, { k0000: null }).twin;
    patchReported(t, { more: 'x'.repeat(1000) });
    hubError(() => patchTwin(createTwin(T0), { properties: { desired: big(9) } }));
    hubError(() => replaceTwin(createTwin(T0), { properties: { desired: big(9) } }));
    const te = hubError(() => patchTwin(createTwin(T0), { tags: big(3) }));
    assert.equal(te.message, "'Tags' size should be less than 8192 bytes.");
    hubError(() => replaceTwin(createTwin(T0), { tags: big(3) }));
  });
});

describe('hub twin: etags and error bodies', () => {
  it('If-Match: absent, empty and * match; quoted, weak and lists compared; mismatch is 412001', () => {
    const etag = twinEtag(3);
    checkIfMatch(undefined, etag);
    checkIfMatch('*', etag);
    checkIfMatch('"*"', etag); // azure-iothub quotes it
    checkIfMatch('', etag);
    checkIfMatch(`"${etag}"`, etag);
    checkIfMatch(`W/"${etag}"`, etag);
    checkIfMatch(`"other", "${etag}"`, etag);
    const e = hubError(() => checkIfMatch('"AAAAAAAAAAE="', etag));
    assert.equal(e.status, 412);
    assert.equal(e.errorCode, 412001);
    assert.equal(e.errorName, 'PreconditionFailed');
    assert.equal(normalizeEtag(' "x" '), 'x');
  });

  it('MQTT bodies carry errorCode; REST bodies carry ErrorCode:Name;message without extra ;', () => {
    const e = new HubError('ArgumentInvalid', 'bad; worse');
    assert.deepEqual(e.toMqttBody(), { errorCode: 400004, message: 'bad; worse' });
    const rest = e.toRestBody();
    assert.equal(rest.Message, 'ErrorCode:ArgumentInvalid;bad, worse');
    const parts = rest.Message.split(';');
    assert.equal(parts[0]!.split(':')[1], 'ArgumentInvalid');
    assert.equal(parts[1], 'bad, worse');
    assert.equal(e.code, 'ERR_IOTHUB');
    assert.equal(toHubError(e), e);
    const wrapped = toHubError(new Error('boom'));
    assert.equal(wrapped.errorCode, 500001);
    assert.equal(toHubError('str').message, 'str');
  });
});
