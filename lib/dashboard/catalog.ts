/**
 * What the built-in features accept, read once from `builtinHandlers()` (lib/features): each
 * section's desired schema (absent for report-only and method-only sections) and each `windows.*`
 * method's payload schema. Only the handlers' metadata is used; nothing here touches a device.
 */
import { CLIENT_METHODS } from '../dm/client';
import type { FeatureHandler, MethodDefinition } from '../dm/handler';
import type { Schema } from '../dm/schema';
import { builtinHandlers } from '../features';
import { defaultNativeSystem } from '../native/addon-system';

export interface Catalog {
  /** Every built-in section, in the handlers' order. */
  sections: readonly string[];
  /** Sections that take desired content, with its schema. */
  desired: ReadonlyMap<string, Schema>;
  /** `windows.*` methods by name, with their payload schema. */
  methods: ReadonlyMap<string, MethodInfo>;
}

export type MethodInfo = Pick<MethodDefinition, 'name' | 'payload'>;

let cached: Catalog | undefined;

function build(handlers: readonly FeatureHandler[]): Catalog {
  const desired = new Map<string, Schema>();
  const methods = new Map<string, MethodInfo>();
  for (const h of handlers) {
    if (h.desired) desired.set(h.section, h.desired);
    for (const m of h.methods ?? []) methods.set(m.name, m);
  }
  // The DM client's own methods (report everything again, clear the reported windows node).
  for (const name of CLIENT_METHODS) {
    methods.set(name, { name });
  }
  return { sections: handlers.map((h) => h.section), desired, methods };
}

/** The built-in features' catalog (the native system is never called: it loads lazily). */
export function catalog(): Catalog {
  cached ??= build(builtinHandlers({ system: defaultNativeSystem() }));
  return cached;
}
