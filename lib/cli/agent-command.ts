/**
 * `iotdm agent`: the headless device-management agent. It opens an `azure-iot-device` Client
 * (MQTT, or MQTT over WebSocket) with the device's credentials, attaches a
 * `DeviceManagementClient` with the feature handlers given as modules (`--handler`, how OEM
 * extensions load), and runs until SIGINT/SIGTERM, when it detaches (sending what is queued),
 * closes the connection and exits 0.
 *
 * Logs are pino JSON lines on stderr. The connection string and its key are secrets: they are
 * never printed, neither in log lines nor in error messages (every line written by the agent goes
 * through `redact`, on top of the logger's own field redaction).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Client } from 'azure-iot-device';
import { DeviceManagementClient } from '../dm/client';
import { defaultStateDir } from '../dm/state-store';
import type { FeatureHandler } from '../dm/handler';
import type { SdkClientLike } from '../dm/twin-link';
import { looseSecretFile } from './secret-file';
import { createLogger, errorFields, LOG_LEVELS, type Logger, type LogLevel } from '../dm/logger';
import { BUILTIN_SECTIONS, builtinHandlers } from '../features';
import { defaultNativeSystem } from '../native/addon-system';
import { trimNativeHeap } from '../native/load';
import { TpmError, TpmUnavailableError } from '../errors';
import type { NativeTpm } from '../native/contract';
// The TPM code is loaded only with --tpm-slot (docs/memory.md): types only here.
import type { LimpetTpm } from '../tpm/limpet';
import type { TpmSasAuthenticationProvider, TpmSasProviderOptions } from '../tpm/sas-provider';
import { COMMON_OPTIONS, parseCommand } from './args';
import { openNativeTpm, tpmSpecFrom, type TpmSpec } from './tpm-select';
import { waitForSignal } from './signals';
import { EXIT, type CliIo } from './io';

/** The agent's exit codes: the CLI's (`./io.ts`) plus one for IoT Hub connection failures. */
export const AGENT_EXIT = {
  ...EXIT,
  /** IoT Hub refused the credentials, or could not be reached. */
  connection: 5,
} as const;

export const ENV_CONNECTION_STRING = 'IOTDM_CONNECTION_STRING';

export const AGENT_HELP = `Usage: iotdm agent [options]

Runs the device-management agent: connects the device to IoT Hub, applies
properties.desired.windows through the feature handlers, reports properties.reported.windows,
answers windows.* direct methods. Runs until Ctrl+C (SIGINT) or SIGTERM, then sends what is
queued, disconnects and exits 0. Logs are JSON lines on stderr.

Device credentials (the first one given wins; never printed):
  --connection-string CS       device connection string (HostName=...;DeviceId=...;SharedAccessKey=...)
  $${ENV_CONNECTION_STRING}      the same, from the environment (keeps it out of the process list)
  --connection-string-file F   a file holding it (surrounding white space ignored)
  --tpm-slot N                 the key held by the TPM in slot N (0-9, "iotdm tpm import"):
                               SAS tokens signed in the TPM, hub and device from the slot's URI;
                               the same TPM is cleared for clearTPM of a factory reset / wipe
  --tpm SPEC                   with --tpm-slot: which TPM (tbs, device[:path], tcp:host:port,
                               socket:path; default $IOTDM_TPM, else the system's TPM)

Options:
  --ca FILE                    also trust this CA (PEM), e.g. the local hub's ("iotdm hub" prints it)
  --transport mqtt|mqttws      MQTT over TLS on 8883 (default) or MQTT over WebSocket on 443
  --state-dir DIR              where applied versions and handler state persist
                               (default: $XDG_STATE_HOME/windows-iot-dm/dm, or
                               %ProgramData%\\windows-iot-dm\\dm on Windows)
  --handler MODULE             a module exporting feature handlers (default export, "handler",
                               "handlers", or any exported object with "section" and "nodes");
                               repeatable; a path or a package name. A handler for a built-in
                               section replaces the built-in one
  --exclude SECTION            leave a built-in feature out (repeatable), e.g. --exclude timeInfo
  --no-builtin                 no built-in features (deviceInfo, rebootInfo, windowsUpdatePolicy,
                               ...): only the --handler modules
  --pnp                        also acknowledge writes as IoT Plug and Play writable properties
  --sas-renewal SECONDS        with a SharedAccessKey connection string: a new SAS token every
                               SECONDS (each valid for twice that; default: the SDK's, valid 1 h,
                               renewed 15 min before it expires). At least 10
  --log-level LEVEL            silent, error, warn, info (default), debug or trace
  -h, --help                   this help

Memory: the agent keeps V8's young generation small and the MQTT encoder without its number
table (docs/memory.md); IOTDM_AGENT_MEMORY=default leaves Node's and the SDK's defaults.

Exit codes: 0 stopped by SIGINT/SIGTERM, 2 usage error (bad option, no or malformed connection
string, unreadable file, handler module that does not load, TPM slot without URI), 3 MDM API
or TPM unavailable, 4 unexpected error, 5 IoT Hub connection or authentication failure.
Example: iotdm agent --connection-string-file /etc/iotdm/device.cs --handler ./branding.js`;

