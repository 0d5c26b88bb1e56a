/**
 * ETW trace collectors (DiagnosticLog CSP) and the DM folder methods, with the original client's
 * names (docs/features/diagnostic-logs.md):
 *
 *   section `eventTracingCollectors`:
 *     { <collector>: { reportProperties: "yes"|"no",
 *                      applyProperties: { traceLogFileMode: "sequential"|"circular",
 *                                         logFileSizeLimitMB: 1-2048, logFileFolder, logFileName,
 *                                         started: bool,
 *                                         <providerGuid>: { traceLevel, keywords, enabled,
 *                                                           type: "provider" } } | "no" },
 *       "?": "detailed"|"minimal"|"none" }
 *
 * Apply (each collector on its own; a failure names the collector and does not stop the others):
 * Add `EtwLog/Collectors/<c>`, Replace `TraceLogFileMode` / `LogFileSizeLimitMB`, Add
 * `Providers/<guid>` and Replace its `TraceLevel` / `Keywords` / `State`, then compare `started`
 * with `TraceStatus` and Exec `TraceControl` START or STOP. A collector stopped here has its log
 * exported (diagnostic-logs-export.ts) to `<dmFolder>/<logFileFolder or c>/<logFileName or c>.etl`.
 *
 * Report: what the CSP holds, per collector, for the collectors managed here (unless their
 * `reportProperties` is "no"); with `"?": "detailed"` every collector on the device is reported in
 * full, with `"minimal"` the unmanaged ones by name only (`""`). Beside them:
 * `lastDMFileUpload`, the outcome of the last `windows.uploadDMFile` (dm-files.ts).
 */
import { CspError, InvalidValueError } from '../errors';
import type { FeatureHandler, HandlerContext, Json, JsonObject } from '../dm/handler';
import { s } from '../dm/schema';
import { errorStatus } from '../dm/status';
import { cspUri } from '../csp/uri';
import type { ExternalStorage } from '../storage/contract';
import { DM_CHANNEL, exportCollectorLog } from './diagnostic-logs-export';
import { createDmFileMethods, plainName, UPLOAD_KEY } from './dm-files';
import { combineFailures, type ItemFailure } from './util-failures';
import { ERROR, readAll, toBoolean } from './util-read';

export const COLLECTORS = './Vendor/MSFT/DiagnosticLog/EtwLog/Collectors';
/** A collector name: also the default log folder and file name, hence a plain name. */
export const COLLECTOR_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const PROVIDER_GUID =
  /^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$/;
const KEYWORDS = /^(0x[0-9A-Fa-f]{1,16}|[0-9]{1,20})$/;

export const TRACE_LEVELS = ['critical', 'error', 'warning', 'information', 'verbose'] as const;
export const FILE_MODES = ['sequential', 'circular'] as const;
const FIELDS = new Set([
  'traceLogFileMode',
  'logFileSizeLimitMB',
  'logFileFolder',
  'logFileName',
  'started',
]);

const providerSchema = s.object({
  traceLevel: s.enum(...TRACE_LEVELS),
  keywords: s.string({ pattern: KEYWORDS, maxLength: 20 }),
  enabled: s.boolean(),
  type: s.enum('provider'),
});
const applySchema = s.object(
  {
    traceLogFileMode: s.enum(...FILE_MODES),
    logFileSizeLimitMB: s.integer({ min: 1, max: 2048 }),
    logFileFolder: s.string({ maxLength: 128 }),
    logFileName: s.string({ maxLength: 128 }),
    started: s.boolean(),
  },
  { additional: providerSchema },
);
const collectorSchema = s.object({
  reportProperties: s.enum('yes', 'no'),
  applyProperties: s.oneOf(s.enum('no'), applySchema),
});

