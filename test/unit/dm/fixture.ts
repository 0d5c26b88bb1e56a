/**
 * The DM engine under test: a MockMdm behind a Csp, a MockTwinLink, a temp state folder, and
 * small feature handlers that count their calls. Handlers write with the scoped Csp and read the
 * device state back from the mock (never echo desired).
 */
import { Csp } from '../../../lib/csp/csp';
import { DeviceManagementClient, type DeviceManagementOptions } from '../../../lib/dm/client';
import type { FeatureHandler, Json, JsonObject } from '../../../lib/dm/handler';
import { silentLogger } from '../../../lib/dm/logger';
import { s } from '../../../lib/dm/schema';
import { MockMdm } from '../../../lib/testing/mock-mdm';
import { MockTwinLink } from '../../../lib/testing/mock-twin-link';
import { TempDirs } from './helpers';

export const BASE = './Device/Vendor/MSFT/Test';
export const ALPHA_NAME = `${BASE}/Alpha/Name`;
export const ALPHA_LEVEL = `${BASE}/Alpha/Level`;
export const META_DATA = `${BASE}/Meta/Data`;

export interface Counted {
  apply: number;
  report: number;
  remove: number;
  start: number;
  stop: number;
}

export function counters(): Counted {
  return { apply: 0, report: 0, remove: 0, start: 0, stop: 0 };
}

/** `alpha`: two leaves, a strict schema. */
export function alphaHandler(
  count = counters(),
  extra: Partial<FeatureHandler> = {},
): FeatureHandler {
  return {
    section: 'alpha',
    nodes: [`${BASE}/Alpha/*`],
    desired: s.object({ name: s.string(), level: s.integer({ min: 0, max: 10 }) }),
    async apply(desired, ctx) {
      count.apply++;
      const writes: Array<Promise<unknown>> = [];
      if (typeof desired.name === 'string') writes.push(ctx.csp.put(ALPHA_NAME, desired.name));
      if (typeof desired.level === 'number') writes.push(ctx.csp.put(ALPHA_LEVEL, desired.level));
      await Promise.all(writes);
    },
    async report(ctx) {
      count.report++;
      const [name, level] = await Promise.all([ctx.csp.get(ALPHA_NAME), ctx.csp.get(ALPHA_LEVEL)]);
      return { name, level } as JsonObject;
    },
    async remove() {
      count.remove++;
    },
    ...extra,
  };
}

/** `meta`: one free-form value (schema `any`), stored as JSON text in one node. */
export function metaHandler(count = counters()): FeatureHandler {
  return {
    section: 'meta',
    nodes: [`${BASE}/Meta/*`],
    desired: s.object({ data: s.any() }),
    async apply(desired, ctx) {
      count.apply++;
      await ctx.csp.put(META_DATA, JSON.stringify(desired.data ?? null));
    },
    async report(ctx) {
      count.report++;
      const raw = await ctx.csp.get(META_DATA);
      return { data: JSON.parse(String(raw)) as Json };
    },
  };
}

export function mockNodes(): Record<string, { value: string | number; format?: 'int' }> {
  return {
    [ALPHA_NAME]: { value: 'initial' },
    [ALPHA_LEVEL]: { value: 1, format: 'int' },
    [META_DATA]: { value: 'null' },
  };
}

export class Harness {
  readonly dirs = new TempDirs();
  readonly mock = new MockMdm({ nodes: mockNodes() });
  readonly csp = new Csp(this.mock);
  link = new MockTwinLink();
  stateDir = this.dirs.make();
  readonly clients: DeviceManagementClient[] = [];

  async attach(
    handlers: FeatureHandler[],
    options: Partial<DeviceManagementOptions> = {},
  ): Promise<DeviceManagementClient> {
    const dm = await DeviceManagementClient.attach(this.link, {
      handlers,
      csp: this.csp,
      logger: silentLogger(),
      stateDir: this.stateDir,
      retryDelayMs: 1,
      ...options,
    });
    this.clients.push(dm);
    return dm;
  }

  /** Waits for desired-state work and the reports it queued. */
  async idle(dm: DeviceManagementClient): Promise<void> {
    await dm.settled();
    await dm.flushReports();
  }

  /** `reported.windows` (or {}). */
  get reported(): JsonObject {
    return (this.link.reported.windows as JsonObject | undefined) ?? {};
  }

  section(name: string): JsonObject | undefined {
    const v = this.reported[name];
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
  }

  lastChange(name: string): JsonObject | undefined {
    const sec = this.section(name);
    const lc = sec?.lastChange ?? (sec?.value as JsonObject | undefined)?.lastChange;
    return lc as JsonObject | undefined;
  }

  async cleanup(): Promise<void> {
    for (const dm of this.clients.splice(0)) await dm.detach(50);
    this.dirs.cleanup();
  }
}
