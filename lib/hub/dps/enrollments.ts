/**
 * DPS enrollments of the local hub, in the hub's SQLite store (migration 2): individual
 * enrollments (symmetric key, X.509 leaf thumbprint, TPM endorsement key), enrollment groups
 * (symmetric group key, X.509 CA certificate) and the registrations made (which device id went to
 * which hub). Validation of the attestation material happens here, so a bad enrollment never
 * reaches the store.
 */
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { HubError, argumentInvalid } from '../errors';
import { isValidDeviceId } from '../auth/device-auth';
import { normalizeThumbprint } from '../tls';
import type { HubStore } from '../store/hub-store';
import { parseEndorsementKey, registrationIdOfEk } from './ek';

export type Attestation = 'symmetricKey' | 'x509' | 'tpm';
export type ProvisioningStatus = 'enabled' | 'disabled';

/** Initial twin of an enrollment: tags and desired properties, as DPS takes them. */
export interface InitialTwin {
  tags?: Record<string, unknown>;
  properties?: { desired?: Record<string, unknown> };
}

export interface IndividualEnrollment {
  registrationId: string;
  attestation: Attestation;
  /** symmetricKey: base64 keys. */
  primaryKey?: string;
  secondaryKey?: string;
  /** x509: SHA-1 or SHA-256 thumbprint of the device certificate (hex upper case). */
  thumbprint?: string;
  /** tpm: base64 of the EK's TPM2B_PUBLIC. */
  endorsementKey?: string;
  /** Device id in the hub; default the registration id. */
  deviceId?: string;
  initialTwin?: InitialTwin;
  provisioningStatus: ProvisioningStatus;
  createdDateTimeUtc: string;
}

export interface EnrollmentGroup {
  name: string;
  attestation: 'symmetricKey' | 'x509';
  primaryKey?: string;
  secondaryKey?: string;
  /** x509: the PEM of the CA (root or intermediate) device certificates chain to. */
  caCertificate?: string;
  initialTwin?: InitialTwin;
  provisioningStatus: ProvisioningStatus;
  createdDateTimeUtc: string;
}

export interface RegistrationRecord {
  registrationId: string;
  /** `individual` or `group:<name>`. */
  enrollment: string;
  deviceId: string;
  assignedHub: string;
  createdDateTimeUtc: string;
  lastUpdatedDateTimeUtc: string;
}

/** DPS registration ids: lower-case alphanumerics and `- . _ :`, at most 128 characters. */
const REGISTRATION_ID = /^[a-z0-9\-._:]{1,128}$/;

export function checkRegistrationId(id: unknown): string {
  if (typeof id !== 'string' || !REGISTRATION_ID.test(id)) {
    throw argumentInvalid(
      `registration id ${JSON.stringify(id)} must be 1-128 lower-case letters, digits or - . _ :`,
    );
  }
  return id;
}

function checkSymmetricKey(key: unknown, what: string): string {
  if (typeof key !== 'string' || key === '') throw argumentInvalid(`${what} is required`);
  const raw = Buffer.from(key, 'base64');
  if (raw.length < 16 || raw.length > 64 || raw.toString('base64') !== key) {
    throw argumentInvalid(`${what} must be base64 of 16 to 64 bytes`);
  }
  return key;
}

function newKey(): string {
  return randomBytes(32).toString('base64');
}

function checkCaCertificate(pem: unknown): string {
  if (typeof pem !== 'string') throw argumentInvalid('the CA certificate must be PEM text');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw argumentInvalid('the CA certificate is not a PEM X.509 certificate');
  }
  if (!cert.ca) throw argumentInvalid('the group certificate is not a CA certificate');
  return cert.toString();
}

