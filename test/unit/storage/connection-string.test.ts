/**
 * Connection-string parsing (lib/storage/connection-string.ts): every documented form, the
 * client it builds, and refusals whose message never contains the key, the SAS or a part that
 * could be one.
 */
import assert from 'node:assert/strict';
import { AnonymousCredential, StorageSharedKeyCredential } from '@azure/storage-blob';
import { StorageError } from '../../../lib/errors';
import {
  DEVELOPMENT_ACCOUNT,
  blobServiceClient,
  parseConnectionString,
} from '../../../lib/storage/connection-string';

const KEY = Buffer.alloc(64, 0x5a).toString('base64');
const SAS = 'sv=2024-08-04&ss=b&srt=sco&sp=rwl&se=2030-01-01T00:00:00Z&sig=c2VjcmV0U2lnbmF0dXJl%3D';

function refused(text: unknown, message: RegExp, secrets: string[] = []): StorageError {
  let caught: unknown;
  try {
    parseConnectionString(text);
  } catch (err) {
    caught = err;
  }
  assert.ok(
    caught instanceof StorageError,
    `expected StorageError for ${String(text).length} chars`,
  );
  assert.equal(caught.reason, 'badConnectionString');
  assert.equal(caught.status, 400);
  assert.match(caught.message, message);
  for (const secret of secrets) {
    assert.ok(!caught.message.includes(secret), `message leaks a secret: ${caught.message}`);
    assert.ok(!JSON.stringify(caught).includes(secret), 'serialized error leaks a secret');
  }
  return caught;
}

describe('storage/connection-string: parsing', () => {
  it('reads an account key string and derives the blob endpoint from the suffix', () => {
    const c = parseConnectionString(
      `DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey=${KEY};EndpointSuffix=core.chinacloudapi.cn`,
    );
    assert.deepEqual(c, {
      account: 'myacct',
      blobEndpoint: 'https://myacct.blob.core.chinacloudapi.cn',
      credential: { kind: 'sharedKey', accountKey: KEY },
    });
  });

  it('defaults to https and core.windows.net; names are case-insensitive; order and ; are free', () => {
    const c = parseConnectionString(`accountkey=${KEY};  ACCOUNTNAME=abc123 ;;`);
    assert.equal(c.blobEndpoint, 'https://abc123.blob.core.windows.net');
    assert.equal(c.account, 'abc123');
  });

  it('honours DefaultEndpointsProtocol=http and an explicit BlobEndpoint (path style)', () => {
    const c = parseConnectionString(
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${KEY};` +
        'BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;QueueEndpoint=http://127.0.0.1:10001/x',
    );
    assert.equal(c.blobEndpoint, 'http://127.0.0.1:10000/devstoreaccount1');
    assert.equal(c.account, 'devstoreaccount1');
  });

  it('reads a SAS string; the account comes from the endpoint host or path; a leading ? is dropped', () => {
    const c = parseConnectionString(
      `BlobEndpoint=https://sasacct.blob.core.windows.net;SharedAccessSignature=?${SAS}`,
    );
    assert.deepEqual(c, {
      account: 'sasacct',
      blobEndpoint: 'https://sasacct.blob.core.windows.net',
      credential: { kind: 'sas', sas: SAS },
    });
    const p = parseConnectionString(
      `BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;SharedAccessSignature=${SAS}`,
    );
    assert.equal(p.account, 'devstoreaccount1');
  });

  it('reads UseDevelopmentStorage=true (and its proxy URI)', () => {
    const c = parseConnectionString('UseDevelopmentStorage=true');
    assert.equal(c.account, DEVELOPMENT_ACCOUNT);
    assert.equal(c.blobEndpoint, 'http://127.0.0.1:10000/devstoreaccount1');
    assert.equal(c.credential.kind, 'sharedKey');
    const p = parseConnectionString(
      'UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://10.0.0.5:10000',
    );
    assert.equal(p.blobEndpoint, 'http://10.0.0.5:10000/devstoreaccount1');
  });

  it('builds a shared-key client or a SAS-URL client', () => {
    const key = blobServiceClient(parseConnectionString(`AccountName=abc;AccountKey=${KEY}`));
    assert.equal(key.url, 'https://abc.blob.core.windows.net/');
    assert.ok(key.credential instanceof StorageSharedKeyCredential);
    assert.equal(key.accountName, 'abc');
    const sas = blobServiceClient(
      parseConnectionString(
        `BlobEndpoint=https://abc.blob.core.windows.net;SharedAccessSignature=${SAS}`,
      ),
    );
    assert.ok(sas.credential instanceof AnonymousCredential);
    assert.match(sas.url, /^https:\/\/abc\.blob\.core\.windows\.net\/\?sv=2024-08-04&.*sig=/);
  });
});

