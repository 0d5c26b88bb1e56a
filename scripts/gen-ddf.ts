/**
 * Generates the CSP emulator's node facts from Microsoft's DDF files.
 *
 *   npx tsx scripts/gen-ddf.ts [ddfDir] [--out dir] [--check]      (npm run gen:ddf)
 *
 * ddfDir defaults to ../shared/ddf next to the repository. Reads every *.xml below it (the CSP
 * DDFs, policy/Policy.xml and the policy/<Area>_AreaDDF.xml files), builds ONE model of the
 * node tree and writes two renderings of it:
 *   data/ddf-facts.tsv                          one row per DDF node, sorted by path
 *   native/emulator/generated/ddf_facts.inc     the same rows as C++ NodeFact initializers
 * below --out (default: the repository root). --check writes nothing and exits 1 when the files
 * there differ from what the DDFs give.
 *
 * Only FACTS are taken from the DDFs (Microsoft copyright): node paths, DFFormat, AccessType,
 * Occurrence, Scope, CaseSense, DefaultValue, DFType MIME, and MSFT:AllowedValues as its
 * ValueType plus, for Range/ENUM/Flag/RegEx only, the range texts, enum values or pattern (and an
 * MSFT:List delimiter). Descriptions, titles, ValueDescriptions, GP mappings, ADMX/XSD/JSON
 * payloads and every other text are never read into the model.
 *
 * Path rules (the same as /work/shared/tools/ddf-check.py, so that the two agree):
 *  * only a top-level <Node> carries <Path>; its URI is Path + "/" + NodeName. A Path of "."
 *    (DevDetail, DevInfo: DDF v1 style) puts the node at the root: ./DevDetail.
 *  * "./Vendor/MSFT" (and a trailing "/", e.g. SUPL's "./Vendor/MSFT/") is written
 *    "./Device/Vendor/MSFT"; "./device/" and "./user/" become "./Device/" and "./User/".
 *    "./User/..." roots stay user scope.
 *  * NodeName is trimmed; an empty NodeName is a dynamic node, written "<x>".
 *  * the policy area roots (Path ./Device|./User/Vendor/MSFT/Policy/Config, NodeName <Area>)
 *    simply land under Policy.xml's Config node.
 *  * files are read in byte order of their path below ddfDir; a node defined more than once is
 *    merged: AccessType is the union, every other property is taken from the last definition
 *    that has it (ddf-check.py does the same). Conflicts are reported.
 *  * ancestors that no file defines (./Device, ./Device/Vendor, ./SyncML, ...) get no row.
 *
 * Output is deterministic: no timestamps, rows sorted by path (UTF-16 code unit order, which is
 * byte order for these ASCII paths), "\n" line endings, UTF-8 without BOM.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const TSV_PATH = 'data/ddf-facts.tsv';
export const INC_PATH = 'native/emulator/generated/ddf_facts.inc';
/** Separates enum values / range texts in the allowed-values field. XML 1.0 text cannot hold it. */
export const VALUE_SEPARATOR = '\u001f';

export const TSV_COLUMNS = [
  'path',
  'format',
  'access',
  'occurrence',
  'scope',
  'case',
  'default',
  'allowed_type',
  'allowed_values',
  'list_delimiter',
  'mime',
] as const;

const FORMATS = [
  'b64',
  'bin',
  'bool',
  'chr',
  'int',
  'node',
  'null',
  'xml',
  'date',
  'time',
  'float',
];
const ACCESS_ORDER = ['Add', 'Copy', 'Delete', 'Exec', 'Get', 'Replace'] as const;
const ACCESS_LETTER: Record<string, string> = {
  Add: 'A',
  Copy: 'C',
  Delete: 'D',
  Exec: 'E',
  Get: 'G',
  Replace: 'R',
};
const OCCURRENCES = ['One', 'ZeroOrOne', 'ZeroOrMore', 'OneOrMore', 'ZeroOrN', 'OneOrN'];
const SCOPES = ['Permanent', 'Dynamic'];
/** ValueTypes whose values are kept; for the others only the type is a fact we keep. */
const VALUED_TYPES = new Set(['Range', 'ENUM', 'Flag', 'RegEx']);

/** One DDF node of the merged model. */
export interface DdfNode {
  path: string;
  format?: string;
  access: Set<string>;
  occurrence?: string;
  scope?: string;
  caseSense?: string;
  defaultValue?: string;
  allowedType?: string;
  allowedValues: string[];
  listDelimiter?: string;
  mime?: string;
  sources: string[];
}

export interface DdfModel {
  files: string[];
  inputsSha256: string;
  nodes: DdfNode[]; // sorted by path
  merged: number; // nodes defined by more than one <Node> element
  conflicts: string[];
  leafParents: string[]; // non-node nodes that have children in the DDF
}

