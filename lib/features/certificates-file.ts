/**
 * A certificate file of the `certificates` section: downloaded from external storage (size
 * limited), parsed as an X.509 certificate (PEM or DER) and checked against the thumbprint the
 * twin names it by, before anything is written to the device.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { InvalidValueError, StorageError } from '../errors';
import type { ExternalStorage } from '../storage/contract';

/** Certificate files larger than this are refused (a certificate is a few KiB). */
export const MAX_CERTIFICATE_BYTES = 64 * 1024;

export interface LoadedCertificate {
  /** The certificate's DER encoding (what the CSP's EncodedCertificate holds, base64). */
  der: Buffer;
  /** SHA-1 of the DER, upper-case hex. */
  thumbprint: string;
}

/** SHA-1 of the DER encoding, upper-case hex: the thumbprint Windows names certificates by. */
export function thumbprintOf(der: Uint8Array): string {
  return createHash('sha1').update(der).digest('hex').toUpperCase();
}

/** Parses PEM (the first certificate) or DER; `InvalidValueError` for anything else. */
export function parseCertificate(content: Buffer, what: string): Buffer {
  try {
    return new X509Certificate(content).raw;
  } catch (err) {
    throw new InvalidValueError(`${what} is not an X.509 certificate (PEM or DER)`, err);
  }
}

/**
 * Downloads `fileName` ("container\\blob" or "container/blob"), parses it and checks that its
 * SHA-1 thumbprint is `expected` (upper-case). Throws `StorageError` (missing blob, too large,
 * not configured, ...) or `InvalidValueError` (not a certificate, thumbprint mismatch).
 */
export async function loadCertificate(
  storage: ExternalStorage,
  fileName: string,
  expected: string,
): Promise<LoadedCertificate> {
  const file = await storage.download(fileName, { maxBytes: MAX_CERTIFICATE_BYTES });
  let content: Buffer;
  try {
    content = await fsp.readFile(file.path);
  } catch (err) {
    throw new StorageError('failed', `cannot read the downloaded ${fileName}`, { cause: err });
  } finally {
    await file.remove();
  }
  const where = `${file.location.container}/${file.location.blob}`;
  const der = parseCertificate(content, `blob ${where}`);
  const thumbprint = thumbprintOf(der);
  if (thumbprint !== expected) {
    throw new InvalidValueError(
      `thumbprint mismatch: expected ${expected}, blob ${where} holds a certificate with thumbprint ${thumbprint}`,
    );
  }
  return { der, thumbprint };
}
