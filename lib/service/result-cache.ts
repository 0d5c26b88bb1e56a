/**
 * "No operation lost or run twice": results of non-idempotent requests (a CSP batch with any
 * Add/Replace/Delete/Exec, raw SyncML, system changes, TPM commands), kept for `ttlMs` under
 * (caller uid, client id, request id). A client that lost its connection re-sends what was in
 * flight marked `retryOf: <instance it went to>`; the service answers from here instead of
 * running it again. At a clean stop the service finishes what runs and saves the cache (mode
 * 0600); the next start loads it, so a retry across a restart is answered too. A retry the
 * service cannot place (its instance crashed) is refused with ERR_SERVICE_OUTCOME_UNKNOWN.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Outcome } from './protocol';

interface Entry {
  uid: number;
  expires: number;
  outcome?: Outcome;
  running?: Promise<Outcome>;
}

interface SavedCache {
  format: 'windows-iot-dm/service-results';
  instance: string;
  savedAt: number;
  entries: Array<[string, { uid: number; expires: number; outcome: Outcome }]>;
}

export type Lookup =
  | { kind: 'run' }
  | { kind: 'cached'; outcome: Outcome }
  | { kind: 'running'; promise: Promise<Outcome> }
  | { kind: 'unknown' };

export class ResultCache {
  readonly #entries = new Map<string, Entry>();
  /**
   * Settled entries in the order they expire (the TTL is the same for all, so settling order):
   * pruning pops expired ones from the front instead of scanning every entry per request.
   */
  #expiry: Array<{ key: string; entry: Entry }> = [];
  #head = 0;
  readonly #ttlMs: number;
  readonly instance: string;
  /** The instance whose saved cache was loaded (a clean stop), if any. */
  previousInstance: string | undefined;

  readonly #now: () => number;

  /** `now`: the clock (ms), a seam for tests. */
  constructor(instance: string, ttlMs: number, now: () => number = Date.now) {
    this.instance = instance;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  static key(clientId: string, id: number): string {
    return `${clientId}#${id}`;
  }

  /** What to do with a request: run it, or answer what it already gave. */
  lookup(uid: number, key: string, retryOf: string | undefined, idempotent: boolean): Lookup {
    this.#prune();
    const entry = this.#entries.get(key);
    if (entry && entry.uid === uid) {
      if (entry.outcome) return { kind: 'cached', outcome: entry.outcome };
      if (entry.running) return { kind: 'running', promise: entry.running };
    }
    if (retryOf === undefined || idempotent) return { kind: 'run' };
    // A retry: the first send never arrived here or at the instance whose clean stop we loaded.
    if (retryOf === this.instance || retryOf === this.previousInstance) return { kind: 'run' };
    return { kind: 'unknown' };
  }

  track(uid: number, key: string, running: Promise<Outcome>): void {
    const entry: Entry = { uid, expires: Infinity, running };
    this.#entries.set(key, entry);
    void running.then((outcome) => {
      entry.outcome = outcome;
      delete entry.running;
      entry.expires = this.#now() + this.#ttlMs;
      this.#expiry.push({ key, entry });
    });
  }

  /** Entries held (settled or running). */
  get size(): number {
    return this.#entries.size;
  }

  #prune(): void {
    const now = this.#now();
    const queue = this.#expiry;
    while (this.#head < queue.length && queue[this.#head]!.entry.expires < now) {
      const { key, entry } = queue[this.#head++]!;
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    }
    if (this.#head > 1024 && this.#head * 2 > queue.length) {
      this.#expiry = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Writes the settled entries (call after every running request settled). */
  save(file: string): void {
    if (file === '') return;
    this.#prune();
    const saved: SavedCache = {
      format: 'windows-iot-dm/service-results',
      instance: this.instance,
      savedAt: this.#now(),
      entries: [...this.#entries]
        .filter(([, e]) => e.outcome !== undefined)
        .map(([k, e]) => [k, { uid: e.uid, expires: e.expires, outcome: e.outcome as Outcome }]),
    };
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(saved), { mode: 0o600 });
  }

  /** Loads (and removes) what the previous instance saved at its clean stop. */
  load(file: string): void {
    if (file === '') return;
    let saved: SavedCache;
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as SavedCache;
    } catch {
      return;
    } finally {
      rmSync(file, { force: true });
    }
    if (saved.format !== 'windows-iot-dm/service-results' || !Array.isArray(saved.entries)) return;
    this.previousInstance = saved.instance;
    const loaded = saved.entries.map(([key, e]) => ({ key, entry: { ...e } as Entry }));
    loaded.sort((a, b) => a.entry.expires - b.entry.expires);
    for (const { key, entry } of loaded) this.#entries.set(key, entry);
    this.#expiry = [...loaded, ...this.#expiry.slice(this.#head)];
    this.#head = 0;
    this.#prune();
  }
}
