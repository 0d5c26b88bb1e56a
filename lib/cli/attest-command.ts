/**
 * `iotdm attest`: runs the Device Health Attestation service (lib/attest/service.ts) until
 * SIGINT/SIGTERM: reads device-to-cloud messages from the hub (the local hub's
 * `GET /messages/events`; Azure IoT Hub's Event Hubs endpoint is not supported), answers nonce
 * requests, validates health reports with an attestation service, stores them in SQLite and
 * runs the remediation policy. `azure-iothub` (Registry, Client) is loaded when it runs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from '../dm/logger';
import { LocalHubD2CSource } from '../attest/d2c-source';
import { HttpHasClient } from '../attest/has-client';
import { parseServiceConnectionString, trustServiceEndpoint } from '../attest/hub-endpoint';
import { LocalHas } from '../attest/local-has';
import { DEFAULT_POLICY, loadPolicy, type Policy } from '../attest/policy';
import { ReportStore } from '../attest/report-store';
import { AttestService } from '../attest/service';
import { COMMON_OPTIONS, parseCommand } from './args';
import { EXIT, type CliIo } from './io';
import { waitForSignal } from './signals';

export const ATTEST_HELP = `Usage: iotdm attest --hub-connection-string STR [options]

Runs the Device Health Attestation service: answers DHA-Nonce messages with a nonce
(windows.deviceHealthAttestationGetReport), validates DHA-HealthReport messages with an
attestation service, stores the reports in SQLite and runs the remediation policy.
Device messages are read from the local hub (iotdm hub); Azure IoT Hub's Event Hubs
endpoint is not supported.

Options:
  --hub-connection-string STR   service connection string (ServiceConnect + RegistryRead);
                                default $IOTHUB_CONNECTION_STRING
  --hub-ca FILE                 CA certificate to trust for the hub (the local hub's ca.pem)
  --has-url URL                 attestation service validation URL (the local HAS protocol)
  --local-has                   run the local attestation service on 127.0.0.1 and use it
  --db FILE                     SQLite database of nonces and reports (default ./attest.db)
  --policy FILE                 remediation policy JSON (default: factory reset when
                                SecureBootEnabled is false)
  --after N                     start after hub message sequence N (default: after the last
                                message handled, kept in the database; 0 on first use)
  --log-level LEVEL             silent, error, warn, info (default), debug or trace
  -h, --help                    this help

Exit codes: 0 stopped by a signal, 2 usage error, 4 other error.`;

export interface AttestCommandDeps {
  waitForStop?: () => Promise<string>;
  /** Receives the service once it runs (tests). */
  onStarted?: (service: AttestService, info: { hasUrl?: string }) => void;
  logger?: Logger;
}

export async function runAttest(
  argv: string[],
  io: CliIo,
  deps: AttestCommandDeps = {},
): Promise<number> {
  const parsed = parseCommand('attest', ATTEST_HELP, io, () =>
    parseArgs({
      args: argv,
      strict: true,
      options: {
        'hub-connection-string': { type: 'string' },
        'hub-ca': { type: 'string' },
        'has-url': { type: 'string' },
        'local-has': { type: 'boolean', default: false },
        db: { type: 'string' },
        policy: { type: 'string' },
        after: { type: 'string' },
        'log-level': { type: 'string' },
        ...COMMON_OPTIONS,
      },
    }),
  );
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values;
  const usage = (why: string): number => {
    io.err(`iotdm attest: ${why}\n\n${ATTEST_HELP}`);
    return EXIT.usage;
  };
  const connectionString = v['hub-connection-string'] ?? process.env.IOTHUB_CONNECTION_STRING;
  if (!connectionString) return usage('--hub-connection-string is required');
  if (v['has-url'] && v['local-has']) return usage('--has-url and --local-has exclude each other');
  if (v['has-url'] && !/^https?:\/\/[^\s]+$/.test(v['has-url'])) {
    return usage('--has-url must be an http(s) URL');
  }
  const level = v['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    return usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not "${level}"`);
  }
  if (v.after !== undefined && !/^\d+$/.test(v.after)) {
    return usage(`--after must be a count, not "${v.after}"`);
  }

  let policy: Policy = DEFAULT_POLICY;
  let endpoint;
  try {
    if (v.policy) policy = loadPolicy(v.policy);
    const ca = v['hub-ca'] ? readFileSync(v['hub-ca'], 'utf8') : undefined;
    endpoint = parseServiceConnectionString(connectionString, ca);
  } catch (err) {
    return usage((err as Error).message);
  }
  const logger = deps.logger ?? createLogger(level as LogLevel);
  let store: ReportStore | undefined;
  let localHas: LocalHas | undefined;
  let service: AttestService | undefined;
  try {
    store = new ReportStore(path.resolve(v.db ?? 'attest.db'));
    if (v['local-has']) localHas = await LocalHas.start();
    const hasUrl = localHas?.url ?? v['has-url'];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when it runs
    const iothub = require('azure-iothub') as typeof import('azure-iothub');
    const registry = trustServiceEndpoint(
      iothub.Registry.fromConnectionString(connectionString),
      endpoint,
    );
    const client = trustServiceEndpoint(
      iothub.Client.fromConnectionString(connectionString),
      endpoint,
    );
    service = new AttestService({
      source: new LocalHubD2CSource({ endpoint, logger }),
      registry,
      client,
      has: new HttpHasClient(hasUrl ? { url: hasUrl } : {}),
      store,
      policy,
      logger,
    });
    const stopped = (deps.waitForStop ?? waitForSignal)();
    service.start(v.after !== undefined ? Number(v.after) : store.position());
    deps.onStarted?.(service, hasUrl ? { hasUrl } : {});
    io.out(
      v.json
        ? JSON.stringify({
            hub: endpoint.hostName,
            hasUrl: hasUrl ?? null,
            rules: policy.rules.length,
          })
        : `Attestation service running (hub ${endpoint.hostName}${hasUrl ? `, HAS ${hasUrl}` : ''}, ${policy.rules.length} policy rule(s)). Press Ctrl+C to stop.`,
    );
    await stopped;
    await client.close().catch(() => undefined);
    return EXIT.ok;
  } catch (err) {
    io.err(`iotdm attest: ${(err as Error).message}`);
    return EXIT.error;
  } finally {
    await service?.close();
    await localHas?.close();
    store?.close();
  }
}
