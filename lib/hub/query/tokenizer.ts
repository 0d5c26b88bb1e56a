/**
 * Tokenizer of the IoT Hub query language subset (learn.microsoft.com `iot-hub-devguide-query-language`
 * "Expressions and conditions"): identifiers (letters, digits, `_`, `$`), string literals in single
 * or double quotes with the escapes IoT Hub documents (`\'`, `\"`, `\\`, `\uXXXX`), decimal and
 * hexadecimal (`0x..`) numbers, comparison operators and punctuation.
 */
import { QueryError, expected } from './errors';

export type TokenKind = 'ident' | 'string' | 'number' | 'op' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Identifier text, decoded string, operator or punctuation; '' for eof. */
  text: string;
  /** Numeric value of a number token. */
  num?: number;
  /** Offset of the token's first character. */
  pos: number;
}

const OPERATORS = ['<=', '>=', '<>', '!=', '=', '<', '>'];
const PUNCT = '(),.*[]-';

const isIdentStart = (c: string): boolean => /[A-Za-z_$]/.test(c);
const isIdentPart = (c: string): boolean => /[A-Za-z0-9_$]/.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (isIdentStart(c)) {
      while (i < src.length && isIdentPart(src[i]!)) i++;
      out.push({ kind: 'ident', text: src.slice(start, i), pos: start });
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(src[i + 1] ?? ''))) {
      const t = readNumber(src, i);
      out.push({ kind: 'number', text: src.slice(start, t.end), num: t.value, pos: start });
      i = t.end;
      continue;
    }
    if (c === "'" || c === '"') {
      const t = readString(src, i);
      out.push({ kind: 'string', text: t.value, pos: start });
      i = t.end;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op) {
      out.push({ kind: 'op', text: op, pos: start });
      i += op.length;
      continue;
    }
    if (PUNCT.includes(c)) {
      out.push({ kind: 'punct', text: c, pos: start });
      i++;
      continue;
    }
    throw new QueryError(`Query syntax error: unexpected character ${JSON.stringify(c)}`, start);
  }
  out.push({ kind: 'eof', text: '', pos: src.length });
  return out;
}

function readNumber(src: string, start: number): { value: number; end: number } {
  const hex = /^0[xX]([0-9A-Fa-f]+)/.exec(src.slice(start));
  let end: number;
  let value: number;
  if (hex) {
    end = start + hex[0].length;
    value = parseInt(hex[1]!, 16);
  } else {
    const m = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(start))!;
    end = start + m[0].length;
    value = Number(m[0]);
  }
  if (end < src.length && isIdentPart(src[end]!)) {
    throw expected('a number', JSON.stringify(src.slice(start, end + 1)), start);
  }
  return { value, end };
}

function readString(src: string, start: number): { value: string; end: number } {
  const quote = src[start]!;
  let value = '';
  let i = start + 1;
  for (;;) {
    if (i >= src.length) {
      throw new QueryError('Query syntax error: unterminated string literal', start);
    }
    const c = src[i]!;
    if (c === quote) return { value, end: i + 1 };
    if (c !== '\\') {
      value += c;
      i++;
      continue;
    }
    const e = src[i + 1];
    if (e === "'" || e === '"' || e === '\\') {
      value += e;
      i += 2;
    } else if (e === 'u' && /^[0-9A-Fa-f]{4}$/.test(src.slice(i + 2, i + 6))) {
      value += String.fromCharCode(parseInt(src.slice(i + 2, i + 6), 16));
      i += 6;
    } else {
      throw expected(
        'an escape sequence (\\\', \\", \\\\ or \\uXXXX)',
        JSON.stringify(src.slice(i, i + 2)),
        i,
      );
    }
  }
}