/** SHA-1 or SHA-256 thumbprint, or the thumbprint of a PEM certificate. */
export function thumbprintOf(input: string): string {
  if (input.includes('-----BEGIN CERTIFICATE-----')) {
    try {
      const der = new X509Certificate(input).raw;
      return createHash('sha256').update(der).digest('hex').toUpperCase();
    } catch {
      throw argumentInvalid('the device certificate is not a PEM X.509 certificate');
    }
  }
  const t = normalizeThumbprint(input);
  if (!/^([0-9A-F]{40}|[0-9A-F]{64})$/.test(t)) {
    throw argumentInvalid('a thumbprint is 40 (SHA-1) or 64 (SHA-256) hex digits');
  }
  return t;
}

function checkInitialTwin(twin: unknown): InitialTwin | undefined {
  if (twin === undefined || twin === null) return undefined;
  if (typeof twin !== 'object' || Array.isArray(twin)) {
    throw argumentInvalid('initialTwin must be an object {tags, properties: {desired}}');
  }
  const t = twin as InitialTwin;
  for (const k of Object.keys(t)) {
    if (k !== 'tags' && k !== 'properties') {
      throw argumentInvalid(`initialTwin has an unknown member ${JSON.stringify(k)}`);
    }
  }
  return t;
}

interface EnrollmentRow {
  registration_id: string;
  attestation: Attestation;
  primary_key: string | null;
  secondary_key: string | null;
  thumbprint: string | null;
  endorsement_key: string | null;
  device_id: string | null;
  initial_twin: string | null;
  provisioning_status: ProvisioningStatus;
  created: string;
}

interface GroupRow {
  name: string;
  attestation: 'symmetricKey' | 'x509';
  primary_key: string | null;
  secondary_key: string | null;
  ca_cert: string | null;
  initial_twin: string | null;
  provisioning_status: ProvisioningStatus;
  created: string;
}

const opt = <K extends string, V>(k: K, v: V | null): { [P in K]?: V } =>
  (v === null ? {} : { [k]: v }) as { [P in K]?: V };

const toEnrollment = (r: EnrollmentRow): IndividualEnrollment => ({
  registrationId: r.registration_id,
  attestation: r.attestation,
  ...opt('primaryKey', r.primary_key),
  ...opt('secondaryKey', r.secondary_key),
  ...opt('thumbprint', r.thumbprint),
  ...opt('endorsementKey', r.endorsement_key),
  ...opt('deviceId', r.device_id),
  ...(r.initial_twin ? { initialTwin: JSON.parse(r.initial_twin) as InitialTwin } : {}),
  provisioningStatus: r.provisioning_status,
  createdDateTimeUtc: r.created,
});

const toGroup = (r: GroupRow): EnrollmentGroup => ({
  name: r.name,
  attestation: r.attestation,
  ...opt('primaryKey', r.primary_key),
  ...opt('secondaryKey', r.secondary_key),
  ...opt('caCertificate', r.ca_cert),
  ...(r.initial_twin ? { initialTwin: JSON.parse(r.initial_twin) as InitialTwin } : {}),
  provisioningStatus: r.provisioning_status,
  createdDateTimeUtc: r.created,
});

/** What `addIndividual` takes: the attestation plus its material. */
export interface IndividualInput {
  registrationId: string;
  attestation: Attestation;
  primaryKey?: string;
  secondaryKey?: string;
  /** x509: a thumbprint or a PEM certificate. */
  certificate?: string;
  endorsementKey?: string;
  deviceId?: string;
  initialTwin?: unknown;
  provisioningStatus?: ProvisioningStatus;
}

export interface GroupInput {
  name: string;
  attestation: 'symmetricKey' | 'x509';
  primaryKey?: string;
  secondaryKey?: string;
  caCertificate?: string;
  initialTwin?: unknown;
  provisioningStatus?: ProvisioningStatus;
}

export class DpsEnrollments {
  private readonly db: Database.Database;

  constructor(readonly store: HubStore) {
    this.db = store.sqlite;
  }

  /** The DPS ID scope of this hub (`0ne` + 8 hex digits), made once and kept in the store. */
  idScope(): string {
    return this.store.transaction(() => {
      let scope = this.store.getMeta<string>('dpsIdScope');
      if (!scope) {
        scope = '0ne' + randomBytes(4).toString('hex').toUpperCase();
        this.store.setMeta('dpsIdScope', scope);
      }
      return scope;
    });
  }

