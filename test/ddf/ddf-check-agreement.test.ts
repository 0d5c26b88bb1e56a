/**
 * Agreement between the project's DDF path checker (../shared/tools/ddf-check.py, run over
 * ../shared/ddf) and the CSP emulator (build/Release/mdm_emulator.so through the REAL addon,
 * `new AddonMdm()` from lib/index.ts) on the same `OPERATION URI [FORMAT [VALUE]]` lines: the
 * checker's examples file plus lines generated from data/ddf-facts.tsv (see generateLines).
 *
 * Verdict classes and how each side is mapped onto them:
 *
 *   class  checker (ddf-check.py, default mode)              emulator (OMA-DM status)
 *   ok     OK; WARN for a generic placeholder match           200; 418 for an Add (exists)
 *          (Policy/Config/<x>/<x>)
 *   404    INVALID "no node ..."; WARN "matches ... only      404 (unknown path; matching is
 *          case-insensitively" (the emulator is case-         case-sensitive)
 *          sensitive, and the checker's own examples file
 *          lists such a line as invalid)
 *   405    INVALID "<Op> not allowed (AccessType=...)"       405
 *   415    INVALID "format 'x' != DDF format 'y'", "is not   415
 *          an int", "is not a bool"
 *   400    INVALID "outside allowed range", "not in allowed  400
 *          ENUM" (after the format checks, like the emulator)
 *   bad-command  INVALID "unknown operation"                  400 for that command, sent with
 *                                                             rawSyncML (the addon's apply only
 *                                                             knows the five verbs)
 *
 * A node that the schema knows but that has no instance answers 404 on a device. To compare
 * fairly, the emulator side runs like this, and never leaves anything behind:
 *  * Add/Replace/Delete/Exec run inside an Atomic followed by a sentinel command that always
 *    fails (Replace ./DevDetail/SwV: 405), so the Atomic is rolled back: the op's own status is
 *    its code when it failed, and 216 (rolled back after success) = ok when the sentinel failed.
 *    If the op answers 404 and the facts table knows the path, it is retried as
 *    Atomic[Add that creates the instance (planInstance), op, sentinel].
 *  * Get runs on its own (read-only). A 404 for a path the table knows is decided with
 *    Atomic[that Add, sentinel]: the Get was not refused (405 would come first), and the node
 *    can exist, so the class is ok. A node no Add can create (e.g. inventory that only the device
 *    writes, like Policy/Result/<x>) is decided by a verb its AccessType lacks: 405 means the
 *    schema has the node (ok), 404 means it does not.
 * Lines where the two tools differ on purpose are listed in KNOWN_DIVERGENCES with the reason;
 * the test fails on any other disagreement and on a listed divergence that no longer happens.
 *
 * DDF_AGREEMENT_REPORT=<file> writes every line with both classes (TSV) for a human to read.
 * Skipped (with the reason on the console) when python3, ../shared/tools/ddf-check.py or
 * ../shared/ddf is missing, or when the emulator library is not built.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { AddonMdm, type CspOp, type CspResult } from '../../lib';
import { DDF_CHECK, DDF_CHECK_EXAMPLES, DDF_DIR, REPO_ROOT, haveDdf, readFacts } from './facts';
import {
  SchemaModel,
  VERBS,
  VERB_LETTER,
  allows,
  format,
  planInstance,
  validValue,
  type PlannedAdd,
  type SchemaNode,
  type Verb,
} from './schema-model';

type Verdict = 'ok' | '404' | '405' | '415' | '400' | 'bad-command' | string;

/** Lines where the checker and the emulator disagree on purpose: [checker, emulator, why]. */
const KNOWN_DIVERGENCES: Record<string, [Verdict, Verdict, string]> = {
  'Get ./device/Vendor/MSFT/Reboot/RebootNow': [
    'ok',
    '404',
    'ddf-check.py maps the prefixes ./device/ and ./user/ to ./Device/ and ./User/; the ' +
      'emulator matches every segment case-sensitively (kept on purpose; untested on Windows)',
  ],
  'Get ./Device/Vendor/MSFT': [
    '405',
    'ok',
    'ancestors that no DDF defines get an empty AccessType in ddf-check.py; the emulator ' +
      'synthesizes them with Get so that they can be listed (node_tree.h)',
  ],
  'Replace ./Device/Vendor/MSFT/Personalization/CompanyName chr ThisCompanyNameIsLongerThan30Chars':
    [
      'ok',
      '400',
      'the emulator enforces MSFT:AllowedValues RegEx (^.{1,30}$ here); ddf-check.py checks only ' +
        'Range and ENUM',
    ],
  'Replace ./Device/Vendor/MSFT/ApplicationControl/Tokens/AB01/Token b64 not*base64': [
    'ok',
    '415',
    'the emulator checks b64 (and xml) data; ddf-check.py checks only int and bool data',
  ],
  // The certificate stores take an EncodedCertificate only when it is a DER certificate whose
  // SHA-1 is the node's name (native/emulator/certificates.h), as Windows does: made-up data is
  // refused, and no instance can be made under a made-up name to try other verbs on.
  'Add ./Device/Vendor/MSFT/RootCATrustedCertificates/Root/ABCDEF0123456789ABCDEF0123456789ABCDEF01/EncodedCertificate b64 MIIB':
    [
      'ok',
      '400',
      'the emulator refuses an EncodedCertificate that is not a DER certificate named by its ' +
        'SHA-1; ddf-check.py checks the format only',
    ],
  'Replace ./Device/Vendor/MSFT/CertificateStore/CA/System/AB01/EncodedCertificate chr 1': [
    '415',
    'ok',
    'no certificate can be named AB01 in the emulator (names are SHA-1 thumbprints), so the ' +
      'Replace meets no instance; the node is known (Delete -> 405)',
  ],
  'Replace ./Device/Vendor/MSFT/RootCATrustedCertificates/TrustedPeople/Name.3/EncodedCertificate chr 1':
    [
      '415',
      'ok',
      'no certificate can be named Name.3 in the emulator (names are SHA-1 thumbprints), so ' +
        'the Replace meets no instance; the node is known (Delete -> 405)',
    ],
  'Replace ./User/Vendor/MSFT/RootCATrustedCertificates/CA/AB01/EncodedCertificate chr 1': [
    '415',
    'ok',
    'no certificate can be named AB01 in the emulator (names are SHA-1 thumbprints), so the ' +
      'Replace meets no instance; the node is known (Delete -> 405)',
  ],
  'Replace ./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart int 0x10': [
    'ok',
    '415',
    'ddf-check.py parses ints with Python int(value, 0) (hex, octal, "_"); OMA-DM int data is ' +
      'decimal',
  ],
  'Replace ./Device/Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rule1 node': [
    'ok',
    '406',
    'Replace of an interior node: the emulator answers 406 (node_ops.h); ddf-check.py only ' +
      'checks the AccessType',
  ],
  'Replace ./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursEnd int 4294967296': [
    '400',
    '415',
    'an int beyond 32 bits: the emulator refuses it as not fitting the int format (415, checked ' +
      'before allowed values); ddf-check.py reads ints of any width and reports the Range [0-23]',
  ],
};

