/**
 * Windows Update, as the original client split it:
 *
 * * `windows.windowsUpdatePolicy` ("how"): the Update area of the Policy CSP, written through
 *   Policy/Config/Update/* and read back from Policy/Result/Update/* (Config when the device has
 *   no Result node for it). Only the fields present are applied. `ring` has no CSP on this
 *   platform (reported `"n/a"`); `sourcePriority` (`local | remote`) is kept by the handler: with
 *   `local` the device's own policy wins and the section's fields are not written.
 * * `windows.windowsUpdates` ("what"): the Update CSP's lists (approved, installed, failed,
 *   installable, pending reboot), last scan time and DeferUpgrade; desired `approved` GUIDs.
 * * method `windows.startUsoClientCmdAsync` `{ cmd: startInteractiveScan | restartDevice }`.
 */
import type { FeatureHandler, HandlerContext, JsonObject, MethodResult } from '../dm/handler';
import { s, type Schema } from '../dm/schema';
import { nowIso } from '../dm/status';
import { InvalidValueError } from '../errors';
import {
  ERROR,
  NOT_APPLICABLE,
  NOT_SET,
  NotSupportedError,
  firstValue,
  readAll,
  readFields,
  toBoolean,
  toJson,
} from './util-read';

export const POLICY_CONFIG = './Device/Vendor/MSFT/Policy/Config/Update';
export const POLICY_RESULT = './Device/Vendor/MSFT/Policy/Result/Update';
export const UPDATE = './Device/Vendor/MSFT/Update';
export const REBOOT_NOW = './Device/Vendor/MSFT/Reboot/RebootNow';

interface PolicyField {
  /** The Policy CSP leaf under Config/Update and Result/Update. */
  leaf: string;
  min: number;
  max: number;
  /** The only allowed values, when the DDF gives an enumeration rather than a range. */
  values?: readonly number[];
}

/** The original's `applyProperties` fields that have a Policy CSP node; ranges from the DDFs. */
export const POLICY_FIELDS: Readonly<Record<string, PolicyField>> = {
  activeHoursStart: { leaf: 'ActiveHoursStart', min: 0, max: 23 },
  activeHoursEnd: { leaf: 'ActiveHoursEnd', min: 0, max: 23 },
  allowAutoUpdate: { leaf: 'AllowAutoUpdate', min: 0, max: 5 },
  allowUpdateService: { leaf: 'AllowUpdateService', min: 0, max: 1 },
  branchReadinessLevel: {
    leaf: 'BranchReadinessLevel',
    min: 2,
    max: 128,
    values: [2, 4, 8, 16, 32, 64, 128],
  },
  deferFeatureUpdatesPeriod: { leaf: 'DeferFeatureUpdatesPeriodInDays', min: 0, max: 365 },
  deferQualityUpdatesPeriod: { leaf: 'DeferQualityUpdatesPeriodInDays', min: 0, max: 30 },
  pauseFeatureUpdates: { leaf: 'PauseFeatureUpdates', min: 0, max: 1 },
  pauseQualityUpdates: { leaf: 'PauseQualityUpdates', min: 0, max: 1 },
  scheduledInstallDay: { leaf: 'ScheduledInstallDay', min: 0, max: 7 },
  scheduledInstallTime: { leaf: 'ScheduledInstallTime', min: 0, max: 23 },
};

export const RINGS = ['EarlyAdopter', 'Preview', 'GeneralAvailability'] as const;
export const SOURCE_PRIORITIES = ['local', 'remote'] as const;
export const USO_COMMANDS = ['startInteractiveScan', 'restartDevice'] as const;

const GUID = '[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}';
/** `approved`: one or more update GUIDs separated by `/`, as the original client took them. */
const APPROVED = new RegExp(`^${GUID}(/${GUID})*$`);

const STORE_PRIORITY = 'sourcePriority';
const STORE_USO = 'lastUsoClientCmd';

