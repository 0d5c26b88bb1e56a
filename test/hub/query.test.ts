import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Twin } from 'azure-iothub';
import { HubCore } from '../../lib/hub/core';
import { HubError } from '../../lib/hub/errors';
import {
  QueryError,
  QUERY_SECRET_META_KEY,
  compileCondition,
  evaluate,
  parseCondition,
  parseQuery,
  runQuery,
  tokenize,
  type Expr,
} from '../../lib/hub/query';
import type { ServiceTwin } from '../../lib/hub/twin/service-view';

function twin(
  deviceId: string,
  extra: { status?: string; tags?: object; desired?: object; reported?: object } = {},
): ServiceTwin {
  return {
    deviceId,
    etag: 'AAAAAAAAAAE=',
    deviceEtag: 'MA==',
    status: extra.status ?? 'enabled',
    statusUpdateTime: '0001-01-01T00:00:00Z',
    connectionState: 'Disconnected',
    lastActivityTime: '0001-01-01T00:00:00Z',
    cloudToDeviceMessageCount: 0,
    authenticationType: 'sas',
    x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
    modelId: '',
    version: 1,
    tags: (extra.tags ?? {}) as ServiceTwin['tags'],
    properties: {
      desired: { ...(extra.desired ?? {}), $metadata: {}, $version: 1 } as ServiceTwin['tags'],
      reported: { ...(extra.reported ?? {}), $metadata: {}, $version: 3 } as ServiceTwin['tags'],
    },
    capabilities: { iotEdge: false },
  };
}

const TWINS: ServiceTwin[] = [
  twin('a', {
    tags: { region: 'US', floor: 3, vip: true },
    reported: { windows: { deviceInfo: { osEdition: 'IoTEnterprise' } }, temp: 20 },
  }),
  twin('b', { tags: { region: 'EU', floor: 1, vip: false }, reported: { temp: 25.5 } }),
  twin('c', { status: 'disabled', tags: { region: 'us', floor: '3', note: null } }),
  twin('d', { tags: { region: 'US', 'my key': 'x' }, desired: { mode: 'eco' } }),
];

const SECRET = Buffer.alloc(32, 7);
const ids = (sql: string, twins: ServiceTwin[] = TWINS): string[] =>
  runQuery(twins, sql, { secret: SECRET }).items.map((t) => (t as { deviceId: string }).deviceId);

/** Asserts a QueryError (HubError 400004 ArgumentInvalid) at `pos` whose message matches `re`. */
function rejects(fn: () => unknown, pos: number | undefined, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof QueryError);
    assert.ok(e instanceof HubError);
    assert.equal(e.errorCode, 400004);
    assert.equal(e.errorName, 'ArgumentInvalid');
    assert.equal(e.status, 400);
    assert.equal(e.position, pos);
    assert.match(e.message, re);
    return true;
  });
}

describe('hub query: tokenizer', () => {
  it('identifiers, $-names, numbers (decimal, exponent, hex), strings with escapes, operators', () => {
    const t = tokenize(
      `SELECT properties.reported.$version, 1.5e2, 0x1F, .5 'it\\'s' "a\\"b\\\\\\u0041" <> != <= >= = < > [ ] -`,
    );
    assert.deepEqual(
      t.map((x) => [x.kind, x.text]),
      [
        ['ident', 'SELECT'],
        ['ident', 'properties'],
        ['punct', '.'],
        ['ident', 'reported'],
        ['punct', '.'],
        ['ident', '$version'],
        ['punct', ','],
        ['number', '1.5e2'],
        ['punct', ','],
        ['number', '0x1F'],
        ['punct', ','],
        ['number', '.5'],
        ['string', "it's"],
        ['string', 'a"b\\A'],
        ['op', '<>'],
        ['op', '!='],
        ['op', '<='],
        ['op', '>='],
        ['op', '='],
        ['op', '<'],
        ['op', '>'],
        ['punct', '['],
        ['punct', ']'],
        ['punct', '-'],
        ['eof', ''],
      ],
    );
    assert.deepEqual(
      t.filter((x) => x.kind === 'number').map((x) => x.num),
      [150, 31, 0.5],
    );
    assert.equal(t[1]!.pos, 7);
  });

  it('errors carry the position: bad character, unterminated string, bad escape, bad number', () => {
    rejects(() => tokenize('SELECT * FROM devices WHERE a = #'), 32, /unexpected character "#"/);
    rejects(() => tokenize("WHERE a = 'abc"), 10, /unterminated string/);
    rejects(() => tokenize("a = 'x\\n'"), 6, /expected an escape sequence/);
    rejects(() => tokenize("a = 'x\\u12'"), 6, /escape sequence/);
    rejects(() => tokenize('a = 12abc'), 4, /expected a number, found "12a"/);
    // '' is not an escape IoT Hub documents: two adjacent strings, a syntax error in the parser
    rejects(() => parseCondition("a = 'it''s'"), 8, /expected AND, OR or end of condition/);
  });
});

