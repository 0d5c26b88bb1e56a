/**
 * Exports a stopped collector's log through the DiagnosticLog CSP's FileDownload channel
 * (`FileDownload/DMChannel/<collector>`: BlockCount, then BlockIndexToRead + BlockData per block)
 * into `<dmFolder>/<folder>/<file>`, block by block: each block is written to the file as it
 * arrives (never the whole log in memory), into a hidden partial file opened with `O_NOFOLLOW`
 * that is renamed to its name once complete.
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import path from 'node:path';
import { CspError, InvalidValueError } from '../errors';
import type { ScopedCsp } from '../dm/scoped-csp';
import { cspUri } from '../csp/uri';
import type { DmFolder } from './dm-files';
import { plainName } from './dm-files';

export const DM_CHANNEL = './Vendor/MSFT/DiagnosticLog/FileDownload/DMChannel';
/** Most blocks read for one log (4 KiB blocks: 2 GiB, the largest log the CSP keeps). */
export const MAX_BLOCKS = 524_288;

export interface ExportResult {
  /** Real path of the exported file. */
  file: string;
  bytes: number;
  blocks: number;
}

/** Copies collector `collector`'s log to `<dmFolder>/<folder>/<fileName>`. */
export async function exportCollectorLog(
  csp: ScopedCsp,
  dm: DmFolder,
  collector: string,
  folder: string,
  fileName: string,
): Promise<ExportResult> {
  plainName('logFileName', fileName);
  const dir = await dm.ensureFolder(folder);
  const channel = cspUri(DM_CHANNEL, collector);
  const count = await csp.get(`${channel}/BlockCount`);
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > MAX_BLOCKS) {
    throw new InvalidValueError(`the device answered an invalid BlockCount (${String(count)})`);
  }
  const final = path.join(dir, fileName);
  const partial = path.join(dir, `.${fileName}.partial`);
  const fh = await fsp.open(
    partial,
    fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | (fsc.O_NOFOLLOW ?? 0),
    0o600,
  );
  let bytes = 0;
  try {
    for (let i = 0; i < count; i++) {
      // Issued in one turn: the index and the read travel in one SyncML message, in order.
      const [, data] = await Promise.all([
        csp.replace(`${channel}/BlockIndexToRead`, i, { format: 'int' }),
        csp.get(`${channel}/BlockData`),
      ]);
      if (!(data instanceof Uint8Array)) {
        throw new CspError('get', `${channel}/BlockData`, 500);
      }
      await fh.write(data);
      bytes += data.byteLength;
    }
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fsp.rm(partial, { force: true });
    throw err;
  }
  await fh.close();
  const existing = await fsp.lstat(final).catch(() => undefined);
  if (existing?.isDirectory()) {
    await fsp.rm(partial, { force: true });
    throw new InvalidValueError(`${folder}/${fileName} is a folder`);
  }
  // rename replaces a link itself, never its target.
  await fsp.rename(partial, final);
  return { file: final, bytes, blocks: count };
}
