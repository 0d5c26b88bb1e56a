import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import {
  CspError,
  CspNotAllowedError,
  InvalidArgumentError,
  InvalidValueError,
  MdmApiError,
  MdmUnavailableError,
  ReportError,
} from '../../../lib/errors';
import { createLogger, errorFields } from '../../../lib/dm/logger';
import { errorStatus, lastChange, nowIso } from '../../../lib/dm/status';

describe('dm/status', () => {
  it('maps each error family to subsystem, code, HTTP status and retry', () => {
    const pick = (err: unknown): unknown[] => {
      const e = errorStatus(err);
      return [e.errSubSystem, e.errCode, e.httpStatus, e.transient];
    };
    assert.deepEqual(pick(new CspError('get', './DevInfo/DevId', 404)), ['CSP', 404, 500, false]);
    assert.deepEqual(pick(new CspNotAllowedError('s', 'get', './DevInfo/DevId')), [
      'DeviceManagement',
      403,
      500,
      false,
    ]);
    assert.deepEqual(pick(new MdmUnavailableError('down')), ['MDM', 503, 503, true]);
    const api = errorStatus(new MdmApiError('ApplyLocalManagementSyncML', 0x80070005));
    assert.deepEqual([api.errSubSystem, api.errCode, api.transient], ['MDM', 0x80070005 | 0, true]);
    assert.deepEqual(pick(new InvalidValueError('bad')), ['DeviceManagement', 400, 400, false]);
    assert.deepEqual(pick(new InvalidArgumentError('x', 'a number', 'y')), [
      'DeviceManagement',
      400,
      400,
      false,
    ]);
    assert.deepEqual(pick(new ReportError('r', undefined, 413)), [
      'DeviceManagement',
      413,
      500,
      false,
    ]);
    assert.deepEqual(pick(new Error('who knows')), ['Unknown', 500, 500, true]);
    assert.equal(errorStatus('a string').errContext, 'a string');
  });

  it('keeps errContext within 512 characters', () => {
    const e = errorStatus(new InvalidValueError('x'.repeat(2000)));
    assert.equal(e.errContext.length, 512);
    assert.ok(e.errContext.endsWith('...'));
  });

  it('lastChange always carries all five fields', () => {
    const ok = lastChange('completed');
    assert.deepEqual(Object.keys(ok).sort(), [
      'errCode',
      'errContext',
      'errSubSystem',
      'state',
      'time',
    ]);
    assert.deepEqual([ok.errCode, ok.errContext, ok.errSubSystem], [0, '', '']);
    const bad = lastChange('failed', new CspError('replace', './DevInfo/DevId', 405));
    assert.deepEqual([bad.state, bad.errSubSystem, bad.errCode], ['failed', 'CSP', 405]);
    assert.match(bad.errContext, /replace \.\/DevInfo\/DevId failed: 405/);
  });

  it('nowIso is whole seconds UTC', () => {
    assert.match(nowIso(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});

describe('dm/logger', () => {
  it('redacts secret fields and keeps the rest', async () => {
    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString('utf8'));
        cb();
      },
    });
    const log = createLogger('info', sink).child({ section: 'x' });
    log.info(
      {
        connectionString: 'HostName=h;SharedAccessKey=secret1',
        nested: { sasToken: 'secret2', deeper: { password: 'secret3' } },
        version: 7,
      },
      'hello',
    );
    log.debug({ version: 8 }, 'not at info');
    await new Promise((r) => setImmediate(r));
    const text = chunks.join('');
    assert.doesNotMatch(text, /secret1|secret2|secret3/);
    const line = JSON.parse(text.trim().split('\n')[0] ?? '{}') as Record<string, unknown>;
    assert.equal(line.msg, 'hello');
    assert.equal(line.version, 7);
    assert.equal(line.section, 'x');
    assert.equal(line.connectionString, '[redacted]');
    assert.equal(text.trim().split('\n').length, 1);
  });

  it('errorFields gives code and message only', () => {
    assert.deepEqual(errorFields(new InvalidValueError('m')), {
      code: 'ERR_INVALID_VALUE',
      err: 'm',
    });
    assert.deepEqual(errorFields(new Error('plain')), { err: 'plain' });
    assert.deepEqual(errorFields(42), { err: '42' });
  });
});