// ---- XML access (fast-xml-parser, preserveOrder) -------------------------------------------------

type XmlEl = Record<string, unknown> & { ':@'?: Record<string, string> };

function tagOf(el: XmlEl): string | undefined {
  return Object.keys(el).find((k) => k !== ':@');
}
function kids(el: XmlEl): XmlEl[] {
  const tag = tagOf(el);
  const value = tag === undefined ? undefined : el[tag];
  return Array.isArray(value) ? (value as XmlEl[]) : [];
}
function childEls(el: XmlEl, name?: string): XmlEl[] {
  return kids(el).filter((c) => {
    const tag = tagOf(c);
    return tag !== undefined && tag !== '#text' && tag !== '#comment' && (!name || tag === name);
  });
}
function child(el: XmlEl, name: string): XmlEl | undefined {
  return childEls(el, name)[0];
}
function text(el: XmlEl | undefined): string {
  if (!el) return '';
  let out = '';
  for (const c of kids(el)) {
    if (tagOf(c) === '#text') out += String(c['#text']);
    else if (tagOf(c) === '#cdata')
      out += kids(c)
        .map((t) => String(t['#text'] ?? ''))
        .join('');
  }
  return out;
}
/** The tag of the first element child: <DFFormat><chr/></DFFormat> -> "chr". */
function firstChildTag(el: XmlEl | undefined): string | undefined {
  return el ? tagOf(childEls(el)[0] ?? {}) : undefined;
}

/** Removes the DOCTYPE declaration (fast-xml-parser rejects DDF's internal subset, which holds
 * only a processing instruction). Fails on entity declarations, which would change the text. */
function stripDoctype(xml: string, file: string): string {
  const start = xml.indexOf('<!DOCTYPE');
  if (start < 0) return xml;
  let i = start + 9;
  let quote = '';
  let depth = 0;
  for (; i < xml.length; i++) {
    const c = xml[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '[') {
      depth++;
    } else if (c === ']') {
      depth--;
    } else if (c === '>' && depth === 0) {
      break;
    }
  }
  const decl = xml.slice(start, i + 1);
  if (/<!ENTITY/.test(decl)) throw new Error(`${file}: the DOCTYPE declares entities`);
  return xml.slice(0, start) + decl.replace(/[^\n]/g, ' ') + xml.slice(i + 1);
}

// ---- model ----------------------------------------------------------------------------------------

function listXmlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(relPath);
      else if (/\.xml$/i.test(entry.name)) out.push(relPath);
    }
  };
  walk('');
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A root's <Path>, canonical: "./Vendor/MSFT" -> "./Device/Vendor/MSFT", no trailing "/". */
export function canonicalRootPath(raw: string): string {
  let p = raw.trim().split('?')[0]!.replace(/\/+$/, '');
  if (p === './Vendor' || p.startsWith('./Vendor/')) p = `./Device${p.slice(1)}`;
  if (p.startsWith('./device/')) p = `./Device/${p.slice(9)}`;
  if (p.startsWith('./user/')) p = `./User/${p.slice(7)}`;
  const segments = p.split('/').filter((s) => s !== '.' && s !== '');
  return ['.', ...segments].join('/');
}