const TRANSPORTS = ['mqtt', 'mqttws'] as const;
type TransportName = (typeof TRANSPORTS)[number];

/**
 * Where the device's identity comes from: a connection string, or a TPM slot (its hub host and
 * device id are read from the slot's URI when the agent starts). `openClient` builds the Client.
 */
export type DeviceCredentials =
  | {
      kind: 'connectionString';
      connectionString: string;
      /** Where it was found (for messages: never the value). */
      source: string;
      hostName: string;
      deviceId: string;
      /** The SAS token provider of a key (set by `openClient`). */
      sasProvider?: import('node:events').EventEmitter;
    }
  | {
      kind: 'tpm';
      slot: number;
      tpm: TpmSpec;
      source: string;
      /** Filled from the slot's URI by `openTpmCredentials`. */
      hostName: string;
      deviceId: string;
      provider?: TpmSasAuthenticationProvider;
      native?: NativeTpm;
    };

export interface AgentDeps {
  /** Resolves when the agent should stop (default: SIGINT or SIGTERM). */
  waitForStop?: () => Promise<string>;
  env?: NodeJS.ProcessEnv;
  /** Where log lines go (default: stderr). */
  writeLog?: (line: string) => void;
  /** Called once the agent is connected and reconciled. */
  onReady?: () => void;
  /** `--tpm-slot`: token validity and renewal margin (default 3600 s / 900 s). */
  tpmSasOptions?: TpmSasProviderOptions;
}

class UsageError extends Error {}

interface AgentOptions {
  credentials: DeviceCredentials;
  ca?: string;
  transport: TransportName;
  stateDir?: string;
  handlerSpecs: string[];
  builtin: boolean;
  exclude: string[];
  pnp: boolean;
  logLevel: LogLevel;
  /** `--sas-renewal`: seconds between SAS tokens (connection strings with a key). */
  sasRenewalSeconds?: number;
  /** `--connection-string-file` that other users may read (logged as a warning). */
  looseSecretFile?: { file: string; mode: string; fix: string };
}

/** Replaces every secret of the connection string in `text`. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const list = secrets.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const s of list) out = out.split(s).join('[redacted]');
    return out;
  };
}

/** The secret parts of a connection string: itself, its key, its signature. */
function secretsOf(cs: string): string[] {
  const out = [cs];
  for (const m of cs.matchAll(/(?:SharedAccessKey|SharedAccessSignature)=([^;]*)/g)) {
    if (m[1]) {
      out.push(m[1]);
      // The SDK may log or echo the URL-encoded form.
      out.push(encodeURIComponent(m[1]));
    }
  }
  return out;
}

