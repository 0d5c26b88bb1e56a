/**
 * The background agent: the smallest host that runs device management headless, as a program of
 * its own (the original Windows IoT DM "background application"), using only the package's public
 * API. In your own project, import from 'windows-iot-dm' instead of '../../lib'.
 *
 * Identity, one of:
 *   --connection-string-file F   (or $IOTDM_CONNECTION_STRING) a device connection string
 *   --tpm-slot N [--tpm tcp:HOST:PORT]  the key held by the TPM (SAS tokens signed in the TPM)
 *   --dps-endpoint HOST[:PORT] --id-scope S  with --registration-id R --symmetric-key-file F, or
 *                                with --tpm-slot N: provisioned through DPS, then connected
 * Also: --ca FILE (a CA to trust, e.g. the local hub's), --state-dir DIR, --log-level LEVEL,
 * --backoff-base-ms / --backoff-cap-ms (reconnect delays; default 1 s doubling up to 5 min),
 * --reconnect-grace-ms (how long the SDK may try to bridge a drop on its own; default 60 s).
 *
 * It reconnects forever: a failed connection (hub down, network away, credentials refused) or a
 * connection the SDK gave up on (or has not restored within the grace time) ends the session; the next one starts after a capped exponential
 * delay with jitter (`backoff.ts`). Short drops are bridged by the SDK itself and the DM client
 * reconciles the twin when the link is back. SIGINT/SIGTERM: the session is detached (queued
 * reports sent), the connection closed, exit 0. Logs are JSON lines on stderr; the connection
 * string and keys never appear in them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import {
  DeviceManagementClient,
  LimpetTpm,
  LOG_LEVELS,
  TcpTpm,
  TpmProvisioningSecurity,
  TpmSasAuthenticationProvider,
  builtinHandlers,
  createLogger,
  defaultNativeSystem,
  defaultNativeTpm,
  defaultStateDir,
  provisionDevice,
  type FeatureHandler,
  type LogLevel,
  type Logger,
  type NativeTpm,
} from '../../lib';
import { Backoff } from './backoff';

export const USAGE = `Usage: background-agent (--connection-string-file F | --tpm-slot N [--tpm tcp:HOST:PORT]
       | --dps-endpoint HOST[:PORT] --id-scope S (--registration-id R --symmetric-key-file F | --tpm-slot N))
       [--ca FILE] [--state-dir DIR] [--log-level LEVEL] [--backoff-base-ms MS] [--backoff-cap-ms MS]
       [--reconnect-grace-ms MS]
The connection string may also come from $IOTDM_CONNECTION_STRING.`;

class UsageError extends Error {}

/** How the device gets its identity. */
type Identity =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'tpm'; slot: number; tpm: string | undefined }
  | {
      kind: 'dps';
      endpoint: string;
      idScope: string;
      attestation:
        | { kind: 'symmetricKey'; registrationId: string; key: string }
        | { kind: 'tpm'; slot: number; tpm: string | undefined };
    };

