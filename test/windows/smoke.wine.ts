/**
 * Windows x64 under wine (scripts/test-windows.sh): the addon loads in the Windows node.exe, both
 * by path (WINDOWS_IOT_DM_ADDON) and through node-gyp-build from prebuilds/win32-x64/ when that
 * folder holds a .node file (WINE_PREBUILDS_DIR: a package-like copy the script made).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadAddon } from '../../lib/native/load';

describe('win32 under wine: loading the addon', () => {
  it('loads windows_iot_dm.node in the Windows node.exe (x64)', () => {
    assert.equal(process.platform, 'win32');
    assert.equal(process.arch, 'x64');
    const binding = loadAddon();
    assert.equal(typeof binding.MdmSession, 'function');
    assert.ok(Object.keys(binding).includes('TpmSession'), Object.keys(binding).join());
  });

  it('node-gyp-build finds and loads prebuilds/win32-x64/*.node', function () {
    const root = process.env.WINE_PREBUILDS_DIR;
    if (!root || !existsSync(join(root, 'prebuilds', 'win32-x64'))) this.skip();
    const files = readdirSync(join(root as string, 'prebuilds', 'win32-x64')).filter((f) =>
      f.endsWith('.node'),
    );
    assert.ok(files.length > 0, 'a .node file in prebuilds/win32-x64');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => { MdmSession?: unknown };
    const binding = nodeGypBuild(root as string);
    assert.equal(typeof binding.MdmSession, 'function');
  });
});

describe('win32 under wine: MDM unavailable (run with the DLL removed from System32)', () => {
  before(function () {
    if (process.env.WINE_EXPECT_NO_MDM !== '1') this.skip();
  });
  it('rejects with ERR_MDM_UNAVAILABLE naming mdmlocalmanagement.dll and System32', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { AddonMdm, Csp } = require('../../lib') as typeof import('../../lib');
    const csp = new Csp(new AddonMdm());
    await assert.rejects(csp.get('./DevDetail/SwV'), (err: unknown) => {
      const e = err as { code?: string; message?: string };
      assert.equal(e.code, 'ERR_MDM_UNAVAILABLE');
      assert.match(e.message ?? '', /mdmlocalmanagement\.dll/);
      assert.match(e.message ?? '', /System32/);
      return true;
    });
  });
});