  /** Adds (or with `replace`, replaces) an individual enrollment. 409 when it exists. */
  addIndividual(input: IndividualInput, replace = false): IndividualEnrollment {
    let registrationId = input.registrationId;
    let primaryKey: string | null = null;
    let secondaryKey: string | null = null;
    let thumbprint: string | null = null;
    let endorsementKey: string | null = null;
    if (input.attestation === 'symmetricKey') {
      primaryKey = input.primaryKey ? checkSymmetricKey(input.primaryKey, 'primaryKey') : newKey();
      secondaryKey = input.secondaryKey
        ? checkSymmetricKey(input.secondaryKey, 'secondaryKey')
        : newKey();
    } else if (input.attestation === 'x509') {
      if (!input.certificate) throw argumentInvalid('an X.509 enrollment needs a certificate');
      thumbprint = thumbprintOf(input.certificate);
    } else if (input.attestation === 'tpm') {
      if (!input.endorsementKey) throw argumentInvalid('a TPM enrollment needs an endorsement key');
      const ek = parseEndorsementKey(input.endorsementKey);
      endorsementKey = ek.tpm2b.toString('base64');
      registrationId ||= registrationIdOfEk(ek.tpm2b);
    } else {
      throw argumentInvalid(`unknown attestation ${JSON.stringify(input.attestation)}`);
    }
    checkRegistrationId(registrationId);
    if (input.deviceId !== undefined && !isValidDeviceId(input.deviceId)) {
      throw argumentInvalid(`device id ${JSON.stringify(input.deviceId)} is not valid`);
    }
    const twin = checkInitialTwin(input.initialTwin);
    const row: EnrollmentRow = {
      registration_id: registrationId,
      attestation: input.attestation,
      primary_key: primaryKey,
      secondary_key: secondaryKey,
      thumbprint,
      endorsement_key: endorsementKey,
      device_id: input.deviceId ?? null,
      initial_twin: twin ? JSON.stringify(twin) : null,
      provisioning_status: input.provisioningStatus ?? 'enabled',
      created: new Date().toISOString(),
    };
    return this.store.transaction(() => {
      if (this.individual(registrationId)) {
        if (!replace) {
          throw new HubError(
            'DeviceAlreadyExists',
            `An enrollment with registration id '${registrationId}' already exists`,
          );
        }
        this.db
          .prepare('DELETE FROM dps_enrollments WHERE registration_id = ?')
          .run(registrationId);
      }
      this.db
        .prepare(
          `INSERT INTO dps_enrollments (registration_id, attestation, primary_key, secondary_key,
             thumbprint, endorsement_key, device_id, initial_twin, provisioning_status, created)
           VALUES (@registration_id, @attestation, @primary_key, @secondary_key, @thumbprint,
             @endorsement_key, @device_id, @initial_twin, @provisioning_status, @created)`,
        )
        .run(row);
      return toEnrollment(row);
    });
  }