export function buildModel(ddfDir: string): DdfModel {
  const files = listXmlFiles(ddfDir);
  if (files.length === 0) throw new Error(`no DDF (*.xml) files in ${ddfDir}`);
  const hash = createHash('sha256');
  const byPath = new Map<string, DdfNode>();
  const conflicts: string[] = [];
  let merged = 0;
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    processEntities: true,
  });

  const setProp = <K extends keyof DdfNode>(
    node: DdfNode,
    key: K,
    value: DdfNode[K],
    src: string,
  ) => {
    const old = node[key];
    if (value === undefined) return;
    if (old !== undefined && JSON.stringify(old) !== JSON.stringify(value)) {
      conflicts.push(
        `${node.path}: ${String(key)} ${JSON.stringify(old)} -> ${JSON.stringify(value)} (${src})`,
      );
    }
    node[key] = value;
  };

  const addNode = (el: XmlEl, parentPath: string, src: string) => {
    const name = text(child(el, 'NodeName')).trim();
    const nodePath = `${parentPath}/${name === '' ? '<x>' : name}`;
    if (name.includes('/') || name === '<x>') throw new Error(`${src}: bad NodeName ${name}`);
    let node = byPath.get(nodePath);
    if (node) {
      merged++;
    } else {
      node = { path: nodePath, access: new Set(), allowedValues: [], sources: [] };
      byPath.set(nodePath, node);
    }
    node.sources.push(src);
    const props = child(el, 'DFProperties');
    if (props) {
      const access = child(props, 'AccessType');
      for (const a of access ? childEls(access) : []) {
        const verb = tagOf(a)!;
        if (!(ACCESS_ORDER as readonly string[]).includes(verb)) {
          throw new Error(`${src}: ${nodePath}: unknown AccessType ${verb}`);
        }
        node.access.add(verb);
      }
      setProp(node, 'format', firstChildTag(child(props, 'DFFormat')), src);
      setProp(node, 'occurrence', firstChildTag(child(props, 'Occurrence')), src);
      setProp(node, 'scope', firstChildTag(child(props, 'Scope')), src);
      setProp(node, 'caseSense', firstChildTag(child(props, 'CaseSense')), src);
      const dflt = child(props, 'DefaultValue');
      if (dflt) setProp(node, 'defaultValue', text(dflt), src);
      const dfType = child(props, 'DFType');
      const mime = dfType ? text(child(dfType, 'MIME')).trim() : '';
      if (mime) setProp(node, 'mime', mime, src);
      const allowed = child(props, 'MSFT:AllowedValues');
      if (allowed) {
        const type = allowed[':@']?.ValueType ?? '';
        const values: string[] = [];
        if (VALUED_TYPES.has(type)) {
          for (const v of childEls(allowed, 'MSFT:Value')) values.push(text(v).trim());
          for (const e of childEls(allowed, 'MSFT:Enum'))
            values.push(text(child(e, 'MSFT:Value')).trim());
        }
        const list = child(allowed, 'MSFT:List');
        setProp(node, 'allowedType', type, src);
        node.allowedValues = values.filter((v) => v !== '');
        node.listDelimiter = list ? (list[':@']?.Delimiter ?? '') : undefined;
      }
    }
    for (const c of childEls(el, 'Node')) addNode(c, nodePath, src);
  };

  for (const rel of files) {
    const bytes = fs.readFileSync(path.join(ddfDir, rel));
    hash.update(`${rel}\0${bytes.length}\0`);
    hash.update(bytes);
    let xml = bytes.toString('utf8');
    if (xml.charCodeAt(0) === 0xfeff) xml = xml.slice(1);
    xml = stripDoctype(xml, rel);
    const valid = XMLValidator.validate(xml);
    if (valid !== true) {
      throw new Error(`${rel}: not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
    }
    const doc = parser.parse(xml) as XmlEl[];
    const tree = doc.find((e) => tagOf(e) === 'MgmtTree');
    if (!tree) continue; // not a DDF
    for (const root of childEls(tree, 'Node')) {
      addNode(root, canonicalRootPath(text(child(root, 'Path')) || '.'), rel);
    }
  }

  const nodes = [...byPath.values()].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
  const problems: string[] = [];
  for (const n of nodes) {
    if (!n.format || !FORMATS.includes(n.format)) problems.push(`${n.path}: DFFormat ${n.format}`);
    if (!n.occurrence || !OCCURRENCES.includes(n.occurrence)) {
      problems.push(`${n.path}: Occurrence ${n.occurrence}`);
    }
    if (!n.scope || !SCOPES.includes(n.scope)) problems.push(`${n.path}: Scope ${n.scope}`);
    for (const v of [n.defaultValue ?? '', ...n.allowedValues]) {
      if (v.includes(VALUE_SEPARATOR)) problems.push(`${n.path}: a value holds U+001F`);
    }
  }
  if (problems.length > 0)
    throw new Error(`DDF facts the emulator cannot load:\n  ${problems.join('\n  ')}`);
  // Kept as the DDF says (the emulator accepts it): e.g. Defender/Health/DeviceControl is chr
  // and has a child State.
  const leafParents: string[] = [];
  for (const n of nodes) {
    const parent = byPath.get(n.path.slice(0, n.path.lastIndexOf('/')));
    if (parent && parent.format !== 'node') leafParents.push(`${parent.path} (${parent.format})`);
  }
  return {
    files,
    inputsSha256: hash.digest('hex'),
    nodes,
    merged,
    conflicts,
    leafParents: [...new Set(leafParents)],
  };
}

// ---- renderings -----------------------------------------------------------------------------------

const accessNames = (n: DdfNode) => ACCESS_ORDER.filter((a) => n.access.has(a));

function tsvEscape(s: string): string {
  return s.replace(
    /[\\\t\n\r]/g,
    (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!,
  );
}

export function renderTsv(model: DdfModel): string {
  const lines = [
    `# DDF node facts generated by scripts/gen-ddf.ts from ${model.files.length} Microsoft DDF files ` +
      `(inputs sha256 ${model.inputsSha256}); do not edit. access letters: A=Add C=Copy D=Delete ` +
      `E=Exec G=Get R=Replace; allowed_values: U+001F-separated; \\\\ \\t \\n \\r escaped`,
    TSV_COLUMNS.join('\t'),
  ];
  for (const n of model.nodes) {
    const fields = [
      n.path,
      n.format!,
      accessNames(n)
        .map((a) => ACCESS_LETTER[a])
        .join(''),
      n.occurrence!,
      n.scope!,
      n.caseSense ?? '',
      n.defaultValue ?? '',
      n.allowedType ?? '',
      n.allowedValues.join(VALUE_SEPARATOR),
      n.listDelimiter ?? '',
      n.mime ?? '',
    ];
    lines.push(fields.map(tsvEscape).join('\t'));
  }
  return `${lines.join('\n')}\n`;
}

/** A C++ string literal: ASCII printable as is (with \\ \" and \? escaped), the rest as octal. */
function cxxString(s: string | undefined): string {
  if (s === undefined) return 'nullptr';
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (c === '\\' || c === '"' || c === '?') out += `\\${c}`;
    else if (byte >= 0x20 && byte < 0x7f) out += c;
    else out += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}

export function renderInc(model: DdfModel): string {
  const lines = [
    '// Generated by scripts/gen-ddf.ts from Microsoft DDF files (node facts only); do not edit.',
    `// ${model.nodes.length} rows from ${model.files.length} files, inputs sha256 ${model.inputsSha256}.`,
    '// NodeFact: path, format, access, occurrence, scope, default_value, allowed, mime, case_sense,',
    '// list_delimiter. allowed = "ValueType:" + values separated by \\037.',
  ];
  for (const n of model.nodes) {
    const allowed =
      n.allowedType === undefined
        ? undefined
        : `${n.allowedType}:${n.allowedValues.join(VALUE_SEPARATOR)}`;
    const fields = [
      cxxString(n.path),
      cxxString(n.format),
      cxxString(accessNames(n).join(',')),
      cxxString(n.occurrence),
      cxxString(n.scope),
      cxxString(n.defaultValue),
      cxxString(allowed),
      cxxString(n.mime),
      cxxString(n.caseSense),
      cxxString(n.listDelimiter),
    ];
    lines.push(`{${fields.join(', ')}},`);
  }
  return `${lines.join('\n')}\n`;
}

export function render(model: DdfModel): Record<string, string> {
  return { [TSV_PATH]: renderTsv(model), [INC_PATH]: renderInc(model) };
}

// ---- CLI ------------------------------------------------------------------------------------------

export const REPO_ROOT = path.resolve(__dirname, '..');
export const DEFAULT_DDF_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'ddf');

