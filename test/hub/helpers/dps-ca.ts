/** A throw-away CA (certificate + key PEM) for X.509 enrollment group tests (node-forge, key from node:crypto). */
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

/** A CA certificate for `commonName`: self-signed (a root), or signed by `issuer` (an intermediate). */
export function issueTestCa(
  commonName: string,
  issuer?: { certPem: string; keyPem: string },
): { certPem: string; keyPem: string } {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys = {
    publicKey: forge.pki.publicKeyFromPem(
      pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    ),
    privateKey: forge.pki.privateKeyFromPem(
      pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    ),
  };
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(8));
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 86400_000);
  const attrs = [{ name: 'commonName', value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(issuer ? forge.pki.certificateFromPem(issuer.certPem).subject.attributes : attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(
    issuer ? forge.pki.privateKeyFromPem(issuer.keyPem) : keys.privateKey,
    forge.md.sha256.create(),
  );
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
  };
}
