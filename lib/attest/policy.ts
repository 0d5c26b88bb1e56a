/**
 * Remediation policy of `iotdm attest`: rules over a stored health report. A rule matches when
 * every `when` entry equals the report's fact of that name (`valid`, and the attestation
 * service's HealthCertificateProperties, e.g. `SecureBootEnabled`); each matching rule invokes
 * its direct method on the device. Policy file (JSON):
 *
 *   { "rules": [ { "name": "secure-boot-off", "when": { "SecureBootEnabled": false },
 *                  "method": "windows.startFactoryResetAsync", "payload": { "clearTPM": false } } ] }
 *
 * The default policy is that one rule (the original's HealthInspector sample, with the method
 * name the device really has).
 */
import { readFileSync } from 'node:fs';
import { InvalidValueError } from '../errors';
import type { Json } from '../dm/handler';

export type Fact = string | number | boolean;

export interface PolicyRule {
  name: string;
  when: Record<string, Fact>;
  method: string;
  payload?: Json;
}

export interface Policy {
  rules: PolicyRule[];
}

export const DEFAULT_POLICY: Policy = {
  rules: [
    {
      name: 'secure-boot-off',
      when: { SecureBootEnabled: false },
      method: 'windows.startFactoryResetAsync',
      payload: { clearTPM: false },
    },
  ],
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates a policy document; throws `InvalidValueError` naming the first problem. */
export function parsePolicy(doc: unknown): Policy {
  if (!isObject(doc) || !Array.isArray(doc.rules)) {
    throw new InvalidValueError('policy: expected { "rules": [...] }');
  }
  const rules = doc.rules.map((r: unknown, i): PolicyRule => {
    const where = `policy: rules[${i}]`;
    if (!isObject(r)) throw new InvalidValueError(`${where} is not an object`);
    for (const key of Object.keys(r)) {
      if (!['name', 'when', 'method', 'payload'].includes(key)) {
        throw new InvalidValueError(`${where}: unknown member "${key}"`);
      }
    }
    if (typeof r.name !== 'string' || r.name === '') {
      throw new InvalidValueError(`${where}.name must be a non-empty string`);
    }
    if (!isObject(r.when) || Object.keys(r.when).length === 0) {
      throw new InvalidValueError(`${where}.when must be an object with at least one fact`);
    }
    for (const [k, v] of Object.entries(r.when)) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) {
        throw new InvalidValueError(`${where}.when.${k} must be a string, number or boolean`);
      }
    }
    if (typeof r.method !== 'string' || !/^windows\.[A-Za-z0-9_.]{1,100}$/.test(r.method)) {
      throw new InvalidValueError(`${where}.method must be a windows.* method name`);
    }
    return {
      name: r.name,
      when: r.when as Record<string, Fact>,
      method: r.method,
      ...(r.payload !== undefined ? { payload: r.payload as Json } : {}),
    };
  });
  return { rules };
}

export function loadPolicy(file: string): Policy {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InvalidValueError(
      `policy ${file}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return parsePolicy(doc);
}

/** The rules whose every `when` fact equals the report's. */
export function matchingRules(
  policy: Policy,
  facts: Readonly<Record<string, unknown>>,
): PolicyRule[] {
  return policy.rules.filter((rule) => Object.entries(rule.when).every(([k, v]) => facts[k] === v));
}