const SENTINEL: CspOp = { verb: 'replace', uri: './DevDetail/SwV', format: 'chr', data: 'x' };

interface Line {
  text: string;
  op: string;
  uri: string;
  format?: string;
  value?: string;
  source: 'examples' | 'generated';
}

function parseLine(text: string, source: Line['source']): Line {
  // As ddf-check.py reads it: line.split(None, 3), the value being the rest of the line.
  const m = /^(\S+)\s+(\S+)(?:\s+(\S+)(?:\s+(.*))?)?$/.exec(text.trim());
  if (!m) throw new Error(`not an OPERATION URI [FORMAT [VALUE]] line: ${text}`);
  const line: Line = { text: text.trim(), op: m[1]!, uri: m[2]!, source };
  if (m[3] !== undefined) line.format = m[3];
  if (m[4] !== undefined) line.value = m[4];
  return line;
}

// ---- checker ----------------------------------------------------------------------------------

interface CheckerAnswer {
  verdict: string;
  message: string;
}

function runChecker(lines: readonly Line[]): CheckerAnswer[] {
  const r = spawnSync('python3', [DDF_CHECK, DDF_DIR], {
    input: lines.map((l) => l.text).join('\n') + '\n',
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0 && r.status !== 1) throw new Error(`ddf-check.py failed: ${r.stderr}`);
  const out = r.stdout.split('\n');
  const answers: CheckerAnswer[] = [];
  for (let i = 0; i < out.length; i++) {
    const m = /^(OK|WARN|INVALID)\s+(.*)$/.exec(out[i]!);
    if (!m) continue;
    const message = /^\s+-> (.*)$/.exec(out[i + 1] ?? '')?.[1] ?? '';
    answers.push({ verdict: m[1]!, message });
  }
  if (answers.length !== lines.length) {
    throw new Error(`ddf-check.py answered ${answers.length} of ${lines.length} lines`);
  }
  return answers;
}

function checkerClass(a: CheckerAnswer): Verdict {
  if (/only case-insensitively/.test(a.message)) return '404';
  if (a.verdict === 'OK' || a.verdict === 'WARN') return 'ok';
  if (/^unknown operation/.test(a.message)) return 'bad-command';
  if (/^no node |^empty URI|^URI must start/.test(a.message)) return '404';
  if (/^\w+ not allowed \(AccessType=/.test(a.message)) return '405';
  if (/format '[^']*' != DDF format|is not an int|is not a bool/.test(a.message)) return '415';
  if (/outside allowed range|not in allowed ENUM/.test(a.message)) return '400';
  return `unmapped: ${a.verdict} ${a.message}`;
}

// ---- emulator ---------------------------------------------------------------------------------

function emulatorClass(status: number, verb: string): Verdict {
  if (status === 200 || (status === 418 && verb === 'add')) return 'ok';
  return String(status);
}

function toOp(verb: string, uri: string, fmt?: string, data?: string): CspOp {
  const op: CspOp = { verb: verb.toLowerCase() as CspOp['verb'], uri };
  if (fmt !== undefined) op.format = fmt as CspOp['format'];
  if (data !== undefined) op.data = data;
  return op;
}
const addOp = (p: PlannedAdd): CspOp => toOp('Add', p.uri, p.format, p.data);

const xmlEscape = (s: string) =>
  s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);

class EmulatorRunner {
  readonly mdm = new AddonMdm();
  notes: string[] = [];

  constructor(private readonly model: SchemaModel) {}

  /** [statuses of `before`..., op, sentinel] in one rolled-back Atomic. */
  async #atomic(before: CspOp[], op?: CspOp): Promise<CspResult[]> {
    const ops = [...before, ...(op ? [op] : []), SENTINEL];
    const results = await this.mdm.apply(ops, { atomic: true });
    const sentinel = results[results.length - 1]!;
    assert.ok(
      sentinel.status === 405 || sentinel.status === 216,
      `sentinel answered ${sentinel.status}`,
    );
    return results;
  }

  /** The op's class inside a rolled-back Atomic after `setup`, or undefined if setup failed. */
  async #mutate(setup: CspOp[], op: CspOp): Promise<Verdict | undefined> {
    const results = await this.#atomic(setup, op);
    if (results.slice(0, setup.length).some((r) => r.status !== 216)) return undefined;
    const own = results[setup.length]!.status;
    return own === 216 ? 'ok' : emulatorClass(own, op.verb);
  }

  async run(line: Line): Promise<{ verdict: Verdict; how: string }> {
    const verb = line.op[0]?.toUpperCase() + line.op.slice(1).toLowerCase();
    if (!VERBS.includes(verb as Verb)) {
      const body =
        `<SyncBody><${line.op}><CmdID>1</CmdID><Item><Target><LocURI>${xmlEscape(line.uri)}` +
        `</LocURI></Target></Item></${line.op}></SyncBody>`;
      const answer = await this.mdm.rawSyncML(body);
      const code = new RegExp(`<Cmd>${line.op}</Cmd><Data>(\\d+)</Data>`).exec(answer)?.[1];
      return { verdict: code === '400' ? 'bad-command' : `raw ${code}`, how: 'rawSyncML' };
    }
    const op = toOp(verb, line.uri, line.format, line.value);
    const resolved = this.model.resolve(line.uri.split('?')[0]!);
    if (verb === 'Get') {
      const status = (await this.mdm.apply([op]))[0]!.status;
      if (status !== 404 || !resolved) return { verdict: emulatorClass(status, 'get'), how: 'get' };
      for (const add of planInstance(resolved.raw, resolved.node)) {
        const results = await this.#atomic([addOp(add)]);
        if (results[0]!.status === 216)
          return { verdict: 'ok', how: `get 404, ${add.uri} creatable` };
      }
      return this.#probe(resolved.node, line.uri);
    }
    const direct = await this.#mutate([], op);
    if (direct !== '404' || !resolved || verb === 'Add') return { verdict: direct!, how: 'atomic' };
    for (const add of planInstance(resolved.raw, resolved.node)) {
      const verdict = await this.#mutate([addOp(add)], op);
      if (verdict !== undefined) return { verdict, how: `atomic after Add ${add.uri}` };
    }
    return this.#probe(resolved.node, line.uri);
  }

  /** No instance can be made: 405 for a verb outside the AccessType shows the node is known. */
  async #probe(node: SchemaNode, uri: string): Promise<{ verdict: Verdict; how: string }> {
    const verb = VERBS.find((v) => v !== 'Get' && !allows(node, VERB_LETTER[v]));
    if (!verb) return { verdict: 'undecidable', how: 'no instance and no refused verb' };
    const status = (await this.#atomic([], toOp(verb, uri.split('?')[0]!)))[0]!.status;
    return { verdict: status === 405 ? 'ok' : '404', how: `no instance; ${verb} -> ${status}` };
  }
}

