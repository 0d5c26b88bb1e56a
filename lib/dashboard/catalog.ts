/**
 * What the built-in features accept, read once from `builtinHandlers()` (lib/features): each
 * section's desired schema (absent for report-only and method-only sections) and each `windows.*`
 * method's payload schema. Only the handlers' metadata is used; nothing here touches a device.
 */
import type { FeatureHandler, MethodDefinition } from '../dm/handler';
import type { Schema } from '../dm/schema';
import { builtinHandlers } from '../features';
import { defaultNativeSystem } from '../native/addon-system';

export interface Catalog {
  /** Every built-in section, in the handlers' order. */
  sections: readonly string[];
  /** Sections that take desired content, with its schema. */
  desired: ReadonlyMap<string, Schema>;
  /** `windows.*` methods by name. */
  methods: ReadonlyMap<string, MethodDefinition>;
}

let cached: Catalog | undefined;

function build(handlers: readonly FeatureHandler[]): Catalog {
  const desired = new Map<string, Schema>();
  const methods = new Map<string, MethodDefinition>();
  for (const h of handlers) {
    if (h.desired) desired.set(h.section, h.desired);
    for (const m of h.methods ?? []) methods.set(m.name, m);
  }
  return { sections: handlers.map((h) => h.section), desired, methods };
}

/** The built-in features' catalog (the native system is never called: it loads lazily). */
export function catalog(): Catalog {
  cached ??= build(builtinHandlers({ system: defaultNativeSystem() }));
  return cached;
}
