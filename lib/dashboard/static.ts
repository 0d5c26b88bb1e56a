/**
 * The UI's static files: `ui/dashboard/` under the package root (as `native/` is found), with
 * content types by extension; paths are decoded, normalized and must stay inside the folder
 * (no `..`, no NUL, no hidden files, no symlink out). `/` is `index.html`.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../native/package-root';
import { ApiError } from './errors';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export function defaultUiRoot(): string {
  return path.join(packageRoot(), 'ui', 'dashboard');
}

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

/** The file for a URL path; 404 when missing or outside the root, 400 for a malformed path. */
export async function staticFile(root: string, urlPath: string): Promise<StaticFile> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    throw new ApiError(400, 'BadRequest', 'malformed path');
  }
  const rel = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  const parts = rel.split(/[\\/]/);
  if (
    decoded.includes('\0') ||
    parts.some((p) => p === '..' || p === '.' || p.startsWith('.') || p === '')
  ) {
    throw new ApiError(404, 'NotFound', 'not found');
  }
  const type = TYPES[path.extname(rel).toLowerCase()];
  if (!type) throw new ApiError(404, 'NotFound', 'not found');
  const base = await fsp.realpath(root).catch(() => {
    throw new ApiError(404, 'NotFound', 'the dashboard UI is not installed (ui/dashboard)');
  });
  const file = await fsp.realpath(path.join(base, ...parts)).catch(() => undefined);
  if (!file || !file.startsWith(base + path.sep)) throw new ApiError(404, 'NotFound', 'not found');
  const stat = await fsp.stat(file);
  if (!stat.isFile()) throw new ApiError(404, 'NotFound', 'not found');
  return { body: await fsp.readFile(file), contentType: type };
}
