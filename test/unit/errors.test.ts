import assert from 'node:assert/strict';
import {
  CspError,
  IotDmError,
  MdmApiError,
  MdmUnavailableError,
  SyncMLError,
  describeOmaStatus,
  formatHresult,
  fromNativeError,
} from '../../lib';

describe('error mapping', () => {
  it('maps each native error code to its class, keeping the cause', () => {
    const unavailable = Object.assign(new Error('dlopen failed'), { code: 'ERR_MDM_UNAVAILABLE' });
    const mapped = fromNativeError(unavailable);
    assert.ok(mapped instanceof MdmUnavailableError);
    assert.equal(mapped.code, 'ERR_MDM_UNAVAILABLE');
    assert.equal(mapped.cause, unavailable);

    const hr = fromNativeError(
      Object.assign(new Error('x'), {
        code: 'ERR_MDM_HRESULT',
        hresult: 0x80070005,
        api: 'ApplyLocalManagementSyncML',
      }),
    );
    assert.ok(hr instanceof MdmApiError);
    assert.equal(hr.hresult, 0x80070005);
    assert.match(
      hr.message,
      /ApplyLocalManagementSyncML failed with HRESULT 0x80070005: access denied/,
    );

    const neg = fromNativeError(
      Object.assign(new Error('x'), { code: 'ERR_MDM_HRESULT', hresult: -2147024891 }),
    );
    assert.equal(neg.hresult, 0x80070005, 'signed HRESULTs are normalized to unsigned');

    const bad = fromNativeError(
      Object.assign(new Error('x'), { code: 'ERR_SYNCML_MALFORMED', detail: 'unclosed <Status>' }),
    );
    assert.ok(bad instanceof SyncMLError);
    assert.match(bad.message, /unclosed <Status>/);

    const other = fromNativeError('boom');
    assert.ok(other instanceof IotDmError);
    assert.equal(other.code, 'ERR_NATIVE');
  });

  it('passes package errors through unchanged', () => {
    const e = new CspError('get', './DevDetail/SwV', 404);
    assert.equal(fromNativeError(e), e);
  });

  it('describes statuses and HRESULTs', () => {
    assert.equal(describeOmaStatus(418), 'node already exists');
    assert.equal(describeOmaStatus(299), 'success');
    assert.equal(describeOmaStatus(599), 'unknown status');
    assert.equal(formatHresult(-2147024891), '0x80070005');
  });

  it('gives every error a name, a stable code and an instanceof chain', () => {
    const e = new CspError('replace', './X', 405);
    assert.equal(e.name, 'CspError');
    assert.ok(e instanceof IotDmError && e instanceof Error);
    assert.equal(e.status, 405);
  });
});