describe('hub query: parser', () => {
  it('SELECT *, projections with aliases, COUNT, TOP, keywords in any case, devices. prefix', () => {
    assert.deepEqual(parseQuery('select * from DEVICES'), {
      selection: { kind: 'star' },
      from: 'devices',
    });
    const q = parseQuery(
      "SeLeCt deviceId, properties.reported.windows.deviceInfo.osEdition As os, tags['my key'] FROM devices",
    );
    assert.equal(q.selection.kind, 'fields');
    if (q.selection.kind !== 'fields') return;
    assert.deepEqual(
      q.selection.fields.map((f) => [f.name, f.path.segments]),
      [
        ['deviceId', ['deviceId']],
        ['os', ['properties', 'reported', 'windows', 'deviceInfo', 'osEdition']],
        ['my key', ['tags', 'my key']],
      ],
    );
    assert.deepEqual(parseQuery('SELECT COUNT() AS n FROM devices').selection, {
      kind: 'count',
      name: 'n',
    });
    assert.deepEqual(parseQuery('SELECT count() FROM devices').selection, {
      kind: 'count',
      name: '$1',
    });
    assert.equal(parseQuery('SELECT TOP 2 * FROM devices').top, 2);
    assert.deepEqual(parseCondition('devices.tags.x = 1'), {
      type: 'compare',
      op: '=',
      left: { type: 'path', segments: ['tags', 'x'], pos: 0 },
      right: { type: 'literal', value: 1 },
    });
  });

  it('precedence: NOT binds tighter than AND, AND tighter than OR; parentheses override', () => {
    const shape = (e: Expr): unknown =>
      e.type === 'and' || e.type === 'or'
        ? [e.type, shape(e.left), shape(e.right)]
        : e.type === 'not'
          ? ['not', shape(e.operand)]
          : e.type === 'compare'
            ? shape(e.left)
            : e.type === 'path'
              ? e.segments.join('.')
              : e.type;
    assert.deepEqual(shape(parseCondition('NOT a = 1 AND b = 1 OR c = 1')), [
      'or',
      ['and', ['not', 'a'], 'b'],
      'c',
    ]);
    assert.deepEqual(shape(parseCondition('a = 1 OR b = 1 AND NOT NOT c = 1')), [
      'or',
      'a',
      ['and', 'b', ['not', ['not', 'c']]],
    ]);
    assert.deepEqual(shape(parseCondition('NOT (a = 1 OR b = 1) AND c = 1')), [
      'and',
      ['not', ['or', 'a', 'b']],
      'c',
    ]);
    assert.equal((parseCondition('a <> 1') as { op: string }).op, '!=');
  });

  it('syntax errors say what was expected and where', () => {
    rejects(() => parseQuery(''), undefined, /query text is empty/);
    rejects(() => parseQuery('SELEC * FROM devices'), 0, /expected SELECT, found 'SELEC'/);
    rejects(
      () => parseQuery('SELECT FROM devices'),
      7,
      /expected \*, COUNT\(\) or a property path, found 'FROM'/,
    );
    rejects(() => parseQuery('SELECT * devices'), 9, /expected FROM, found 'devices'/);
    rejects(() => parseQuery('SELECT * FROM twins'), 14, /expected devices, found 'twins'/);
    rejects(
      () => parseQuery('SELECT * FROM devices.modules'),
      14,
      /only FROM devices and FROM devices.jobs/,
    );
    rejects(
      () => parseQuery('SELECT * FROM devices WHERE'),
      27,
      /expected a value.*found end of query/,
    );
    rejects(
      () => parseQuery('SELECT * FROM devices WHERE a = 1 b'),
      34,
      /expected AND, OR or end of query, found 'b'/,
    );
    rejects(() => parseQuery('SELECT * FROM devices x'), 22, /expected WHERE or end of query/);
    rejects(() => parseQuery('SELECT * FROM devices WHERE (a = 1'), 34, /expected '\)', found end/);
    rejects(() => parseQuery('SELECT * FROM devices WHERE a. = 1'), 31, /property name after \./);
    rejects(
      () => parseQuery('SELECT * FROM devices WHERE tags[1] = 1'),
      33,
      /quoted property name/,
    );
    rejects(() => parseQuery("SELECT * FROM devices WHERE tags['a' = 1"), 37, /expected '\]'/);
    rejects(
      () => parseQuery('SELECT * FROM devices WHERE a = -b'),
      33,
      /expected a number after -/,
    );
    rejects(() => parseQuery('SELECT deviceId AS FROM devices'), 19, /expected an alias name/);
    rejects(
      () => parseQuery('SELECT deviceId, x.deviceId FROM devices'),
      17,
      /duplicate projection name 'deviceId'/,
    );
    rejects(() => parseQuery('SELECT TOP x * FROM devices'), 11, /non-negative integer after TOP/);
    rejects(() => parseQuery('SELECT COUNT( FROM devices'), 14, /expected '\)'/);
    rejects(() => parseQuery('SELECT COUNT() AS n, deviceId FROM devices'), 7, /without GROUP BY/);
    rejects(
      () => parseQuery('SELECT * FROM devices GROUP BY status'),
      22,
      /GROUP BY is not implemented/,
    );
    rejects(
      () => parseQuery("SELECT * FROM devices WHERE status IN ['a']"),
      35,
      /IN is not implemented/,
    );
    rejects(
      () => parseQuery("SELECT * FROM devices WHERE STARTSWITH(deviceId, 'a')"),
      28,
      /function STARTSWITH/,
    );
    rejects(
      () => parseQuery('SELECT * FROM devices WHERE IS_DEFINED(1)'),
      39,
      /expected a property path, found '1'/,
    );
    rejects(() => parseCondition(' '), undefined, /condition is empty/);
  });
});

