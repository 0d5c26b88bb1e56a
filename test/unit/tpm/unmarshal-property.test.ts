/**
 * The TypeScript half of the TPM response fuzzing (docs/fuzzing.md; the native half is
 * native/fuzz/tpm_response_fuzz.cc): fast-check over the unmarshalers in lib/tpm (marshal.ts
 * Reader, structures.ts parsePublicArea, command.ts runCommand, the command functions and
 * LimpetTpm's flows). A fake TPM answers each command with a real swtpm response of the same
 * command code (test/fuzz/tpm-responses.json, captured by test/fuzz/capture-tpm-seeds.ts), mutated
 * at random: bit flips, truncation, extension, a wrong size field, a wrong response code, or random
 * bytes. Whatever comes back, every call resolves or rejects with the package's coded errors
 * (IotDmError: TpmError MALFORMED or a TPM_RC name): never a TypeError, RangeError or a hang.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { IotDmError } from '../../../lib/errors';
import type { NativeTpm } from '../../../lib/native/contract';
import {
  createPrimary,
  getHandles,
  getProperties,
  getRandom,
  hmacSha256,
  nvRead,
  nvReadPublic,
  readPublic,
  startAuthSession,
} from '../../../lib/tpm/commands';
import { LimpetTpm } from '../../../lib/tpm/limpet';
import { Reader } from '../../../lib/tpm/marshal';
import { parsePublicArea, srkTemplate } from '../../../lib/tpm/structures';

interface Captured {
  command: string;
  response: string;
}
const CAPTURED: Array<{ cc: number; response: Buffer }> = (
  JSON.parse(
    readFileSync(path.join(__dirname, '../../fuzz/tpm-responses.json'), 'utf8'),
  ) as Captured[]
).map((c) => ({
  cc: Buffer.from(c.command, 'hex').readUInt32BE(6),
  response: Buffer.from(c.response, 'hex'),
}));

type Mutation =
  | { kind: 'none' }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'size'; value: number }
  | { kind: 'rc'; value: number }
  | { kind: 'random'; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>({ kind: 'none' }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant('size' as const), value: fc.nat() }),
  fc.record({
    kind: fc.constant('rc' as const),
    value: fc.oneof(fc.nat(), fc.constantFrom(0x101, 0x18b, 0x902, 0x922, 0x9a2)),
  }),
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
);

function apply(m: Mutation, base: Buffer): Buffer {
  const out = Buffer.from(base);
  switch (m.kind) {
    case 'none':
      return out;
    case 'flip':
      if (out.length > 0) out[m.at % out.length]! ^= 1 << m.bit;
      return out;
    case 'truncate':
      return out.subarray(0, m.at % (out.length + 1));
    case 'extend': {
      const longer = Buffer.concat([out, m.bytes]);
      if (longer.length >= 6) longer.writeUInt32BE(longer.length, 2);
      return longer;
    }
    case 'size':
      if (out.length >= 6) out.writeUInt32BE(m.value >>> 0, 2);
      return out;
    case 'rc':
      if (out.length >= 10) out.writeUInt32BE(m.value >>> 0, 6);
      return out;
    case 'random':
      return Buffer.from(m.bytes);
  }
}

/** A TPM that answers from the captured responses, each answer mutated by the next mutation. */
function fakeTpm(mutations: Mutation[]): NativeTpm & { calls: number } {
  let i = 0;
  const tpm = {
    calls: 0,
    async submit(command: Uint8Array): Promise<Uint8Array> {
      tpm.calls += 1;
      if (tpm.calls > 200) throw new Error('runaway: more than 200 commands');
      const cc = Buffer.from(command).readUInt32BE(6);
      const same = CAPTURED.filter((c) => c.cc === cc);
      const base = (same.length > 0 ? same[i % same.length]! : CAPTURED[i % CAPTURED.length]!)
        .response;
      const m = mutations.length > 0 ? mutations[i % mutations.length]! : { kind: 'none' as const };
      i += 1;
      return apply(m, base);
    },
    async info() {
      return { manufacturer: 'fake', interface: 'fake' } as never;
    },
    async close() {},
  };
  return tpm;
}

const CALLS: Record<string, (tpm: NativeTpm) => Promise<unknown>> = {
  getProperties: (t) => getProperties(t, 0x100, 64),
  getHandles: (t) => getHandles(t, 0x81000000),
  getRandom: (t) => getRandom(t, 16),
  readPublic: (t) => readPublic(t, 0x81010001),
  createPrimary: (t) => createPrimary(t, 0x40000001, srkTemplate()),
  nvReadPublic: (t) => nvReadPublic(t, 0x01400100),
  nvRead: (t) => nvRead(t, 0x01400100, 40, 1024),
  hmacSha256: (t) => hmacSha256(t, 0x81000100, Buffer.from('data')),
  startAuthSession: (t) => startAuthSession(t),
  'LimpetTpm.info': (t) => new LimpetTpm(t).info(),
  'LimpetTpm.endorsementKey': (t) => new LimpetTpm(t).endorsementKey(),
  'LimpetTpm.registrationId': (t) => new LimpetTpm(t).registrationId(),
  'LimpetTpm.readUri': (t) => new LimpetTpm(t).readUri(0),
  'LimpetTpm.hmac': (t) => new LimpetTpm(t).hmac(0, Buffer.from('sr\n1767236400')),
};

function codedOrNothing(err: unknown): void {
  assert.ok(
    err instanceof IotDmError,
    `not a coded error: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`,
  );
}

describe('property: TPM response unmarshaling (TypeScript) over mutated real responses', function () {
  this.timeout(60_000);

  it('the captured responses parse unmutated (the seeds are real)', async () => {
    assert.ok(CAPTURED.length >= 10);
    for (const [name, call] of Object.entries(CALLS)) {
      await call(fakeTpm([])).catch((err: unknown) => {
        codedOrNothing(err);
      });
      void name;
    }
    const ek = await new LimpetTpm(fakeTpm([])).endorsementKey();
    assert.match(ek.pem, /BEGIN PUBLIC KEY/);
  });

  it('every command function and LimpetTpm flow: resolves or rejects with a coded error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(CALLS)),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        async (name, mutations) => {
          await CALLS[name]!(fakeTpm(mutations)).catch(codedOrNothing);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('Reader and parsePublicArea: random bytes give values or TpmError MALFORMED', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc
            .tuple(fc.constantFrom(...CAPTURED.map((c) => c.response)), mutation)
            .map(([r, m]) => new Uint8Array(apply(m, r.subarray(Math.min(10, r.length))))),
        ),
        fc.array(fc.constantFrom('u8', 'u16', 'u32', 'u64', 'tpm2b', 'bytes'), { maxLength: 12 }),
        (bytes, reads) => {
          try {
            parsePublicArea(Buffer.from(bytes));
          } catch (err) {
            codedOrNothing(err);
          }
          const r = new Reader(bytes, 'fuzz');
          try {
            for (const read of reads) {
              if (read === 'tpm2b') r.tpm2b('x');
              else if (read === 'bytes') r.bytes(bytes.length % 7, 'x');
              else r[read as 'u8' | 'u16' | 'u32' | 'u64']('x');
            }
          } catch (err) {
            codedOrNothing(err);
            assert.equal((err as { rcName?: string }).rcName, 'MALFORMED');
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
