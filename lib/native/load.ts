/**
 * The one place that loads the compiled addon. Loading is lazy (first native call), cached per
 * path, and never happens at import time; a failure becomes an `MdmUnavailableError` whose
 * message says what was tried and what to do (modelled on sharp's loader).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MdmUnavailableError } from '../errors';
import type { AddonBinding } from './binding';
import { packageRoot } from './package-root';

/** Environment variable naming a specific `.node` file (bundlers, Electron asar unpack). */
export const ADDON_PATH_ENV = 'WINDOWS_IOT_DM_ADDON';
/** Environment variable naming the MDM library on non-Windows hosts (the CSP emulator). */
export const MDM_LIBRARY_ENV = 'WINDOWS_IOT_DM_MDM_LIBRARY';

const loaded = new Map<string, AddonBinding>();

/** Loads the addon: `addonPath`, else $WINDOWS_IOT_DM_ADDON, else node-gyp-build's search. */
export function loadAddon(addonPath?: string): AddonBinding {
  const explicit = addonPath ?? process.env[ADDON_PATH_ENV];
  const key = explicit ?? '<node-gyp-build>';
  const hit = loaded.get(key);
  if (hit) return hit;
  let binding: AddonBinding;
  try {
    if (explicit !== undefined) {
      // A run-time path: only require() can load it (lazily, on first use).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      binding = require(explicit) as AddonBinding;
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
      binding = nodeGypBuild(packageRoot()) as AddonBinding;
    }
  } catch (err) {
    throw new MdmUnavailableError(explainLoadFailure(err, explicit), { cause: err });
  }
  if (typeof binding?.MdmSession !== 'function') {
    throw new MdmUnavailableError(
      `the file loaded as the windows-iot-dm addon (${explicit ?? 'node-gyp-build'}) does not export MdmSession; it is not this package's addon or is from another version`,
    );
  }
  loaded.set(key, binding);
  return binding;
}

function explainLoadFailure(err: unknown, explicit: string | undefined): string {
  const reason = err instanceof Error ? err.message : String(err);
  const runtime = `${process.platform}-${process.arch}`;
  const help: string[] = [
    `Could not load the windows-iot-dm native addon for the ${runtime} runtime (Node ${process.version}).`,
    `Reason: ${reason.split('\n')[0]}`,
    'Possible solutions:',
  ];
  if (explicit !== undefined) {
    help.push(`- Check ${ADDON_PATH_ENV} / addonPath: ${explicit}`);
  } else if (/No native build was found/.test(reason)) {
    help.push(
      `- No prebuilt binary ships for ${runtime}: build one from source with "npm run build:native" (needs python3, make and a C++17 compiler).`,
      '- Bundlers: keep windows-iot-dm external, or set WINDOWS_IOT_DM_ADDON to the .node file; Electron: unpack prebuilds/ from the asar.',
    );
  } else if (/ERR_DLOPEN_DISABLED|--no-addons/.test(reason)) {
    help.push('- Node was started with --no-addons; native addons are disabled.');
  } else if (/GLIBC|CXXABI|symbol not found|undefined symbol/i.test(reason)) {
    help.push(
      '- The binary needs a newer C/C++ runtime than this system has; rebuild with "npm run build:native".',
    );
  } else if (/procedure could not be found|specified module could not be found/i.test(reason)) {
    help.push('- A Windows dependency is missing; reinstall the package for this architecture.');
  } else {
    help.push('- Reinstall the package, or rebuild with "npm run build:native".');
  }
  help.push(`- Without the addon, use the mock: import { MockMdm } from 'windows-iot-dm/testing'.`);
  return help.join('\n');
}

/**
 * The MDM library the addon should load on non-Windows hosts: the option, else
 * $WINDOWS_IOT_DM_MDM_LIBRARY, else the CSP emulator built or shipped with this package.
 * Returns undefined on Windows (System32's mdmlocalmanagement.dll is always used there) and when
 * nothing is found (the addon then rejects with a message that explains).
 */
export function resolveMdmLibrary(libraryPath?: string): string | undefined {
  if (process.platform === 'win32') return undefined;
  const explicit = libraryPath ?? process.env[MDM_LIBRARY_ENV];
  if (explicit !== undefined && explicit !== '') return explicit;
  const root = packageRoot();
  const candidates = [
    join(root, 'build', 'Release', EMULATOR_FILE),
    join(root, 'prebuilds', `${process.platform}-${process.arch}`, EMULATOR_FILE),
  ];
  return candidates.find((p) => existsSync(p));
}

/** File name of the CSP emulator library next to the addon. */
export const EMULATOR_FILE = process.platform === 'darwin' ? 'mdm_emulator.dylib' : 'mdm_emulator.so';
