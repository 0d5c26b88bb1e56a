/**
 * Azure Storage connection strings: parsing (`AccountName`, `AccountKey`,
 * `DefaultEndpointsProtocol`, `EndpointSuffix`, `BlobEndpoint`, `SharedAccessSignature`,
 * `UseDevelopmentStorage=true`) and the `BlobServiceClient` they describe (shared key or SAS).
 * A string that cannot be used is a `StorageError('badConnectionString')` whose message names
 * what is wrong, never a value (the key, the SAS, or a part that might be one). The SDK is
 * required only when a client is built.
 */
import type { BlobServiceClient, StoragePipelineOptions } from '@azure/storage-blob';
import { StorageError } from '../errors';

/** The well-known account of the storage emulators (Azurite); its key is public. */
export const DEVELOPMENT_ACCOUNT = 'devstoreaccount1';
const DEVELOPMENT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const DEVELOPMENT_BLOB_ENDPOINT = `http://127.0.0.1:10000/${DEVELOPMENT_ACCOUNT}`;

/** How the client authenticates. */
export type StorageCredential =
  { kind: 'sharedKey'; accountKey: string } | { kind: 'sas'; sas: string };

/** A parsed connection string. `credential` holds secrets: never log it. */
export interface StorageConnection {
  /** The account name (given, or read from the blob endpoint). */
  account: string;
  /** The blob service endpoint, without a trailing slash or query. */
  blobEndpoint: string;
  credential: StorageCredential;
}

const KNOWN = new Map(
  [
    'AccountName',
    'AccountKey',
    'DefaultEndpointsProtocol',
    'EndpointSuffix',
    'BlobEndpoint',
    'QueueEndpoint',
    'TableEndpoint',
    'FileEndpoint',
    'SharedAccessSignature',
    'UseDevelopmentStorage',
    'DevelopmentStorageProxyUri',
  ].map((k) => [k.toLowerCase(), k]),
);

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const HOST_SUFFIX = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/;

function bad(what: string): StorageError {
  return new StorageError('badConnectionString', `the storage connection string ${what}`);
}

/** Parses a connection string; throws `StorageError('badConnectionString')`. */
export function parseConnectionString(text: unknown): StorageConnection {
  if (typeof text !== 'string' || text.trim() === '') throw bad('is empty');
  if (text.length > 4096) throw bad('is longer than 4096 characters');
  const fields = new Map<string, string>();
  const parts = text.split(';');
  for (const [i, raw] of parts.entries()) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    // Neither the part nor its name is shown: a mangled part may be a piece of the key.
    if (eq <= 0) throw bad(`has a part without "name=value" (part ${i + 1})`);
    const name = KNOWN.get(part.slice(0, eq).trim().toLowerCase());
    if (name === undefined) throw bad(`has an unknown setting (part ${i + 1})`);
    if (fields.has(name)) throw bad(`gives ${name} twice`);
    fields.set(name, part.slice(eq + 1).trim());
  }

  if (fields.has('UseDevelopmentStorage')) {
    if (fields.get('UseDevelopmentStorage')!.toLowerCase() !== 'true') {
      throw bad('has UseDevelopmentStorage other than "true"');
    }
    const proxy = fields.get('DevelopmentStorageProxyUri');
    const endpoint = proxy
      ? `${endpointUrl(proxy, 'DevelopmentStorageProxyUri')}/${DEVELOPMENT_ACCOUNT}`
      : DEVELOPMENT_BLOB_ENDPOINT;
    return {
      account: DEVELOPMENT_ACCOUNT,
      blobEndpoint: endpoint,
      credential: { kind: 'sharedKey', accountKey: DEVELOPMENT_KEY },
    };
  }

  const accountName = fields.get('AccountName');
  if (accountName !== undefined && !ACCOUNT_NAME.test(accountName)) {
    throw bad('has an AccountName that is not 3-24 lower-case letters and digits');
  }
  const protocol = (fields.get('DefaultEndpointsProtocol') ?? 'https').toLowerCase();
  if (protocol !== 'https' && protocol !== 'http') {
    throw bad('has a DefaultEndpointsProtocol other than http or https');
  }
  let blobEndpoint: string;
  const given = fields.get('BlobEndpoint');
  if (given !== undefined) {
    blobEndpoint = endpointUrl(given, 'BlobEndpoint');
  } else {
    if (accountName === undefined) throw bad('names neither AccountName nor BlobEndpoint');
    const suffix = fields.get('EndpointSuffix') ?? 'core.windows.net';
    if (!HOST_SUFFIX.test(suffix)) throw bad('has an EndpointSuffix that is not a host name');
    blobEndpoint = `${protocol}://${accountName}.blob.${suffix}`;
  }
  const account = accountName ?? accountFromEndpoint(blobEndpoint);

  const key = fields.get('AccountKey');
  const sasField = fields.get('SharedAccessSignature');
  if (key !== undefined && sasField !== undefined) {
    throw bad('gives both AccountKey and SharedAccessSignature');
  }
  if (key !== undefined) {
    if (accountName === undefined) throw bad('gives AccountKey without AccountName');
    if (key === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(key) || key.length % 4 !== 0) {
      throw bad('has an AccountKey that is not base64');
    }
    return { account, blobEndpoint, credential: { kind: 'sharedKey', accountKey: key } };
  }
  if (sasField !== undefined) {
    const sas = sasField.replace(/^\?/, '');
    if (!/(?:^|&)sig=[^&]+/.test(sas) || /[\s#]/.test(sas)) {
      throw bad('has a SharedAccessSignature without a signature (sig=)');
    }
    return { account, blobEndpoint, credential: { kind: 'sas', sas } };
  }
  throw bad('gives no credentials (AccountKey or SharedAccessSignature)');
}

function endpointUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad(`has a ${name} that is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw bad(`has a ${name} that is not http or https`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw bad(`has a ${name} with a query, fragment or user name`);
  }
  return url.toString().replace(/\/+$/, '');
}

/** `https://<account>.blob.<suffix>` or the path style `http://host:port/<account>`. */
function accountFromEndpoint(endpoint: string): string {
  const url = new URL(endpoint);
  const first = url.pathname.split('/').find((p) => p !== '');
  if (first !== undefined && ACCOUNT_NAME.test(first)) return first;
  const label = url.hostname.split('.')[0] ?? '';
  return ACCOUNT_NAME.test(label) ? label : url.hostname;
}

/**
 * A `BlobServiceClient` for a parsed connection string. The SDK's own retries are off by
 * default (`maxTries: 1`): `BlobExternalStorage` retries whole transfers itself.
 */
export function blobServiceClient(
  conn: StorageConnection,
  pipeline: StoragePipelineOptions = { retryOptions: { maxTries: 1 } },
): BlobServiceClient {
  // Loaded on first use: the SDK costs ~0.5 s and ~20 MB, which an agent that never moves a
  // file should not pay.
  const { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@azure/storage-blob') as typeof import('@azure/storage-blob');
  if (conn.credential.kind === 'sharedKey') {
    const credential = new StorageSharedKeyCredential(conn.account, conn.credential.accountKey);
    return new BlobServiceClient(conn.blobEndpoint, credential, pipeline);
  }
  return new BlobServiceClient(
    `${conn.blobEndpoint}?${conn.credential.sas}`,
    new AnonymousCredential(),
    pipeline,
  );
}
