/**
 * The measured side of `bench/storage.ts`, in its own process as the agent would be: one
 * `BlobExternalStorage` uploads a file and downloads the blob back while `process.memoryUsage()`
 * is sampled every `sampleMs`. The parent gives the connection string in the environment
 * (`BENCH_STORAGE_CONNECTION`, never on the command line) and the rest as one JSON argument;
 * the result goes back over IPC.
 */
import { promises as fsp } from 'node:fs';
import { BlobExternalStorage } from '../lib/storage/external-storage';

export interface StorageChildArgs {
  file: string;
  blob: string;
  downloadDir: string;
  sampleMs: number;
}

export interface PhaseResult {
  ms: number;
  bytes: number;
  /** Highest RSS / heapUsed / arrayBuffers seen while the transfer ran, in bytes. */
  peakRss: number;
  peakHeap: number;
  peakArrayBuffers: number;
  samples: number;
  sha256: string;
}

export interface StorageChildResult {
  baselineRss: number;
  baselineHeap: number;
  baselineArrayBuffers: number;
  upload: PhaseResult;
  download: PhaseResult;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

async function measured(
  sampleMs: number,
  run: () => Promise<{ bytes: number; sha256: string }>,
): Promise<PhaseResult> {
  let peakRss = 0;
  let peakHeap = 0;
  let peakArrayBuffers = 0;
  let samples = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
    samples++;
  };
  const timer = setInterval(sample, sampleMs);
  const t0 = now();
  sample();
  try {
    const r = await run();
    sample();
    return { ms: now() - t0, ...r, peakRss, peakHeap, peakArrayBuffers, samples };
  } finally {
    clearInterval(timer);
  }
}

async function main(args: StorageChildArgs): Promise<StorageChildResult> {
  const storage = new BlobExternalStorage({
    connectionString: process.env.BENCH_STORAGE_CONNECTION!,
    downloadDir: args.downloadDir,
  });
  // Warm-up: load the SDK and open the connection with a small transfer each way.
  await storage.upload(`${args.blob}-warmup`, Buffer.alloc(64 * 1024, 1));
  await (await storage.download(`${args.blob}-warmup`)).remove();
  gc();
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const base = process.memoryUsage();
  const upload = await measured(args.sampleMs, () => storage.upload(args.blob, args.file));
  gc();
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const download = await measured(args.sampleMs, async () => {
    const f = await storage.download(args.blob, { maxBytes: 1024 * 1024 * 1024 });
    const size = (await fsp.stat(f.path)).size;
    await f.remove();
    if (size !== f.bytes) throw new Error(`downloaded ${size} bytes, expected ${f.bytes}`);
    return f;
  });
  return {
    baselineRss: base.rss,
    baselineHeap: base.heapUsed,
    baselineArrayBuffers: base.arrayBuffers,
    upload,
    download,
  };
}

main(JSON.parse(process.argv[2]!) as StorageChildArgs).then(
  (result) => process.send!({ ok: true, result }, () => process.exit(0)),
  (err: unknown) =>
    process.send!({ ok: false, error: err instanceof Error ? err.message : String(err) }, () =>
      process.exit(1),
    ),
);
