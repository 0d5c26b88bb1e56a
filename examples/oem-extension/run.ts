/**
 * One command for the OEM extension (`npx tsx examples/oem-extension/run.ts`): a local hub, the
 * dashboard, and `iotdm agent --handler examples/oem-extension/sensor-handler.ts` for device
 * `oem-sensor-1`. It sets a desired sampling rate of 50 Hz; type another rate (1-1000) and Enter
 * to change it; Ctrl-C stops everything. The dashboard's device page shows
 * `reported.windows.oemSensor` in the raw twin.
 */
import path from 'node:path';
import readline from 'node:readline';
import { startLocalStack, stopOnSignal } from '../local-stack';

const ROOT = path.join(__dirname, '../..');

async function main(): Promise<void> {
  const stack = await startLocalStack({
    deviceId: 'oem-sensor-1',
    args: (f) => [
      '--import',
      'tsx',
      path.join(ROOT, 'lib/cli/main.ts'),
      'agent',
      '--connection-string-file',
      f.connectionStringFile,
      '--ca',
      f.caFile,
      '--state-dir',
      f.stateDir,
      '--handler',
      path.join(__dirname, 'sensor-handler.ts'),
      '--log-level',
      'warn',
    ],
    env: (dir) => ({ OEM_SENSOR_FILE: path.join(dir, 'oem-sensor.json') }),
  });
  stack.setDesired({ oemSensor: { samplingRateHz: 50 } });
  process.stdout.write(
    `dashboard: ${stack.dashboardUrl} (device ${stack.deviceId}: reported.windows.oemSensor in the raw twin)\n` +
      `sensor settings file: ${path.join(stack.dir, 'oem-sensor.json')}\n` +
      'type a sampling rate in Hz (1-1000) and Enter to change it; Ctrl-C stops\n',
  );
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const rate = Number(line.trim());
    // Out-of-range values go through too: the handler reports them failed (errCode 400).
    if (line.trim() === '' || !Number.isFinite(rate)) return;
    stack.setDesired({ oemSensor: { samplingRateHz: rate } });
    process.stdout.write(`desired samplingRateHz = ${rate}\n`);
  });
  await stopOnSignal(stack);
  rl.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
