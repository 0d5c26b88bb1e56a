/**
 * The benchmarks of `npm run bench`, in the order they run. Each entry: an id, a title, how it
 * measures (one paragraph for the tables), an optional `unavailable()` (a missing tool makes the
 * section "not measured", not a failure) and `run({ quick })` returning figures (bench/model.ts).
 * To add one, append an entry here (see `service` for a module that may not exist yet).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { swtpmInstalled } from '../lib/demo/swtpm';
import { resolveMdmLibrary } from '../lib/native/load';
import { benchAgentMemory } from './agent-memory';
import { benchCspOps } from './csp-ops';
import { benchDm } from './dm';
import { benchEmulatorMemory } from './emulator-memory';
import { benchEmulatorState } from './emulator-state';
import { benchFfi, ffiUnavailable } from './ffi';
import { benchHub } from './hub';
import {
  fromRatio,
  fromSamples,
  NotMeasured,
  type BenchOptions,
  type Benchmark,
  type Figure,
} from './model';
import { benchOriginalClient } from './original-client';
import { pairedRatio, summarize } from './stats';
import { benchStorage } from './storage';
import { benchTpm } from './tpm';

const ROOT = path.resolve(__dirname, '..');

function emulatorUnavailable(): string | undefined {
  const lib = resolveMdmLibrary();
  if (lib === undefined || !existsSync(lib))
    return 'the CSP emulator library is not built (npm run build:native)';
  if (!existsSync(path.join(ROOT, 'build/Release/windows_iot_dm.node')))
    return 'the addon is not built (npm run build:native)';
  return undefined;
}

function moduleUnavailable(name: string, hint: string): string | undefined {
  try {
    require.resolve(name);
    return undefined;
  } catch {
    return `${name} is not installed (${hint})`;
  }
}

/** The shape bench/service.ts (issue 14) exports; microseconds per op. */
interface ServiceFigures {
  inProcess: { single: number[]; batch100: number[] };
  service: { single: number[]; batch100: number[] };
  /** A bare Unix-socket echo of the same request frames: the floor of any process split. */
  echo?: { single: number[]; batch100: number[] };
}

const SERVICE_MODULE = path.join(__dirname, 'service.ts');

/** bench/service.ts, once it exists: per-op µs in process vs through the service. */
async function runService(o: BenchOptions): Promise<Figure[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(SERVICE_MODULE) as {
    benchService(options: { quick: boolean }): Promise<ServiceFigures>;
  };
  const r = await mod.benchService({ quick: o.quick });
  const ratio = (a: number[], b: number[]) =>
    a.length === b.length
      ? pairedRatio(a, b)
      : summarize([summarize(a).median / summarize(b).median]);
  return [
    fromSamples('in process, single op round trip', 'µs', r.inProcess.single),
    ...(r.echo
      ? [fromSamples('Unix socket echo round trip, no work (floor)', 'µs', r.echo.single)]
      : []),
    fromSamples('service, single op round trip', 'µs', r.service.single, {
      target: { op: '<', value: 100, source: 'issue 14' },
    }),
    fromSamples('in process, 100-op batch, per op', 'µs', r.inProcess.batch100),
    fromSamples('service, 100-op batch, per op', 'µs', r.service.batch100),
    fromRatio(
      'service ÷ in process, 100-op batches',
      ratio(r.service.batch100, r.inProcess.batch100),
      {
        target: { op: '<=', value: 1.2, source: 'issue 14' },
      },
    ),
  ];
}

