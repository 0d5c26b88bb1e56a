/**
 * `iotdm hub enroll ...`: DPS enrollments of the local hub, written straight into its store (like
 * `iotdm hub device add`, whether the hub runs or not):
 *
 *   enroll individual --registration-id R (--symmetric-key K|auto | --tpm-ek B64 | --cert-file F)
 *                     [--device-id D]
 *   enroll group --name G (--symmetric-key K|auto | --ca-cert F)
 *   enroll --from FILE   (`iotdm tpm enrollment-info --format json` output, or DPS bulk JSON:
 *                         [{registrationId, attestation: {type: "tpm", tpm: {endorsementKey}}}])
 *   enroll list
 *
 * A generated symmetric key is printed once (the operator hands it to the device), as `device
 * add` prints a connection string.
 */
import fs from 'node:fs';
import { DpsEnrollments, type IndividualInput } from '../hub/dps';
import { HubError } from '../hub/errors';
import { HubStore } from '../hub/store/hub-store';
import { EXIT, type CliIo } from './io';

export interface EnrollValues {
  'registration-id'?: string | undefined;
  'symmetric-key'?: string | undefined;
  'tpm-ek'?: string | undefined;
  'cert-file'?: string | undefined;
  'device-id'?: string | undefined;
  name?: string | undefined;
  'ca-cert'?: string | undefined;
  from?: string | undefined;
  json?: boolean | undefined;
}

class EnrollUsage extends Error {}

function file(path: string, what: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new EnrollUsage(`cannot read ${what} ${path} (${(err as NodeJS.ErrnoException).code})`);
  }
}

function symmetric(value: string | undefined): { primaryKey?: string } {
  return value === undefined || value === 'auto' ? {} : { primaryKey: value };
}

/** Entries of an enrollment-info / bulk enrollment JSON file. */
function fromFile(path: string): IndividualInput[] {
  let data: unknown;
  try {
    data = JSON.parse(file(path, 'the enrollment file'));
  } catch (err) {
    if (err instanceof EnrollUsage) throw err;
    throw new EnrollUsage(`${path} is not JSON`);
  }
  const list = Array.isArray(data)
    ? data
    : typeof data === 'object' &&
        data !== null &&
        Array.isArray((data as { enrollments?: unknown }).enrollments)
      ? (data as { enrollments: unknown[] }).enrollments
      : [data];
  return list.map((raw, i) => {
    const e = raw as {
      registrationId?: unknown;
      deviceId?: unknown;
      endorsementKey?: unknown;
      attestation?: { type?: unknown; tpm?: { endorsementKey?: unknown } };
    };
    const ek = e.attestation?.tpm?.endorsementKey ?? e.endorsementKey;
    if (typeof ek !== 'string' || (e.attestation && e.attestation.type !== 'tpm')) {
      throw new EnrollUsage(
        `entry ${i} of ${path} is not a TPM enrollment {registrationId, attestation: {type: "tpm", tpm: {endorsementKey}}}`,
      );
    }
    return {
      registrationId: typeof e.registrationId === 'string' ? e.registrationId : '',
      attestation: 'tpm' as const,
      endorsementKey: ek,
      ...(typeof e.deviceId === 'string' ? { deviceId: e.deviceId } : {}),
    };
  });
}