// ---- generated lines --------------------------------------------------------------------------

const OTHER_FORMAT: Record<string, string> = {
  chr: 'int',
  int: 'chr',
  bool: 'int',
  b64: 'chr',
  xml: 'chr',
  bin: 'chr',
  time: 'int',
  null: 'chr',
  node: 'chr',
};

/** `count` nodes spread evenly over `nodes` (deterministic). */
function spread<T>(nodes: readonly T[], count: number): T[] {
  if (nodes.length <= count) return [...nodes];
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(nodes[Math.floor((i * nodes.length) / count)]!);
  return out;
}

/** A LocURI for a table path: dynamic segments named, some with characters to %-encode. */
function concrete(path: string, salt: number): string {
  let i = 0;
  return path
    .split('/')
    .map((s) => (s === '<x>' ? ['Agree%20One', 'AB01', 'x_2', 'Name.3'][(salt + i++) % 4]! : s))
    .join('/');
}

/** Plain values that both tools read the same way (no hex ints, no b64/xml/RegEx edge cases). */
function lineValue(n: SchemaNode): string | undefined {
  const v = validValue(n);
  if (v === undefined) return undefined;
  return /^\S(.*\S)?$/.test(v) && !v.startsWith('#') ? v : undefined;
}

function generateLines(model: SchemaModel): string[] {
  const out: string[] = [];
  const leaves = (fmt: string) =>
    model.nodes.filter((n) => format(n) === fmt && n.fact?.allowedType !== 'RegEx');
  const uriOf = (n: SchemaNode, i: number) => concrete(n.path, i);

  // Every format: an allowed verb, a refused verb, a wrong Meta/Format.
  for (const fmt of ['chr', 'int', 'bool', 'b64', 'xml', 'null', 'node', 'bin', 'time']) {
    spread(leaves(fmt), fmt === 'chr' || fmt === 'int' ? 14 : 6).forEach((n, i) => {
      const uri = uriOf(n, i);
      const value = lineValue(n);
      if (allows(n, 'G')) out.push(`Get ${uri}`);
      for (const verb of ['Replace', 'Add'] as const) {
        if (!allows(n, VERB_LETTER[verb]) || (fmt === 'node' && verb === 'Replace')) continue;
        out.push(value === undefined ? `${verb} ${uri} ${fmt}` : `${verb} ${uri} ${fmt} ${value}`);
        if (fmt !== 'node' && fmt !== 'null') out.push(`${verb} ${uri} ${OTHER_FORMAT[fmt]} 1`);
        break;
      }
      const refused = (['Exec', 'Delete', 'Replace', 'Add'] as const).find(
        (v) => !allows(n, VERB_LETTER[v]),
      );
      if (refused)
        out.push(
          refused === 'Exec' || refused === 'Delete'
            ? `${refused} ${uri}`
            : `${refused} ${uri} ${fmt} ${value ?? '1'}`,
        );
      if (allows(n, 'E')) out.push(`Exec ${uri}`);
      if (allows(n, 'D') && i % 2 === 0) out.push(`Delete ${uri}`);
    });
  }

  // int and bool data that does not parse.
  for (const n of spread(
    leaves('int').filter((x) => allows(x, 'R')),
    6,
  )) {
    out.push(`Replace ${uriOf(n, 1)} int abc`);
  }
  for (const n of spread(
    leaves('bool').filter((x) => allows(x, 'R')),
    4,
  )) {
    out.push(`Replace ${uriOf(n, 2)} bool maybe`);
  }

  // Range: both bounds and one past each.
  const ranges = model.nodes.filter(
    (n) => format(n) === 'int' && n.fact?.allowedType === 'Range' && allows(n, 'R'),
  );
  spread(ranges, 16).forEach((n, i) => {
    const m = /^\[\(?(-?\d+)\)?-\(?(-?\d+)\)?\]$/.exec(n.fact!.allowedValues[0] ?? '');
    if (!m) return;
    const [low, high] = [Number(m[1]), Number(m[2])];
    const uri = uriOf(n, i);
    out.push(`Replace ${uri} int ${low}`);
    // Past 2^32-1 the two differ on purpose (see KNOWN_DIVERGENCES, ActiveHoursEnd).
    if (high < 4294967295) out.push(`Replace ${uri} int ${high + 1}`);
    if (i % 2 === 0) out.push(`Replace ${uri} int ${high}`);
    if (low > 0) out.push(`Replace ${uri} int ${low - 1}`);
  });

  // ENUM: a member and a non-member (int and chr).
  const intEnums = model.nodes.filter(
    (n) => format(n) === 'int' && n.fact?.allowedType === 'ENUM' && allows(n, 'R'),
  );
  spread(intEnums, 14).forEach((n, i) => {
    const values = n.fact!.allowedValues.map(Number);
    const uri = uriOf(n, i);
    out.push(`Replace ${uri} int ${values[values.length - 1]}`);
    out.push(`Replace ${uri} int ${Math.max(...values) + 1}`);
  });
  const chrEnums = model.nodes.filter(
    (n) =>
      format(n) === 'chr' &&
      n.fact?.allowedType === 'ENUM' &&
      allows(n, 'R') &&
      n.fact.listDelimiter === '' &&
      n.fact.allowedValues.every((v) => /^\S+$/.test(v)),
  );
  spread(chrEnums, 8).forEach((n, i) => {
    const uri = uriOf(n, i);
    out.push(`Replace ${uri} chr ${n.fact!.allowedValues[0]}`, `Replace ${uri} chr NotAnEnumValue`);
  });

  // ADMX-backed policies: chr, content not checked by either side.
  spread(
    model.nodes.filter((n) => n.fact?.allowedType === 'ADMX' && allows(n, 'R')),
    6,
  ).forEach((n, i) => {
    out.push(`Replace ${uriOf(n, i)} chr <enabled/>`, `Add ${uriOf(n, i)} int 1`);
  });

  // Unknown paths, below named and dynamic nodes.
  out.push(
    'Get ./Device/Vendor/MSFT/NoSuchCsp',
    'Get ./Device/Vendor/MSFT/Reboot/NoSuchNode',
    'Exec ./Device/Vendor/MSFT/Reboot/RebootNow/Deeper',
    'Get ./DevDetail/Ext/Microsoft/NoSuchLeaf',
    'Get ./DevInfo/Nope',
    'Add ./Device/Vendor/MSFT/WiFi/Profile/Agree%20One/NoSuchSetting chr x',
    'Replace ./Device/Vendor/MSFT/Policy/Config/Update/NoSuchPolicy int 1',
    'Get ./Device/Vendor/MSFT/RootCATrustedCertificates/Root/AB01/NoSuchField',
    'Get ./User/Vendor/MSFT/Reboot/RebootNow',
    'Get ./User/Vendor/MSFT/DeviceStatus',
    'Get ./User/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart',
    'Get ./SyncML/NoSuchNode',
    'Get ./Device/Nope',
  );
  // ./Vendor alias and ./User scope.
  for (const n of spread(
    model.nodes.filter((x) => x.path.startsWith('./Device/Vendor/MSFT/') && x.fact),
    12,
  ).map((x, i) => [x, i] as const)) {
    const [node, i] = n;
    const alias = uriOf(node, i).replace('./Device/Vendor/', './Vendor/');
    const value = lineValue(node);
    out.push(
      allows(node, 'R') && value !== undefined
        ? `Replace ${alias} ${format(node)} ${value}`
        : allows(node, 'G')
          ? `Get ${alias}`
          : `Exec ${alias}`,
    );
  }
  for (const n of spread(
    model.nodes.filter((x) => x.path.startsWith('./User/') && x.fact),
    16,
  ).map((x, i) => [x, i] as const)) {
    const [node, i] = n;
    const value = lineValue(node);
    const uri = uriOf(node, i);
    out.push(allows(node, 'G') ? `Get ${uri}` : `Exec ${uri}`);
    if (allows(node, 'A') && format(node) !== 'node' && value !== undefined) {
      out.push(`Add ${uri} ${format(node)} ${value}`);
    }
  }

  // Case-only mismatches (an allowed verb, so that ddf-check.py reports the warning).
  const caseNodes = spread(
    model.nodes.filter(
      (n) =>
        n.fact && allows(n, 'G') && n.parent && !n.parent.children.has('<x>') && n.name !== '<x>',
    ),
    12,
  );
  caseNodes.forEach((n, i) => {
    const uri = uriOf(n, i).split('/');
    const last = uri.length - 1;
    uri[last] = i % 2 ? uri[last]!.toLowerCase() : uri[last]!.toUpperCase();
    if (uri[last] !== n.name) out.push(`Get ${uri.join('/')}`);
  });
  out.push(
    'Get ./devdetail/SwV',
    'Get ./DevDetail/swv',
    'Exec ./Device/Vendor/MSFT/reboot/RebootNow',
    'Get ./Device/vendor/MSFT/Reboot',
  );

  // Dynamic segments with characters that need %-encoding, and Gets with ?list queries.
  out.push(
    'Add ./Device/Vendor/MSFT/WiFi/Profile/My%20Net%C3%A9/WlanXml chr <WLANProfile/>',
    'Get ./Device/Vendor/MSFT/WiFi/Profile/My%20Net%C3%A9/WlanXml',
    'Delete ./Device/Vendor/MSFT/WiFi/Profile/My%20Net%C3%A9',
    'Add ./User/Vendor/MSFT/WiFi/Profile/Home/WlanXml chr <WLANProfile/>',
    'Get ./Device/Vendor/MSFT/Reboot?list=Struct',
    'Get ./DevDetail?list=StructData',
    'Get ./Device/Vendor/MSFT/Policy/Result/Update/ActiveHoursStart',
    'Replace ./Device/Vendor/MSFT/Policy/Config/NoSuchArea/Foo int 1',
    'Add ./Device/Vendor/MSFT/Policy/Config/NoSuchArea/Foo null',
  );

  // Every line listed as a known divergence.
  out.push(...Object.keys(KNOWN_DIVERGENCES));
  return [...new Set(out)];
}