  addGroup(input: GroupInput, replace = false): EnrollmentGroup {
    if (typeof input.name !== 'string' || !/^[A-Za-z0-9\-._]{1,128}$/.test(input.name)) {
      throw argumentInvalid(
        `group name ${JSON.stringify(input.name)} must be 1-128 of A-Z a-z 0-9 - . _`,
      );
    }
    let primaryKey: string | null = null;
    let secondaryKey: string | null = null;
    let caCert: string | null = null;
    if (input.attestation === 'symmetricKey') {
      primaryKey = input.primaryKey ? checkSymmetricKey(input.primaryKey, 'primaryKey') : newKey();
      secondaryKey = input.secondaryKey
        ? checkSymmetricKey(input.secondaryKey, 'secondaryKey')
        : newKey();
    } else if (input.attestation === 'x509') {
      caCert = checkCaCertificate(input.caCertificate);
    } else {
      throw argumentInvalid(`a group's attestation is symmetricKey or x509`);
    }
    const twin = checkInitialTwin(input.initialTwin);
    const row: GroupRow = {
      name: input.name,
      attestation: input.attestation,
      primary_key: primaryKey,
      secondary_key: secondaryKey,
      ca_cert: caCert,
      initial_twin: twin ? JSON.stringify(twin) : null,
      provisioning_status: input.provisioningStatus ?? 'enabled',
      created: new Date().toISOString(),
    };
    return this.store.transaction(() => {
      if (this.group(input.name)) {
        if (!replace) {
          throw new HubError(
            'DeviceAlreadyExists',
            `An enrollment group named '${input.name}' already exists`,
          );
        }
        this.db.prepare('DELETE FROM dps_groups WHERE name = ?').run(input.name);
      }
      this.db
        .prepare(
          `INSERT INTO dps_groups (name, attestation, primary_key, secondary_key, ca_cert,
             initial_twin, provisioning_status, created)
           VALUES (@name, @attestation, @primary_key, @secondary_key, @ca_cert, @initial_twin,
             @provisioning_status, @created)`,
        )
        .run(row);
      return toGroup(row);
    });
  }

  individual(registrationId: string): IndividualEnrollment | undefined {
    const r = this.db
      .prepare<[string], EnrollmentRow>('SELECT * FROM dps_enrollments WHERE registration_id = ?')
      .get(registrationId);
    return r ? toEnrollment(r) : undefined;
  }

  listIndividual(): IndividualEnrollment[] {
    return this.db
      .prepare<[], EnrollmentRow>('SELECT * FROM dps_enrollments ORDER BY registration_id')
      .all()
      .map(toEnrollment);
  }

  group(name: string): EnrollmentGroup | undefined {
    const r = this.db
      .prepare<[string], GroupRow>('SELECT * FROM dps_groups WHERE name = ?')
      .get(name);
    return r ? toGroup(r) : undefined;
  }

  listGroups(): EnrollmentGroup[] {
    return this.db
      .prepare<[], GroupRow>('SELECT * FROM dps_groups ORDER BY name')
      .all()
      .map(toGroup);
  }

  removeIndividual(registrationId: string): boolean {
    return (
      this.db.prepare('DELETE FROM dps_enrollments WHERE registration_id = ?').run(registrationId)
        .changes > 0
    );
  }

  removeGroup(name: string): boolean {
    return this.db.prepare('DELETE FROM dps_groups WHERE name = ?').run(name).changes > 0;
  }

  registration(registrationId: string): RegistrationRecord | undefined {
    const r = this.db
      .prepare<
        [string],
        {
          registration_id: string;
          enrollment: string;
          device_id: string;
          assigned_hub: string;
          created: string;
          updated: string;
        }
      >('SELECT * FROM dps_registrations WHERE registration_id = ?')
      .get(registrationId);
    return r
      ? {
          registrationId: r.registration_id,
          enrollment: r.enrollment,
          deviceId: r.device_id,
          assignedHub: r.assigned_hub,
          createdDateTimeUtc: r.created,
          lastUpdatedDateTimeUtc: r.updated,
        }
      : undefined;
  }

  /** Records a registration (keeps the first creation time). */
  putRegistration(rec: Omit<RegistrationRecord, 'createdDateTimeUtc'>): RegistrationRecord {
    const now = rec.lastUpdatedDateTimeUtc;
    this.db
      .prepare(
        `INSERT INTO dps_registrations (registration_id, enrollment, device_id, assigned_hub, created, updated)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(registration_id) DO UPDATE SET enrollment = excluded.enrollment,
           device_id = excluded.device_id, assigned_hub = excluded.assigned_hub, updated = excluded.updated`,
      )
      .run(rec.registrationId, rec.enrollment, rec.deviceId, rec.assignedHub, now, now);
    return this.registration(rec.registrationId)!;
  }
}
