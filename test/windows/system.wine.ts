/**
 * Windows x64 under wine (scripts/test-windows.sh): the addon's system part on Win32
 * (native/system/system_win.cc): the time zone (Get/SetDynamicTimeZoneInformation,
 * EnumDynamicTimeZoneInformation) and the boot time (GetTickCount64), through AddonSystem.
 */
import assert from 'node:assert/strict';
import { MdmApiError } from '../../lib/errors';
import { AddonSystem } from '../../lib/native/addon-system';

describe('win32 under wine: the system part (system_win.cc)', function () {
  this.timeout(60000);
  const system = new AddonSystem();

  it('reads the time zone: a complete TimeZoneInfo', async () => {
    const tz = await system.getTimeZone();
    assert.equal(typeof tz.keyName, 'string');
    assert.equal(typeof tz.bias, 'number');
    assert.ok(Math.abs(tz.bias) <= 1440);
    assert.equal(typeof tz.dynamicDaylightTimeDisabled, 'boolean');
  });

  it('answers a boot time in the past (now - GetTickCount64)', async () => {
    const boot = await system.bootTime();
    const now = Date.now();
    assert.ok(boot <= now, `${boot} <= ${now}`);
    assert.ok(boot > now - 10 * 365 * 86400000, 'within the last ten years');
  });

  it('sets a time zone by key name and reads it back, then restores the old one', async function () {
    const before = await system.getTimeZone();
    try {
      await system.setTimeZone({
        ...before,
        keyName: 'Tokyo Standard Time',
        dynamicDaylightTimeDisabled: false,
      });
    } catch (err) {
      // wine 8 has no SeTimeZonePrivilege (LookupPrivilegeValueW: ERROR_NO_SUCH_PRIVILEGE). Only
      // that exact failure is a skip; anything else fails the test.
      const e = err as MdmApiError;
      if (
        e instanceof MdmApiError &&
        e.api === 'LookupPrivilegeValueW' &&
        e.hresult === 0x80070521
      ) {
        this.skip();
      }
      throw err;
    }
    try {
      const now = await system.getTimeZone();
      assert.equal(now.keyName, 'Tokyo Standard Time');
      assert.equal(now.bias, -540);
    } finally {
      await system.setTimeZone(before);
    }
  });
});
