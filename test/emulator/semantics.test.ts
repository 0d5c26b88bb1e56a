/**
 * OMA-DM semantics of the CSP emulator as Windows shows them, through the REAL addon: every verb
 * and every status the issue names (404, 405, 415, 400, 418, 500/507/216), Sequence, nested
 * Atomic, ./Vendor alias, case sensitivity, ./User scope, dynamic nodes and their subtrees.
 */
import assert from 'node:assert/strict';
import { AddonMdm, Csp, CspError, type CspOp, type CspResult } from '../../lib';
import { commandStatuses, getCmd, replaceCmd } from './syncml';

const POLICY = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart';
const USER_POLICY = './User/Vendor/MSFT/Policy/Config/Experience/AllowSpotlightCollection';
const WIFI = './Device/Vendor/MSFT/WiFi/Profile';

describe('CSP emulator semantics (real addon)', () => {
  const mdm = new AddonMdm();
  const csp = new Csp(mdm);
  const one = async (op: CspOp): Promise<CspResult> => (await mdm.apply([op]))[0] as CspResult;
  const statusOf = async (op: CspOp) => (await one(op)).status;

  beforeEach(async () => {
    await mdm.apply([
      { verb: 'delete', uri: POLICY },
      { verb: 'delete', uri: `${WIFI}/Emu%20Test` },
    ]);
  });

  it('404 for unknown nodes, and paths are case-sensitive', async () => {
    assert.equal(await statusOf({ verb: 'get', uri: './Device/Vendor/MSFT/NoSuchCsp' }), 404);
    assert.equal(await statusOf({ verb: 'get', uri: './devdetail/SwV' }), 404);
    assert.equal(await statusOf({ verb: 'get', uri: './DevDetail/swv' }), 404);
    assert.equal(await statusOf({ verb: 'get', uri: './DevDetail/SwV' }), 200);
  });

  it('405 for a verb outside the node AccessType', async () => {
    assert.equal(
      await statusOf({ verb: 'replace', uri: './DevDetail/SwV', format: 'chr', data: 'x' }),
      405,
    );
    assert.equal(await statusOf({ verb: 'delete', uri: './DevDetail/SwV' }), 405);
    assert.equal(await statusOf({ verb: 'exec', uri: './DevDetail/SwV' }), 405);
    assert.equal(
      await statusOf({
        verb: 'replace',
        uri: './Device/Vendor/MSFT/Reboot/RebootNow',
        format: 'null',
        data: '',
      }),
      405,
    );
  });

  it('415 for a wrong format or data that does not fit it', async () => {
    assert.equal(await statusOf({ verb: 'add', uri: POLICY, format: 'chr', data: '8' }), 415);
    assert.equal(await statusOf({ verb: 'add', uri: POLICY, format: 'int', data: 'eight' }), 415);
    assert.equal(await statusOf({ verb: 'add', uri: POLICY, format: 'int', data: '8' }), 200);
    assert.equal(
      await statusOf({ verb: 'replace', uri: POLICY, format: 'bool', data: 'true' }),
      415,
    );
  });

  it('400 for a value outside its allowed range', async () => {
    assert.equal(await statusOf({ verb: 'add', uri: POLICY, format: 'int', data: '24' }), 400);
    assert.equal(await statusOf({ verb: 'add', uri: POLICY, format: 'int', data: '-1' }), 400);
    assert.equal(await statusOf({ verb: 'add', uri: POLICY, format: 'int', data: '23' }), 200);
    assert.equal(await statusOf({ verb: 'replace', uri: POLICY, format: 'int', data: '99' }), 400);
    assert.equal(await csp.get(POLICY), 23, 'a refused replace leaves the value');
  });

  it('418 for an Add of an existing node', async () => {
    assert.equal(await statusOf({ verb: 'add', uri: POLICY, format: 'int', data: '8' }), 200);
    assert.equal(await statusOf({ verb: 'add', uri: POLICY, format: 'int', data: '9' }), 418);
  });

  it('./Vendor/MSFT is an alias of ./Device/Vendor/MSFT', async () => {
    await csp.add('./Vendor/MSFT/Policy/Config/Update/ActiveHoursStart', 11);
    assert.equal(await csp.get(POLICY), 11);
    assert.equal(await csp.get('./Vendor/MSFT/Policy/Config/Update/ActiveHoursStart'), 11);
  });

  it('./User scope exists where the DDF has a user root', async () => {
    await mdm.apply([{ verb: 'delete', uri: USER_POLICY }]);
    assert.equal(await statusOf({ verb: 'add', uri: USER_POLICY, format: 'int', data: '1' }), 200);
    assert.equal(await csp.get(USER_POLICY), 1);
    assert.equal(await statusOf({ verb: 'delete', uri: USER_POLICY }), 200);
    assert.equal(
      await statusOf({
        verb: 'get',
        uri: './User/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart',
      }),
      404,
    );
  });

  it('creates dynamic nodes with Add and removes them with their subtree on Delete', async () => {
    const profile = `${WIFI}/Emu%20Test`;
    assert.equal(
      await statusOf({
        verb: 'add',
        uri: `${profile}/WlanXml`,
        format: 'chr',
        data: '<WLANProfile/>',
      }),
      200,
    );
    assert.ok(((await csp.get(WIFI)) as string[]).includes('Emu%20Test'));
    assert.equal(await csp.get(`${profile}/WlanXml`), '<WLANProfile/>');
    assert.equal(await statusOf({ verb: 'delete', uri: profile }), 200);
    assert.equal(await statusOf({ verb: 'get', uri: `${profile}/WlanXml` }), 404);
    assert.ok(!((await csp.get(WIFI)) as string[]).includes('Emu%20Test'));
  });

  it('lists an interior node and a subtree (?list=StructData)', async () => {
    const children = (await csp.get('./Device/Vendor/MSFT/Reboot')) as string[];
    assert.ok(children.includes('RebootNow') && children.includes('Schedule'), String(children));
    const items = await csp.list('./Device/Vendor/MSFT/Reboot');
    assert.ok(items.some((i) => i.uri === './Device/Vendor/MSFT/Reboot/Schedule'));
  });

  it('Atomic: 507 for the block, 216 for rolled-back commands, nothing applied', async () => {
    const body =
      '<SyncBody><Atomic><CmdID>1</CmdID>' +
      `<Add><CmdID>2</CmdID><Item><Target><LocURI>${POLICY}</LocURI></Target><Meta><Format xmlns="syncml:metinf">int</Format></Meta><Data>5</Data></Item></Add>` +
      replaceCmd(3, './DevDetail/SwV', 'chr', 'x') +
      '</Atomic></SyncBody>';
    const got = commandStatuses(await mdm.rawSyncML(body));
    assert.deepEqual(got.sort(), ['Add:2=216', 'Atomic:1=507', 'Replace:3=405'].sort());
    assert.equal(await statusOf({ verb: 'get', uri: POLICY }), 404);
  });

  it('Atomic: a Get inside is 500, a nested Atomic is 500 inside 507', async () => {
    const withGet = commandStatuses(
      await mdm.rawSyncML(
        `<SyncBody><Atomic><CmdID>1</CmdID>${getCmd(2, './DevDetail/SwV')}</Atomic></SyncBody>`,
      ),
    );
    assert.ok(withGet.includes('Get:2=500') && withGet.includes('Atomic:1=507'), String(withGet));
    const nested = commandStatuses(
      await mdm.rawSyncML(
        `<SyncBody><Atomic><CmdID>1</CmdID><Atomic><CmdID>2</CmdID>${replaceCmd(3, './DevDetail/Ext/Microsoft/DeviceName', 'chr', 'n')}</Atomic></Atomic></SyncBody>`,
      ),
    );
    assert.ok(nested.includes('Atomic:2=500') && nested.includes('Atomic:1=507'), String(nested));
  });

  it('Sequence: commands run in order with a status each', async () => {
    const body =
      '<SyncBody><Sequence><CmdID>1</CmdID>' +
      `<Add><CmdID>2</CmdID><Item><Target><LocURI>${POLICY}</LocURI></Target><Meta><Format xmlns="syncml:metinf">int</Format></Meta><Data>6</Data></Item></Add>` +
      replaceCmd(3, POLICY, 'int', '7') +
      getCmd(4, POLICY) +
      '</Sequence></SyncBody>';
    const answer = await mdm.rawSyncML(body);
    const got = commandStatuses(answer);
    assert.ok(
      ['Sequence:1=200', 'Add:2=200', 'Replace:3=200', 'Get:4=200'].every((s) => got.includes(s)),
      String(got),
    );
    assert.match(answer, /<Data>7<\/Data>/);
  });

  it('400 for a command without CmdID and for an unknown element', async () => {
    const got = commandStatuses(
      await mdm.rawSyncML(
        '<SyncBody><Get><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get><Frob><CmdID>2</CmdID></Frob></SyncBody>',
      ),
    );
    assert.ok(got.includes('Get:=400') && got.includes('Frob:2=400'), String(got));
  });

  it('Exec runs only where the DDF allows it', async () => {
    assert.equal(
      await statusOf({ verb: 'exec', uri: './Device/Vendor/MSFT/Reboot/RebootNow' }),
      200,
    );
    assert.equal(
      await statusOf({ verb: 'exec', uri: POLICY }),
      405,
      'the AccessType is checked before existence',
    );
  });

  it('serves 100 concurrent callers, each its own answer', async () => {
    await csp.add(POLICY, 9);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => {
        switch (i % 4) {
          case 0:
            return csp.get('./DevDetail/SwV');
          case 1:
            return csp.get(POLICY);
          case 2:
            return new Csp(mdm).get('./Device/Vendor/MSFT/NoSuchCsp' + i);
          default:
            return mdm.apply([
              { verb: 'replace', uri: './DevDetail/SwV', format: 'chr', data: String(i) },
            ]);
        }
      }),
    );
    outcomes.forEach((o, i) => {
      if (i % 4 === 0) assert.ok(o.status === 'fulfilled' && typeof o.value === 'string');
      if (i % 4 === 1) assert.ok(o.status === 'fulfilled' && o.value === 9);
      if (i % 4 === 2) assert.ok(o.status === 'rejected' && (o.reason as CspError).status === 404);
      if (i % 4 === 3)
        assert.ok(o.status === 'fulfilled' && (o.value as CspResult[])[0]?.status === 405);
    });
  });
});
