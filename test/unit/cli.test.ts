import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MdmUnavailableError } from '../../lib';
import { runCsp } from '../../lib/cli/csp-command';
import { EXIT } from '../../lib/cli/io';
import { main } from '../../lib/cli/main';
import { MockMdm } from '../../lib/testing';
import { SEED_NODES } from '../fixtures/seed-nodes';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe('iotdm csp (CLI, mock)', () => {
  let mock: MockMdm;
  beforeEach(() => (mock = new MockMdm({ nodes: SEED_NODES })));

  it('gets a value', async () => {
    const c = capture();
    assert.equal(await runCsp(['get', './DevDetail/SwV'], c.io, mock), EXIT.ok);
    assert.deepEqual(c.out, ['10.0.26100.1']);
  });

  it('prints JSON with --json', async () => {
    const c = capture();
    assert.equal(await runCsp(['get', './DevDetail/SwV', '--json'], c.io, mock), EXIT.ok);
    assert.deepEqual(JSON.parse(c.out.join('')), {
      uri: './DevDetail/SwV',
      verb: 'get',
      status: 200,
      value: '10.0.26100.1',
      format: 'chr',
    });
  });

  it('sets, adds, deletes and execs with readable output', async () => {
    const c = capture();
    const uri = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart';
    assert.equal(await runCsp(['add', uri, '--format', 'int', '--data', '8'], c.io, mock), EXIT.ok);
    assert.equal(await runCsp(['set', uri, '--format', 'int', '--data', '9'], c.io, mock), EXIT.ok);
    assert.equal(mock.node(uri)?.value, '9');
    assert.equal(await runCsp(['delete', uri], c.io, mock), EXIT.ok);
    assert.equal(
      await runCsp(['exec', './Device/Vendor/MSFT/Reboot/RebootNow'], c.io, mock),
      EXIT.ok,
    );
    assert.match(c.out[0] as string, /^200 command completed successfully: add /);
    assert.equal(mock.execLog.length, 1);
  });

  it('lists a subtree', async () => {
    const c = capture();
    assert.equal(await runCsp(['list', './DevDetail'], c.io, mock), EXIT.ok);
    assert.ok(c.out.includes('./DevDetail/SwV = 10.0.26100.1'));
  });

  it('exits 1 on a CSP failure status, with the status in the message', async () => {
    const c = capture();
    assert.equal(
      await runCsp(['set', './DevDetail/SwV', '--data', 'x'], c.io, mock),
      EXIT.cspFailed,
    );
    assert.match(c.err.join(''), /405 command not allowed/);
    const j = capture();
    assert.equal(
      await runCsp(['get', './Device/Vendor/MSFT/Nope', '--json'], j.io, mock),
      EXIT.cspFailed,
    );
    assert.deepEqual(JSON.parse(j.err.join('')).error.status, 404);
  });

  it('exits 2 on usage errors, naming the problem', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /missing verb/],
      [['frob', './DevDetail'], /unknown verb "frob"/],
      [['get'], /missing <uri>/],
      [['get', './DevDetail', 'extra'], /unexpected argument/],
      [['get', './DevDetail', '--bogus'], /Unknown option/],
      [['get', './DevDetail', '--format', 'float'], /--format must be one of/],
      [['set', './DevDetail/SwV'], /needs --data/],
      [['get', 'DevDetail/SwV'], /invalid CSP URI/],
      [
        ['set', './Device/Vendor/MSFT/X', '--format', 'int', '--data', 'abc'],
        /expected an integer/,
      ],
    ];
    for (const [argv, why] of cases) {
      const c = capture();
      assert.equal(await runCsp(argv, c.io, mock), EXIT.usage, argv.join(' '));
      assert.match(c.err.join('\n'), why, argv.join(' '));
    }
    assert.equal(mock.calls.length, 0);
  });

  it('exits 3 when the MDM API is unavailable', async () => {
    mock.throwNext(new MdmUnavailableError('no library'));
    const c = capture();
    assert.equal(await runCsp(['get', './DevDetail/SwV'], c.io, mock), EXIT.unavailable);
    assert.match(c.err.join(''), /no library/);
  });

  it('sends a raw SyncML file and prints the answer', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'iotdm-cli-')), 'body.xml');
    writeFileSync(file, '<SyncBody><Get><CmdID>1</CmdID></Get></SyncBody>');
    mock.setRawResponse('<SyncML>answer</SyncML>');
    const c = capture();
    assert.equal(await runCsp(['syncml', file], c.io, mock), EXIT.ok);
    assert.deepEqual(c.out, ['<SyncML>answer</SyncML>']);
    assert.equal(mock.rawCalls[0], '<SyncBody><Get><CmdID>1</CmdID></Get></SyncBody>');
    const missing = capture();
    assert.equal(await runCsp(['syncml', file + '.nope'], missing.io, mock), EXIT.error);
    assert.match(missing.err.join(''), /ENOENT/);
  });

  it('prints help everywhere', async () => {
    const a = capture();
    assert.equal(await main(['--help'], a.io), EXIT.ok);
    assert.match(a.out.join(''), /Usage: iotdm <command>/);
    const b = capture();
    assert.equal(await main(['csp', '--help'], b.io), EXIT.ok);
    assert.match(b.out.join(''), /Exit codes:/);
    const c = capture();
    assert.equal(await main(['nope'], c.io), EXIT.usage);
  });
});