/** What the handler keeps per managed collector. */
interface Managed {
  [key: string]: Json;
  report: boolean;
  logFileFolder: string;
  logFileName: string;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The provider node name: the GUID without braces. */
function providerName(key: string): string {
  return key.replace(/^\{|\}$/g, '');
}

/** `<name>.etl` unless the name already ends with `.etl`. */
function etlName(name: string): string {
  return /\.etl$/i.test(name) ? name : `${name}.etl`;
}

function collectorUri(c: string, ...rest: string[]): string {
  return cspUri(COLLECTORS, c, ...rest);
}

/** Add that tolerates an existing node (418), as the original did. */
async function ensure(ctx: HandlerContext, uri: string): Promise<void> {
  try {
    await ctx.csp.add(uri);
  } catch (err) {
    if (!(err instanceof CspError && err.status === 418)) throw err;
  }
}

async function traceStatus(ctx: HandlerContext, c: string): Promise<number> {
  const v = await ctx.csp.get(collectorUri(c, 'TraceStatus'));
  return typeof v === 'number' ? v : Number(v);
}

export interface DiagnosticLogOptions {
  /** Where `windows.uploadDMFile` uploads. */
  storage: ExternalStorage;
  /** The DM folder (absolute): exported logs and the DM file methods live under it. */
  dmFolder: string;
}

/**
 * `[eventTracingCollectors]`: the collectors section handler, which also carries the DM folder
 * methods (`windows.enumDMFolders`, `windows.enumDMFiles`, `windows.uploadDMFile`,
 * `windows.deleteDMFile`).
 */
export function createDiagnosticLogHandlers({
  storage,
  dmFolder,
}: DiagnosticLogOptions): FeatureHandler[] {
  if (!storage || typeof storage.upload !== 'function') {
    throw new InvalidValueError(
      'createDiagnosticLogHandlers: storage (an ExternalStorage) is required',
    );
  }
  const { folder: dm, methods } = createDmFileMethods({ storage, dmFolder });

  const managed = (ctx: HandlerContext): Record<string, Managed> => {
    const m = ctx.store.get<Json>('collectors');
    return isObject(m) ? (m as Record<string, Managed>) : {};
  };

  const applyCollector = async (
    ctx: HandlerContext,
    c: string,
    want: JsonObject,
  ): Promise<void> => {
    if (!COLLECTOR_NAME.test(c) || c === UPLOAD_KEY) {
      throw new InvalidValueError(
        'the collector name must be 1-64 letters, digits, "_" or "-", starting with a letter or digit',
      );
    }
    const ap = want.applyProperties;
    const props = isObject(ap) ? ap : {};
    const providers = Object.keys(props).filter((k) => !FIELDS.has(k));
    for (const key of providers) {
      if (!PROVIDER_GUID.test(key)) {
        throw new InvalidValueError(`${JSON.stringify(key.slice(0, 60))} is not a provider GUID`);
      }
    }
    const folder =
      typeof props.logFileFolder === 'string' ? plainName('logFileFolder', props.logFileFolder) : c;
    const file = etlName(
      typeof props.logFileName === 'string' ? plainName('logFileName', props.logFileName) : c,
    );
    plainName('logFileName', file);
    const all = managed(ctx);
    all[c] = { report: want.reportProperties !== 'no', logFileFolder: folder, logFileName: file };
    await ctx.store.set('collectors', all);
    if (!isObject(ap)) return;

    await ensure(ctx, collectorUri(c));
    const writes: Promise<unknown>[] = [];
    if (typeof props.traceLogFileMode === 'string') {
      const mode = FILE_MODES.indexOf(props.traceLogFileMode as (typeof FILE_MODES)[number]) + 1;
      writes.push(ctx.csp.replace(collectorUri(c, 'TraceLogFileMode'), mode, { format: 'int' }));
    }
    if (typeof props.logFileSizeLimitMB === 'number') {
      writes.push(
        ctx.csp.replace(collectorUri(c, 'LogFileSizeLimitMB'), props.logFileSizeLimitMB, {
          format: 'int',
        }),
      );
    }
    await Promise.all([
      ...writes,
      ...providers.map((key) => ensure(ctx, collectorUri(c, 'Providers', providerName(key)))),
    ]);
    const providerWrites: Promise<unknown>[] = [];
    for (const key of providers) {
      const p = props[key] as JsonObject;
      const uri = (leaf: string) => collectorUri(c, 'Providers', providerName(key), leaf);
      if (typeof p.traceLevel === 'string') {
        const level = TRACE_LEVELS.indexOf(p.traceLevel as (typeof TRACE_LEVELS)[number]) + 1;
        providerWrites.push(ctx.csp.replace(uri('TraceLevel'), level, { format: 'int' }));
      }
      if (typeof p.keywords === 'string') {
        providerWrites.push(ctx.csp.replace(uri('Keywords'), p.keywords, { format: 'chr' }));
      }
      if (typeof p.enabled === 'boolean') {
        providerWrites.push(ctx.csp.replace(uri('State'), p.enabled, { format: 'bool' }));
      }
    }
    await Promise.all(providerWrites);

    if (typeof props.started !== 'boolean') return;
    const running = (await traceStatus(ctx, c)) === 1;
    if (props.started && !running) {
      await ctx.csp.exec(collectorUri(c, 'TraceControl'), 'START', { format: 'chr' });
    } else if (!props.started && running) {
      await ctx.csp.exec(collectorUri(c, 'TraceControl'), 'STOP', { format: 'chr' });
      const r = await exportCollectorLog(ctx.csp, dm, c, folder, file);
      ctx.log.info({ collector: c, bytes: r.bytes, blocks: r.blocks }, 'collector log exported');
    }
  };

  /** A collector's state as the CSP holds it. */
  const readCollector = async (
    ctx: HandlerContext,
    c: string,
    kept: Managed | undefined,
  ): Promise<JsonObject> => {
    const [status, mode, size, providers] = await readAll(ctx.csp, [
      collectorUri(c, 'TraceStatus'),
      collectorUri(c, 'TraceLogFileMode'),
      collectorUri(c, 'LogFileSizeLimitMB'),
      collectorUri(c, 'Providers'),
    ]);
    const out: JsonObject = {
      traceLogFileMode:
        mode?.ok && (mode.value === 1 || mode.value === 2) ? FILE_MODES[mode.value - 1]! : ERROR,
      logFileSizeLimitMB: size?.ok && typeof size.value === 'number' ? size.value : ERROR,
      logFileFolder: kept?.logFileFolder ?? c,
      logFileName: kept?.logFileName ?? etlName(c),
      started: status?.ok ? status.value === 1 : ERROR,
    };
    const guids = providers?.ok && Array.isArray(providers.value) ? providers.value : [];
    const leaves = ['TraceLevel', 'Keywords', 'State'];
    const values = await readAll(
      ctx.csp,
      guids.flatMap((g) => leaves.map((l) => collectorUri(c, 'Providers', g, l))),
    );
    guids.forEach((g, i) => {
      const [level, keywords, state] = values.slice(i * 3, i * 3 + 3);
      const lv = level?.ok && typeof level.value === 'number' ? level.value : 0;
      const enabled = state?.ok ? toBoolean(state.value) : undefined;
      out[g] = {
        traceLevel: lv >= 1 && lv <= 5 ? TRACE_LEVELS[lv - 1]! : ERROR,
        keywords: keywords?.ok && typeof keywords.value === 'string' ? keywords.value : ERROR,
        enabled: enabled ?? ERROR,
        type: 'provider',
      };
    });
    return out;
  };

  const handler: FeatureHandler = {
    section: 'eventTracingCollectors',
    nodes: [`${COLLECTORS}/**`, `${DM_CHANNEL}/**`],
    desired: s.map(collectorSchema, { maxKeys: 32 }),
    longRunning: true,
    async apply(desired, ctx) {
      // The engine hands "?" to apply only: kept for the reports that follow.
      const e = ctx.enumeration;
      if (e !== undefined && e !== 'detailed' && e !== 'minimal' && e !== 'none') {
        throw new InvalidValueError(
          'windows.eventTracingCollectors["?"]: expected detailed|minimal|none',
        );
      }
      await ctx.store.set('enumeration', e);
      const failures: ItemFailure[] = [];
      for (const [c, want] of Object.entries(desired)) {
        try {
          await applyCollector(ctx, c, isObject(want) ? want : {});
        } catch (err) {
          ctx.log.warn({ collector: c, err: errorStatus(err).errContext }, 'collector failed');
          failures.push({ name: c, err });
        }
      }
      if (failures.length > 0) throw combineFailures('collector(s)', failures);
    },
    async report(ctx) {
      const listed = await ctx.csp.get(COLLECTORS);
      const names = Array.isArray(listed) ? listed : [];
      const kept = managed(ctx);
      const enumeration = ctx.store.get<Json>('enumeration');
      const out: JsonObject = {};
      const reads = names.map(async (c) => {
        const m = kept[c];
        if (m && !m.report) return;
        if (!m && enumeration === 'minimal') out[c] = '';
        else if (m || enumeration === 'detailed') out[c] = await readCollector(ctx, c, m);
      });
      await Promise.all(reads);
      const upload = ctx.store.get<Json>(UPLOAD_KEY);
      if (isObject(upload)) out[UPLOAD_KEY] = upload;
      return out;
    },
    async remove(ctx) {
      // Stop managing: the collectors stay on the device as they are.
      await ctx.store.set('collectors', undefined);
      await ctx.store.set('enumeration', undefined);
    },
    methods,
  };
  return [handler];
}
