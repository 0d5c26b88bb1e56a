/**
 * What the DM client persists in its state folder (`dm-state.json`): the last desired
 * `$version` seen, and per section the version and content hash last applied (and whether
 * that apply finished), plus each handler's own keys. Writes are atomic (temporary file,
 * fsync, rename) and serialized; a corrupt file is set aside and the client starts fresh.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DmStateError } from '../errors';
import type { Json, JsonObject } from './handler';
import type { Logger } from './logger';

export interface SectionState {
  version: number;
  hash: string;
  /** `applying` survives only when the process died mid-apply: it is applied again. */
  status: 'applying' | 'applied' | 'failed';
  /** A failure worth retrying with the same content (device or API unavailable). */
  retry?: boolean;
  time: string;
}

export interface DmState {
  schema: 1;
  lastVersion: number;
  sections: Record<string, SectionState>;
  handlers: Record<string, JsonObject>;
}

export const STATE_FILE = 'dm-state.json';

/** The default state folder: %ProgramData%\windows-iot-dm on Windows, XDG state elsewhere. */
export function defaultStateDir(): string {
  if (process.platform === 'win32') {
    return path.join(process.env.ProgramData ?? 'C:\\ProgramData', 'windows-iot-dm', 'dm');
  }
  const base = process.env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'windows-iot-dm', 'dm');
}

function emptyState(): DmState {
  return { schema: 1, lastVersion: 0, sections: {}, handlers: {} };
}

/** sha256 of the canonical JSON of a value (object keys sorted). */
export function contentHash(value: Json | undefined): string {
  return createHash('sha256')
    .update(canonical(value ?? null))
    .digest('hex');
}

function canonical(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k] as Json)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function isState(v: unknown): v is DmState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Partial<DmState>;
  return (
    s.schema === 1 &&
    typeof s.lastVersion === 'number' &&
    typeof s.sections === 'object' &&
    s.sections !== null &&
    typeof s.handlers === 'object' &&
    s.handlers !== null
  );
}

export class DmStateStore {
  readonly file: string;
  state: DmState;
  readonly #log: Logger;
  #writing: Promise<void> = Promise.resolve();
  #seq = 0;
  #closed = false;

  private constructor(file: string, state: DmState, log: Logger) {
    this.file = file;
    this.state = state;
    this.#log = log;
  }

  /** Opens (or creates) the state in `dir`. */
  static open(dir: string, log: Logger): DmStateStore {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new DmStateError(`cannot create the state folder ${dir}`, err);
    }
    const file = path.join(dir, STATE_FILE);
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new DmStateError(`cannot read ${file}`, err);
      }
    }
    if (text === undefined) return new DmStateStore(file, emptyState(), log);
    try {
      const parsed: unknown = JSON.parse(text);
      if (!isState(parsed)) throw new Error('unexpected shape');
      return new DmStateStore(file, parsed, log);
    } catch (err) {
      const aside = `${file}.corrupt-${Date.now()}`;
      renameSync(file, aside);
      log.warn(
        { file, aside, err: (err as Error).message },
        'DM state unreadable: set aside, starting fresh',
      );
      return new DmStateStore(file, emptyState(), log);
    }
  }

  /** Forgets everything (the twin was re-created). */
  reset(): void {
    this.state = emptyState();
  }

  /**
   * No more writes: a job still running after detach (a hung handler that resumes later) must
   * not overwrite what a new client on the same folder has written since.
   */
  close(): void {
    this.#closed = true;
  }

  /** Writes the current state; resolves when it is on disk. Writes never interleave. */
  save(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const text = JSON.stringify(this.state, null, 1);
    const tmp = `${this.file}.${process.pid}.${++this.#seq}.tmp`;
    const run = async (): Promise<void> => {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
    };
    const next = this.#writing.then(run, run);
    this.#writing = next.catch((err: unknown) => {
      this.#log.error({ file: this.file, err: (err as Error).message }, 'DM state write failed');
    });
    return next.catch((err: unknown) => {
      throw new DmStateError(`cannot write ${this.file}`, err);
    });
  }
}
