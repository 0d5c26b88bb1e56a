import assert from 'node:assert/strict';
import { InvalidUriError, cspUri, parseCspUri } from '../../lib';

describe('CSP URI validation', () => {
  const valid = [
    './Device/Vendor/MSFT/Reboot/RebootNow',
    './User/Vendor/MSFT/Policy/Config/Experience/AllowSpotlightCollection',
    './Vendor/MSFT/DeviceStatus/OS/Mode',
    './DevDetail/SwV',
    './DevDetail',
    './DevInfo/DevId',
    './Device/Vendor/MSFT/WiFi/Profile/Corp%20WiFi/WlanXml',
  ];
  for (const uri of valid) {
    it(`accepts ${uri}`, () => assert.deepEqual(parseCspUri(uri), { path: uri }));
  }

  it('parses ?list=StructData and ?list=Struct', () => {
    assert.deepEqual(parseCspUri('./Vendor/MSFT/Update/InstalledUpdates?list=StructData'), {
      path: './Vendor/MSFT/Update/InstalledUpdates',
      list: 'StructData',
    });
    assert.equal(parseCspUri('./DevDetail?list=Struct').list, 'Struct');
  });

  const invalid: Array<[unknown, RegExp]> = [
    ['', /empty/],
    [42, /must be a string/],
    [undefined, /must be a string/],
    ['/Device/Vendor/MSFT/Reboot', /must start with/],
    ['Device/Vendor/MSFT/Reboot', /must start with/],
    ['./Devices/Vendor', /must start with/],
    ['./Device/Vendor//MSFT', /empty segment/],
    ['./Device/Vendor/MSFT/', /ends with/],
    ['./Device/Vendor/../../etc', /"\.\." segment/],
    ['./Device/./Vendor', /"\." segment/],
    ['./Device/Vendor/MSFT/A\u0000B', /control character/],
    ['./Device/Vendor/MSFT/A\nB', /control character/],
    ['./Device/Vendor/MSFT/A\u0085B', /control character/],
    ['./Device/Vendor/MSFT/Corp WiFi', /whitespace/],
    ['./Device/Vendor/MSFT/A%2', /malformed %-escape/],
    ['./Device/Vendor/MSFT/A%ZZ', /malformed %-escape/],
    ['./DevDetail?list=Everything', /only queries allowed/],
    ['./DevDetail?x', /only queries allowed/],
    ['./Device/' + 'a'.repeat(5000), /longer than/],
  ];
  for (const [uri, why] of invalid) {
    it(`rejects ${JSON.stringify(uri)?.slice(0, 60)}`, () => {
      assert.throws(
        () => parseCspUri(uri),
        (err: unknown) =>
          err instanceof InvalidUriError && err.code === 'ERR_INVALID_URI' && why.test(err.message),
      );
    });
  }

  it('cspUri %-escapes segment names', () => {
    assert.equal(
      cspUri('./Device/Vendor/MSFT/WiFi/Profile', 'Corp WiFi (5GHz)', 'WlanXml'),
      './Device/Vendor/MSFT/WiFi/Profile/Corp%20WiFi%20%285GHz%29/WlanXml',
    );
    assert.equal(cspUri('./Device/Vendor/MSFT/X', 'ü/?'), './Device/Vendor/MSFT/X/%C3%BC%2F%3F');
    assert.throws(() => cspUri('./Device/Vendor/MSFT/X', '..'), InvalidUriError);
  });
});
