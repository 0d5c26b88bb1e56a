/**
 * Mocha setup (required by .mocharc.json). The CSP emulator persists its device state in a file
 * (native/emulator/state_store.h); mocha's one process uses one. scripts/test.sh exports a fresh
 * WINDOWS_IOT_DM_EMULATOR_STATE for the whole run; when mocha runs on its own, this points the
 * emulator at a temporary file instead of the user's ~/.local/state/windows-iot-dm/. It runs
 * before any test, so before the library's first Apply (which reads the variable).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

if (!process.env.WINDOWS_IOT_DM_EMULATOR_STATE) {
  const dir = mkdtempSync(join(tmpdir(), 'wdm-mocha-state-'));
  process.env.WINDOWS_IOT_DM_EMULATOR_STATE = join(dir, 'emulator-state.json');
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}
