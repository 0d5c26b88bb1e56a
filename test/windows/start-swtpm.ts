/**
 * Linux side of scripts/test-windows.sh: manufactures a swtpm (EKs + EK certificates, as the Linux
 * TPM tests do: lib/demo/swtpm.ts), serves it on 127.0.0.1 (free ports, mssim framing) and writes
 * "host:port" of the data port to the file given as argument; stops the simulator and removes its
 * state on SIGTERM/SIGINT. The TBS test double inside wine forwards to that port.
 *
 *   npx tsx test/windows/start-swtpm.ts <port-file>
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchSwtpm, manufactureSwtpm } from '../../lib/demo/swtpm';

async function main(): Promise<void> {
  const portFile = process.argv[2];
  if (!portFile) throw new Error('usage: start-swtpm.ts <port-file>');
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'iotdm-wine-swtpm-'));
  await manufactureSwtpm(stateDir, true);
  const tpm = await launchSwtpm(stateDir);
  writeFileSync(portFile, `${tpm.host}:${tpm.port}\n`);
  const stop = async (): Promise<void> => {
    await tpm.stop();
    rmSync(stateDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  tpm.child.once('exit', (code) => {
    console.error(`start-swtpm: swtpm exited (${code})`);
    rmSync(stateDir, { recursive: true, force: true });
    process.exit(1);
  });
}

main().catch((error: unknown) => {
  console.error(`start-swtpm: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