describe('storage/connection-string: refusals never show a secret', () => {
  it('refuses empty, non-string and over-long input', () => {
    refused('', /is empty/);
    refused('   ', /is empty/);
    refused(undefined, /is empty/);
    refused(42, /is empty/);
    refused(`AccountName=abc;AccountKey=${'A'.repeat(5000)}`, /longer than 4096/, ['AAAAAAAA']);
  });

  it('refuses a part without name=value and an unknown setting without quoting them', () => {
    refused(`AccountName=abc;${KEY.replace(/=/g, '')}`, /part 2/, [KEY.slice(0, 20)]);
    refused(`AccountName=abc;${KEY}`, /unknown setting \(part 2\)/, [KEY.slice(0, 20)]);
    refused(`AccountName=abc;Passwrd=${KEY}`, /unknown setting/, [KEY.slice(0, 20), 'Passwrd']);
  });

  it('refuses a repeated setting', () => {
    refused(`AccountName=abc;AccountName=def;AccountKey=${KEY}`, /AccountName twice/, [KEY]);
  });

  it('refuses strings that name no account or no credentials', () => {
    refused(`AccountKey=${KEY}`, /neither AccountName nor BlobEndpoint/, [KEY]);
    refused('AccountName=abc', /no credentials/);
    refused('BlobEndpoint=https://abc.blob.core.windows.net', /no credentials/);
    refused(
      `BlobEndpoint=https://abc.blob.core.windows.net;AccountKey=${KEY}`,
      /AccountKey without AccountName/,
      [KEY],
    );
  });

  it('refuses malformed values without quoting them', () => {
    refused(`AccountName=abc;AccountKey=zz!!secret`, /AccountKey that is not base64/, [
      'zz!!secret',
    ]);
    refused(`AccountName=abc;AccountKey=${KEY}x`, /not base64/, [KEY]);
    refused(`AccountName=ABC_def;AccountKey=${KEY}`, /AccountName that is not/, [KEY]);
    refused(`AccountName=abc;AccountKey=${KEY};DefaultEndpointsProtocol=ftp`, /http or https/, [
      KEY,
    ]);
    refused(`AccountName=abc;AccountKey=${KEY};EndpointSuffix=bad/suffix`, /EndpointSuffix/, [KEY]);
    refused(
      `AccountName=abc;AccountKey=${KEY};BlobEndpoint=not a url`,
      /BlobEndpoint that is not a URL/,
      [KEY],
    );
    refused(
      `BlobEndpoint=https://abc.blob.core.windows.net/?${SAS};AccountName=abc;AccountKey=${KEY}`,
      /BlobEndpoint with a query/,
      [KEY, 'sig=c2Vj'],
    );
    refused('UseDevelopmentStorage=false', /UseDevelopmentStorage other than "true"/);
  });

  it('refuses a SAS without a signature, and a key together with a SAS', () => {
    refused(
      'BlobEndpoint=https://abc.blob.core.windows.net;SharedAccessSignature=sv=2024-08-04&sp=r',
      /without a signature/,
      ['sv=2024-08-04&sp=r'],
    );
    refused(
      `AccountName=abc;AccountKey=${KEY};SharedAccessSignature=${SAS}`,
      /both AccountKey and SharedAccessSignature/,
      [KEY, 'c2VjcmV0U2lnbmF0dXJl'],
    );
  });
});