function policySchema(): Schema {
  const properties: Record<string, Schema> = {};
  for (const [name, f] of Object.entries(POLICY_FIELDS)) {
    properties[name] = s.integer({ min: f.min, max: f.max });
  }
  properties.ring = s.enum(...RINGS);
  properties.sourcePriority = s.enum(...SOURCE_PRIORITIES);
  return s.object(properties);
}

/** Enumerated integers the schema's range cannot express (e.g. branchReadinessLevel). */
function checkEnumerations(desired: JsonObject): void {
  const problems: string[] = [];
  for (const [name, f] of Object.entries(POLICY_FIELDS)) {
    const v = desired[name];
    if (f.values && typeof v === 'number' && !f.values.includes(v)) {
      problems.push(`$.${name}: ${v} is not one of ${f.values.join('|')}`);
    }
  }
  if (problems.length > 0) {
    throw new InvalidValueError(`invalid windowsUpdatePolicy: ${problems.join('; ')}`);
  }
}

export interface WindowsUpdateOptions {
  /**
   * Approve updates with `Add ./Device/Vendor/MSFT/Update/ApprovedUpdates/<guid>` as the original
   * client did. Off by default: the Update CSP's DDF on this platform allows only Get on
   * `ApprovedUpdates/<guid>`, so a new approval is refused with 501 unless this is set.
   */
  approveViaAdd?: boolean;
}

async function usoCommand(payload: JsonObject, ctx: HandlerContext): Promise<MethodResult> {
  const cmd = payload.cmd as (typeof USO_COMMANDS)[number];
  let result: MethodResult;
  if (cmd === 'startInteractiveScan') {
    // No CSP in this platform's DDFs starts a Windows Update scan (the original ran usoclient.exe).
    result = {
      status: 501,
      body: {
        response: 'notSupported',
        reason: 'no CSP on this platform starts a Windows Update scan',
      },
    };
  } else if (!(await ctx.host.isRebootAllowed())) {
    result = {
      status: 409,
      body: { response: 'rejectedByApp', reason: 'the host application refused the reboot' },
    };
  } else {
    result = { status: 200, body: { response: 'accepted', reason: '' } };
  }
  const record: JsonObject = { time: nowIso(), cmd, ...(result.body as JsonObject) };
  // Kept before the reboot is asked for, so the outcome survives it and later reports carry it.
  await ctx.store.set(STORE_USO, record);
  await ctx.reportPartial({ lastUsoClientCmd: record });
  if (result.status === 200) {
    ctx.notify('rebootPending', { source: 'windows.startUsoClientCmdAsync', cmd });
    await ctx.csp.exec(REBOOT_NOW);
  }
  return result;
}

