/**
 * The DM folder: where exported logs land (one subfolder per `logFileFolder`), and the original
 * client's methods over it (docs/features/diagnostic-logs.md):
 *
 *   - `windows.enumDMFolders` → `{ list: [folder...], errorCode, errorMessage }`;
 *   - `windows.enumDMFiles { folder }` → `{ list: [file...], errorCode, errorMessage }`;
 *   - `windows.uploadDMFile { folder, fileName, connectionString?, container }` → 202
 *     `{ response: "accepted", ... }` once the file is checked; the upload then runs and its
 *     outcome is reported (`reported.windows.eventTracingCollectors.lastDMFileUpload`);
 *   - `windows.deleteDMFile { folder, fileName }`.
 *
 * Confinement: a folder or file name is one plain name (no `/` or `\`, no `:`, not `.`/`..`, no
 * trailing dot, no Windows device name such as `NUL`, no control or wildcard characters), so
 * absolute paths (`/x`, `C:\x`, `\\server\x`) and `..` never resolve.
 * Every path is then checked on disk: each component is `lstat`ed and must not be a symbolic link
 * or junction, and the real path must lie under the DM folder's real path. Files are opened with
 * `O_NOFOLLOW` where the platform has it, and the opened file must be the one checked (same
 * device and inode). Anything that escapes answers 400; nothing there answers 404. Hidden
 * `.<name>.partial` files (an export under way) are not listed.
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { InvalidValueError } from '../errors';
import type {
  HandlerContext,
  Json,
  JsonObject,
  MethodDefinition,
  MethodResult,
} from '../dm/handler';
import { s } from '../dm/schema';
import { errorStatus, lastChange } from '../dm/status';
import type { ExternalStorage } from '../storage/contract';

/** Store / report key of the last upload's outcome. */
export const UPLOAD_KEY = 'lastDMFileUpload';
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[/\\:\u0000-\u001f\u007f*?"<>|]/;
/** Windows device names (`NUL`, `COM1.txt`, ...) open a device, not a file. */
const DEVICE_NAME = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
/** The hidden partial file of an export under way (diagnostic-logs-export.ts). */
export const PARTIAL = /^\..+\.partial$/;
const O_NOFOLLOW = fsc.O_NOFOLLOW ?? 0;

/** Throws `InvalidValueError` unless `name` is one plain file or folder name. */
export function plainName(what: string, name: unknown): string {
  if (typeof name !== 'string' || name === '') {
    throw new InvalidValueError(`${what}: expected a non-empty name`);
  }
  if (name.length > 128) throw new InvalidValueError(`${what}: longer than 128 characters`);
  if (
    name === '.' ||
    name === '..' ||
    FORBIDDEN.test(name) ||
    name !== name.trim() ||
    name.endsWith('.') ||
    DEVICE_NAME.test(name)
  ) {
    throw new InvalidValueError(
      `${what}: ${JSON.stringify(name.slice(0, 80))} is not a plain name (no path separators, drive, "..", trailing dot, device name, control or wildcard characters)`,
    );
  }
  return name;
}

/** A file or folder name that does not exist (answered 404). */
class Missing extends Error {}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** The DM folder and checked paths under it. */
export class DmFolder {
  constructor(readonly root: string) {
    if (typeof root !== 'string' || root === '' || !path.isAbsolute(root)) {
      throw new InvalidValueError('dmFolder: expected an absolute folder path');
    }
  }

  /** The DM folder's real path (created when missing, the owner's only: logs may be sensitive). */
  async realRoot(): Promise<string> {
    await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
    return fsp.realpath(this.root);
  }

  /**
   * The real path of `names` (plain names, checked) under the DM folder; each component must
   * exist (else `Missing`) and none may be a link; `kind` is what the last one must be.
   */
  async resolve(kind: 'dir' | 'file', ...names: string[]): Promise<string> {
    const root = await this.realRoot();
    let cur = root;
    for (const [i, name] of names.entries()) {
      cur = path.join(cur, name);
      let st;
      try {
        st = await fsp.lstat(cur);
      } catch (err) {
        if (isNotFound(err)) throw new Missing(`${names.slice(0, i + 1).join('/')} does not exist`);
        throw err;
      }
      if (st.isSymbolicLink()) {
        throw new InvalidValueError(`${names.slice(0, i + 1).join('/')} is a link: not followed`);
      }
      const last = i === names.length - 1;
      const wantDir = !last || kind === 'dir';
      if (wantDir ? !st.isDirectory() : !st.isFile()) {
        throw new InvalidValueError(
          `${names.slice(0, i + 1).join('/')} is not a ${wantDir ? 'folder' : 'regular file'}`,
        );
      }
    }
    const real = await fsp.realpath(cur);
    if (real !== cur || (names.length > 0 && !real.startsWith(root + path.sep))) {
      throw new InvalidValueError('the path leaves the DM folder');
    }
    return real;
  }

  /** The folder `name` under the DM folder, created when missing (never through a link). */
  async ensureFolder(name: string): Promise<string> {
    plainName('folder', name);
    const root = await this.realRoot();
    try {
      await fsp.mkdir(path.join(root, name), { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return this.resolve('dir', name);
  }

  /**
   * Opens a checked file for reading with `O_NOFOLLOW` and makes sure the file opened is the one
   * checked (same device and inode).
   */
  async openChecked(folder: string, fileName: string): Promise<{ file: string; fh: FileHandle }> {
    const file = await this.resolve('file', folder, fileName);
    const before = await fsp.lstat(file);
    const fh = await fsp.open(file, fsc.O_RDONLY | O_NOFOLLOW);
    const after = await fh.stat();
    if (after.ino !== before.ino || after.dev !== before.dev || !after.isFile()) {
      await fh.close();
      throw new InvalidValueError('the file changed while it was checked');
    }
    return { file, fh };
  }

  /** Names of the entries of `dir` (a checked real path) of one kind; links are left out. */
  static async entries(dir: string, kind: 'dir' | 'file'): Promise<string[]> {
    const list = await fsp.readdir(dir, { withFileTypes: true });
    return list
      .filter((e) => (kind === 'dir' ? e.isDirectory() : e.isFile() && !PARTIAL.test(e.name)))
      .map((e) => e.name)
      .sort();
  }
}

/** The original's answer shape for the DM folder methods. */
function answer(status: number, extra: JsonObject, errorMessage = ''): MethodResult {
  return {
    status,
    body: { ...extra, errorCode: status === 200 || status === 202 ? 0 : status, errorMessage },
  };
}

/** Runs `fn`, mapping refusals to 400, `Missing` to 404 and the rest to 500. */
async function guarded(
  ctx: HandlerContext,
  method: string,
  empty: JsonObject,
  fn: () => Promise<MethodResult>,
): Promise<MethodResult> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Missing) return answer(404, empty, err.message);
    const e = errorStatus(err);
    if (e.httpStatus === 400) return answer(400, empty, e.errContext);
    ctx.log.warn({ err: e.errContext }, `${method} failed`);
    const code = (err as NodeJS.ErrnoException).code;
    return answer(500, empty, code ? `file system error ${code}` : e.errContext);
  }
}

function obj(p: Json | undefined): JsonObject {
  return typeof p === 'object' && p !== null && !Array.isArray(p) ? p : {};
}

const NAME = s.string({ maxLength: 128 });

export interface DmFileOptions {
  storage: ExternalStorage;
  dmFolder: string;
}

/** The DM folder methods (part of the `eventTracingCollectors` handler). */
export function createDmFileMethods({ storage, dmFolder }: DmFileOptions): {
  folder: DmFolder;
  methods: MethodDefinition[];
} {
  const folder = new DmFolder(dmFolder);

  const upload = async (
    ctx: HandlerContext,
    fh: FileHandle,
    file: string,
    target: { container: string; blob: string },
    connectionString: string | undefined,
    request: JsonObject,
  ): Promise<void> => {
    let outcome: JsonObject;
    try {
      // Linux: upload through the open descriptor, so the bytes sent are the file checked even
      // if the name is swapped meanwhile. Elsewhere: the checked path.
      const pinned = `/proc/self/fd/${fh.fd}`;
      const source = await fsp
        .stat(pinned)
        .then(() => pinned)
        .catch(() => file);
      const r = await storage.upload(target, source, {
        contentType: 'application/octet-stream',
        ...(connectionString !== undefined ? { connectionString } : {}),
      });
      outcome = {
        ...request,
        bytes: r.bytes,
        sha256: r.sha256,
        lastChange: lastChange('completed'),
      };
    } catch (err) {
      outcome = { ...request, lastChange: lastChange('failed', err) };
      ctx.log.warn({ err: errorStatus(err).errContext }, 'windows.uploadDMFile: upload failed');
    } finally {
      await fh.close().catch(() => undefined);
    }
    await ctx.store.set(UPLOAD_KEY, outcome);
    await ctx.reportPartial({ [UPLOAD_KEY]: outcome });
  };

  const methods: MethodDefinition[] = [
    {
      name: 'windows.enumDMFolders',
      invoke: (_p, ctx) =>
        guarded(ctx, 'windows.enumDMFolders', { list: [] }, async () => {
          const root = await folder.realRoot();
          return answer(200, { list: await DmFolder.entries(root, 'dir') });
        }),
    },
    {
      name: 'windows.enumDMFiles',
      payload: s.object({ folder: NAME }, { required: ['folder'] }),
      invoke: (p, ctx) =>
        guarded(ctx, 'windows.enumDMFiles', { list: [] }, async () => {
          const name = plainName('folder', obj(p).folder);
          const dir = await folder.resolve('dir', name);
          return answer(200, { list: await DmFolder.entries(dir, 'file') });
        }),
    },
    {
      name: 'windows.deleteDMFile',
      payload: s.object({ folder: NAME, fileName: NAME }, { required: ['folder', 'fileName'] }),
      invoke: (p, ctx) =>
        guarded(ctx, 'windows.deleteDMFile', {}, async () => {
          const args = obj(p);
          const file = await folder.resolve(
            'file',
            plainName('folder', args.folder),
            plainName('fileName', args.fileName),
          );
          await fsp.unlink(file);
          return answer(200, {});
        }),
    },
    {
      name: 'windows.uploadDMFile',
      payload: s.object(
        {
          folder: NAME,
          fileName: NAME,
          connectionString: s.string({ maxLength: 4096 }),
          container: s.string({ maxLength: 63 }),
        },
        { required: ['folder', 'fileName', 'container'] },
      ),
      invoke: (p, ctx) =>
        guarded(ctx, 'windows.uploadDMFile', { response: 'rejected' }, async () => {
          const args = obj(p);
          const dir = plainName('folder', args.folder);
          const name = plainName('fileName', args.fileName);
          const target = storage.locate(`${String(args.container)}/${name}`);
          const connectionString =
            typeof args.connectionString === 'string' && args.connectionString !== ''
              ? args.connectionString
              : undefined;
          if (!storage.configured && connectionString === undefined) {
            return answer(
              412,
              { response: 'rejected' },
              'no connection string: give one or configure externalStorage',
            );
          }
          const { file, fh } = await folder.openChecked(dir, name);
          const request: JsonObject = {
            folder: dir,
            fileName: name,
            container: target.container,
            blob: target.blob,
          };
          // Accepted: the upload goes on after the answer; its outcome is reported.
          void upload(ctx, fh, file, target, connectionString, request).catch((err: unknown) => {
            ctx.log.warn(
              { err: errorStatus(err).errContext },
              'windows.uploadDMFile: report failed',
            );
          });
          return answer(202, { response: 'accepted', ...request });
        }),
    },
  ];
  return { folder, methods };
}