export const BENCHMARKS: Benchmark[] = [
  {
    id: 'csp-ops',
    title: 'CSP ops through the addon and the emulator library',
    method:
      'Get and Replace, 1/10/100 ops per SyncML message, AddonMdm.apply and Csp interleaved in one process (state `:memory:`); 100 Gets as one message vs 100 one-op messages side by side.',
    unavailable: emulatorUnavailable,
    run: benchCspOps,
  },
  {
    id: 'ffi',
    title: 'Our addon vs the FFI alternative (koffi + string templates + fast-xml-parser)',
    method:
      'The same Gets (DevDetail/DevInfo leaves) and Replaces (Update policies) of real nodes on the same emulator library in one process, 1/10/100 ops per call, the variants interleaved round by round; ratios are ops/s of ours ÷ FFI, pair by pair. "Library\'s own time" is a prepared request sent synchronously and not parsed: the floor both paths share.',
    unavailable: ffiUnavailable,
    run: benchFfi,
  },
  {
    id: 'original-client',
    title: "The original client's way (one SyncML message per op) vs our automatic batching",
    method:
      "Through one Csp over a counting wrapper of the real addon (CountingMdm: one apply = one native round trip), state `:memory:`: (a) the deviceInfo feature's read (its nodes, its readFields) vs one awaited Get per node; (b) Replace of 20 Update policies in one tick vs one awaited Replace each. The two ways interleaved.",
    unavailable: emulatorUnavailable,
    run: benchOriginalClient,
  },
  {
    id: 'emulator-memory',
    title: 'Resident memory: emulator loaded vs bare Node',
    method:
      'Fresh child processes, bare and loaded alternating; RSS after GC; difference pair by pair.',
    unavailable: emulatorUnavailable,
    run: async (o) => benchEmulatorMemory(o),
  },
  {
    id: 'emulator-state',
    title: 'Emulator persistence per apply',
    method:
      'AddonMdm.apply of one Get and of one Replace that changes a value, state in memory and in a file (temp file, fsync, rename), each mode in a fresh child process.',
    unavailable: emulatorUnavailable,
    run: async (o) => benchEmulatorState(o),
  },
  {
    id: 'hub',
    title: 'Local IoT Hub: 1,000 devices, real device + service SDKs over TLS on 127.0.0.1',
    method:
      'The hub alone in a child process; 1,000 azure-iot-device MQTT clients in this process; desired patches from azure-iothub Registry.updateTwin one at a time; a scheduled method job over every device.',
    run: benchHub,
  },
  {
    id: 'dm',
    title: 'Device-management agent end to end (`iotdm agent` in a child process)',
    method:
      'dist/ built with tsc; a LocalHub in this process, one SAS device; the agent over the real device SDK (MQTT/TLS), the addon and the emulator (own state file), with the OEM branding handler. Patches and methods one at a time after a warm-up.',
    unavailable: emulatorUnavailable,
    run: benchDm,
  },
  {
    id: 'agent-memory',
    title: "The idle agent's memory against its floor; the memory settings' cost in patch latency",
    method:
      "Fresh processes, variants interleaved round by round: the floor (Node + the device SDK connected, nothing else), the floor with the agent's memory settings (lib/cli/agent-memory.ts), `iotdm agent` (dist/, OEM handler) with IOTDM_AGENT_MEMORY=default and as shipped; VmRSS after the same idle time as dm. Then two agents connected at once, settings on and off, one patch each per round in rotating order.",
    unavailable: emulatorUnavailable,
    run: benchAgentMemory,
  },
  {
    id: 'storage',
    title: 'Blob storage: 100 MB upload and download through BlobExternalStorage',
    method:
      'A child process per run (as the agent runs) against Azurite on 127.0.0.1; RSS sampled every 5 ms; growth = peak − baseline after a warm-up transfer and GC; SHA-256 checked both ways.',
    unavailable: () => moduleUnavailable('azurite', 'a devDependency'),
    run: (o) => benchStorage(o),
  },
  {
    id: 'tpm',
    title: 'TPM: Limpet SAS token and EK read over swtpm on 127.0.0.1',
    method: 'A private swtpm (mssim framing over TCP); each operation sampled after a warm-up.',
    unavailable: () =>
      swtpmInstalled()
        ? undefined
        : 'swtpm is not installed (sudo apt-get install swtpm swtpm-tools)',
    run: benchTpm,
  },
  {
    id: 'service',
    title: 'The CSP service (issue 14): in process vs through the service',
    method:
      'bench/service.ts (issue 14): microseconds per op, single Gets and 100-Get batches, in process (AddonMdm) vs through a service child running compiled JS (dist/, built when stale; audit on; a policy, root not trusted), interleaved with a bare Unix-socket echo child (the floor).',
    unavailable: () =>
      existsSync(SERVICE_MODULE) ? undefined : 'bench/service.ts is not there yet (issue 14)',
    run: runService,
  },
];

export { NotMeasured };
