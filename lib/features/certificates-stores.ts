/**
 * The certificate stores of the `certificates` section: the original client's eight twin keys,
 * the CSP node of each (exact names and scope from the RootCATrustedCertificates and
 * CertificateStore DDFs), thumbprint normalisation, and the `path` argument of
 * `windows.getCertificateDetails` (a store key or a store's CSP path) resolved to a store.
 */
import { InvalidValueError } from '../errors';

const ROOT_CA = './Device/Vendor/MSFT/RootCATrustedCertificates';
const CERT_STORE = './Device/Vendor/MSFT/CertificateStore';

/**
 * Twin key → CSP store node. `null`: the DDFs of this platform have no such store.
 *
 * The original sent `./Vendor/MSFT/CertificateStore/{CA/System, Root/System, My/User, My/System}`;
 * the DDF spells the stores `CA`, `ROOT`, `MY` (device scope), and `MY` has `User` (plus `SCEP`
 * and `WSTEP` enrollment nodes) but no `System` child, so `certificateStore_My_System` is refused
 * (501) rather than sent to a node that does not exist.
 */
export const CERT_STORES = {
  rootCATrustedCertificates_Root: `${ROOT_CA}/Root`,
  rootCATrustedCertificates_CA: `${ROOT_CA}/CA`,
  rootCATrustedCertificates_TrustedPublisher: `${ROOT_CA}/TrustedPublisher`,
  rootCATrustedCertificates_TrustedPeople: `${ROOT_CA}/TrustedPeople`,
  certificateStore_CA_System: `${CERT_STORE}/CA/System`,
  certificateStore_Root_System: `${CERT_STORE}/ROOT/System`,
  certificateStore_My_User: `${CERT_STORE}/MY/User`,
  certificateStore_My_System: null,
} as const satisfies Record<string, string | null>;

export type StoreKey = keyof typeof CERT_STORES;
export const STORE_KEYS = Object.keys(CERT_STORES) as StoreKey[];

/** The leaves of a certificate instance (`<store>/<thumbprint>/<leaf>`), all Get; the first Add/Replace. */
export const CERT_LEAVES = [
  'EncodedCertificate',
  'IssuedBy',
  'IssuedTo',
  'ValidFrom',
  'ValidTo',
  'TemplateName',
] as const;

/** The original's spelling of each store's path, as its dashboard passed it to the method. */
const ORIGINAL_PATHS: Readonly<Record<string, StoreKey>> = {
  './vendor/msft/certificatestore/ca/system': 'certificateStore_CA_System',
  './vendor/msft/certificatestore/root/system': 'certificateStore_Root_System',
  './vendor/msft/certificatestore/my/user': 'certificateStore_My_User',
  './vendor/msft/certificatestore/my/system': 'certificateStore_My_System',
};

/** A SHA-1 thumbprint: 40 hex digits (any case in the twin). */
export const THUMBPRINT = /^[0-9A-Fa-f]{40}$/;

/** The thumbprint as Windows names the node: upper-case hex. */
export function normalizeThumbprint(thumbprint: string): string {
  if (!THUMBPRINT.test(thumbprint)) {
    throw new InvalidValueError(
      `"${thumbprint.slice(0, 60)}" is not a certificate thumbprint (40 hex digits)`,
    );
  }
  return thumbprint.toUpperCase();
}

function aliasKey(path: string): string {
  const lower = path.toLowerCase();
  return lower.startsWith('./device/vendor/') ? `./${lower.slice('./device/'.length)}` : lower;
}

/**
 * The store a method's `path` names: one of the eight twin keys, or a store's CSP path (ours, or
 * the original's `./Vendor/MSFT/...` spelling, compared without case as Windows does for these
 * nodes). Anything else is refused with `InvalidValueError`.
 */
export function resolveStore(path: string): StoreKey {
  if (Object.hasOwn(CERT_STORES, path)) return path as StoreKey;
  const wanted = aliasKey(path.replace(/\/+$/, ''));
  for (const key of STORE_KEYS) {
    const uri = CERT_STORES[key];
    if (uri !== null && aliasKey(uri) === wanted) return key;
  }
  const original = ORIGINAL_PATHS[wanted];
  if (original !== undefined) return original;
  throw new InvalidValueError(
    `"${path.slice(0, 120)}" is not one of the certificate stores (${STORE_KEYS.join(', ')} or their CSP paths)`,
  );
}