describe('hub query: evaluation', () => {
  it('every comparison operator on numbers and strings', () => {
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.floor = 3'), ['a']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.floor != 3'), ['b']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.floor <> 3'), ['b']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.floor < 3'), ['b']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.floor <= 3'), ['a', 'b']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.floor > 1'), ['a']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.floor >= 1'), ['a', 'b']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE properties.reported.temp > 20.5'), ['b']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.floor > -1.5e0'), ['a', 'b']);
    assert.deepEqual(ids("SELECT * FROM devices WHERE deviceId >= 'b'"), ['b', 'c', 'd']);
    assert.deepEqual(ids("SELECT * FROM devices WHERE deviceId < 'b'"), ['a']);
    assert.deepEqual(ids("SELECT * FROM devices WHERE status = 'disabled'"), ['c']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE properties.reported.$version = 3'), [
      'a',
      'b',
      'c',
      'd',
    ]);
  });

  it('strings are case-sensitive, keywords and property names are not', () => {
    assert.deepEqual(ids("select * from devices where tags.region = 'US'"), ['a', 'd']);
    assert.deepEqual(ids("SELECT * FROM devices WHERE Tags.Region = 'us'"), ['c']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags[\'my key\'] = "x"'), ['d']);
  });

  it('type mismatches, undefined paths and objects make comparisons false (not negatable)', () => {
    // floor is the string '3' on c: neither = 3 nor != 3
    assert.deepEqual(ids("SELECT * FROM devices WHERE tags.floor = '3'"), ['c']);
    assert.ok(!ids('SELECT * FROM devices WHERE tags.floor != 3').includes('c'));
    assert.ok(!ids('SELECT * FROM devices WHERE NOT (tags.floor = 3)').includes('c'));
    assert.deepEqual(ids('SELECT * FROM devices WHERE NOT (tags.floor = 3)'), ['b']);
    // undefined path: no comparison holds, negated or not
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.missing != 1'), []);
    assert.deepEqual(ids('SELECT * FROM devices WHERE NOT tags.missing = 1'), []);
    // objects and booleans do not order; booleans and null compare with = and !=
    assert.deepEqual(ids("SELECT * FROM devices WHERE tags = 'x'"), []);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.vip > false'), []);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.vip = true'), ['a']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.vip != TRUE'), ['b']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.note = null'), ['c']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.note != NULL'), []);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.note < null'), []);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.region = undefined'), []);
    // a bare value selects only when exactly true
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.vip'), ['a']);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.region'), []);
    assert.deepEqual(ids('SELECT * FROM devices WHERE true'), ['a', 'b', 'c', 'd']);
    assert.equal(evaluate(parseCondition('NOT 1'), {}), undefined);
  });

  it('AND / OR / NOT with three-valued logic, parentheses', () => {
    assert.deepEqual(ids("SELECT * FROM devices WHERE tags.region = 'US' AND tags.floor = 3"), [
      'a',
    ]);
    assert.deepEqual(ids("SELECT * FROM devices WHERE tags.region = 'EU' OR status = 'disabled'"), [
      'b',
      'c',
    ]);
    assert.deepEqual(ids("SELECT * FROM devices WHERE NOT status = 'enabled'"), ['c']);
    assert.deepEqual(
      ids("SELECT * FROM devices WHERE NOT (tags.region = 'US' OR tags.region = 'EU')"),
      ['c'],
    );
    // false AND undefined = false → NOT → true (a); undefined AND … stays undefined (c, d)
    assert.deepEqual(ids('SELECT * FROM devices WHERE NOT (tags.floor = 1 AND tags.missing = 1)'), [
      'a',
    ]);
    assert.deepEqual(ids('SELECT * FROM devices WHERE tags.missing = 1 OR tags.floor = 1'), ['b']);
    // undefined OR false = undefined → NOT keeps it undefined
    assert.deepEqual(
      ids('SELECT * FROM devices WHERE NOT (tags.missing = 1 OR tags.floor = 9)'),
      [],
    );
    assert.deepEqual(ids('SELECT * FROM devices WHERE NOT (tags.vip = true AND tags.floor = 3)'), [
      'b',
    ]);
  });

  it('IS_DEFINED (null counts as defined), also inside NOT', () => {
    assert.deepEqual(ids('SELECT * FROM devices WHERE IS_DEFINED(tags.note)'), ['c']);
    assert.deepEqual(
      ids('SELECT * FROM devices WHERE is_defined(properties.reported.windows.deviceInfo)'),
      ['a'],
    );
    assert.deepEqual(ids('SELECT * FROM devices WHERE NOT IS_DEFINED(properties.desired.mode)'), [
      'a',
      'b',
      'c',
    ]);
    assert.deepEqual(ids('SELECT * FROM devices WHERE IS_DEFINED(tags.floor.x)'), []);
  });

  it('projections: last segment or alias as key, undefined values left out, copies', () => {
    const r = runQuery(
      TWINS,
      "SELECT deviceId, properties.reported.windows.deviceInfo.osEdition AS os, tags.region FROM devices WHERE tags.region = 'US'",
    );
    assert.deepEqual(r.items, [
      { deviceId: 'a', os: 'IoTEnterprise', region: 'US' },
      { deviceId: 'd', region: 'US' },
    ]);
    const t = runQuery(TWINS, 'SELECT tags FROM devices WHERE deviceId = "a"').items[0] as {
      tags: { floor: number };
    };
    t.tags.floor = 99;
    assert.equal(TWINS[0]!.tags.floor, 3);
    assert.deepEqual(ids('SELECT TOP 3 * FROM devices WHERE deviceId != "b"'), ['a', 'c', 'd']);
    assert.deepEqual(ids('SELECT TOP 1 * FROM devices WHERE deviceId != "a"'), ['b']);
  });

  it('COUNT() with and without alias, with WHERE', () => {
    assert.deepEqual(runQuery(TWINS, 'SELECT COUNT() AS n FROM devices').items, [{ n: 4 }]);
    assert.deepEqual(
      runQuery(TWINS, "SELECT COUNT() AS numberOfDevices FROM devices WHERE tags.region = 'US'")
        .items,
      [{ numberOfDevices: 2 }],
    );
    assert.deepEqual(runQuery(TWINS, 'SELECT COUNT() FROM devices').items, [{ $1: 4 }]);
    assert.deepEqual(runQuery([], 'SELECT COUNT() AS n FROM devices').items, [{ n: 0 }]);
  });

  it('compileCondition: a job queryCondition as a predicate', () => {
    const p = compileCondition("tags.region = 'US' AND NOT IS_DEFINED(properties.desired.mode)");
    assert.deepEqual(
      TWINS.filter(p).map((t) => t.deviceId),
      ['a'],
    );
    rejects(() => compileCondition("tags.region = 'US' )"), 19, /end of condition, found '\)'/);
  });
});