interface Config {
  identity: Identity;
  ca?: string;
  stateDir: string;
  logLevel: LogLevel;
  baseMs: number;
  capMs: number;
  reconnectGraceMs: number;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code})`);
  }
}

function positive(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(`${what} must be a whole number of ms`);
  }
  return Number(text);
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'connection-string-file': { type: 'string' },
        'tpm-slot': { type: 'string' },
        tpm: { type: 'string' },
        'dps-endpoint': { type: 'string' },
        'id-scope': { type: 'string' },
        'registration-id': { type: 'string' },
        'symmetric-key-file': { type: 'string' },
        ca: { type: 'string' },
        'state-dir': { type: 'string' },
        'log-level': { type: 'string' },
        'backoff-base-ms': { type: 'string' },
        'backoff-cap-ms': { type: 'string' },
        'reconnect-grace-ms': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const slotText = values['tpm-slot'];
  if (slotText !== undefined && !/^\d$/.test(slotText)) {
    throw new UsageError(`--tpm-slot must be 0-9`);
  }
  const slot = slotText === undefined ? undefined : Number(slotText);
  if (values.tpm !== undefined && !/^tcp:[^:]+:\d+$/.test(values.tpm)) {
    throw new UsageError('--tpm must be tcp:HOST:PORT (default: the system TPM)');
  }
  let identity: Identity;
  if (values['dps-endpoint'] !== undefined || values['id-scope'] !== undefined) {
    const endpoint = values['dps-endpoint'];
    const idScope = values['id-scope'];
    if (!endpoint || !idScope) throw new UsageError('DPS needs --dps-endpoint and --id-scope');
    const keyFile = values['symmetric-key-file'];
    const registrationId = values['registration-id'];
    if (slot !== undefined && keyFile === undefined) {
      identity = {
        kind: 'dps',
        endpoint,
        idScope,
        attestation: { kind: 'tpm', slot, tpm: values.tpm },
      };
    } else if (slot === undefined && keyFile !== undefined && registrationId) {
      const key = readText(keyFile, '--symmetric-key-file');
      identity = {
        kind: 'dps',
        endpoint,
        idScope,
        attestation: { kind: 'symmetricKey', registrationId, key },
      };
    } else {
      throw new UsageError(
        'DPS needs --registration-id with --symmetric-key-file, or --tpm-slot (not both)',
      );
    }
  } else if (slot !== undefined) {
    identity = { kind: 'tpm', slot, tpm: values.tpm };
  } else if (values['connection-string-file'] !== undefined) {
    const cs = readText(values['connection-string-file'], '--connection-string-file');
    identity = { kind: 'connectionString', connectionString: cs };
  } else if (env.IOTDM_CONNECTION_STRING?.trim()) {
    identity = { kind: 'connectionString', connectionString: env.IOTDM_CONNECTION_STRING.trim() };
  } else {
    throw new UsageError('no identity: give a connection string, a TPM slot or DPS options');
  }
  if (identity.kind === 'connectionString') {
    const has = (k: string): boolean =>
      new RegExp(`(?:^|;)${k}=[^;]+`).test(identity.connectionString);
    if (!has('HostName') || !has('DeviceId') || !has('SharedAccessKey')) {
      throw new UsageError(
        'the connection string is not HostName=...;DeviceId=...;SharedAccessKey=...',
      );
    }
  }
  const logLevel = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const config: Config = {
    identity,
    stateDir: path.resolve(values['state-dir'] ?? defaultStateDir()),
    logLevel: logLevel as LogLevel,
    baseMs: positive(values['backoff-base-ms'], '--backoff-base-ms', 1000),
    capMs: positive(values['backoff-cap-ms'], '--backoff-cap-ms', 300_000),
    reconnectGraceMs: positive(values['reconnect-grace-ms'], '--reconnect-grace-ms', 60_000),
  };
  if (config.capMs < config.baseMs) throw new UsageError('--backoff-cap-ms is below the base');
  if (values.ca !== undefined) config.ca = readText(values.ca, '--ca');
  return config;
}

function openTpm(spec: string | undefined): NativeTpm {
  if (spec === undefined) return defaultNativeTpm();
  const [, host, port] = /^tcp:([^:]+):(\d+)$/.exec(spec) as RegExpExecArray;
  return new TcpTpm({ host: host as string, port: Number(port) });
}

/** What a session connects with: a client factory, and where it goes (for log lines). */
interface Connector {
  where: { hostName: string; deviceId: string };
  client(): Client;
}

/**
 * The device's credentials, made ready for connecting: DPS registration (once per process, again
 * after the hub refused the assignment's credentials), the TPM token provider.
 */
class Credentials {
  #native?: NativeTpm;
  #provider?: TpmSasAuthenticationProvider;
  #connectionString?: string;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  /** The TPM, for `clearTPM` of factory reset / wipe too (undefined without a TPM identity). */
  get limpet(): LimpetTpm | undefined {
    const id = this.config.identity;
    const spec =
      id.kind === 'tpm'
        ? id.tpm
        : id.kind === 'dps' && id.attestation.kind === 'tpm'
          ? id.attestation.tpm
          : null;
    if (spec === null) return undefined;
    this.#native ??= openTpm(spec);
    return new LimpetTpm(this.#native);
  }

  /** Forget the DPS assignment: the next connector registers again. */
  invalidate(): void {
    if (this.config.identity.kind !== 'dps') return;
    this.#connectionString = undefined;
    this.#provider?.stop();
    this.#provider = undefined;
  }

  async connector(): Promise<Connector> {
    const id = this.config.identity;
    if (id.kind === 'connectionString') return this.#fromConnectionString(id.connectionString);
    if (id.kind === 'tpm') return this.#fromTpm(id.slot);
    if (this.#connectionString) return this.#fromConnectionString(this.#connectionString);
    if (this.#provider)
      return this.#fromTpm(id.attestation.kind === 'tpm' ? id.attestation.slot : 0);
    const a = id.attestation;
    const common = {
      globalEndpoint: id.endpoint,
      idScope: id.idScope,
      ...(this.config.ca !== undefined ? { ca: this.config.ca } : {}),
    };
    if (a.kind === 'symmetricKey') {
      const r = await provisionDevice({ ...common, attestation: a });
      this.log.info({ assignedHub: r.assignedHub, deviceId: r.deviceId }, 'DPS assigned');
      this.#connectionString = `HostName=${r.assignedHub};DeviceId=${r.deviceId};SharedAccessKey=${a.key}`;
      return this.#fromConnectionString(this.#connectionString);
    }
    const limpet = this.limpet as LimpetTpm;
    const r = await provisionDevice({
      ...common,
      attestation: { kind: 'tpm', security: new TpmProvisioningSecurity(limpet, a.slot) },
    });
    this.log.info({ assignedHub: r.assignedHub, deviceId: r.deviceId }, 'DPS assigned');
    await limpet.storeUri(a.slot, `${r.assignedHub}/${r.deviceId}`);
    return this.#fromTpm(a.slot);
  }

  #fromConnectionString(cs: string): Connector {
    const field = (k: string): string => new RegExp(`(?:^|;)${k}=([^;]*)`).exec(cs)?.[1] ?? '';
    return {
      where: { hostName: field('HostName'), deviceId: field('DeviceId') },
      client: () => Client.fromConnectionString(cs, Mqtt),
    };
  }

  async #fromTpm(slot: number): Promise<Connector> {
    if (!this.#provider) {
      this.#provider = await TpmSasAuthenticationProvider.create(this.limpet as LimpetTpm, slot);
      this.#provider.on('error', (err: Error) =>
        this.log.warn({ err: err.message }, 'TPM token renewal failed'),
      );
    }
    const provider = this.#provider;
    return {
      where: { hostName: provider.identity.host, deviceId: provider.identity.deviceId },
      client: () =>
        Client.fromAuthenticationProvider(
          provider as unknown as Parameters<typeof Client.fromAuthenticationProvider>[0],
          Mqtt,
        ),
    };
  }

  async close(): Promise<void> {
    this.#provider?.stop();
    await this.#native?.close().catch(() => undefined);
  }
}

function isAuthFailure(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown };
  return (
    e?.name === 'UnauthorizedError' ||
    (typeof e?.message === 'string' && /not authori[sz]ed|unauthori[sz]ed/i.test(e.message))
  );
}

/** Resolves after `ms`, or at once when `stop` settles first. */
function sleep(ms: number, stop: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
    stop.then(() => undefined),
  ]).finally(() => clearTimeout(timer));
}

/** Waits for `p` at most `ms`, ignoring its outcome. */
function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  return sleep(
    ms,
    p.catch(() => undefined),
  );
}

/**
 * Runs until `stop` resolves: connect, attach DM, wait until the connection is lost for good,
 * detach, wait, connect again. Resolves with the exit code.
 */
export async function runBackgroundAgent(
  config: Config,
  stop: Promise<string>,
  log: Logger,
): Promise<number> {
  const credentials = new Credentials(config, log);
  const backoff = new Backoff({ baseMs: config.baseMs, capMs: config.capMs });
  let stopped = false;
  void stop.then((signal) => {
    stopped = true;
    log.info({ signal }, 'stopping');
  });

  while (!stopped) {
    let client: Client | undefined;
    let dm: DeviceManagementClient | undefined;
    try {
      const connector = await credentials.connector();
      log.info(connector.where, 'connecting');
      const c = connector.client();
      client = c;
      if (config.ca !== undefined) await c.setOptions({ ca: config.ca });
      c.on('error', (err: Error) => log.warn({ err: err.message }, 'IoT Hub client error'));
      // The SDK bridges short drops itself and emits `disconnect` only when it gives up.
      const lost = new Promise<string>((resolve) => c.once('disconnect', () => resolve('lost')));
      await Promise.race([c.open(), stop]);
      if (stopped) break;
      const limpet = credentials.limpet;
      const handlers: FeatureHandler[] = builtinHandlers({
        system: defaultNativeSystem(),
        stateDir: config.stateDir,
        ...(limpet ? { resetWipe: { tpm: limpet } } : {}),
      });
      dm = await DeviceManagementClient.attach(c, {
        handlers,
        logger: log,
        stateDir: config.stateDir,
      });
      // A drop the SDK has not bridged within `reconnectGraceMs` ends the session too (the
      // SDK's own retries may run for minutes, e.g. against a hub refusing the device).
      let grace: NodeJS.Timeout | undefined;
      const stalled = new Promise<string>((resolve) => {
        dm!.on('disconnected', () => {
          log.warn('connection dropped: the SDK is retrying');
          clearTimeout(grace);
          grace = setTimeout(() => resolve('stalled'), config.reconnectGraceMs);
        });
      });
      dm.on('connected', () => {
        clearTimeout(grace);
        log.info('connected');
      });
      dm.on('applied', (e) => log.info({ section: e.section, version: e.version }, 'applied'));
      backoff.reset();
      log.info({ ...connector.where, version: dm.version, sections: dm.sections }, 'ready');
      const why = await Promise.race([lost, stalled, stop]);
      clearTimeout(grace);
      if (!stopped) log.warn({ why }, 'connection lost: starting a new session');
    } catch (err) {
      if (isAuthFailure(err)) credentials.invalidate();
      log.warn({ err: (err as Error).message, name: (err as Error).name }, 'session failed');
    }
    if (dm) await dm.detach(stopped ? 5000 : 1000).catch(() => undefined);
    if (client) await bounded(client.close(), 5000);
    if (stopped) break;
    const delay = backoff.next();
    log.info({ retryInMs: delay, attempt: backoff.attempt }, 'reconnecting');
    await sleep(delay, stop);
  }
  await credentials.close();
  log.info('stopped');
  return 0;
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

async function main(): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`background-agent: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  const log = createLogger(config.logLevel, {
    write: (line: string) => process.stderr.write(line),
  });
  return runBackgroundAgent(config, waitForSignal(), log);
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`background-agent: ${(err as Error).message}\n`);
      process.exit(4);
    },
  );
}