// ---- the test ---------------------------------------------------------------------------------

function skipReason(): string | undefined {
  if (spawnSync('python3', ['--version']).status !== 0) return 'python3 is not available';
  if (!existsSync(DDF_CHECK)) return `${DDF_CHECK} is missing`;
  if (!haveDdf()) return `the DDF files are not at ${DDF_DIR}`;
  const so = join(REPO_ROOT, 'build/Release/mdm_emulator.so');
  if (process.platform !== 'win32' && !existsSync(so) && !process.env.WINDOWS_IOT_DM_MDM_LIBRARY) {
    return `${so} is not built (npm run build:native)`;
  }
  return undefined;
}

describe('DDF checker vs CSP emulator agreement (ddf-check.py vs real addon)', function () {
  this.timeout(300000);
  const facts = readFacts();
  const model = new SchemaModel(facts);
  let lines: Line[] = [];
  const rows: Array<{ line: Line; checker: Verdict; emulator: Verdict; how: string; msg: string }> =
    [];
  let instancesBefore: string[] = [];
  const instanceUris = async () => {
    const [all] = await new AddonMdm().apply([{ verb: 'get', uri: '.?list=Struct' }]);
    assert.equal(all!.status, 200);
    return all!.items.map((i) => i.uri).sort();
  };

  before(async function () {
    const reason = skipReason();
    if (reason) {
      console.log(`    (ddf-check agreement: skipped, ${reason})`);
      this.skip();
    }
    // Never the user's own emulator state (honoured by native/emulator/state_store.h).
    process.env.WINDOWS_IOT_DM_EMULATOR_STATE ??= join(
      tmpdir(),
      `wdm-ddf-agreement-${process.pid}.json`,
    );
    const examples = readFileSync(DDF_CHECK_EXAMPLES, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
      .map((l) => parseLine(l, 'examples'));
    const generated = generateLines(model).map((l) => parseLine(l, 'generated'));
    const seen = new Set(examples.map((l) => l.text));
    lines = [...examples, ...generated.filter((l) => !seen.has(l.text))];
    const answers = runChecker(lines);
    instancesBefore = await instanceUris();
    const runner = new EmulatorRunner(model);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const { verdict, how } = await runner.run(line);
      rows.push({
        line,
        checker: checkerClass(answers[i]!),
        emulator: verdict,
        how,
        msg: answers[i]!.message,
      });
    }
  });

  it('feeds the examples file and at least 200 generated lines', () => {
    const generated = rows.filter((r) => r.line.source === 'generated').length;
    assert.ok(rows.some((r) => r.line.source === 'examples'));
    assert.ok(generated >= 200, `${generated} generated lines`);
    const classes = new Set(rows.map((r) => r.checker));
    for (const c of ['ok', '404', '405', '415', '400', 'bad-command']) assert.ok(classes.has(c), c);
    console.log(
      `    ${rows.length} lines (${rows.length - generated} from the examples file): ` +
        [...classes].map((c) => `${c} ${rows.filter((r) => r.checker === c).length}`).join(', '),
    );
  });

  it('the checker verdict of every line maps onto a class', () => {
    const unmapped = rows.filter((r) => r.checker.startsWith('unmapped'));
    assert.deepEqual(
      unmapped.map((r) => `${r.line.text}: ${r.checker}`),
      [],
    );
  });

  it('agrees on every line except the known, explained divergences', () => {
    if (process.env.DDF_AGREEMENT_REPORT) {
      const report = rows.map((r) =>
        [r.line.source, r.line.text, r.checker, r.emulator, r.how, r.msg].join('\t'),
      );
      writeFileSync(process.env.DDF_AGREEMENT_REPORT, `${report.join('\n')}\n`);
    }
    const disagreements: string[] = [];
    let agreed = 0;
    for (const r of rows) {
      const known = KNOWN_DIVERGENCES[r.line.text];
      if (known) {
        if (r.checker !== known[0] || r.emulator !== known[1]) {
          disagreements.push(
            `${r.line.text}: listed as checker ${known[0]} / emulator ${known[1]}, got ${r.checker} / ${r.emulator} (${r.how})`,
          );
        }
        continue;
      }
      if (r.checker === r.emulator) agreed++;
      else {
        disagreements.push(
          `${r.line.text}: checker ${r.checker} (${r.msg.slice(0, 120)}), emulator ${r.emulator} (${r.how})`,
        );
      }
    }
    console.log(
      `    agreement: ${agreed} of ${rows.length - Object.keys(KNOWN_DIVERGENCES).length} lines; ` +
        `${Object.keys(KNOWN_DIVERGENCES).length} known divergences`,
    );
    assert.deepEqual(disagreements, []);
  });

  it('leaves the emulator as it found it (same node instances before and after)', async () => {
    assert.deepEqual(await instanceUris(), instancesBefore);
  });
});
