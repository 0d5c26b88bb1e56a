/**
 * CSP URI rules, checked before anything reaches native code. A URI names one node of the OMA-DM
 * tree: it starts with a known root, has no empty, '.' or '..' segment, no control characters,
 * well-formed %-escapes, and at most one query, `?list=Struct` or `?list=StructData`.
 */
import { InvalidUriError } from '../errors';

/** Roots a CSP URI may start with. `./Vendor/MSFT` is Windows' alias of `./Device/Vendor/MSFT`. */
export const CSP_ROOTS = ['./Device/', './User/', './Vendor/', './DevDetail', './DevInfo'] as const;

export const MAX_URI_LENGTH = 4096;

const LIST_QUERIES = new Set(['list=Struct', 'list=StructData']);
// C0 controls, DEL and C1 controls; also the XML-1.0-illegal surrogates and non-characters.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff\ufffe\uffff]/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

export interface ParsedUri {
  /** The node path, without the query. */
  path: string;
  /** `Struct` or `StructData` for a subtree listing. */
  list?: 'Struct' | 'StructData';
}

/** Validates `uri`; returns its parts or throws `InvalidUriError` saying what is wrong. */
export function parseCspUri(uri: unknown): ParsedUri {
  if (typeof uri !== 'string') throw new InvalidUriError(uri, 'a CSP URI must be a string');
  if (uri.length === 0) throw new InvalidUriError(uri, 'it is empty');
  if (uri.length > MAX_URI_LENGTH) {
    throw new InvalidUriError(uri, `it is longer than ${MAX_URI_LENGTH} characters`);
  }
  if (FORBIDDEN_CHARS.test(uri)) throw new InvalidUriError(uri, 'it contains a control character');
  const q = uri.indexOf('?');
  const path = q === -1 ? uri : uri.slice(0, q);
  const query = q === -1 ? undefined : uri.slice(q + 1);
  if (!CSP_ROOTS.some((root) => path === root.replace(/\/$/, '') || path.startsWith(root))) {
    throw new InvalidUriError(uri, `it must start with one of ${CSP_ROOTS.join(', ')}`);
  }
  if (path.endsWith('/')) throw new InvalidUriError(uri, 'it ends with "/"');
  const segments = path.split('/').slice(1);
  for (const segment of segments) {
    if (segment === '') throw new InvalidUriError(uri, 'it has an empty segment ("//")');
    if (segment === '.' || segment === '..') {
      throw new InvalidUriError(uri, `it has a "${segment}" segment`);
    }
    if (/[\s#]/.test(segment)) {
      throw new InvalidUriError(uri, 'whitespace and "#" must be %-escaped (see cspUri())');
    }
  }
  if (BAD_ESCAPE.test(path)) throw new InvalidUriError(uri, 'it has a malformed %-escape');
  if (query === undefined) return { path };
  if (!LIST_QUERIES.has(query)) {
    throw new InvalidUriError(
      uri,
      'the only queries allowed are ?list=Struct and ?list=StructData',
    );
  }
  return { path, list: query === 'list=Struct' ? 'Struct' : 'StructData' };
}

/** Throws unless `uri` is a valid CSP URI; returns it unchanged. */
export function assertCspUri(uri: unknown): string {
  parseCspUri(uri);
  return uri as string;
}

/**
 * Joins a base URI and raw segment names, %-escaping each segment (UTF-8, then every byte that
 * is not alphanumeric or one of `-._~`), as OMA-DM requires for names such as Wi-Fi profiles.
 */
export function cspUri(base: string, ...segments: string[]): string {
  const escaped = segments.map((s) => {
    if (s === '' || s === '.' || s === '..') throw new InvalidUriError(s, 'not a segment name');
    return encodeURIComponent(s).replace(
      /[!'()*]/g,
      (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
    );
  });
  return assertCspUri([base, ...escaped].join('/'));
}
