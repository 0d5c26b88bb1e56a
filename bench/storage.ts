/**
 * Benchmark: blob transfers through `BlobExternalStorage` (lib/storage/external-storage.ts)
 * against a real Azurite blob service on 127.0.0.1 (test/storage/azurite.ts).
 *
 * - A `sizeMb` MB file of random content (written in 1 MiB pieces) is uploaded (4 MiB blocks,
 *   bounded concurrency) and downloaded back by one storage object in a child process
 *   (`bench/storage-child.ts`, as the agent runs), median of `runs` fresh processes.
 * - Memory: `process.memoryUsage()` sampled every `sampleMs` ms in the child; baseline = RSS after
 *   a warm-up transfer and a GC; growth = the highest RSS seen during the transfer minus the
 *   baseline (target: < 50 MB, issue 7). Heap and ArrayBuffer peaks show where bytes live.
 * - Throughput: MB/s of each transfer, wall clock (both ends on this machine: Azurite's own disk
 *   and CPU work is included).
 * - Both transfers' SHA-256 must equal the file's, else the run fails.
 *
 * Bounded by `deadlineMs`; always stops Azurite and removes its folders.
 */
import { fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { startAzurite } from '../test/storage/azurite';
import type { StorageChildArgs, StorageChildResult } from './storage-child';
import { fromSamples, type BenchOptions, type Figure } from './model';

export interface StorageBenchOptions {
  sizeMb: number;
  runs: number;
  sampleMs: number;
  deadlineMs: number;
}

const DEFAULTS: StorageBenchOptions = { sizeMb: 100, runs: 3, sampleMs: 5, deadlineMs: 300_000 };
const MB = 1024 * 1024;

/** Writes `sizeMb` MiB of random bytes (1 MiB at a time) and returns their SHA-256. */
async function makeFile(file: string, sizeMb: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  for (let i = 0; i < sizeMb; i++) {
    const chunk = randomBytes(MB);
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

function runChild(
  args: StorageChildArgs,
  connection: string,
  deadline: number,
): Promise<StorageChildResult> {
  return new Promise((resolve, reject) => {
    const proc = fork(path.join(__dirname, 'storage-child.ts'), [JSON.stringify(args)], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      env: { ...process.env, BENCH_STORAGE_CONNECTION: connection },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const timer = setTimeout(
      () => {
        proc.kill('SIGKILL');
        reject(new Error('storage child passed the deadline'));
      },
      Math.max(1000, deadline - Date.now()),
    );
    proc.once('message', (m: { ok: boolean; result?: StorageChildResult; error?: string }) => {
      clearTimeout(timer);
      if (m.ok) resolve(m.result!);
      else reject(new Error(m.error));
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`storage child exited (${code}) without a result`));
    });
  });
}

export async function benchStorage(
  b: BenchOptions,
  options: Partial<StorageBenchOptions> = {},
): Promise<Figure[]> {
  const o = { ...DEFAULTS, ...(b.quick ? { runs: 1 } : {}), ...options };
  const deadline = Date.now() + o.deadlineMs;
  const work = mkdtempSync(path.join(os.tmpdir(), 'wdm-bench-storage-'));
  const azurite = await startAzurite();
  try {
    const file = path.join(work, 'payload.bin');
    const sha = await makeFile(file, o.sizeMb);
    const results: StorageChildResult[] = [];
    for (let i = 0; i < o.runs; i++) {
      const r = await runChild(
        {
          file,
          blob: `bench/run-${i}.bin`,
          downloadDir: path.join(work, 'dl'),
          sampleMs: o.sampleMs,
        },
        azurite.connectionString,
        deadline,
      );
      if (r.upload.sha256 !== sha || r.download.sha256 !== sha) {
        throw new Error(`run ${i}: SHA-256 mismatch`);
      }
      results.push(r);
    }
    const mb = (f: (r: StorageChildResult) => number): number[] => results.map((r) => f(r) / MB);
    const mbps = (p: 'upload' | 'download'): number[] =>
      results.map((r) => r[p].bytes / MB / (r[p].ms / 1000));
    const growth = (p: 'upload' | 'download') => (r: StorageChildResult) =>
      r[p].peakRss - r.baselineRss;
    const target = { op: '<' as const, value: 50, source: 'issue 7' };
    return [
      fromSamples(
        'baseline RSS (after warm-up + GC)',
        'MB',
        mb((r) => r.baselineRss),
      ),
      fromSamples(`upload ${o.sizeMb} MB file: peak RSS growth`, 'MB', mb(growth('upload')), {
        target,
      }),
      fromSamples(
        'upload: peak heapUsed',
        'MB',
        mb((r) => r.upload.peakHeap),
      ),
      fromSamples('upload throughput', 'MB/s', mbps('upload')),
      fromSamples(`download ${o.sizeMb} MB blob: peak RSS growth`, 'MB', mb(growth('download')), {
        target,
      }),
      fromSamples(
        'download: peak heapUsed',
        'MB',
        mb((r) => r.download.peakHeap),
      ),
      fromSamples('download throughput', 'MB/s', mbps('download')),
    ];
  } finally {
    await azurite.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchStorage({ quick: false }).then(
    (t) => console.log(JSON.stringify(t, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
