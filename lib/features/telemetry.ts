/**
 * `windows.windowsTelemetry`: `{ level: security | basic | enhanced | full }`, through the Policy
 * CSP's System/AllowTelemetry (the original client wrote the registry value behind it instead).
 * The level is read back from the device: the policy's effective value (Policy/Result) when the
 * device has one, else the configured value (Policy/Config), else `"<not set>"`.
 *
 * `enhanced` (2) is not an allowed value of AllowTelemetry in the DDFs of this platform: a desired
 * `enhanced` is refused (400) before anything is written; a device already at 2 reports `enhanced`.
 */
import type { FeatureHandler } from '../dm/handler';
import { s } from '../dm/schema';
import { InvalidValueError } from '../errors';
import { ERROR, NOT_SET, firstValue, readAll } from './util-read';

export const TELEMETRY_CONFIG = './Device/Vendor/MSFT/Policy/Config/System/AllowTelemetry';
export const TELEMETRY_RESULT = './Device/Vendor/MSFT/Policy/Result/System/AllowTelemetry';

export const TELEMETRY_LEVELS = ['security', 'basic', 'enhanced', 'full'] as const;
export type TelemetryLevel = (typeof TELEMETRY_LEVELS)[number];

/** The AllowTelemetry values the platform's DDF allows (enhanced = 2 is not among them). */
const WRITABLE: Readonly<Partial<Record<TelemetryLevel, number>>> = {
  security: 0,
  basic: 1,
  full: 3,
};

export const windowsTelemetryHandler: FeatureHandler = {
  section: 'windowsTelemetry',
  nodes: [TELEMETRY_CONFIG, TELEMETRY_RESULT],
  desired: s.object({ level: s.enum(...TELEMETRY_LEVELS) }),

  async apply(desired, ctx) {
    if (desired.level === undefined) return;
    const level = desired.level as TelemetryLevel;
    const value = WRITABLE[level];
    if (value === undefined) {
      throw new InvalidValueError(
        `invalid windowsTelemetry: $.level: "${level}" cannot be set on this platform ` +
          `(AllowTelemetry accepts 0 security, 1 basic, 3 full)`,
      );
    }
    await ctx.csp.put(TELEMETRY_CONFIG, value);
  },

  async report(ctx) {
    const v = firstValue(await readAll(ctx.csp, [TELEMETRY_RESULT, TELEMETRY_CONFIG]));
    if (v === null || v === '') return { level: NOT_SET };
    if (typeof v === 'string' && v.startsWith('<')) return { level: v };
    const n = typeof v === 'number' ? v : Number(v);
    const level = Number.isInteger(n) ? TELEMETRY_LEVELS[n] : undefined;
    return { level: level ?? ERROR };
  },
};
