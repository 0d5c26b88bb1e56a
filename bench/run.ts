/** `npm run bench`: every benchmark, side by side in one run, medians in markdown tables. */
import { cpus } from 'node:os';
import { benchCspOps } from './csp-ops';
import { benchDm } from './dm';
import { benchEmulatorMemory } from './emulator-memory';
import { benchEmulatorState } from './emulator-state';
import { benchHub } from './hub';
import { benchStorage } from './storage';
import { benchTpm } from './tpm';

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `# windows-iot-dm benchmarks\n\nNode ${process.version}, ${process.platform}-${process.arch}, ${cpus().length} × ${cpu}\n`,
  );
  const state = process.env.WINDOWS_IOT_DM_EMULATOR_STATE || 'the default state file';
  console.log(
    `## CSP ops through addon + emulator library (median of 31 samples; state: ${state})\n`,
  );
  console.log(await benchCspOps());
  console.log('\n## Resident memory: emulator loaded vs bare Node (median of 5 fresh processes)\n');
  console.log(benchEmulatorMemory());
  console.log('\n## Emulator persistence per apply (median of 101 messages, fresh processes)\n');
  console.log(benchEmulatorState());
  console.log(
    '\n## Local IoT Hub: 1,000 devices, real device + service SDKs over TLS on 127.0.0.1 (hub alone in a child process)\n',
  );
  try {
    console.log(await benchHub());
  } catch (err) {
    console.log(`not measured: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
  console.log(
    '\n## Device-management agent: `iotdm agent` (dist/) in a child process, local hub over TLS, branding handler on the CSP emulator\n',
  );
  try {
    console.log(await benchDm());
  } catch (err) {
    console.log(`not measured: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
  console.log(
    '\n## Blob storage: 100 MB upload and download through BlobExternalStorage in a child process, Azurite on 127.0.0.1\n',
  );
  try {
    console.log(await benchStorage());
  } catch (err) {
    console.log(`not measured: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
  console.log(
    '\n## TPM: Limpet SAS token and EK read over swtpm on 127.0.0.1 (median of 201 samples)\n',
  );
  try {
    console.log(await benchTpm());
  } catch (err) {
    console.log(`not measured: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