function countBy(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

function main(argv: string[]): number {
  let ddfDir = DEFAULT_DDF_DIR;
  let outDir = REPO_ROOT;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--check') check = true;
    else if (arg === '--out' && argv[i + 1] !== undefined) outDir = path.resolve(argv[++i]!);
    else if (!arg.startsWith('-')) ddfDir = path.resolve(arg);
    else {
      console.error('usage: gen-ddf.ts [ddfDir] [--out dir] [--check]');
      return 2;
    }
  }
  const started = process.hrtime.bigint();
  const model = buildModel(ddfDir);
  const outputs = render(model);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const users = model.nodes.filter((n) => n.path.startsWith('./User/')).length;
  console.log(`gen-ddf: ${model.files.length} files from ${ddfDir} in ${ms.toFixed(0)} ms`);
  console.log(
    `gen-ddf: ${model.nodes.length} rows (${users} under ./User), ${model.merged} merged definitions`,
  );
  console.log(`gen-ddf: formats: ${countBy(model.nodes.map((n) => n.format!))}`);
  console.log(`gen-ddf: allowed: ${countBy(model.nodes.map((n) => n.allowedType ?? '(none)'))}`);
  for (const c of model.conflicts) console.warn(`gen-ddf: conflict: ${c}`);
  for (const p of model.leafParents) console.warn(`gen-ddf: note: a leaf with children: ${p}`);

  let stale = 0;
  for (const [rel, content] of Object.entries(outputs)) {
    const file = path.join(outDir, rel);
    const size = `${(Buffer.byteLength(content) / 1024).toFixed(0)} KiB`;
    if (check) {
      const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
      if (current !== content) {
        stale++;
        console.error(`gen-ddf: ${rel} is ${current === undefined ? 'missing' : 'out of date'}`);
      } else {
        console.log(`gen-ddf: ${rel} up to date (${size})`);
      }
    } else {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      console.log(`gen-ddf: wrote ${path.relative(process.cwd(), file) || file} (${size})`);
    }
  }
  if (stale > 0) console.error('gen-ddf: run `npm run gen:ddf` and commit the result');
  return stale > 0 ? 1 : 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(`gen-ddf: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