/** Checks that `cs` is a device connection string, without ever echoing it. */
function checkConnectionString(cs: string, source: string): DeviceCredentials {
  const fields = new Map<string, string>();
  for (const part of cs.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const what = `the connection string from ${source}`;
  if (fields.has('SharedAccessKeyName')) {
    throw new UsageError(
      `${what} is a service (shared access policy) connection string; the agent needs the device's own (HostName=...;DeviceId=...;SharedAccessKey=...)`,
    );
  }
  const hostName = fields.get('HostName');
  const deviceId = fields.get('DeviceId');
  const hasCredential =
    !!fields.get('SharedAccessKey') ||
    !!fields.get('SharedAccessSignature') ||
    fields.get('x509') === 'true';
  if (!hostName || !deviceId || !hasCredential) {
    const missing = [
      !hostName ? 'HostName' : undefined,
      !deviceId ? 'DeviceId' : undefined,
      !hasCredential ? 'SharedAccessKey' : undefined,
    ].filter(Boolean);
    throw new UsageError(
      `${what} is not a device connection string (missing ${missing.join(', ')}; expected HostName=...;DeviceId=...;SharedAccessKey=...)`,
    );
  }
  return { kind: 'connectionString', connectionString: cs, source, hostName, deviceId };
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${what} ${file}${code ? ` (${code})` : ''}`);
  }
}

function parseAgentArgs(
  values: {
    'connection-string'?: string | undefined;
    'connection-string-file'?: string | undefined;
    ca?: string | undefined;
    transport?: string | undefined;
    'state-dir'?: string | undefined;
    handler?: string[] | undefined;
    exclude?: string[] | undefined;
    'no-builtin'?: boolean | undefined;
    pnp?: boolean | undefined;
    'log-level'?: string | undefined;
    'tpm-slot'?: string | undefined;
    tpm?: string | undefined;
    'sas-renewal'?: string | undefined;
  },
  env: NodeJS.ProcessEnv,
): AgentOptions {
  const transport = values.transport ?? 'mqtt';
  if (!(TRANSPORTS as readonly string[]).includes(transport)) {
    throw new UsageError(`--transport must be mqtt or mqttws, not "${transport}"`);
  }
  const logLevel = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(
      `--log-level must be one of silent, error, warn, info, debug, trace, not "${logLevel}"`,
    );
  }
  let credentials: DeviceCredentials;
  let looseFile: AgentOptions['looseSecretFile'];
  const fromArg = values['connection-string'];
  const fromEnv = env[ENV_CONNECTION_STRING];
  const file = values['connection-string-file'];
  const slot = values['tpm-slot'];
  if (slot === undefined && values.tpm !== undefined) {
    throw new UsageError('--tpm needs --tpm-slot N');
  }
  if (slot !== undefined) {
    if (fromArg !== undefined || file !== undefined) {
      throw new UsageError(
        '--tpm-slot and --connection-string / --connection-string-file exclude each other',
      );
    }
    if (!/^\d$/.test(slot)) throw new UsageError(`--tpm-slot must be 0-9, not "${slot}"`);
    let tpm: TpmSpec;
    try {
      tpm = tpmSpecFrom(values.tpm, env);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    credentials = {
      kind: 'tpm',
      slot: Number(slot),
      tpm,
      source: `TPM slot ${slot}`,
      hostName: '',
      deviceId: '',
    };
  } else if (fromArg !== undefined) {
    credentials = checkConnectionString(fromArg.trim(), '--connection-string');
  } else if (fromEnv !== undefined && fromEnv.trim() !== '') {
    credentials = checkConnectionString(fromEnv.trim(), `$${ENV_CONNECTION_STRING}`);
  } else if (file !== undefined) {
    const text = readText(file, '--connection-string-file');
    credentials = checkConnectionString(text.trim(), `--connection-string-file ${file}`);
    const loose = looseSecretFile(file);
    if (loose) looseFile = { file, ...loose };
  } else {
    throw new UsageError(
      `no device connection string: give --connection-string, $${ENV_CONNECTION_STRING} or --connection-string-file`,
    );
  }
  const opts: AgentOptions = {
    credentials,
    transport: transport as TransportName,
    handlerSpecs: values.handler ?? [],
    builtin: values['no-builtin'] !== true,
    exclude: values.exclude ?? [],
    pnp: values.pnp === true,
    logLevel: logLevel as LogLevel,
  };
  if (looseFile) opts.looseSecretFile = looseFile;
  if (values.ca !== undefined) opts.ca = readText(values.ca, '--ca file');
  const renewal = values['sas-renewal'];
  if (renewal !== undefined) {
    if (!/^\d{1,7}$/.test(renewal) || Number(renewal) < 10) {
      throw new UsageError(
        `--sas-renewal must be a number of seconds, at least 10, not "${renewal}"`,
      );
    }
    if (
      credentials.kind !== 'connectionString' ||
      !/(^|;)SharedAccessKey=/.test(credentials.connectionString)
    ) {
      throw new UsageError('--sas-renewal needs a connection string with a SharedAccessKey');
    }
    opts.sasRenewalSeconds = Number(renewal);
  }
  if (values['state-dir'] !== undefined) opts.stateDir = path.resolve(values['state-dir']);
  return opts;
}

// ---------------------------------------------------------------- handler modules

function isHandler(v: unknown): v is FeatureHandler {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as FeatureHandler).section === 'string' &&
    Array.isArray((v as FeatureHandler).nodes)
  );
}

/** The feature handlers a module exports (see `--handler` in the help). */
export function handlersOf(exports: unknown): FeatureHandler[] {
  const found: FeatureHandler[] = [];
  const add = (v: unknown): void => {
    if (isHandler(v) && !found.includes(v)) found.push(v);
    else if (Array.isArray(v)) for (const h of v as unknown[]) if (isHandler(h)) add(h);
  };
  const visit = (mod: unknown, depth: number): void => {
    if (typeof mod !== 'object' || mod === null) return;
    if (isHandler(mod)) return add(mod);
    const m = mod as Record<string, unknown>;
    // A CommonJS module seen through import(): its exports are under `default`.
    if (depth === 0 && typeof m.default === 'object' && m.default !== null) {
      if (isHandler(m.default) || Array.isArray(m.default)) add(m.default);
      else visit(m.default, depth + 1);
    }
    add(m.handler);
    add(m.handlers);
    for (const v of Object.values(m)) if (isHandler(v)) add(v);
  };
  visit(exports, 0);
  return found;
}

const TS_EXT = /\.(c|m)?tsx?$/;

function resolveModule(spec: string): string {
  const local = spec.startsWith('.') || path.isAbsolute(spec) || TS_EXT.test(spec);
  try {
    return local
      ? require.resolve(path.resolve(spec))
      : require.resolve(spec, { paths: [process.cwd()] });
  } catch {
    throw new UsageError(`--handler ${spec}: module not found`);
  }
}

async function loadModule(file: string): Promise<unknown> {
  if (TS_EXT.test(file) && !(require.extensions as Record<string, unknown>)['.ts']) {
    // TypeScript handler in a plain Node process: use tsx when it is installed.
    let register: (() => unknown) | undefined;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional, found at run time
      register = (require('tsx/cjs/api') as { register: () => unknown }).register;
    } catch {
      throw new UsageError(
        `--handler ${file}: a TypeScript module needs tsx (npm i -D tsx) or compiling to JavaScript`,
      );
    }
    register();
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module named by the user
    return require(file) as unknown;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw err;
    return (await import(pathToFileURL(file).href)) as unknown;
  }
}

async function loadHandlers(
  specs: string[],
  redact: (t: string) => string,
): Promise<FeatureHandler[]> {
  const out: FeatureHandler[] = [];
  for (const spec of specs) {
    const file = resolveModule(spec);
    let mod: unknown;
    try {
      mod = await loadModule(file);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`--handler ${spec}: cannot load: ${redact((err as Error).message)}`);
    }
    const handlers = handlersOf(mod);
    if (handlers.length === 0) {
      throw new UsageError(
        `--handler ${spec}: exports no feature handler (an object with "section" and "nodes")`,
      );
    }
    for (const h of handlers) if (!out.includes(h)) out.push(h);
  }
  return out;
}

// ---------------------------------------------------------------- the IoT Hub connection

async function openClient(o: AgentOptions): Promise<Client> {
  // Loaded here, when needed (through require: import() would also start the ESM loader).
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { Client: DeviceClient, SharedAccessKeyAuthenticationProvider } =
    require('azure-iot-device') as typeof import('azure-iot-device');
  const { Mqtt, MqttWs } =
    require('azure-iot-device-mqtt') as typeof import('azure-iot-device-mqtt');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const c = o.credentials;
  switch (c.kind) {
    case 'connectionString': {
      const transport = o.transport === 'mqttws' ? MqttWs : Mqtt;
      let client: Client;
      if (/(^|;)SharedAccessKey=/.test(c.connectionString)) {
        // Our own token provider (what fromConnectionString makes), to choose the renewal
        // period and to hear each renewal (see `renewals` in runAgent).
        const s = o.sasRenewalSeconds;
        const provider =
          s === undefined
            ? SharedAccessKeyAuthenticationProvider.fromConnectionString(c.connectionString)
            : SharedAccessKeyAuthenticationProvider.fromConnectionString(
                c.connectionString,
                2 * s,
                s,
              );
        c.sasProvider = provider;
        client = DeviceClient.fromAuthenticationProvider(provider, transport);
      } else {
        client = DeviceClient.fromConnectionString(c.connectionString, transport);
      }
      if (o.ca !== undefined) await client.setOptions({ ca: o.ca });
      return client;
    }
    case 'tpm': {
      const client = DeviceClient.fromAuthenticationProvider(
        c.provider as unknown as Parameters<typeof DeviceClient.fromAuthenticationProvider>[0],
        o.transport === 'mqttws' ? MqttWs : Mqtt,
      );
      if (o.ca !== undefined) await client.setOptions({ ca: o.ca });
      return client;
    }
  }
}

/* eslint-disable @typescript-eslint/no-require-imports -- the TPM code, loaded only with --tpm-slot */
const loadLimpet = (): typeof import('../tpm/limpet') => require('../tpm/limpet');
const loadSasProvider = (): typeof import('../tpm/sas-provider') => require('../tpm/sas-provider');
/* eslint-enable @typescript-eslint/no-require-imports */

/** `--tpm-slot`: reads the slot's URI and makes the token provider (SAS signed in the TPM). */
async function openTpmCredentials(
  c: Extract<DeviceCredentials, { kind: 'tpm' }>,
  options: TpmSasProviderOptions,
): Promise<void> {
  const native = (c.native ??= openNativeTpm(c.tpm));
  const { TpmSasAuthenticationProvider } = loadSasProvider();
  const { LimpetTpm } = loadLimpet();
  const provider = await TpmSasAuthenticationProvider.create(
    new LimpetTpm(native),
    c.slot,
    options,
  );
  c.provider = provider;
  c.hostName = provider.identity.host;
  c.deviceId = provider.identity.moduleId
    ? `${provider.identity.deviceId}/${provider.identity.moduleId}`
    : provider.identity.deviceId;
}

/**
 * With `--tpm-slot`, the same TPM clears for `clearTPM` of factory reset / remote wipe (without
 * it they answer 501). The channel opens lazily; a TPM that cannot be opened is reported when
 * the slot is read.
 */
function resetWipeTpm(c: DeviceCredentials): { resetWipe?: { tpm: LimpetTpm } } {
  if (c.kind !== 'tpm') return {};
  try {
    c.native ??= openNativeTpm(c.tpm);
  } catch {
    return {};
  }
  const { LimpetTpm } = loadLimpet();
  return { resetWipe: { tpm: new LimpetTpm(c.native) } };
}

/** Stops the token renewal and closes the TPM channel of `--tpm-slot`. */
async function closeTpmCredentials(c: DeviceCredentials): Promise<void> {
  if (c.kind !== 'tpm') return;
  c.provider?.stop();
  await c.native?.close().catch(() => undefined);
}

function isAuthFailure(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown };
  return (
    e?.name === 'UnauthorizedError' ||
    (typeof e?.message === 'string' && /not authori[sz]ed|unauthori[sz]ed/i.test(e.message))
  );
}

function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const RECONNECT_MAX_MS = 60_000;

export async function runAgent(argv: string[], io: CliIo, deps: AgentDeps = {}): Promise<number> {
  const t0 = performance.now();
  const parsed = parseCommand('agent', AGENT_HELP, io, () =>
    parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        'connection-string': { type: 'string' },
        'connection-string-file': { type: 'string' },
        ca: { type: 'string' },
        transport: { type: 'string' },
        'state-dir': { type: 'string' },
        handler: { type: 'string', multiple: true },
        exclude: { type: 'string', multiple: true },
        'no-builtin': { type: 'boolean', default: false },
        pnp: { type: 'boolean', default: false },
        'log-level': { type: 'string' },
        'tpm-slot': { type: 'string' },
        tpm: { type: 'string' },
        'sas-renewal': { type: 'string' },
        ...COMMON_OPTIONS,
      },
    }),
  );
  if (typeof parsed === 'number') return parsed;

  // parseArgs errors name options, never values. From here on, everything printed goes
  // through `redact`.
  let redact = (t: string): string => t;
  const usage = (why: string): number => {
    io.err(`iotdm agent: ${redact(why)}\n\nRun "iotdm agent --help" for the options.`);
    return AGENT_EXIT.usage;
  };
  let o: AgentOptions;
  try {
    o = parseAgentArgs(parsed.values, deps.env ?? process.env);
  } catch (err) {
    if (err instanceof UsageError) return usage(err.message);
    throw err;
  }
  if (o.credentials.kind === 'connectionString') {
    redact = redactor(secretsOf(o.credentials.connectionString));
  } else {
    // TPM-signed tokens change; whatever echoes one shows no signature.
    redact = (t) => t.replace(/(sig(?:=|%3D))[^&\s";]+/gi, '$1[redacted]');
  }
  const writeLog = deps.writeLog ?? ((line: string) => process.stderr.write(line));
  const logger = createLogger(o.logLevel, { write: (line: string) => writeLog(redact(line)) });
  const log: Logger = logger.child({ component: 'agent' });
  if (o.looseSecretFile) {
    const { file, mode, fix } = o.looseSecretFile;
    log.warn({ file, mode, fix }, `the connection string file is readable by other users: ${fix}`);
  }
  const fail = (code: number, message: string, err?: unknown): number => {
    const text = redact(message);
    log.error(err === undefined ? {} : redactedFields(err, redact), text);
    io.err(`iotdm agent: ${text}`);
    return code;
  };

  let handlers: FeatureHandler[];
  try {
    handlers = await loadHandlers(o.handlerSpecs, redact);
  } catch (err) {
    if (err instanceof UsageError) return usage(err.message);
    throw err;
  }
  for (const section of o.exclude) {
    if (!BUILTIN_SECTIONS.includes(section)) {
      return usage(`--exclude ${section}: not a built-in section (${BUILTIN_SECTIONS.join(', ')})`);
    }
  }
  if (o.builtin) {
    const own = new Set(handlers.map((h) => h.section));
    const stateDir = o.stateDir ?? defaultStateDir();
    const builtin = builtinHandlers({
      system: defaultNativeSystem(),
      ...resetWipeTpm(o.credentials),
      exclude: o.exclude,
      stateDir,
      externalStorageOptions: {
        logger: logger.child({ component: 'storage' }),
        downloadDir: path.join(stateDir, 'downloads'),
      },
    });
    for (const h of builtin) {
      if (own.has(h.section))
        log.info({ section: h.section }, 'built-in feature replaced by --handler');
    }
    handlers = [...builtin.filter((h) => !own.has(h.section)), ...handlers];
  }
  if (handlers.length === 0) log.warn('no feature handlers: nothing to manage');

  if (o.credentials.kind === 'tpm') {
    try {
      await openTpmCredentials(o.credentials, deps.tpmSasOptions ?? {});
    } catch (err) {
      await closeTpmCredentials(o.credentials);
      if (err instanceof TpmUnavailableError) {
        return fail(AGENT_EXIT.unavailable, `no TPM: ${err.message}`, err);
      }
      if (err instanceof TpmError) {
        return fail(
          AGENT_EXIT.usage,
          `${o.credentials.source}: ${err.rcName}: ${err.message}`,
          err,
        );
      }
      throw err;
    }
    const provider = o.credentials.provider!;
    provider.on('error', (err: unknown) =>
      log.warn(redactedFields(err, redact), 'TPM SAS token renewal failed'),
    );
    provider.on('newTokenAvailable', () =>
      log.info({ expiry: provider.tokenExpiry }, 'TPM SAS token renewed'),
    );
  }
  const { hostName, deviceId } = o.credentials;
  const where = `${hostName} as ${deviceId}`;
  const stopSignal = (deps.waitForStop ?? waitForSignal)();
  let stopping = false;

  let client: Client;
  try {
    client = await openClient(o);
  } catch (err) {
    await closeTpmCredentials(o.credentials);
    return fail(
      AGENT_EXIT.usage,
      `cannot use the credentials from ${o.credentials.source}: ${(err as Error).message}`,
    );
  }
  client.on('error', (err: Error) => log.warn(redactedFields(err, redact), 'IoT Hub client error'));

  log.info(
    { hostName, deviceId, transport: o.transport, handlers: handlers.map((h) => h.section) },
    'connecting',
  );
  const stoppedEarly = stopSignal.then((signal) => {
    stopping = true;
    throw new Error(`stopped (${signal}) before the connection was up`);
  });
  stoppedEarly.catch(() => undefined);
  try {
    await Promise.race([client.open(), stoppedEarly]);
  } catch (err) {
    await bounded(client.close(), 2000);
    await closeTpmCredentials(o.credentials);
    if (stopping) {
      log.info('stopped');
      return AGENT_EXIT.ok;
    }
    const why = isAuthFailure(err) ? 'IoT Hub refused the credentials' : 'cannot connect';
    return fail(
      AGENT_EXIT.connection,
      `${why} (${where}, ${o.transport}): ${(err as Error).message}`,
      err,
    );
  }
  log.info({ hostName, deviceId, ms: Math.round(performance.now() - t0) }, 'connected');

  // The SDK retries a dropped connection on its own and emits `disconnect` when it gives up
  // (or when the connection closed without an error, which it does not retry): open it again,
  // with a growing delay, until it is back or the agent stops. Listening from here, before
  // attach: a drop during attach's twin read would otherwise leave the agent offline for good.
  // While the agent runs, `keepAlive` holds the event loop: with the connection down and every
  // timer unref'd, Node would otherwise exit with code 0 in the middle of a reconnect.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelay = 1000;
  const reopen = (): void => {
    if (stopping || retryTimer) return;
    log.warn({ retryInMs: retryDelay }, 'connection lost: opening it again');
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      client.open().then(
        () => {
          retryDelay = 1000;
          log.info('connection open again');
        },
        (err: unknown) => {
          log.warn(redactedFields(err, redact), 'reconnect failed');
          retryDelay = Math.min(retryDelay * 2, RECONNECT_MAX_MS);
          reopen();
        },
      );
    }, retryDelay);
  };
  client.on('disconnect', reopen);

  // SIGINT/SIGTERM during attach (a twin read with no answer, reports held while the
  // connection is down) aborts it: the agent stops at once instead of when attach returns.
  const attachAbort = new AbortController();
  let attaching = true;
  void stopSignal.then((signal) => {
    if (!attaching) return;
    stopping = true;
    log.info({ signal }, 'stopping during start-up');
    attachAbort.abort(new Error(`stopped (${signal}) during start-up`));
  });
  let dm: DeviceManagementClient;
  try {
    // `SdkClientLike` types `getTwin` as promise-only; the SDK's overloads do not fit it.
    dm = await DeviceManagementClient.attach(client as unknown as SdkClientLike, {
      handlers,
      logger,
      logLevel: o.logLevel,
      acknowledge: o.pnp ? 'pnp' : 'lastChange',
      signal: attachAbort.signal,
      ...(o.stateDir !== undefined ? { stateDir: o.stateDir } : {}),
    });
  } catch (err) {
    attaching = false;
    stopping = true;
    clearTimeout(retryTimer);
    clearInterval(keepAlive);
    client.removeListener('disconnect', reopen);
    await bounded(client.close(), 2000);
    await closeTpmCredentials(o.credentials);
    if (attachAbort.signal.aborted) {
      log.info('stopped');
      return AGENT_EXIT.ok;
    }
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_INVALID_VALUE') return usage((err as Error).message);
    if (code === 'ERR_MDM_UNAVAILABLE')
      return fail(AGENT_EXIT.unavailable, (err as Error).message, err);
    return fail(AGENT_EXIT.error, `cannot start device management: ${(err as Error).message}`, err);
  }
  // A stop signal from here on is handled below, as usual.
  attaching = false;
  dm.on('connected', () => log.info('connected'));
  dm.on('disconnected', () => log.warn('disconnected'));
  dm.on('reconciled', (e) => log.debug({ reason: e.reason, version: e.version }, 'reconciled'));
  dm.on('rebootPending', () => log.info('reboot pending'));

  // A renewed token makes the MQTT transport reconnect inside its base layer, which tells
  // nobody: desired patches sent during that gap would be lost. The DM client re-reads the
  // twin and reconciles (its twin request waits until the new connection is up). The same for
  // TPM-signed tokens and for the connection string's key.
  const renewals =
    o.credentials.kind === 'tpm' ? o.credentials.provider : o.credentials.sasProvider;
  const onRenewal = (): void => {
    log.debug('SAS token renewed: re-reading the twin');
    if (!stopping) setImmediate(() => void dm.resync());
  };
  renewals?.on('newTokenAvailable', onRenewal);

  log.info(
    {
      hostName,
      deviceId,
      version: dm.version,
      sections: dm.sections,
      ms: Math.round(performance.now() - t0),
    },
    'ready',
  );
  deps.onReady?.();
  // Start-up is over: the C heap's free pages go back to the system (docs/memory.md).
  trimNativeHeap();

  const signal = await stopSignal;
  stopping = true;
  clearTimeout(retryTimer);
  clearInterval(keepAlive);
  log.info({ signal }, 'stopping');
  let code: number = AGENT_EXIT.ok;
  try {
    await dm.detach();
  } catch (err) {
    log.error(redactedFields(err, redact), 'detach failed');
    code = AGENT_EXIT.error;
  }
  client.removeListener('disconnect', reopen);
  renewals?.removeListener('newTokenAvailable', onRenewal);
  await bounded(client.close(), 5000);
  await closeTpmCredentials(o.credentials);
  log.info({ signal }, 'stopped');
  return code;
}

function redactedFields(err: unknown, redact: (t: string) => string): Record<string, string> {
  const f = errorFields(err) as Record<string, string>;
  for (const k of Object.keys(f)) f[k] = redact(f[k] as string);
  const name = (err as { name?: unknown })?.name;
  if (typeof name === 'string' && name !== 'Error') f.errName = name;
  return f;
}
