/** Unit tests (no TPM): marshaling, TPM_RC decoding, structures. */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, createPublicKey } from 'node:crypto';
import { TpmError } from '../../lib/errors';
import { MALFORMED, Reader, Writer } from '../../lib/tpm/marshal';
import { decodeRc, describeRc, tpmRcError } from '../../lib/tpm/rc';
import {
  base32LowerUnpadded,
  ekTemplate,
  parsePublicArea,
  publicAreaToPem,
  registrationIdOf,
  srkTemplate,
  hmacKeyTemplate,
  TPM_ALG,
} from '../../lib/tpm/structures';
import { runCommand } from '../../lib/tpm/command';
import type { NativeTpm } from '../../lib/native/contract';

function malformed(structure: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof TpmError, String(e));
    assert.equal(e.code, 'ERR_TPM');
    assert.equal(e.rc, 0);
    assert.equal(e.rcName, MALFORMED);
    assert.match(e.message, new RegExp(structure));
    return true;
  };
}

describe('tpm/marshal', () => {
  it('writes big-endian integers, TPM2Bs, sized structures and lists', () => {
    const b = new Writer()
      .u8(0xab)
      .u16(0x1234)
      .u32(0xdeadbeef)
      .u64(0x0102030405060708n)
      .tpm2b(Buffer.from('hi'))
      .sized((w) => w.u16(7))
      .list([1, 2], (w, v) => w.u16(v))
      .toBuffer();
    assert.equal(
      b.toString('hex'),
      'ab' +
        '1234' +
        'deadbeef' +
        '0102030405060708' +
        '00026869' +
        '00020007' +
        '00000002' +
        '0001' +
        '0002',
    );
    const r = new Reader(b, 'TEST');
    assert.equal(r.u8(), 0xab);
    assert.equal(r.u16(), 0x1234);
    assert.equal(r.u32(), 0xdeadbeef);
    assert.equal(r.u64(), 0x0102030405060708n);
    assert.equal(r.tpm2b().toString(), 'hi');
    const inner = r.sized('INNER');
    assert.equal(inner.u16(), 7);
    inner.end();
    assert.deepEqual(
      r.list('L', (x) => x.u16()),
      [1, 2],
    );
    r.end();
  });

  it('every read past the end is a TpmError naming the structure', () => {
    assert.throws(
      () => new Reader(Buffer.alloc(1), 'TPM2B_PUBLIC').u16('size'),
      malformed('TPM2B_PUBLIC'),
    );
    assert.throws(() => new Reader(Buffer.alloc(3), 'X').u32(), malformed('X'));
    assert.throws(() => new Reader(Buffer.alloc(7), 'X').u64(), malformed('X'));
    assert.throws(
      () => new Reader(Buffer.from('0005aabb', 'hex'), 'TPM2B_DIGEST').tpm2b(),
      malformed('TPM2B_DIGEST'),
    );
    assert.throws(
      () => new Reader(Buffer.from('ffffffff', 'hex'), 'TPML').list('handles', (r) => r.u32(), 4),
      malformed('TPML'),
    );
    assert.throws(
      () => new Reader(Buffer.from('0001ff', 'hex'), 'S').sized('INNER').u16(),
      malformed('INNER'),
    );
    const r = new Reader(Buffer.alloc(3), 'TRAIL');
    r.u16();
    assert.throws(() => r.end(), malformed('TRAIL'));
  });

  it('refuses a TPM2B over 65535 bytes', () => {
    assert.throws(() => new Writer().tpm2b(Buffer.alloc(70000)), TpmError);
  });
});

describe('tpm/rc', () => {
  const cases: Array<[number, string, Partial<ReturnType<typeof decodeRc>>]> = [
    [0x000, 'TPM_RC_SUCCESS', { format: 'success' }],
    [0x18b, 'TPM_RC_HANDLE', { format: 'format-one', handle: 1 }],
    [0x28b, 'TPM_RC_HANDLE', { handle: 2 }],
    [0x14c, 'TPM_RC_NV_DEFINED', { format: 'format-zero' }],
    [0x98e, 'TPM_RC_AUTH_FAIL', { session: 1 }],
    [0x9a2, 'TPM_RC_BAD_AUTH', { session: 1 }],
    [0x1c4, 'TPM_RC_VALUE', { parameter: 1 }],
    [0x2d5, 'TPM_RC_SIZE', { parameter: 2 }],
    [0x19f, 'TPM_RC_INTEGRITY', { handle: 1 }],
    [0x1df, 'TPM_RC_INTEGRITY', { parameter: 1 }],
    [0x921, 'TPM_RC_LOCKOUT', { format: 'warning' }],
    [0x910, 'TPM_RC_REFERENCE_H0', { format: 'warning' }],
    [0x14a, 'TPM_RC_NV_UNINITIALIZED', {}],
    [0x14b, 'TPM_RC_NV_SPACE', {}],
    [0x120, 'TPM_RC_DISABLED', {}],
    [0x149, 'TPM_RC_NV_AUTHORIZATION', {}],
    [0x8028400f, 'TPM_RC_0x8028400f', { format: 'layer', layer: 0x28 }],
    [0x0005, 'TPM_RC_0x5', { format: 'tpm12' }],
  ];
  for (const [rc, name, extra] of cases) {
    it(`0x${rc.toString(16)} is ${name}`, () => {
      const d = decodeRc(rc);
      assert.equal(d.name, name);
      for (const [k, v] of Object.entries(extra))
        assert.equal((d as unknown as Record<string, unknown>)[k], v, k);
    });
  }

  it('builds TpmErrors with command, rc, rcName and a described message', () => {
    const e = tpmRcError('TPM2_NV_DefineSpace', 0x14c, 'index 0x1400100');
    assert.ok(e instanceof TpmError);
    assert.equal(e.command, 'TPM2_NV_DefineSpace');
    assert.equal(e.rc, 0x14c);
    assert.equal(e.rcName, 'TPM_RC_NV_DEFINED');
    assert.match(
      e.message,
      /TPM2_NV_DefineSpace \(index 0x1400100\) failed: TPM_RC_NV_DEFINED \(0x14c\)/,
    );
    assert.match(describeRc(0x3c4), /TPM_RC_VALUE \(0x3c4, parameter 3\)/);
  });
});

