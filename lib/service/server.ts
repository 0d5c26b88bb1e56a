/**
 * The privileged side (`iotdm service run`): holds the addon (AddonMdm, AddonSystem, AddonTpm)
 * and serves the native contract over a Unix domain socket (mode 0660, the configured group) or
 * a named pipe on Windows. Each connection: handshake, then requests checked against the size
 * limit, the caller's rate, the policy; performed (concurrently; the addon serializes per
 * library); answered by id; audited. `close()` stops cleanly: no new requests, the running ones
 * finish and are answered, their results saved for retries (result-cache.ts).
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { parseCspUri } from '../csp/uri';
import { InvalidValueError, ServiceError } from '../errors';
import { AddonMdm } from '../native/addon-mdm';
import { AddonSystem } from '../native/addon-system';
import { AddonTpm } from '../native/addon-tpm';
import type { CspOp, CspVerb, NativeMdm, NativeTpm } from '../native/contract';
import type { NativeSystem } from '../native/system-contract';
import { AuditLog, type AuditEntry } from './audit';
import { DEFAULT_GROUP, defaultConfigPath, type ServiceConfig } from './config';
import { RateLimiter } from './limits';
import { groupId, peerOf, type Caller } from './peer';
import { Policy } from './policy';
import {
  FrameDecoder,
  PROTOCOL_VERSION,
  SERVICE_OPS,
  encodeFrame,
  packageVersion,
  type Outcome,
  type RequestMessage,
  type ResponseMessage,
  type ServerMessage,
  type ServiceOp,
} from './protocol';
import { ResultCache } from './result-cache';
import { toWireError } from './wire-errors';

export interface ServiceServerOptions {
  config: ServiceConfig;
  /** The implementations served; default the addon's (lazy: nothing loads until a call). */
  mdm?: NativeMdm;
  system?: NativeSystem;
  tpm?: NativeTpm;
  /** A specific addon .node (peer credentials and the default implementations). */
  addonPath?: string;
  /** Who the peer is; default the kernel's peer credentials (peer.ts). */
  identify?: (socket: Socket) => Caller;
  /** One line per notable event (start, refused connection); default stderr. */
  log?: (line: string) => void;
}

export interface RunningService {
  readonly path: string;
  readonly instance: string;
  /** Open connections. */
  readonly connections: number;
  /** Stops cleanly: the running requests finish and are answered first. */
  close(): Promise<void>;
}

const VERBS: readonly CspVerb[] = ['get', 'add', 'replace', 'delete', 'exec'];
const MAX_OPS = 1000;
const READ_ONLY: ReadonlySet<ServiceOp> = new Set([
  'system.getTimeZone',
  'system.bootTime',
  'system.getService',
  'tpm.info',
]);

/** Is something listening at a Unix socket path? */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function resolveGroup(config: ServiceConfig): number | undefined {
  if (process.platform === 'win32') return undefined;
  if (config.group !== undefined) {
    const gid = /^\d+$/.test(config.group) ? Number(config.group) : groupId(config.group);
    if (gid === undefined) {
      throw new InvalidValueError(`service config: group "${config.group}" does not exist`);
    }
    return gid;
  }
  return groupId(DEFAULT_GROUP) ?? 0;
}

/**
 * URIs that passed `parseCspUri` (a pure check of the string): hosts repeat the same nodes, so a
 * repeat costs a lookup. Bounded: cleared when full.
 */
const validUris = new Set<string>();
const MAX_REMEMBERED_URIS = 10_000;

function checkUri(uri: unknown): void {
  if (typeof uri === 'string' && validUris.has(uri)) return;
  parseCspUri(uri);
  if (validUris.size >= MAX_REMEMBERED_URIS) validUris.clear();
  validUris.add(uri as string);
}

function checkOps(raw: unknown): CspOp[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_OPS) {
    throw new InvalidValueError(`mdm.apply: expected 1 to ${MAX_OPS} ops`);
  }
  return raw.map((op: unknown, i) => {
    const o = op as Partial<CspOp> | null;
    if (typeof o !== 'object' || o === null || !VERBS.includes(o.verb as CspVerb)) {
      throw new InvalidValueError(`mdm.apply: op ${i} has no valid verb`);
    }
    checkUri(o.uri);
    for (const key of ['format', 'type', 'data'] as const) {
      if (o[key] !== undefined && typeof o[key] !== 'string') {
        throw new InvalidValueError(`mdm.apply: op ${i}.${key} must be a string`);
      }
    }
    const out: CspOp = { verb: o.verb as CspVerb, uri: o.uri as string };
    if (o.format !== undefined) out.format = o.format;
    if (o.type !== undefined) out.type = o.type;
    if (o.data !== undefined) out.data = o.data;
    return out;
  });
}

