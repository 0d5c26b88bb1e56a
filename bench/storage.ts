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
import { median, table } from './stats';

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

export async function benchStorage(options: Partial<StorageBenchOptions> = {}): Promise<string> {
  const o = { ...DEFAULTS, ...options };
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
    const mb = (b: number): string => (b / MB).toFixed(1);
    const med = (f: (r: StorageChildResult) => number): number => median(results.map(f));
    const list = (f: (r: StorageChildResult) => number): string =>
      results.map((r) => mb(f(r))).join(', ');
    const mbps = (p: 'upload' | 'download'): number =>
      med((r) => r[p].bytes / MB / (r[p].ms / 1000));
    const growth = (p: 'upload' | 'download') => (r: StorageChildResult) =>
      r[p].peakRss - r.baselineRss;
    const verdict = (v: number): string => (v < 50 * MB ? 'yes (< 50 MB)' : 'NO (>= 50 MB)');
    return table(
      ['measure', 'median', `runs (${o.runs} fresh processes)`, 'target met'],
      [
        [
          'baseline RSS (after warm-up + GC)',
          `${mb(med((r) => r.baselineRss))} MB`,
          list((r) => r.baselineRss),
          '',
        ],
        [
          `upload ${o.sizeMb} MB file: peak RSS growth`,
          `${mb(med(growth('upload')))} MB`,
          list(growth('upload')),
          verdict(med(growth('upload'))),
        ],
        [
          'upload: peak heapUsed / arrayBuffers',
          `${mb(med((r) => r.upload.peakHeap))} / ${mb(med((r) => r.upload.peakArrayBuffers))} MB`,
          '',
          '',
        ],
        [
          'upload throughput',
          `${mbps('upload').toFixed(0)} MB/s`,
          results.map((r) => (r.upload.bytes / MB / (r.upload.ms / 1000)).toFixed(0)).join(', '),
          '',
        ],
        [
          `download ${o.sizeMb} MB blob: peak RSS growth`,
          `${mb(med(growth('download')))} MB`,
          list(growth('download')),
          verdict(med(growth('download'))),
        ],
        [
          'download: peak heapUsed / arrayBuffers',
          `${mb(med((r) => r.download.peakHeap))} / ${mb(med((r) => r.download.peakArrayBuffers))} MB`,
          '',
          '',
        ],
        [
          'download throughput',
          `${mbps('download').toFixed(0)} MB/s`,
          results
            .map((r) => (r.download.bytes / MB / (r.download.ms / 1000)).toFixed(0))
            .join(', '),
          '',
        ],
        [
          'memory samples per transfer (median)',
          `${med((r) => Math.min(r.upload.samples, r.download.samples))}`,
          `every ${o.sampleMs} ms`,
          '',
        ],
      ],
    );
  } finally {
    await azurite.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchStorage().then(
    (t) => console.log(t),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