describe('hub query: paging', () => {
  const many = Array.from({ length: 25 }, (_, i) =>
    twin(`dev${String(i).padStart(2, '0')}`, { tags: { n: i } }),
  );
  const sql = 'SELECT deviceId FROM devices WHERE tags.n >= 2';

  it('walks > 2 pages with continuation tokens, each bound to the query', () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = runQuery(many, sql, { pageSize: 7, continuationToken: token, secret: SECRET });
      pages++;
      assert.ok(page.items.length <= 7);
      seen.push(...page.items.map((i) => (i as { deviceId: string }).deviceId));
      token = page.continuationToken;
      if (token) assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    } while (token);
    assert.equal(pages, 4);
    assert.deepEqual(
      seen,
      many.slice(2).map((t) => t.deviceId),
    );
    // exactly one page's worth: no token
    assert.equal(runQuery(many.slice(0, 9), sql, { pageSize: 7 }).continuationToken, undefined);
    // default page size 100, max 1000
    const big = Array.from({ length: 1001 }, (_, i) => twin(`d${i}`));
    const p1 = runQuery(big, 'SELECT * FROM devices');
    assert.equal(p1.items.length, 100);
    const p2 = runQuery(big, 'SELECT * FROM devices', { pageSize: 1000 });
    assert.equal(p2.items.length, 1000);
    const p3 = runQuery(big, 'SELECT * FROM devices', {
      pageSize: 1000,
      continuationToken: p2.continuationToken,
    });
    assert.deepEqual(p3, { items: [big[1000]] });
  });

  it('rejects tampered, forged, foreign-query and malformed tokens; bad page sizes', () => {
    const page = runQuery(many, sql, { pageSize: 5, secret: SECRET });
    const token = page.continuationToken!;
    const [payload, sig] = token.split('.') as [string, string];
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), o: 0 }),
    ).toString('base64url');
    const flip = sig.slice(0, -2) + (sig.endsWith('A') ? 'B' : 'A') + sig.slice(-1);
    const bad = (t: string, re: RegExp, q = sql, secret: Buffer = SECRET): void =>
      rejects(
        () => runQuery(many, q, { pageSize: 5, continuationToken: t, secret }),
        undefined,
        re,
      );
    bad(`${forged}.${sig}`, /signature mismatch/);
    bad(`${payload}.${flip}`, /signature mismatch/);
    bad(token, /signature mismatch/, sql, Buffer.alloc(32, 8));
    bad(token, /issued for another query/, `${sql} AND tags.n < 100`);
    bad('garbage', /malformed/);
    bad('a.b.c', /malformed/);
    // a well-signed token whose payload is not ours
    const sign = (p: string): string =>
      `${p}.${createHmac('sha256', SECRET).update(p).digest('base64url')}`;
    bad(sign(Buffer.from('not json').toString('base64url')), /malformed/);
    const q = JSON.parse(Buffer.from(payload, 'base64url').toString()).q as string;
    bad(sign(Buffer.from(JSON.stringify({ o: -1, q })).toString('base64url')), /malformed/);
    for (const pageSize of [0, -1, 1001, 2.5, NaN]) {
      rejects(() => runQuery(many, sql, { pageSize }), undefined, /x-ms-max-item-count/);
    }
    // a valid token keeps working
    assert.equal(
      runQuery(many, sql, { pageSize: 5, continuationToken: token, secret: SECRET }).items.length,
      5,
    );
    // COUNT() never pages
    const c = runQuery(many, 'SELECT COUNT() AS n FROM devices', { pageSize: 1, secret: SECRET });
    assert.deepEqual(c, { items: [{ n: 25 }] });
  });
});

