/**
 * X.509 certificates made at test time (node-forge, keys from node:crypto): never committed.
 * Each has a distinct subject/issuer CN and validity, its DER, PEM and SHA-1 thumbprint.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

export interface TestCertificate {
  der: Buffer;
  pem: string;
  /** SHA-1 of the DER, upper-case hex. */
  thumbprint: string;
  subjectCN: string;
  issuerCN: string;
  notBefore: Date;
  notAfter: Date;
}

let serial = 1;

/** A certificate for `cn`, self-signed unless `issuerCN` is given (then signed by a fresh key). */
export function makeCertificate(
  cn: string,
  options: { issuerCN?: string; notBefore?: Date; notAfter?: Date } = {},
): TestCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pub = forge.pki.publicKeyFromPem(
    publicKey.export({ type: 'spki', format: 'pem' }) as string,
  );
  const priv = forge.pki.privateKeyFromPem(
    privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  );
  const cert = forge.pki.createCertificate();
  cert.publicKey = pub;
  cert.serialNumber = (0x1000 + serial++).toString(16);
  const notBefore = options.notBefore ?? new Date(Date.UTC(2025, 0, 2, 3, 4, 5));
  const notAfter = options.notAfter ?? new Date(Date.UTC(2035, 5, 6, 7, 8, 9));
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const issuerCN = options.issuerCN ?? cn;
  cert.setSubject([
    { name: 'commonName', value: cn },
    { name: 'organizationName', value: 'windows-iot-dm tests' },
  ]);
  cert.setIssuer([
    { name: 'commonName', value: issuerCN },
    { name: 'organizationName', value: 'windows-iot-dm tests' },
  ]);
  cert.setExtensions([{ name: 'basicConstraints', cA: true }]);
  cert.sign(priv, forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return {
    der,
    pem: forge.pki.certificateToPem(cert),
    thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
    subjectCN: cn,
    issuerCN,
    notBefore,
    notAfter,
  };
}
