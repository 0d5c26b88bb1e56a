/**
 * `DpsService`: the Device Provisioning Service device API (api-version 2019-03-31) as the real
 * `azure-iot-provisioning-device-http` client uses it, transport-free (lib/hub/dps/server.ts
 * serves it over HTTPS):
 *
 * - `PUT /{idScope}/registrations/{registrationId}/register` body `{registrationId, tpm?, payload?}`
 *   → 202 `{operationId, status: "assigning"}` with `Retry-After` (seconds).
 * - `GET /{idScope}/registrations/{registrationId}/operations/{operationId}` → 202 `assigning`
 *   (with `Retry-After`) until the assignment is ready, then 200 `{operationId, status:
 *   "assigned", registrationState: {registrationId, assignedHub, deviceId, status, substatus,
 *   createdDateTimeUtc, lastUpdatedDateTimeUtc, etag, tpm?: {authenticationKey}}}`.
 *
 * Authentication, as DPS does it:
 * - symmetric key: `Authorization: SharedAccessSignature sr={idScope}/registrations/{id}&...
 *   &skn=registration` signed with the individual enrollment's key, or with a group's derived key
 *   base64(HMAC-SHA256(base64decode(groupKey), registrationId)).
 * - X.509: the TLS client certificate; an individual enrollment holds its thumbprint, a group its
 *   CA (the chain presented must lead to it; the leaf's CN is the registration id).
 * - TPM: the first register carries `tpm: {endorsementKey, storageRootKey}` and no Authorization →
 *   401 with `authenticationKey` (the activation blob, lib/hub/dps/tpm-challenge.ts, holding a
 *   fresh session key); the retry carries a SAS signed with that key. The assignment's
 *   `tpm.authenticationKey` holds the device's IoT Hub key, encrypted to the EK the same way.
 *
 * Errors are `{errorCode, trackingId, message, timestampUtc}`: 400 400004 bad request, 401 401002
 * unauthorized, 404 404201 no enrollment for the registration id (or unknown ID scope), 404 404202
 * unknown operation. Messages never contain keys or tokens.
 */
import { X509Certificate, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { HubCore } from '../core';
import { verifySasToken } from '../auth/sas';
import { HubError } from '../errors';
import { thumbprints } from '../tls';
import {
  checkRegistrationId,
  type DpsEnrollments,
  type EnrollmentGroup,
  type IndividualEnrollment,
  type InitialTwin,
} from './enrollments';
import { parseEndorsementKey, parseTpmPublic } from './ek';
import { buildActivationBlob } from './tpm-challenge';

export const DPS_API_VERSION = '2019-03-31';

export interface DpsRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  authorization?: string;
  /** The TLS client certificate chain (leaf first), DER. */
  clientCertificates?: Buffer[];
  body: unknown;
}

export interface DpsResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface DpsServiceOptions {
  core: HubCore;
  enrollments: DpsEnrollments;
  /** The `assignedHub` devices get (the hub's device host, `host[:port]`). */
  assignedHub: () => string;
  /** `Retry-After` of assigning answers, seconds (fractions allowed); default 1. */
  retryAfterSeconds?: number;
  /** How long an operation stays `assigning` before it is `assigned`; default 0. */
  assignDelayMs?: number;
  /** Life of a TPM challenge and of an operation; default 10 minutes. */
  lifetimeMs?: number;
  /** Refusals (never secrets). */
  log?: (event: { registrationId: string; status: number; reason: string }) => void;
}

type Authenticated =
  | {
      kind: 'symmetricKey';
      enrollment: string;
      keys: [string, string];
      initialTwin?: InitialTwin;
      deviceId: string;
    }
  | {
      kind: 'x509';
      enrollment: string;
      leaf: X509Certificate;
      initialTwin?: InitialTwin;
      deviceId: string;
    }
  | {
      kind: 'tpm';
      enrollment: string;
      ek: string;
      srk: string;
      initialTwin?: InitialTwin;
      deviceId: string;
    };

interface Operation {
  operationId: string;
  registrationId: string;
  readyAt: number;
  expires: number;
  /** Checks that a status request comes from the same device. */
  sameDevice: (req: DpsRequest, now: number) => boolean;
  state: Record<string, unknown>;
}