describe('tpm/command (with a scripted channel)', () => {
  function channel(response: string): NativeTpm & { sent: Buffer[] } {
    const sent: Buffer[] = [];
    return {
      sent,
      submit: async (c) => {
        sent.push(Buffer.from(c));
        return Buffer.from(response, 'hex');
      },
      info: async () => ({ transport: 'mock', tpmVersion: 2, path: 'x' }),
      close: async () => undefined,
    };
  }

  it('marshals a password-authorized command and maps the response code', async () => {
    const tpm = channel('80010000000a0000014c');
    await assert.rejects(
      runCommand(tpm, 'NV_UndefineSpace', {
        handles: [0x40000001, 0x01400100],
        auths: [{ sessionHandle: 0x40000009 }],
      }),
      (e: unknown) =>
        e instanceof TpmError &&
        e.rcName === 'TPM_RC_NV_DEFINED' &&
        e.command === 'TPM2_NV_UndefineSpace',
    );
    assert.equal(
      tpm.sent[0]!.toString('hex'),
      '8002' +
        '0000001f' +
        '00000122' +
        '40000001' +
        '01400100' +
        '00000009' +
        '40000009' +
        '0000' +
        '00' +
        '0000',
    );
  });

  it('a response whose size field lies is a TpmError', async () => {
    await assert.rejects(
      runCommand(channel('800100000020000000000000'), 'GetRandom'),
      malformed('TPM2_GetRandom'),
    );
  });

  it('a success response too short for its parameters is a TpmError', async () => {
    const tpm = channel('80010000000e000000000008abcd');
    const { params } = await runCommand(tpm, 'GetRandom');
    assert.throws(() => params.tpm2b('randomBytes'), malformed('TPM2_GetRandom response'));
  });
});

describe('tpm/structures', () => {
  it('templates parse back with the expected attributes', () => {
    const ek = parsePublicArea(ekTemplate());
    assert.equal(ek.objectAttributes, 0x000300b2);
    assert.equal(
      ek.authPolicy.toString('hex'),
      '837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa',
    );
    assert.equal(ek.rsa?.keyBits, 2048);
    assert.equal(ek.rsa?.modulus.length, 256);
    assert.equal(parsePublicArea(srkTemplate()).objectAttributes, 0x00030472);
    const hmac = parsePublicArea(hmacKeyTemplate());
    assert.equal(hmac.type, TPM_ALG.KEYEDHASH);
    assert.equal(hmac.keyedHash?.scheme, TPM_ALG.HMAC);
  });

  it('a truncated or unknown public area is a TpmError', () => {
    assert.throws(() => parsePublicArea(ekTemplate().subarray(0, 40)), malformed('TPMT_PUBLIC'));
    assert.throws(() => parsePublicArea(Buffer.from('7777000b00000000000000', 'hex')), TpmError);
  });

  it('PEM of an RSA public area equals node:crypto', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const area = Buffer.from(ekTemplate());
    const modulus = Buffer.from(jwk.n as string, 'base64url');
    modulus.copy(area, area.length - 256);
    const pem = publicAreaToPem(parsePublicArea(area));
    assert.equal(createPublicKey(pem).export({ format: 'jwk' }).n, jwk.n);
  });

  it('base32 (RFC 4648 vectors, lower case, unpadded) and the registration id', () => {
    const vectors: Array<[string, string]> = [
      ['', ''],
      ['f', 'my'],
      ['fo', 'mzxq'],
      ['foo', 'mzxw6'],
      ['foob', 'mzxw6yq'],
      ['fooba', 'mzxw6ytb'],
      ['foobar', 'mzxw6ytboi'],
    ];
    for (const [input, out] of vectors) assert.equal(base32LowerUnpadded(Buffer.from(input)), out);
    const area = ekTemplate();
    const sized = Buffer.concat([Buffer.from([area.length >> 8, area.length & 0xff]), area]);
    const digest = createHash('sha256').update(sized).digest();
    assert.equal(registrationIdOf(area), base32LowerUnpadded(digest));
    assert.equal(registrationIdOf(area).length, 52);
  });
});
