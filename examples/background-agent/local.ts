/**
 * One command for the background agent (`npx tsx examples/background-agent/local.ts`): a local
 * hub, the dashboard and this example (`main.ts`) for device `background-1`, connected with the
 * device's connection string. Change the device's settings from the dashboard (e.g. Time: NTP
 * server) and watch the agent's log; Ctrl-C stops everything.
 */
import path from 'node:path';
import { startLocalStack, stopOnSignal } from '../local-stack';

async function main(): Promise<void> {
  const stack = await startLocalStack({
    deviceId: 'background-1',
    args: (f) => [
      '--import',
      'tsx',
      path.join(__dirname, 'main.ts'),
      '--connection-string-file',
      f.connectionStringFile,
      '--ca',
      f.caFile,
      '--state-dir',
      f.stateDir,
    ],
  });
  process.stdout.write(
    `dashboard: ${stack.dashboardUrl} (device ${stack.deviceId}); Ctrl-C stops everything\n`,
  );
  await stopOnSignal(stack);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
