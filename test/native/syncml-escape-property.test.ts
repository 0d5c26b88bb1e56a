/**
 * Property (fast-check, issue 13 item 2) through the real SyncML path: Csp → AddonMdm → the
 * addon's encoder (native/syncml/codec_client.cc) → the CSP emulator's parser and engine → the
 * answer decoded. Random values (any Unicode the Csp accepts, XML metacharacters, CDATA ends,
 * entities, SyncML fragments that would delete a canary node or run RemoteWipe if they became
 * markup, CR/LF, long strings) written to one node in one batch with a write to a second node:
 *  - each value reads back exactly (no escaping lost or added, no normalization);
 *  - the canary node keeps its value and the batch's other op its own: a value never becomes an
 *    element or a command;
 *  - a value the addon could not carry (lone surrogate, NUL, U+FFFE) is refused before sending.
 * The same contract at the codec level, libFuzzer-driven: native/fuzz/syncml_encode_fuzz.cc.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Csp } from '../../lib/csp/csp';

const P = './Device/Vendor/MSFT/Personalization';
const TARGET = `${P}/CompanyLogoUrl`;
const OTHER = `${P}/LockScreenImageUrl`;
const CANARY = `${P}/DesktopImageUrl`;

const FRAGMENTS = [
  '<',
  '>',
  '&',
  '"',
  "'",
  ']]>',
  '<![CDATA[x]]>',
  '&amp;',
  '&lt;',
  '&#x41;',
  '\r\n',
  '\r',
  '\t',
  ' ',
  `</Data></Item></Replace><Delete><CmdID>90</CmdID><Item><Target><LocURI>${CANARY}</LocURI></Target></Item></Delete><Replace><CmdID>91</CmdID><Item><Data>`,
  '</Data></Item><Item><Target><LocURI>./Device/Vendor/MSFT/RemoteWipe/doWipe</LocURI></Target></Item>',
  '</SyncBody></SyncML>',
  '<?xml version="1.0"?>',
  '<!-- c -->',
  '\u00e9\u20ac\ud83d\ude00',
];

const value = fc.oneof(
  fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 6 }).map((a) => a.join('')),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom(...FRAGMENTS))
    .map(([a, b]) => a + b + a),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => '<&>'.repeat(Math.ceil(n / 3))),
);

describe('property: values cross the real SyncML encoder and emulator unchanged', function () {
  this.timeout(120_000);
  const csp = new Csp();
  /** Replace, or Add when the node does not exist yet. */
  const write = async (uri: string, v: string): Promise<void> => {
    try {
      await csp.replace(uri, v);
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
      await csp.add(uri, v);
    }
  };

  before(async () => {
    await write(CANARY, 'canary-value');
    await write(TARGET, 'x');
    await write(OTHER, 'y');
  });

  it('round-trips exactly, never becomes markup (one batch, two writes)', async () => {
    await fc.assert(
      fc.asyncProperty(value, value, async (a, b) => {
        // Same event-loop turn: one SyncML message with both Replaces.
        await Promise.all([csp.replace(TARGET, a), csp.replace(OTHER, b)]);
        const [gotA, gotB, canary] = await Promise.all([
          csp.get(TARGET),
          csp.get(OTHER),
          csp.get(CANARY),
        ]);
        assert.equal(gotA, a);
        assert.equal(gotB, b);
        assert.equal(canary, 'canary-value');
      }),
      { numRuns: 150 },
    );
  });

  it('values the SyncML text cannot carry are refused before anything is sent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 10 }),
        fc.constantFrom('\ud800', '\udfff', '\u0000', '\u0001', '\ufffe', '\uffff'),
        async (around, bad) => {
          await assert.rejects(csp.replace(TARGET, around + bad + around), (err: unknown) => {
            assert.match(String((err as { code?: string }).code), /^ERR_/);
            return true;
          });
          assert.equal(await csp.get(CANARY), 'canary-value');
        },
      ),
      { numRuns: 40 },
    );
  });
});
