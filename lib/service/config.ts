/**
 * The service's configuration file (default /etc/windows-iot-dm/service.json, on Windows
 * %ProgramData%\windows-iot-dm\service.json): where it listens, who may connect, limits, the
 * audit log and the policy (which CSP nodes each group may touch per verb). Every member is
 * optional; `loadServiceConfig` fills defaults and rejects unknown or ill-typed members.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidValueError } from '../errors';
import type { CspVerb } from '../native/contract';
import { DEFAULT_MAX_REQUEST_BYTES } from './protocol';

/** What one group (or user) may do. URIs are node-path prefixes (segment-wise). */
export interface PolicyRule {
  get?: string[];
  add?: string[];
  replace?: string[];
  delete?: string[];
  exec?: string[];
  /** A raw SyncML body may hold any command: only a group trusted with everything. */
  rawSyncML?: boolean;
  /** System calls: true (all), false, or the method names (getTimeZone, setService, ...). */
  system?: boolean | string[];
  /** TPM commands (submit, info). */
  tpm?: boolean;
}

export interface ServiceConfig {
  /** Unix socket path, or the named pipe on Windows. */
  socket: string;
  /** The group admitted to the socket (mode 0660); default "iotdm" if it exists, else root's. */
  group?: string;
  maxRequestBytes: number;
  /** A frame (or the handshake) not complete within this time closes the connection. */
  frameTimeoutMs: number;
  /** Token bucket per caller (uid): CSP ops (each op of a batch counts) and other calls. */
  rate: { opsPerSecond: number; burst: number };
  maxConnections: number;
  /** JSON lines, mode 0600; "" disables (not recommended). */
  auditLog: string;
  /** Results kept for a retried request after a dropped connection (ms). */
  resultTtlMs: number;
  /** The result cache saved at a clean stop, loaded at the next start. */
  resultCacheFile: string;
  /** root (uid 0, SYSTEM) may do everything without a policy entry. */
  trustRoot: boolean;
  /**
   * CSP batches of Gets run on the service's JS thread when no other CSP call is running or
   * queued (AddonMdm.applyNow: no thread-pool round trip); false: every batch goes through the
   * pool, so a slow read never holds up TPM or system calls.
   */
  inlineReads: boolean;
  /** Group name → rule; the key "*" applies to every caller admitted to the socket. */
  policy: Record<string, PolicyRule>;
  /** Passed to the addon: the CSP emulator library off Windows, a TPM device. */
  mdmLibrary?: string;
  tpmDevice?: string;
}

export const DEFAULT_SOCKET_PATH =
  process.platform === 'win32' ? '\\\\.\\pipe\\windows-iot-dm' : '/run/windows-iot-dm/dm.sock';
export const DEFAULT_GROUP = 'iotdm';

export function defaultConfigPath(): string {
  if (process.platform === 'win32') {
    return join(process.env.ProgramData ?? 'C:\\ProgramData', 'windows-iot-dm', 'service.json');
  }
  return '/etc/windows-iot-dm/service.json';
}

function defaultStateFile(name: string): string {
  if (process.platform === 'win32') {
    return join(process.env.ProgramData ?? 'C:\\ProgramData', 'windows-iot-dm', name);
  }
  return name === 'audit.jsonl'
    ? '/var/log/windows-iot-dm/audit.jsonl'
    : join('/var/lib/windows-iot-dm', name);
}

/** Everything on: what members of the admitted group may do when no policy is configured. */
export const ALLOW_ALL: PolicyRule = {
  get: ['./'],
  add: ['./'],
  replace: ['./'],
  delete: ['./'],
  exec: ['./'],
  rawSyncML: true,
  system: true,
  tpm: true,
};