/** `windows.windowsUpdatePolicy` with the `windows.startUsoClientCmdAsync` method. */
export function createWindowsUpdatePolicyHandler(): FeatureHandler {
  return {
    section: 'windowsUpdatePolicy',
    nodes: [`${POLICY_CONFIG}/*`, `${POLICY_RESULT}/*`, REBOOT_NOW],
    desired: policySchema(),

    async apply(desired, ctx) {
      checkEnumerations(desired);
      if (typeof desired.sourcePriority === 'string') {
        await ctx.store.set(STORE_PRIORITY, desired.sourcePriority);
      }
      if (desired.ring !== undefined) {
        ctx.log.warn('windowsUpdatePolicy.ring has no CSP on this platform; not applied');
      }
      if ((ctx.store.get<string>(STORE_PRIORITY) ?? 'remote') === 'local') {
        ctx.log.info('windowsUpdatePolicy: sourcePriority is local; the device policy is kept');
        return;
      }
      const writes: Array<Promise<unknown>> = [];
      for (const [name, f] of Object.entries(POLICY_FIELDS)) {
        const v = desired[name];
        if (typeof v === 'number') writes.push(ctx.csp.put(`${POLICY_CONFIG}/${f.leaf}`, v));
      }
      const settled = await Promise.allSettled(writes);
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    },

    async report(ctx) {
      const fields = Object.entries(POLICY_FIELDS);
      const uris = fields.flatMap(([, f]) => [
        `${POLICY_RESULT}/${f.leaf}`,
        `${POLICY_CONFIG}/${f.leaf}`,
      ]);
      const outcomes = await readAll(ctx.csp, uris);
      const out: JsonObject = {};
      fields.forEach(([name], i) => {
        const v = firstValue(outcomes.slice(2 * i, 2 * i + 2));
        if (v === null || v === '') out[name] = NOT_SET;
        else if (typeof v === 'number') out[name] = v;
        else if (typeof v === 'string' && /^-?\d+$/.test(v)) out[name] = Number(v);
        else out[name] = typeof v === 'string' && v.startsWith('<') ? v : ERROR;
      });
      out.ring = NOT_APPLICABLE;
      out.sourcePriority = ctx.store.get<string>(STORE_PRIORITY) ?? 'remote';
      const uso = ctx.store.get(STORE_USO);
      if (uso !== undefined) out.lastUsoClientCmd = uso;
      return out;
    },

    methods: [
      {
        name: 'windows.startUsoClientCmdAsync',
        payload: s.object({ cmd: s.enum(...USO_COMMANDS) }, { required: ['cmd'] }),
        invoke: (payload, ctx) => usoCommand(payload as JsonObject, ctx),
      },
    ],
  };
}

const APPROVED_NODE = `${UPDATE}/ApprovedUpdates`;

/** Reported field → Update CSP node. */
export const UPDATE_NODES: Readonly<Record<string, string>> = {
  approved: APPROVED_NODE,
  installed: `${UPDATE}/InstalledUpdates`,
  failed: `${UPDATE}/FailedUpdates`,
  installable: `${UPDATE}/InstallableUpdates`,
  pendingReboot: `${UPDATE}/PendingRebootUpdates`,
  lastScanTime: `${UPDATE}/LastSuccessfulScanTime`,
  deferUpgrade: `${UPDATE}/DeferUpgrade`,
};

/** `windows.windowsUpdates`. */
export function createWindowsUpdatesHandler(options: WindowsUpdateOptions = {}): FeatureHandler {
  return {
    section: 'windowsUpdates',
    nodes: [...Object.values(UPDATE_NODES), `${UPDATE}/ApprovedUpdates/*`],
    desired: s.object({ approved: s.string({ pattern: APPROVED, maxLength: 1024 }) }),

    async apply(desired, ctx) {
      if (typeof desired.approved !== 'string') return;
      const wanted = [...new Set(desired.approved.toLowerCase().split('/'))];
      const current = await ctx.csp.get(APPROVED_NODE);
      const have = new Set(
        (Array.isArray(current) ? current : []).map((g) => g.replace(/[{}]/g, '').toLowerCase()),
      );
      const missing = wanted.filter((g) => !have.has(g));
      if (missing.length === 0) return;
      if (!options.approveViaAdd) {
        throw new NotSupportedError(
          `cannot approve ${missing.length} update(s): the Update CSP of this platform ` +
            `allows only Get on ApprovedUpdates/<guid>`,
        );
      }
      await Promise.all(missing.map((g) => ctx.csp.add(`${APPROVED_NODE}/${g}`)));
    },

    async report(ctx) {
      return readFields(ctx.csp, UPDATE_NODES, (value, field) =>
        field === 'deferUpgrade' ? (toBoolean(value) ?? ERROR) : (toJson(value) ?? ''),
      );
    },
  };
}

/** Both Windows Update sections (policy with the USO method, and update approval/status). */
export function createWindowsUpdateHandlers(options: WindowsUpdateOptions = {}): FeatureHandler[] {
  return [createWindowsUpdatePolicyHandler(), createWindowsUpdatesHandler(options)];
}
