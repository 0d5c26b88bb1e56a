/**
 * The service's audit log writer (lib/service/audit.ts): lines kept in order in one buffer, a
 * flushed write (a request that may change the device) also writes every earlier line, reads
 * written by the timer, at the size bound and at close, a write failure reported once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, type AuditEntry } from '../../../lib/service/audit';
import type { Caller } from '../../../lib/service/peer';

const caller: Caller = {
  uid: 1000,
  gid: 1000,
  pid: 42,
  user: 'app',
  gids: [1000, 990],
  groupNames: ['app', 'iotdm'],
  source: 'kernel',
};

const entry = (requestId: number, verb = 'get'): AuditEntry => ({
  op: 'mdm.apply',
  clientId: 'c',
  requestId,
  ops: [{ verb, uri: './DevDetail/SwV', status: 200 }],
  result: 'ok',
  us: 10,
});

describe('service audit log', () => {
  let dir: string;
  let file: string;
  const lines = () =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown> & { requestId: number });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wdm-audit-'));
    file = join(dir, 'logs', 'audit.jsonl');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('holds reads in memory; a flushed line is written with every line before it, in order', async () => {
    const log = new AuditLog(file, { flushMs: 60_000 });
    log.write(caller, entry(1));
    log.write(caller, entry(2));
    assert.deepEqual(lines(), [], 'reads wait for the timer, the size bound or a flush');
    assert.equal(log.buffered, 2);
    log.write(caller, entry(3, 'replace'), { flush: true });
    assert.deepEqual(
      lines().map((l) => l.requestId),
      [1, 2, 3],
    );
    assert.equal(log.buffered, 0);
    log.write(caller, entry(4));
    await log.close();
    assert.deepEqual(
      lines().map((l) => l.requestId),
      [1, 2, 3, 4],
      'close writes what is held',
    );
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('writes the same line shape as before: time, caller, then the entry', async () => {
    const log = new AuditLog(file);
    log.write(caller, { ...entry(7), atomic: true, error: 'ERR_X', result: 'error' });
    await log.close();
    const [line] = lines();
    assert.ok(line);
    assert.deepEqual(Object.keys(line).slice(0, 3), ['time', 'caller', 'op']);
    assert.ok(!Number.isNaN(Date.parse(line.time as string)));
    assert.deepEqual(line.caller, {
      uid: 1000,
      gid: 1000,
      pid: 42,
      user: 'app',
      groups: ['app', 'iotdm'],
    });
    assert.equal(line.atomic, true);
    assert.equal(line.error, 'ERR_X');
  });

  it('writes held reads after flushMs, and at once past maxBufferBytes', async () => {
    const log = new AuditLog(file, { flushMs: 20 });
    log.write(caller, entry(1));
    assert.equal(lines().length, 0);
    for (let i = 0; i < 100 && lines().length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(lines().length, 1, 'the timer wrote it');
    const small = new AuditLog(join(dir, 'small.jsonl'), { flushMs: 60_000, maxBufferBytes: 500 });
    for (let i = 0; i < 10; i++) small.write(caller, entry(i));
    const written = readFileSync(join(dir, 'small.jsonl'), 'utf8').split('\n').length - 1;
    assert.ok(written >= 2 && written < 10, `wrote ${written} of 10 lines at the size bound`);
    await small.close();
    await log.close();
  });

  it('reports a failing write once (until a write succeeds), never throws to the request', async () => {
    const errors: string[] = [];
    const log = new AuditLog('/dev/full', { onError: (m) => errors.push(m) });
    log.write(caller, entry(1), { flush: true });
    log.write(caller, entry(2), { flush: true });
    await log.close();
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /\/dev\/full: 1 line\(s\) could not be written/);
  });

  it('writes nothing when disabled ("")', async () => {
    const log = new AuditLog('');
    log.write(caller, entry(1), { flush: true });
    assert.equal(log.buffered, 0);
    await log.close();
  });
});
