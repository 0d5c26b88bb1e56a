/**
 * `windows.getCertificateDetails` `{ path, hash, connectionString?, containerName, output }`:
 * reads one certificate's nodes from its store's CSP (IssuedBy, IssuedTo, ValidFrom, ValidTo,
 * TemplateName, EncodedCertificate) and uploads them as JSON
 * `{ Tag, Status, Base64Encoding, TemplateName, IssuedTo, IssuedBy, ValidTo, ValidFrom }` to the
 * blob `containerName/output`, then answers `{ response: "accepted" | "rejected", reason }` as
 * the original did (it answered before the upload; here the answer follows the upload, so a
 * failure is told to the caller rather than lost).
 */
import type { HandlerContext, JsonObject, MethodDefinition, MethodResult } from '../dm/handler';
import { s } from '../dm/schema';
import { errorStatus } from '../dm/status';
import { CspError, InvalidValueError } from '../errors';
import type { ExternalStorage } from '../storage/contract';
import { CERT_STORES, THUMBPRINT, normalizeThumbprint, resolveStore } from './certificates-stores';
import { NotSupportedError } from './util-read';

export const DETAILS_METHOD = 'windows.getCertificateDetails';

const payloadSchema = s.object(
  {
    path: s.string({ maxLength: 256 }),
    hash: s.string({ pattern: THUMBPRINT, maxLength: 40 }),
    connectionString: s.string({ maxLength: 4096 }),
    containerName: s.string({ maxLength: 63 }),
    output: s.string({ maxLength: 1024 }),
    /** The original client's name of `output`. */
    blobName: s.string({ maxLength: 1024 }),
  },
  { required: ['path', 'hash', 'containerName'] },
);

const TEXT_LEAVES = ['IssuedBy', 'IssuedTo', 'ValidFrom', 'ValidTo', 'TemplateName'] as const;

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

/** Reads the certificate's nodes; `CspError` 404 when the store does not hold it. */
async function readDetails(ctx: HandlerContext, certUri: string): Promise<JsonObject> {
  const [encoded, ...rest] = await Promise.allSettled([
    ctx.csp.get(`${certUri}/EncodedCertificate`),
    ...TEXT_LEAVES.map((leaf) => ctx.csp.get(`${certUri}/${leaf}`)),
  ]);
  if (encoded!.status === 'rejected') throw encoded!.reason;
  const der = encoded!.value;
  const details: JsonObject = {
    Tag: 'GetCertificateDetails',
    Status: 'Success',
    Base64Encoding: der instanceof Uint8Array ? Buffer.from(der).toString('base64') : text(der),
  };
  TEXT_LEAVES.forEach((leaf, i) => {
    const r = rest[i]!;
    // TemplateName is empty (or absent) for certificates issued without a template.
    if (r.status === 'fulfilled') details[leaf] = text(r.value);
    else if (r.reason instanceof CspError && r.reason.status === 404) details[leaf] = '';
    else throw r.reason;
  });
  return details;
}

async function getDetails(
  payload: JsonObject,
  ctx: HandlerContext,
  storage: ExternalStorage,
): Promise<MethodResult> {
  try {
    const key = resolveStore(payload.path as string);
    const store = CERT_STORES[key];
    if (store === null) {
      throw new NotSupportedError(
        `${key}: the CertificateStore CSP of this platform has no MY/System store`,
      );
    }
    const output = (payload.output ?? payload.blobName) as string | undefined;
    if (output === undefined || output === '') {
      throw new InvalidValueError('output (the blob to upload the details to) is required');
    }
    const location = storage.locate(`${payload.containerName as string}/${output}`);
    const thumbprint = normalizeThumbprint(payload.hash as string);
    const details = await readDetails(ctx, `${store}/${thumbprint}`);
    const connectionString = payload.connectionString as string | undefined;
    await storage.upload(location, Buffer.from(JSON.stringify(details), 'utf8'), {
      contentType: 'application/json',
      ...(connectionString !== undefined && connectionString !== '' ? { connectionString } : {}),
    });
    return { status: 200, body: { response: 'accepted', reason: '' } };
  } catch (err) {
    const e = errorStatus(err);
    const absent = err instanceof CspError && err.status === 404;
    // 404: the store does not hold it; 400: bad payload; else the error's own 4xx/5xx code.
    const status = absent
      ? 404
      : e.httpStatus === 400 || e.errCode === 400
        ? 400
        : e.errCode >= 400 && e.errCode < 600
          ? e.errCode
          : e.httpStatus;
    const reason = absent
      ? `no certificate ${String(payload.hash).toUpperCase()} in ${String(payload.path)}`
      : e.errContext;
    ctx.log.warn({ errCode: e.errCode }, `${DETAILS_METHOD} rejected`);
    return { status, body: { response: 'rejected', reason } };
  }
}

export function certificateDetailsMethod(storage: ExternalStorage): MethodDefinition {
  return {
    name: DETAILS_METHOD,
    payload: payloadSchema,
    invoke: (payload, ctx) => getDetails(payload as JsonObject, ctx, storage),
  };
}