export function runEnroll(dataDir: string, args: string[], v: EnrollValues, io: CliIo): number {
  const usage = (why: string): number => {
    io.err(`iotdm hub enroll: ${why}`);
    return EXIT.usage;
  };
  let store: HubStore;
  try {
    store = new HubStore(dataDir);
  } catch (err) {
    io.err(`iotdm hub: cannot open the hub data in ${dataDir}: ${(err as Error).message}`);
    return EXIT.error;
  }
  try {
    const dps = new DpsEnrollments(store);
    const [kind, ...extra] = args;
    if (extra.length > 0) return usage(`unexpected argument "${extra[0]}"`);
    const print = (obj: Record<string, unknown>, text: string): void =>
      io.out(v.json ? JSON.stringify(obj) : text);
    if (kind === undefined && v.from !== undefined) {
      const added = fromFile(v.from).map((e) => dps.addIndividual(e, true));
      print(
        { idScope: dps.idScope(), enrolled: added.map((e) => e.registrationId) },
        added.map((e) => `enrolled ${e.registrationId} (tpm)`).join('\n'),
      );
      return EXIT.ok;
    }
    if (kind === 'list') {
      const individual = dps.listIndividual().map((e) => ({
        registrationId: e.registrationId,
        attestation: e.attestation,
        deviceId: e.deviceId ?? e.registrationId,
        provisioningStatus: e.provisioningStatus,
      }));
      const groups = dps.listGroups().map((g) => ({
        name: g.name,
        attestation: g.attestation,
        provisioningStatus: g.provisioningStatus,
      }));
      print(
        { idScope: dps.idScope(), individual, groups },
        [
          `ID scope: ${dps.idScope()}`,
          ...individual.map(
            (e) => `individual\t${e.registrationId}\t${e.attestation}\t${e.deviceId}`,
          ),
          ...groups.map((g) => `group\t${g.name}\t${g.attestation}`),
        ].join('\n'),
      );
      return EXIT.ok;
    }
    if (kind === 'individual') {
      const regId = v['registration-id'];
      const given = [v['symmetric-key'], v['tpm-ek'], v['cert-file']].filter(
        (x) => x !== undefined,
      );
      if (given.length !== 1) {
        return usage('give one of --symmetric-key K|auto, --tpm-ek B64, --cert-file F');
      }
      if (!regId && v['tpm-ek'] === undefined) return usage('--registration-id is required');
      const e = dps.addIndividual({
        registrationId: regId ?? '',
        ...(v['symmetric-key'] !== undefined
          ? { attestation: 'symmetricKey' as const, ...symmetric(v['symmetric-key']) }
          : v['tpm-ek'] !== undefined
            ? { attestation: 'tpm' as const, endorsementKey: v['tpm-ek'] }
            : {
                attestation: 'x509' as const,
                certificate: file(v['cert-file']!, 'the certificate'),
              }),
        ...(v['device-id'] ? { deviceId: v['device-id'] } : {}),
      });
      const generated = v['symmetric-key'] === 'auto' ? e.primaryKey : undefined;
      print(
        {
          idScope: dps.idScope(),
          registrationId: e.registrationId,
          attestation: e.attestation,
          ...(generated ? { primaryKey: generated } : {}),
        },
        `enrolled ${e.registrationId} (${e.attestation}) in ID scope ${dps.idScope()}` +
          (generated ? `\nprimary key: ${generated}` : ''),
      );
      return EXIT.ok;
    }
    if (kind === 'group') {
      if (!v.name) return usage('--name is required');
      const given = [v['symmetric-key'], v['ca-cert']].filter((x) => x !== undefined);
      if (given.length !== 1) return usage('give one of --symmetric-key K|auto, --ca-cert F');
      const g = dps.addGroup({
        name: v.name,
        ...(v['symmetric-key'] !== undefined
          ? { attestation: 'symmetricKey' as const, ...symmetric(v['symmetric-key']) }
          : {
              attestation: 'x509' as const,
              caCertificate: file(v['ca-cert']!, 'the CA certificate'),
            }),
      });
      const generated = v['symmetric-key'] === 'auto' ? g.primaryKey : undefined;
      print(
        {
          idScope: dps.idScope(),
          name: g.name,
          attestation: g.attestation,
          ...(generated ? { primaryKey: generated } : {}),
        },
        `enrolled group ${g.name} (${g.attestation}) in ID scope ${dps.idScope()}` +
          (generated ? `\ngroup key: ${generated}` : ''),
      );
      return EXIT.ok;
    }
    return usage(
      kind === undefined ? 'missing: individual, group, list or --from FILE' : `unknown "${kind}"`,
    );
  } catch (err) {
    if (err instanceof EnrollUsage) return usage(err.message);
    if (!(err instanceof HubError)) throw err;
    io.err(`iotdm hub enroll: ${err.message}`);
    return err.errorCode === 409001 ? 1 : err.status === 400 ? EXIT.usage : EXIT.error;
  } finally {
    store.close();
  }
}