function denied(caller: Caller, what: string, configPath: string): ServiceError {
  const who = caller.user ?? (caller.uid >= 0 ? `uid ${caller.uid}` : 'this caller');
  return new ServiceError(
    'ERR_SERVICE_ACCESS_DENIED',
    `the windows-iot-dm service's policy does not allow ${who} (groups: ${caller.groupNames.join(', ') || 'none'}) to ${what}`,
    { fix: `an administrator allows it in the "policy" of ${configPath}`, status: 403 },
  );
}

export async function startService(options: ServiceServerOptions): Promise<RunningService> {
  const { config } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`iotdm service: ${line}\n`));
  const configPath = defaultConfigPath();
  const mdm =
    options.mdm ??
    new AddonMdm({
      ...(options.addonPath !== undefined ? { addonPath: options.addonPath } : {}),
      ...(config.mdmLibrary !== undefined ? { libraryPath: config.mdmLibrary } : {}),
    });
  const system =
    options.system ??
    new AddonSystem({
      ...(options.addonPath !== undefined ? { addonPath: options.addonPath } : {}),
      ...(config.mdmLibrary !== undefined ? { libraryPath: config.mdmLibrary } : {}),
    });
  const tpm =
    options.tpm ??
    new AddonTpm({
      ...(options.addonPath !== undefined ? { addonPath: options.addonPath } : {}),
      ...(config.tpmDevice !== undefined ? { path: config.tpmDevice } : {}),
    });
  const identify = options.identify ?? ((s: Socket) => peerOf(s, options.addonPath));
  // Reads done on this thread when the MDM queue is idle (AddonMdm.applyNow): no pool round trip.
  const inline = config.inlineReads && mdm instanceof AddonMdm ? mdm.applyNow.bind(mdm) : undefined;
  const policy = new Policy(config);
  const limiter = new RateLimiter(config.rate.opsPerSecond, config.rate.burst);
  const audit = new AuditLog(config.auditLog, { onError: log });
  const instance = randomUUID();
  const cache = new ResultCache(instance, config.resultTtlMs);
  cache.load(config.resultCacheFile);
  const running = new Set<Promise<unknown>>();
  const sockets = new Set<Socket>();
  let closing = false;

  async function perform(caller: Caller, req: RequestMessage, entry: AuditEntry): Promise<unknown> {
    const args = Array.isArray(req.args) ? req.args : [];
    switch (req.op) {
      case 'mdm.apply': {
        const ops = checkOps(args[0]);
        const opts = args[1] as { atomic?: unknown } | undefined;
        const atomic = opts?.atomic === true;
        entry.ops = ops.map((o) => ({ verb: o.verb, uri: o.uri }));
        if (atomic) entry.atomic = true;
        const bad = policy.deniedOp(caller, ops);
        if (bad) throw denied(caller, `${bad.verb} ${bad.uri}`, configPath);
        const results =
          (inline && ops.every((o) => o.verb === 'get') ? inline(ops, { atomic }) : undefined) ??
          (await mdm.apply(ops, { atomic }));
        results.forEach((r, i) => {
          if (entry.ops?.[i]) entry.ops[i].status = r.status;
        });
        return results;
      }
      case 'mdm.rawSyncML': {
        const body = args[0];
        if (typeof body !== 'string')
          throw new InvalidValueError('mdm.rawSyncML: expected a string');
        entry.bytes = Buffer.byteLength(body);
        if (!policy.allowsRaw(caller)) throw denied(caller, 'send raw SyncML', configPath);
        return mdm.rawSyncML(body);
      }
      case 'tpm.submit':
      case 'tpm.info': {
        if (!policy.allowsTpm(caller)) throw denied(caller, 'use the TPM', configPath);
        if (req.op === 'tpm.info') return tpm.info();
        if (typeof args[0] !== 'string') throw new InvalidValueError('tpm.submit: expected base64');
        const command = Buffer.from(args[0], 'base64');
        entry.bytes = command.length;
        const response = await tpm.submit(command);
        return Buffer.from(response).toString('base64');
      }
      default: {
        const method = req.op.slice('system.'.length) as keyof NativeSystem;
        if (!policy.allowsSystem(caller, method))
          throw denied(caller, `call ${method}`, configPath);
        if (method === 'getService' || method === 'setService') entry.target = String(args[0]);
        if (method === 'appLifecycle') entry.target = `${String(args[0])} ${String(args[1])}`;
        const fn = system[method] as (...a: unknown[]) => Promise<unknown>;
        const value = await fn.apply(system, args);
        return value === undefined ? null : value;
      }
    }
  }

  function idempotent(req: RequestMessage): boolean {
    if (READ_ONLY.has(req.op)) return true;
    if (req.op !== 'mdm.apply' || !Array.isArray(req.args) || !Array.isArray(req.args[0]))
      return false;
    return (req.args[0] as Array<{ verb?: unknown }>).every((o) => o?.verb === 'get');
  }

  async function handle(caller: Caller, clientId: string, req: RequestMessage): Promise<Outcome> {
    const started = performance.now();
    const entry: AuditEntry = { op: req.op, clientId, requestId: req.id, result: 'ok', us: 0 };
    const isIdempotent = idempotent(req);
    const finish = (outcome: Outcome, result: AuditEntry['result']): Outcome => {
      entry.result = result;
      if (!outcome.ok) entry.error = outcome.error.code;
      entry.us = Math.round((performance.now() - started) * 1000);
      // A request that may have changed the device is in the file before it is answered.
      audit.write(caller, entry, { flush: !isIdempotent });
      return outcome;
    };
    const key = ResultCache.key(clientId, req.id);
    const found = cache.lookup(caller.uid, key, req.retryOf, isIdempotent);
    if (found.kind === 'cached') return finish(found.outcome, 'cached');
    if (found.kind === 'running') return finish(await found.promise, 'cached');
    if (found.kind === 'unknown') {
      const err = new ServiceError(
        'ERR_SERVICE_OUTCOME_UNKNOWN',
        `request ${req.id} (${req.op}) was sent to a service instance that stopped without saving its results; whether it ran is unknown, so it was not run again`,
        { fix: 'read the state back (e.g. get the nodes) and decide whether to send it again' },
      );
      return finish({ ok: false, error: toWireError(err) }, 'error');
    }
    const cost =
      req.op === 'mdm.apply' && Array.isArray(req.args?.[0])
        ? Math.max(1, (req.args[0] as unknown[]).length)
        : 1;
    if (!limiter.take(String(caller.uid), cost)) {
      const err = new ServiceError(
        'ERR_SERVICE_LIMIT',
        `rate limit: more than ${config.rate.opsPerSecond} ops/s (burst ${config.rate.burst}) from this user`,
        { fix: 'slow down, or raise "rate" in the service config', status: 429 },
      );
      return finish({ ok: false, error: toWireError(err) }, 'limited');
    }
    const work = perform(caller, req, entry).then(
      (value): Outcome => ({ ok: true, value }),
      (err: unknown): Outcome => ({ ok: false, error: toWireError(err) }),
    );
    if (!isIdempotent) cache.track(caller.uid, key, work);
    const outcome = await work;
    const isDenied = !outcome.ok && outcome.error.code === 'ERR_SERVICE_ACCESS_DENIED';
    return finish(outcome, outcome.ok ? 'ok' : isDenied ? 'denied' : 'error');
  }

  function serve(socket: Socket): void {
    if (closing || sockets.size >= config.maxConnections) {
      socket.destroy();
      return;
    }
    let caller: Caller;
    try {
      caller = identify(socket);
    } catch (err) {
      log(`a connection was refused: its peer could not be identified (${(err as Error).message})`);
      socket.destroy();
      return;
    }
    sockets.add(socket);
    const decoder = new FrameDecoder(config.maxRequestBytes);
    let clientId: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    const send = (message: ServerMessage) => {
      if (!socket.destroyed && socket.writable) socket.write(encodeFrame(message));
    };
    const fatal = (
      code: 'ERR_SERVICE_PROTOCOL' | 'ERR_SERVICE_LIMIT' | 'ERR_SERVICE_VERSION',
      message: string,
      fix = '',
    ) => {
      send({ t: 'fatal', error: toWireError(new ServiceError(code, message, { fix })) });
      socket.end();
      socket.destroySoon();
      clearTimeout(timer);
      timer = undefined;
    };
    const arm = () => {
      const waiting = clientId === undefined || decoder.pending > 0;
      if (waiting && timer === undefined) {
        timer = setTimeout(() => {
          log(
            `closed a connection (uid ${caller.uid}): no complete frame within ${config.frameTimeoutMs} ms`,
          );
          socket.destroy();
        }, config.frameTimeoutMs);
      } else if (!waiting && timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
    };
    arm();
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      sockets.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      if (closing) return;
      for (const event of decoder.push(chunk)) {
        if (event.kind === 'oversized') {
          return fatal(
            'ERR_SERVICE_LIMIT',
            `a request of ${event.length} bytes is over the limit of ${config.maxRequestBytes}`,
            'send smaller batches, or raise "maxRequestBytes" in the service config',
          );
        }
        if (event.kind === 'malformed') return fatal('ERR_SERVICE_PROTOCOL', event.reason);
        const msg = event.value as {
          t?: unknown;
          protocol?: unknown;
          clientId?: unknown;
          packageVersion?: unknown;
          id?: unknown;
          op?: unknown;
          args?: unknown;
          retryOf?: unknown;
        };
        if (clientId === undefined) {
          if (
            msg.t !== 'hello' ||
            typeof msg.clientId !== 'string' ||
            msg.clientId === '' ||
            msg.clientId.length > 100
          ) {
            return fatal('ERR_SERVICE_PROTOCOL', 'the first message must be a hello');
          }
          if (msg.protocol !== PROTOCOL_VERSION) {
            return fatal(
              'ERR_SERVICE_VERSION',
              `the windows-iot-dm service speaks protocol ${PROTOCOL_VERSION} (package ${packageVersion()}); this host speaks protocol ${String(msg.protocol)} (package ${String(msg.packageVersion)})`,
              'install the same windows-iot-dm version for the host and the service, then restart the service',
            );
          }
          clientId = msg.clientId;
          send({
            t: 'welcome',
            protocol: PROTOCOL_VERSION,
            packageVersion: packageVersion(),
            instance,
          });
          continue;
        }
        if (
          msg.t !== 'req' ||
          !Number.isSafeInteger(msg.id) ||
          !SERVICE_OPS.includes(msg.op as ServiceOp) ||
          !Array.isArray(msg.args) ||
          (msg.retryOf !== undefined && typeof msg.retryOf !== 'string')
        ) {
          return fatal('ERR_SERVICE_PROTOCOL', 'a request is malformed (t, id, op, args)');
        }
        const req = msg as RequestMessage;
        const id = clientId;
        const p = handle(caller, id, req).then((outcome) =>
          send({ t: 'res', id: req.id, ...outcome } as ResponseMessage),
        );
        running.add(p);
        void p.finally(() => running.delete(p));
      }
      arm();
    });
  }

  const path = config.socket;
  const server: Server = createServer(serve);
  const listen = async (): Promise<void> => {
    if (process.platform !== 'win32') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      if (existsSync(path)) {
        if (await probe(path)) {
          throw new ServiceError(
            'ERR_SERVICE_PROTOCOL',
            `another service is already listening at ${path}`,
          );
        }
        unlinkSync(path); // stale socket of a service that stopped without cleaning up
      }
    }
    const gid = resolveGroup(config);
    const mask = process.platform === 'win32' ? undefined : process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      if (mask !== undefined) process.umask(mask);
    }
    if (process.platform !== 'win32') {
      if (gid !== undefined && process.getuid?.() === 0) chownSync(path, 0, gid);
      chmodSync(path, 0o660);
    }
  };
  try {
    await listen();
  } catch (err) {
    await audit.close(); // no open file or exit hook left behind by a failed start
    throw err;
  }
  log(
    `listening on ${path} (protocol ${PROTOCOL_VERSION}, package ${packageVersion()}, instance ${instance})`,
  );

  return {
    path,
    instance,
    get connections() {
      return sockets.size;
    },
    async close() {
      if (closing) return;
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.pause();
      while (running.size > 0) await Promise.allSettled([...running]);
      cache.save(config.resultCacheFile);
      for (const s of sockets) s.end();
      await new Promise((r) => setTimeout(r, 20));
      for (const s of sockets) s.destroy();
      await stopped;
      await audit.close();
    },
  };
}
