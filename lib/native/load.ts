/**
 * The one place that loads the compiled addon. Loading is lazy (first native call), cached per
 * path, and never happens at import time; a failure becomes an `MdmUnavailableError` whose
 * message says what was tried and what to do (modelled on sharp's loader).
 */
import { existsSync, readdirSync } from 'node:fs';
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

/**
 * Asks each addon already loaded to give the C heap's free memory back to the system (glibc's
 * malloc_trim; docs/memory.md). Never loads the addon. Returns whether memory was released.
 */
export function trimNativeHeap(): boolean {
  let released = false;
  for (const binding of loaded.values()) {
    if (typeof binding.trimNativeHeap === 'function' && binding.trimNativeHeap()) released = true;
  }
  return released;
}

/** `glibc <version>` or `musl` (from process.report, as detect-libc does); undefined off Linux. */
export function runtimeLibc(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })
      ?.header;
    return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'musl';
  } catch {
    return 'unknown libc';
  }
}

function listDir(dir: string): string[] | undefined {
  try {
    return readdirSync(dir).sort();
  } catch {
    return undefined;
  }
}

/**
 * The message of a load failure (sharp-style): what failed, for which platform/arch/libc, the
 * folders node-gyp-build looked in and what they hold, which prebuilds this package ships, and
 * what to do. `root` is the package root (a parameter for tests).
 */
export function explainLoadFailure(
  err: unknown,
  explicit: string | undefined,
  root: string = packageRoot(),
): string {
  const reason = err instanceof Error ? err.message : String(err);
  const runtime = `${process.platform}-${process.arch}`;
  const libc = runtimeLibc();
  const show = (files: string[] | undefined) =>
    files === undefined ? '(missing)' : files.length === 0 ? '(empty)' : files.join(', ');
  const help: string[] = [
    `Could not load the windows-iot-dm native addon for the ${runtime} runtime (Node ${process.version}${libc ? `, ${libc}` : ''}).`,
    `Reason: ${reason.split('\n')[0]}`,
  ];
  if (explicit !== undefined) {
    help.push(`Looked for: ${explicit} (from ${ADDON_PATH_ENV} or addonPath)`);
  } else {
    const folders = [join(root, 'build', 'Release'), join(root, 'prebuilds', runtime)];
    help.push('Looked in (node-gyp-build, in this order):');
    for (const dir of folders) help.push(`  ${dir}: ${show(listDir(dir))}`);
  }
  const shipped = (listDir(join(root, 'prebuilds')) ?? []).filter((d) => /^[a-z0-9]+-[a-z0-9]+$/.test(d));
  help.push(`Prebuilds in this package: ${shipped.length > 0 ? shipped.join(', ') : 'none'}.`);
  help.push('Possible solutions:');
  if (explicit !== undefined) {
    help.push(
      `- Check ${ADDON_PATH_ENV} / addonPath: it must name this package's .node file for ${runtime}.`,
    );
  }
  if (/No native build was found/.test(reason)) {
    help.push(
      shipped.includes(runtime)
        ? `- prebuilds/${runtime} is there but has no loadable .node file: reinstall windows-iot-dm.`
        : `- No prebuilt binary ships for ${runtime} (Node-API 8, any Node >= 20): use one of ${shipped.join(', ') || 'the supported targets'}, or build one from source in a clone of the repository ("npm run build:native", needs python3, make and a C++17 compiler) and set ${ADDON_PATH_ENV} to build/Release/windows_iot_dm.node.`,
      '- Installed with --omit=optional, a different --os/--cpu, or copied node_modules from another machine? Reinstall on this machine.',
      `- Bundlers: keep windows-iot-dm external, or set ${ADDON_PATH_ENV} to the .node file; Electron: unpack prebuilds/ from the asar.`,
    );
  } else if (/ERR_DLOPEN_DISABLED|--no-addons/.test(reason)) {
    help.push('- Node was started with --no-addons; native addons are disabled.');
  } else if (/GLIBC|CXXABI|symbol not found|undefined symbol/i.test(reason)) {
    help.push(
      `- The binary needs a newer C runtime than this system has (${libc ?? 'unknown libc'}; the Linux prebuilds need glibc >= 2.28 and do not support musl): rebuild from source with "npm run build:native".`,
    );
  } else if (/procedure could not be found|specified module could not be found/i.test(reason)) {
    help.push('- A Windows dependency is missing; reinstall the package for this architecture.');
  } else if (/wrong ELF class|invalid ELF header|file too short|not a valid Win32|Exec format error/i.test(reason)) {
    help.push(
      `- The file is for another platform or architecture than ${runtime}: reinstall on this machine.`,
    );
  } else if (explicit === undefined) {
    help.push('- Reinstall the package, or rebuild with "npm run build:native".');
  }
  if (libc === 'musl') {
    help.push('- musl (Alpine): no prebuilds; build from source with "npm run build:native".');
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