describe('hub query: over HubCore', () => {
  let dir: string;
  let hub: HubCore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-query-'));
    hub = new HubCore(dir);
    for (const id of ['d1', 'd2', 'd3']) hub.registry.create(id);
    hub.updateTwin('d1', { tags: { site: 'lab' } });
    hub.updateReportedProperties('d2', { fw: '1.2' });
  });
  afterEach(() => {
    hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('queries the service view; the per-hub secret persists and signs tokens', () => {
    const all = runQuery(hub, 'SELECT * FROM devices', { pageSize: 2 });
    assert.equal(all.items.length, 2);
    assert.deepEqual(all.items[0], hub.getTwin('d1'));
    const secret = hub.store.getMeta<string>(QUERY_SECRET_META_KEY);
    assert.ok(secret && Buffer.from(secret, 'base64').length === 32);
    const rest = runQuery(hub, 'SELECT * FROM devices', {
      pageSize: 2,
      continuationToken: all.continuationToken,
    });
    assert.deepEqual(
      rest.items.map((t) => (t as ServiceTwin).deviceId),
      ['d3'],
    );
    assert.deepEqual(runQuery(hub, "SELECT deviceId FROM devices WHERE tags.site = 'lab'").items, [
      { deviceId: 'd1' },
    ]);
    assert.deepEqual(
      runQuery(
        hub,
        "SELECT deviceId, properties.reported.fw FROM devices WHERE properties.reported.fw >= '1'",
      ).items,
      [{ deviceId: 'd2', fw: '1.2' }],
    );
    assert.deepEqual(
      runQuery(hub, 'SELECT COUNT() AS n FROM devices WHERE properties.desired.$version = 1').items,
      [{ n: 3 }],
    );
    // a token from another hub (another secret) is rejected
    rejects(
      () =>
        runQuery(TWINS, 'SELECT * FROM devices', {
          pageSize: 2,
          continuationToken: all.continuationToken,
        }),
      undefined,
      /signature mismatch/,
    );
  });

  it('rows work as azure-iothub Query.nextAsTwin() input (Twin needs deviceId)', () => {
    for (const row of runQuery(hub, 'SELECT * FROM devices').items) {
      const t = new Twin(row as never, {} as never);
      assert.equal(t.deviceId, (row as ServiceTwin).deviceId);
      assert.equal(t.etag, (row as ServiceTwin).etag);
    }
  });
});
