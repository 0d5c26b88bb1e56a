/**
 * A small strict XML reader for documents the client is handed (Wi-Fi WLAN profiles): checks
 * well-formedness and returns the element tree. Deliberately narrow: no DOCTYPE/DTD, so no entity
 * beyond the five predefined ones (`&lt; &gt; &amp; &quot; &apos;`) and numeric character
 * references, no external anything, no processing instruction other than the XML declaration.
 * Anything else is an `InvalidValueError` saying where.
 */
import { InvalidValueError } from '../errors';

export interface XmlElement {
  /** The qualified name as written (`prefix:local` or `local`). */
  name: string;
  /** The name without its prefix. */
  local: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element. */
  text: string;
}

const NAME_START = /[A-Za-z_:\u00C0-\uFFFF]/;
const NAME = /[A-Za-z0-9_:.\-\u00B7\u00C0-\uFFFF]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const MAX_DEPTH = 64;

/** A code point allowed in XML 1.0 documents. */
function allowedChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

class Reader {
  pos = 0;
  constructor(readonly src: string) {}

  fail(what: string): never {
    const before = this.src.slice(0, this.pos);
    const line = before.split('\n').length;
    const col = this.pos - before.lastIndexOf('\n');
    throw new InvalidValueError(`not well-formed XML (line ${line}, column ${col}): ${what}`);
  }
  starts(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }
  expect(s: string): void {
    if (!this.starts(s)) this.fail(`expected ${JSON.stringify(s)}`);
    this.pos += s.length;
  }
  skipSpace(): boolean {
    const start = this.pos;
    while (this.pos < this.src.length && ' \t\r\n'.includes(this.src[this.pos]!)) this.pos++;
    return this.pos > start;
  }
  name(): string {
    const c = this.src[this.pos];
    if (c === undefined || !NAME_START.test(c)) this.fail('expected a name');
    NAME.lastIndex = this.pos + 1;
    const m = NAME.exec(this.src);
    const end = this.pos + 1 + (m ? m[0].length : 0);
    const n = this.src.slice(this.pos, end);
    this.pos = end;
    return n;
  }
  /** Character data up to `stop` with references decoded. */
  chars(stop: string): string {
    let out = '';
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (stop.includes(c)) return out;
      if (c === '&') {
        out += this.reference();
        continue;
      }
      if (c === '<') this.fail('"<" in character data');
      if (c === ']' && this.starts(']]>')) this.fail('"]]>" in character data');
      out += c;
      this.pos++;
    }
    return out;
  }
  reference(): string {
    this.expect('&');
    const end = this.src.indexOf(';', this.pos);
    if (end === -1 || end - this.pos > 12) this.fail('unterminated reference');
    const ref = this.src.slice(this.pos, end);
    this.pos = end + 1;
    let cp: number;
    if (/^#[0-9]+$/.test(ref)) cp = Number.parseInt(ref.slice(1), 10);
    else if (/^#x[0-9A-Fa-f]+$/.test(ref)) cp = Number.parseInt(ref.slice(2), 16);
    else {
      const v = PREDEFINED[ref];
      if (v === undefined)
        this.fail(`entity "&${ref};" (only the five predefined ones are allowed)`);
      return v;
    }
    if (!allowedChar(cp)) this.fail(`character reference "&${ref};" to a character XML forbids`);
    return String.fromCodePoint(cp);
  }
  /** Comments and whitespace (and, at `prolog`, nothing else) between markup. */
  misc(): void {
    for (;;) {
      this.skipSpace();
      if (this.starts('<!--')) this.comment();
      else if (this.starts('<!')) this.fail('DOCTYPE and other declarations are not allowed');
      else if (this.starts('<?')) this.fail('processing instructions are not allowed');
      else return;
    }
  }
  comment(): void {
    this.expect('<!--');
    const end = this.src.indexOf('--', this.pos);
    if (end === -1) this.fail('unterminated comment');
    if (this.src[end + 2] !== '>') {
      this.pos = end;
      this.fail('"--" inside a comment');
    }
    this.pos = end + 3;
  }
  element(depth: number): XmlElement {
    if (depth > MAX_DEPTH) this.fail(`elements nested deeper than ${MAX_DEPTH}`);
    this.expect('<');
    const name = this.name();
    const attributes: Record<string, string> = {};
    for (;;) {
      const spaced = this.skipSpace();
      if (this.starts('/>') || this.starts('>')) break;
      if (!spaced) this.fail('expected whitespace before an attribute');
      const attr = this.name();
      this.skipSpace();
      this.expect('=');
      this.skipSpace();
      const q = this.src[this.pos];
      if (q !== '"' && q !== "'") this.fail('expected a quoted attribute value');
      this.pos++;
      const value = this.chars(q);
      this.expect(q);
      if (Object.hasOwn(attributes, attr)) this.fail(`attribute "${attr}" repeated`);
      attributes[attr] = value;
    }
    const el: XmlElement = {
      name,
      local: name.includes(':') ? name.slice(name.indexOf(':') + 1) : name,
      attributes,
      children: [],
      text: '',
    };
    if (this.starts('/>')) {
      this.pos += 2;
      return el;
    }
    this.expect('>');
    for (;;) {
      if (this.pos >= this.src.length) this.fail(`element <${name}> is not closed`);
      if (this.starts('</')) {
        this.pos += 2;
        const closing = this.name();
        if (closing !== name) this.fail(`</${closing}> closes <${name}>`);
        this.skipSpace();
        this.expect('>');
        return el;
      }
      if (this.starts('<!--')) this.comment();
      else if (this.starts('<![CDATA[')) {
        this.pos += 9;
        const end = this.src.indexOf(']]>', this.pos);
        if (end === -1) this.fail('unterminated CDATA section');
        el.text += this.src.slice(this.pos, end);
        this.pos = end + 3;
      } else if (this.starts('<!')) this.fail('declarations are not allowed inside elements');
      else if (this.starts('<?')) this.fail('processing instructions are not allowed');
      else if (this.starts('<')) el.children.push(this.element(depth + 1));
      else el.text += this.chars('<');
    }
  }
}

/**
 * Parses `source` strictly (see the module comment) and returns the root element. Throws
 * `InvalidValueError` naming the first problem and its line/column.
 */
export function parseStrictXml(source: string): XmlElement {
  for (const ch of source) {
    const cp = ch.codePointAt(0)!;
    if (!allowedChar(cp)) {
      throw new InvalidValueError(
        `not well-formed XML: character U+${cp.toString(16).toUpperCase().padStart(4, '0')} is not allowed`,
      );
    }
  }
  const r = new Reader(source.startsWith('\uFEFF') ? source.slice(1) : source);
  if (r.starts('<?xml') && /\s/.test(r.src[5] ?? '')) {
    const end = r.src.indexOf('?>');
    if (end === -1) r.fail('unterminated XML declaration');
    const decl = r.src.slice(5, end);
    if (
      !/^\s+version\s*=\s*(["'])1\.[0-9]\1(\s+encoding\s*=\s*(["'])[A-Za-z][A-Za-z0-9._-]*\3)?(\s+standalone\s*=\s*(["'])(yes|no)\5)?\s*$/.test(
        decl,
      )
    ) {
      r.fail('malformed XML declaration');
    }
    r.pos = end + 2;
  }
  r.misc();
  if (!r.starts('<')) r.fail('expected the root element');
  const root = r.element(0);
  r.misc();
  if (r.pos !== r.src.length) r.fail('content after the root element');
  return root;
}

/** The first child element with local name `local`. */
export function child(el: XmlElement | undefined, local: string): XmlElement | undefined {
  return el?.children.find((c) => c.local === local);
}
