/**
 * Test support: with `WINDOWS_IOT_DM_CAPTURE_OPS=<file>` set, every op a feature handler's
 * scoped Csp lets through is appended to that file as a JSON line `{ section, verb, uri }`
 * (never a value). `scripts/check-feature-uris.ts` runs the captured URIs of the built-in
 * features through `../shared/tools/ddf-check.py` after the test suite.
 */
import { appendFileSync } from 'node:fs';
import type { CspVerb } from '../native/contract';

export const CAPTURE_OPS_ENV = 'WINDOWS_IOT_DM_CAPTURE_OPS';

export function captureOp(section: string, verb: CspVerb, uri: string): void {
  const file = process.env[CAPTURE_OPS_ENV];
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ section, verb, uri })}\n`);
}
