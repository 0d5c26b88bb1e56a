/**
 * Automatic batching: ops enqueued during one turn of the event loop are sent to native code as
 * one SyncML message (one `apply` call), at most `maxOps` per message. Atomic groups keep their
 * place in the queue and travel as a message of their own. Each caller gets its own result, or
 * the error of the message it was in.
 */
import type { CspOp, CspResult, NativeMdm } from '../native/contract';

interface Entry {
  ops: CspOp[];
  atomic: boolean;
  resolve: (results: CspResult[]) => void;
  reject: (err: unknown) => void;
}

export class Batcher {
  #queue: Entry[] = [];
  #scheduled = false;

  constructor(
    private readonly native: NativeMdm,
    private readonly maxOps: number,
  ) {}

  /** Queues one op; the batch is flushed on the next `setImmediate`. */
  async enqueue(op: CspOp): Promise<CspResult> {
    const [result] = await this.#push([op], false);
    return result as CspResult;
  }

  /** Queues ops that must run as one `<Atomic>`; resolves with one result per op. */
  enqueueAtomic(ops: CspOp[]): Promise<CspResult[]> {
    return this.#push(ops, true);
  }

  #push(ops: CspOp[], atomic: boolean): Promise<CspResult[]> {
    return new Promise<CspResult[]>((resolve, reject) => {
      this.#queue.push({ ops, atomic, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    this.#scheduled = false;
    let group: Entry[] = [];
    for (const entry of queue) {
      if (entry.atomic) {
        this.#send(group, false);
        this.#send([entry], true);
        group = [];
      } else {
        group.push(entry);
        if (group.length === this.maxOps) {
          this.#send(group, false);
          group = [];
        }
      }
    }
    this.#send(group, false);
  }

  /** Starts one native apply (calls are started in queue order; native code serializes them). */
  #send(entries: Entry[], atomic: boolean): void {
    if (entries.length === 0) return;
    const ops = entries.flatMap((e) => e.ops);
    let started: Promise<CspResult[]>;
    try {
      started = this.native.apply(ops, atomic ? { atomic: true } : {});
    } catch (err) {
      started = Promise.reject(err);
    }
    started.then(
      (results) => {
        if (results.length !== ops.length) {
          const err = new Error(
            `native apply returned ${results.length} results for ${ops.length} ops (contract violation)`,
          );
          for (const e of entries) e.reject(err);
          return;
        }
        let at = 0;
        for (const e of entries) {
          e.resolve(results.slice(at, at + e.ops.length));
          at += e.ops.length;
        }
      },
      (err: unknown) => {
        for (const e of entries) e.reject(err);
      },
    );
  }
}
