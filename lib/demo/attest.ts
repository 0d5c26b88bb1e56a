/**
 * The attestation service of `iotdm demo`: what `iotdm attest --local-has` runs (lib/attest), in
 * this process: the local HAS on 127.0.0.1, device messages read from the local hub, reports in
 * `<data>/attest.db`, the default remediation policy, log lines in `<data>/attest.log`. Its
 * decisions are also told as one console line each (`notify`).
 */
import { createWriteStream } from 'node:fs';
import { LocalHubD2CSource } from '../attest/d2c-source';
import { HttpHasClient } from '../attest/has-client';
import { parseServiceConnectionString, trustServiceEndpoint } from '../attest/hub-endpoint';
import { LocalHas } from '../attest/local-has';
import { DEFAULT_POLICY } from '../attest/policy';
import { ReportStore, type StoredReport } from '../attest/report-store';
import { AttestService } from '../attest/service';
import { createLogger } from '../dm/logger';

export interface DemoAttest {
  hasUrl: string;
  close(): Promise<void>;
}

export async function startDemoAttest(o: {
  connectionString: string;
  ca: string;
  dbFile: string;
  logFile: string;
  notify: (line: string) => void;
}): Promise<DemoAttest> {
  const endpoint = parseServiceConnectionString(o.connectionString, o.ca);
  const logStream = createWriteStream(o.logFile, { flags: 'a', mode: 0o600 });
  const logger = createLogger('info', logStream);
  const store = new ReportStore(o.dbFile);
  let has: LocalHas | undefined;
  let service: AttestService | undefined;
  let client: { close(): Promise<unknown> } | undefined;
  const close = async (): Promise<void> => {
    await service?.close();
    await client?.close().catch(() => undefined);
    await has?.close();
    store.close();
    await new Promise<void>((resolve) => logStream.end(resolve));
  };
  try {
    has = await LocalHas.start();
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when it runs
    const iothub = require('azure-iothub') as typeof import('azure-iothub');
    const registry = trustServiceEndpoint(
      iothub.Registry.fromConnectionString(o.connectionString),
      endpoint,
    );
    const methods = trustServiceEndpoint(
      iothub.Client.fromConnectionString(o.connectionString),
      endpoint,
    );
    client = methods;
    service = new AttestService({
      source: new LocalHubD2CSource({ endpoint, logger }),
      registry,
      client: methods,
      has: new HttpHasClient({ url: has.url }),
      store,
      policy: DEFAULT_POLICY,
      logger,
    });
    service.on('nonce', (deviceId: string) => o.notify(`${deviceId}: DHA nonce issued`));
    service.on('report', (r: StoredReport) =>
      o.notify(
        `${r.deviceId}: DHA report ${r.valid ? 'valid' : 'INVALID'}` +
          (r.secureBoot === null ? '' : `, secure boot ${r.secureBoot ? 'on' : 'off'}`),
      ),
    );
    service.on('rejected', (e: { deviceId: string; reason: string }) =>
      o.notify(`${e.deviceId}: DHA report rejected (${e.reason})`),
    );
    service.on('remediation', (e: { deviceId: string; rule: string; method: string }) =>
      o.notify(`${e.deviceId}: remediation "${e.rule}" → ${e.method}`),
    );
    service.start(store.position());
  } catch (err) {
    await close();
    throw err;
  }
  return { hasUrl: has.url, close };
}