interface Challenge {
  key: Buffer;
  ek: string;
  expires: number;
}

/** base64(HMAC-SHA256(base64decode(groupKey), registrationId)): a group member's device key. */
export function deriveDeviceKey(groupKey: string, registrationId: string): string {
  return createHmac('sha256', Buffer.from(groupKey, 'base64'))
    .update(registrationId, 'utf8')
    .digest('base64');
}

class DpsFailure extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const unauthorized = (why: string, extra?: Record<string, unknown>): DpsFailure =>
  new DpsFailure(401, 401002, why, extra);
const notFound = (why: string): DpsFailure => new DpsFailure(404, 404201, why);
const badRequest = (why: string): DpsFailure => new DpsFailure(400, 400004, why);

export class DpsService {
  private readonly operations = new Map<string, Operation>();
  private readonly challenges = new Map<string, Challenge>();

  constructor(private readonly o: DpsServiceOptions) {}

  get idScope(): string {
    return this.o.enrollments.idScope();
  }

  private get lifetime(): number {
    return this.o.lifetimeMs ?? 10 * 60_000;
  }

  private get retryAfter(): string {
    return String(this.o.retryAfterSeconds ?? 1);
  }

  handle(req: DpsRequest, now = Date.now()): DpsResponse {
    this.expire(now);
    let registrationId = '';
    try {
      const m = /^\/([^/]+)\/registrations\/([^/]+)\/(register|operations\/([^/]+))$/.exec(
        req.path,
      );
      if (!m) throw new DpsFailure(404, 404000, 'Not found');
      const [, scope, rawId, what, operationId] = m as unknown as [
        string,
        string,
        string,
        string,
        string?,
      ];
      try {
        registrationId = decodeURIComponent(rawId);
      } catch {
        throw badRequest('The registration id is not a valid URL path segment');
      }
      if (!req.query.get('api-version')) throw badRequest('api-version is required');
      if (scope !== this.idScope) throw notFound(`Unknown ID scope ${scope}`);
      checkRegistrationIdOr400(registrationId);
      if (what === 'register') {
        if (req.method !== 'PUT') throw new DpsFailure(405, 405000, 'Use PUT to register');
        return this.register(registrationId, req, now);
      }
      if (req.method !== 'GET') throw new DpsFailure(405, 405000, 'Use GET for operation status');
      let op: string;
      try {
        op = decodeURIComponent(operationId!);
      } catch {
        throw badRequest('The operation id is not a valid URL path segment');
      }
      return this.status(registrationId, op, req, now);
    } catch (err) {
      const f =
        err instanceof DpsFailure
          ? err
          : err instanceof HubError
            ? new DpsFailure(err.status, err.errorCode, err.message)
            : new DpsFailure(500, 500000, 'Internal server error');
      if (!(err instanceof DpsFailure) && !(err instanceof HubError)) throw err;
      this.o.log?.({ registrationId, status: f.status, reason: f.message });
      return {
        status: f.status,
        headers: {},
        body: {
          errorCode: f.errorCode,
          trackingId: randomUUID(),
          message: f.message,
          timestampUtc: new Date(now).toISOString(),
          ...f.extra,
        },
      };
    }
  }

