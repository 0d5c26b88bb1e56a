/**
 * Windows x64 under wine (scripts/test-windows.sh, not part of the Linux mocha run): the NativeMdm
 * conformance suite against the real addon (build/cross/win32-x64/windows_iot_dm.node via
 * WINDOWS_IOT_DM_ADDON) whose library_win.cc loads mdmlocalmanagement.dll from System32 with
 * LoadLibraryExW(LOAD_LIBRARY_SEARCH_SYSTEM32); the script put the CSP emulator DLL there.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { AddonMdm, Csp } from '../../lib';
import { conformanceSuite } from '../conformance/suite';

describe('win32 under wine: the MDM path', () => {
  it('runs on Windows, and the CSP call reached the emulator DLL in System32', async () => {
    assert.equal(process.platform, 'win32');
    const state = process.env.WINDOWS_IOT_DM_EMULATOR_STATE as string;
    assert.match(state, /^[A-Za-z]:\\/, 'a Windows path for the emulator state');
    const csp = new Csp(new AddonMdm());
    const result = await csp.getResult('./DevDetail/SwV');
    assert.equal(result.status, 200);
    // The emulator (and nothing else) writes this file on its first transaction.
    assert.ok(existsSync(state), `the emulator wrote ${state}`);
  });
});

conformanceSuite('AddonMdm over System32\\mdmlocalmanagement.dll (wine)', () => new AddonMdm());