export function defaultServiceConfig(): ServiceConfig {
  return {
    socket: DEFAULT_SOCKET_PATH,
    maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
    frameTimeoutMs: 10_000,
    rate: { opsPerSecond: 5000, burst: 20_000 },
    maxConnections: 64,
    auditLog: defaultStateFile('audit.jsonl'),
    resultTtlMs: 60_000,
    resultCacheFile: defaultStateFile('results.json'),
    trustRoot: true,
    inlineReads: true,
    policy: { '*': ALLOW_ALL },
  };
}

const VERBS: readonly CspVerb[] = ['get', 'add', 'replace', 'delete', 'exec'];

function fail(where: string, expected: string, value: unknown): never {
  throw new InvalidValueError(
    `service config: ${where} must be ${expected} (got ${JSON.stringify(value)})`,
  );
}

function positive(where: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(where, 'a positive number', value);
  }
  return value;
}

function checkRule(where: string, value: unknown): PolicyRule {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(where, 'an object', value);
  }
  const rule: PolicyRule = {};
  for (const [key, v] of Object.entries(value)) {
    if ((VERBS as readonly string[]).includes(key)) {
      if (!Array.isArray(v) || !v.every((p) => typeof p === 'string' && p.startsWith('./'))) {
        fail(`${where}.${key}`, 'an array of URI prefixes starting with "./"', v);
      }
      rule[key as CspVerb] = v as string[];
    } else if (key === 'rawSyncML' || key === 'tpm') {
      if (typeof v !== 'boolean') fail(`${where}.${key}`, 'a boolean', v);
      rule[key] = v;
    } else if (key === 'system') {
      if (typeof v !== 'boolean' && !(Array.isArray(v) && v.every((m) => typeof m === 'string'))) {
        fail(`${where}.system`, 'a boolean or an array of method names', v);
      }
      rule.system = v as boolean | string[];
    } else {
      fail(
        `${where}.${key}`,
        'one of get, add, replace, delete, exec, rawSyncML, system, tpm',
        key,
      );
    }
  }
  return rule;
}

/** Fills defaults into a parsed config object and checks every member. */
export function parseServiceConfig(raw: unknown): ServiceConfig {
  const config = defaultServiceConfig();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    fail('the file', 'a JSON object', raw);
  for (const [key, v] of Object.entries(raw)) {
    switch (key) {
      case 'socket':
      case 'auditLog':
      case 'resultCacheFile':
      case 'group':
      case 'mdmLibrary':
      case 'tpmDevice':
        if (typeof v !== 'string') fail(key, 'a string', v);
        config[key] = v;
        break;
      case 'maxRequestBytes':
      case 'frameTimeoutMs':
      case 'maxConnections':
      case 'resultTtlMs':
        config[key] = positive(key, v);
        break;
      case 'trustRoot':
      case 'inlineReads':
        if (typeof v !== 'boolean') fail(key, 'a boolean', v);
        config[key] = v;
        break;
      case 'rate': {
        const r = v as { opsPerSecond?: unknown; burst?: unknown };
        if (typeof v !== 'object' || v === null) fail(key, 'an object', v);
        config.rate = {
          opsPerSecond: positive('rate.opsPerSecond', r.opsPerSecond ?? config.rate.opsPerSecond),
          burst: positive('rate.burst', r.burst ?? config.rate.burst),
        };
        break;
      }
      case 'policy': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(key, 'an object', v);
        config.policy = {};
        for (const [group, rule] of Object.entries(v)) {
          config.policy[group] = checkRule(`policy.${group}`, rule);
        }
        break;
      }
      default:
        fail(key, 'a known member (see docs/service.md)', key);
    }
  }
  return config;
}

/** Reads the file; a missing file at the default path gives the defaults. */
export function loadServiceConfig(path?: string): ServiceConfig {
  const file = path ?? defaultConfigPath();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (path === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      return defaultServiceConfig();
    }
    throw new InvalidValueError(`service config ${file}: ${(err as Error).message}`, err);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidValueError(
      `service config ${file}: not JSON (${(err as Error).message})`,
      err,
    );
  }
  return parseServiceConfig(raw);
}