  private register(registrationId: string, req: DpsRequest, now: number): DpsResponse {
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw badRequest('The body must be a JSON object {registrationId, tpm?, payload?}');
    }
    const b = body as { registrationId?: unknown; tpm?: unknown };
    if (b.registrationId !== undefined && b.registrationId !== registrationId) {
      throw badRequest('The registrationId in the body is not the one in the path');
    }
    const auth = this.authenticate(registrationId, b.tpm, req, now);
    const { state, sameDevice } = this.allocate(registrationId, auth, now);
    const operationId = `4.${randomBytes(8).toString('hex')}.${randomUUID()}`;
    this.operations.set(operationId, {
      operationId,
      registrationId,
      readyAt: now + (this.o.assignDelayMs ?? 0),
      expires: now + this.lifetime,
      sameDevice,
      state,
    });
    return {
      status: 202,
      headers: { 'retry-after': this.retryAfter },
      body: { operationId, status: 'assigning' },
    };
  }

  private status(
    registrationId: string,
    operationId: string,
    req: DpsRequest,
    now: number,
  ): DpsResponse {
    const op = this.operations.get(operationId);
    if (!op || op.registrationId !== registrationId) {
      throw new DpsFailure(404, 404202, `Operation ${operationId} not found`);
    }
    if (!op.sameDevice(req, now)) throw unauthorized('Unauthorized');
    if (now < op.readyAt) {
      return {
        status: 202,
        headers: { 'retry-after': this.retryAfter },
        body: { operationId, status: 'assigning' },
      };
    }
    return {
      status: 200,
      headers: {},
      body: { operationId, status: 'assigned', registrationState: op.state },
    };
  }

  // ---- authentication -------------------------------------------------------------------------

  private authenticate(
    registrationId: string,
    tpm: unknown,
    req: DpsRequest,
    now: number,
  ): Authenticated {
    if (tpm !== undefined) return this.authenticateTpm(registrationId, tpm, req, now);
    if (req.authorization)
      return this.authenticateSymmetric(registrationId, req.authorization, now);
    if (req.clientCertificates && req.clientCertificates.length > 0) {
      return this.authenticateX509(registrationId, req.clientCertificates, now);
    }
    const e = this.o.enrollments.individual(registrationId);
    if (!e && !this.o.enrollments.listGroups().length) {
      throw notFound(`No enrollment for registration id ${registrationId}`);
    }
    throw unauthorized('Unauthorized: no SharedAccessSignature, client certificate or TPM');
  }

  private authenticateSymmetric(registrationId: string, token: string, now: number): Authenticated {
    const target = `${this.idScope}/registrations/${registrationId}`;
    const verify = (primaryKey?: string, secondaryKey?: string): boolean =>
      verifySasToken(token, { target, primaryKey, secondaryKey, keyName: 'registration', now }).ok;
    const e = this.o.enrollments.individual(registrationId);
    if (e && e.attestation === 'symmetricKey') {
      if (!verify(e.primaryKey, e.secondaryKey)) throw unauthorized('Unauthorized');
      this.checkEnabled(e);
      return {
        kind: 'symmetricKey',
        enrollment: 'individual',
        keys: [e.primaryKey!, e.secondaryKey!],
        ...(e.initialTwin ? { initialTwin: e.initialTwin } : {}),
        deviceId: e.deviceId ?? registrationId,
      };
    }
    if (e)
      throw unauthorized(`The enrollment of ${registrationId} is not a symmetric key enrollment`);
    const groups = this.o.enrollments.listGroups().filter((g) => g.attestation === 'symmetricKey');
    if (groups.length === 0) throw notFound(`No enrollment for registration id ${registrationId}`);
    for (const g of groups) {
      const keys: [string, string] = [
        deriveDeviceKey(g.primaryKey!, registrationId),
        deriveDeviceKey(g.secondaryKey!, registrationId),
      ];
      if (verify(keys[0], keys[1])) {
        this.checkEnabled(g);
        return {
          kind: 'symmetricKey',
          enrollment: `group:${g.name}`,
          keys,
          ...(g.initialTwin ? { initialTwin: g.initialTwin } : {}),
          deviceId: registrationId,
        };
      }
    }
    throw unauthorized('Unauthorized');
  }

  private authenticateX509(registrationId: string, chainDer: Buffer[], now: number): Authenticated {
    const chain = chainDer.map((d) => new X509Certificate(d));
    const leaf = chain[0]!;
    if (Date.parse(leaf.validFrom) > now || Date.parse(leaf.validTo) <= now) {
      throw unauthorized('The client certificate is not valid now');
    }
    const e = this.o.enrollments.individual(registrationId);
    if (e && e.attestation === 'x509') {
      const t = thumbprints(leaf.raw);
      if (e.thumbprint !== t.thumbprintSha1 && e.thumbprint !== t.thumbprintSha256) {
        throw unauthorized('Unauthorized: the certificate is not the enrolled one');
      }
      this.checkEnabled(e);
      return {
        kind: 'x509',
        enrollment: 'individual',
        leaf,
        ...(e.initialTwin ? { initialTwin: e.initialTwin } : {}),
        deviceId: e.deviceId ?? registrationId,
      };
    }
    if (e) throw unauthorized(`The enrollment of ${registrationId} is not an X.509 enrollment`);
    const groups = this.o.enrollments.listGroups().filter((g) => g.attestation === 'x509');
    if (groups.length === 0) throw notFound(`No enrollment for registration id ${registrationId}`);
    if (commonName(leaf) !== registrationId) {
      throw unauthorized('Unauthorized: the certificate CN is not the registration id');
    }
    for (const g of groups) {
      if (chainsTo(chain, new X509Certificate(g.caCertificate!))) {
        this.checkEnabled(g);
        return {
          kind: 'x509',
          enrollment: `group:${g.name}`,
          leaf,
          ...(g.initialTwin ? { initialTwin: g.initialTwin } : {}),
          deviceId: registrationId,
        };
      }
    }
    throw unauthorized('Unauthorized: the certificate does not chain to an enrolled CA');
  }

  private authenticateTpm(
    registrationId: string,
    tpm: unknown,
    req: DpsRequest,
    now: number,
  ): Authenticated {
    const t = tpm as { endorsementKey?: unknown; storageRootKey?: unknown };
    if (typeof t !== 'object' || t === null || typeof t.endorsementKey !== 'string') {
      throw badRequest('tpm.endorsementKey (base64 TPM2B_PUBLIC) is required');
    }
    if (typeof t.storageRootKey !== 'string') {
      throw badRequest('tpm.storageRootKey (base64 TPM2B_PUBLIC) is required');
    }
    const e = this.o.enrollments.individual(registrationId);
    if (!e) throw notFound(`No enrollment for registration id ${registrationId}`);
    if (e.attestation !== 'tpm') {
      throw unauthorized(`The enrollment of ${registrationId} is not a TPM enrollment`);
    }
    let ek;
    try {
      ek = parseEndorsementKey(t.endorsementKey);
      parseTpmPublic(t.storageRootKey, 'storage root key');
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    if (ek.tpm2b.toString('base64') !== e.endorsementKey) {
      throw unauthorized('Unauthorized: the endorsement key is not the enrolled one');
    }
    this.checkEnabled(e);
    const challenge = this.challenges.get(registrationId);
    if (!req.authorization) {
      const key = randomBytes(32);
      this.challenges.set(registrationId, {
        key,
        ek: e.endorsementKey,
        expires: now + this.lifetime,
      });
      const blob = buildActivationBlob(ek, t.storageRootKey, key);
      throw unauthorized('Unauthorized: answer the TPM challenge', {
        authenticationKey: blob.toString('base64'),
        keyName: 'registration',
      });
    }
    const target = `${this.idScope}/registrations/${registrationId}`;
    if (
      !challenge ||
      !verifySasToken(req.authorization, {
        target,
        primaryKey: challenge.key.toString('base64'),
        keyName: 'registration',
        now,
      }).ok
    ) {
      throw unauthorized('Unauthorized: the SAS is not signed with the challenge key');
    }
    return {
      kind: 'tpm',
      enrollment: 'individual',
      ek: t.endorsementKey,
      srk: t.storageRootKey,
      ...(e.initialTwin ? { initialTwin: e.initialTwin } : {}),
      deviceId: e.deviceId ?? registrationId,
    };
  }

  private checkEnabled(e: IndividualEnrollment | EnrollmentGroup): void {
    if (e.provisioningStatus !== 'enabled') throw unauthorized('The enrollment is disabled');
  }

  // ---- allocation -----------------------------------------------------------------------------

  private allocate(
    registrationId: string,
    auth: Authenticated,
    now: number,
  ): { state: Record<string, unknown>; sameDevice: (req: DpsRequest, now: number) => boolean } {
    const core = this.o.core;
    const iso = new Date(now).toISOString();
    let body: Record<string, unknown>;
    let deviceKey: string | undefined;
    if (auth.kind === 'symmetricKey') {
      body = {
        type: 'sas',
        symmetricKey: { primaryKey: auth.keys[0], secondaryKey: auth.keys[1] },
      };
    } else if (auth.kind === 'tpm') {
      deviceKey = randomBytes(32).toString('base64');
      body = {
        type: 'sas',
        symmetricKey: { primaryKey: deviceKey, secondaryKey: randomBytes(32).toString('base64') },
      };
    } else {
      const t = thumbprints(auth.leaf.raw);
      body = {
        type: 'selfSigned',
        x509Thumbprint: {
          primaryThumbprint: t.thumbprintSha256,
          secondaryThumbprint: t.thumbprintSha1,
        },
      };
    }
    const existing = core.registry.find(auth.deviceId);
    core.putDevice(
      auth.deviceId,
      { deviceId: auth.deviceId, authentication: body },
      existing ? '*' : undefined,
    );
    if (!existing && auth.initialTwin) core.updateTwin(auth.deviceId, auth.initialTwin);
    const assignedHub = this.o.assignedHub();
    const previous = this.o.enrollments.registration(registrationId);
    const rec = this.o.enrollments.putRegistration({
      registrationId,
      enrollment: auth.enrollment,
      deviceId: auth.deviceId,
      assignedHub,
      lastUpdatedDateTimeUtc: iso,
    });
    const state: Record<string, unknown> = {
      registrationId,
      createdDateTimeUtc: rec.createdDateTimeUtc,
      assignedHub,
      deviceId: auth.deviceId,
      status: 'assigned',
      substatus: previous ? 'reprovisionedToInitialAssignment' : 'initialAssignment',
      lastUpdatedDateTimeUtc: iso,
      etag: Buffer.from(randomUUID()).toString('base64'),
    };
    const group = auth.enrollment.startsWith('group:') ? auth.enrollment.slice(6) : undefined;
    let sameDevice: (req: DpsRequest, now: number) => boolean;
    if (auth.kind === 'tpm') {
      const challenge = this.challenges.get(registrationId)!;
      this.challenges.delete(registrationId);
      state.tpm = {
        authenticationKey: buildActivationBlob(
          auth.ek,
          auth.srk,
          Buffer.from(deviceKey!, 'base64'),
        ).toString('base64'),
      };
      const key = challenge.key.toString('base64');
      sameDevice = (req, now) =>
        !!req.authorization &&
        verifySasToken(req.authorization, {
          target: `${this.idScope}/registrations/${registrationId}`,
          primaryKey: key,
          keyName: 'registration',
          now,
        }).ok;
    } else if (auth.kind === 'symmetricKey') {
      state.symmetricKey = group ? { enrollmentGroupId: group } : {};
      const [p, s] = auth.keys;
      sameDevice = (req, now) =>
        !!req.authorization &&
        verifySasToken(req.authorization, {
          target: `${this.idScope}/registrations/${registrationId}`,
          primaryKey: p,
          secondaryKey: s,
          keyName: 'registration',
          now,
        }).ok;
    } else {
      const fingerprint = auth.leaf.fingerprint256;
      state.x509 = group ? { enrollmentGroupId: group } : {};
      sameDevice = (req) => {
        const der = req.clientCertificates?.[0];
        return !!der && new X509Certificate(der).fingerprint256 === fingerprint;
      };
    }
    return { state, sameDevice };
  }

  private expire(now: number): void {
    for (const [id, op] of this.operations) if (op.expires <= now) this.operations.delete(id);
    for (const [id, c] of this.challenges) if (c.expires <= now) this.challenges.delete(id);
  }
}

function checkRegistrationIdOr400(id: string): void {
  try {
    checkRegistrationId(id);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
}

function commonName(cert: X509Certificate): string | undefined {
  const m = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject);
  return m?.[1];
}

/** True when `chain` (leaf first, then what the client presented) leads to `ca` by signatures. */
function chainsTo(chain: X509Certificate[], ca: X509Certificate): boolean {
  let current = chain[0]!;
  const rest = chain.slice(1);
  for (let depth = 0; depth < 6; depth += 1) {
    if (current.checkIssued(ca) && current.verify(ca.publicKey)) return true;
    const next = rest.find(
      (c) =>
        c.ca &&
        c.fingerprint256 !== current.fingerprint256 &&
        current.checkIssued(c) &&
        current.verify(c.publicKey),
    );
    if (!next) return false;
    current = next;
  }
  return false;
}
