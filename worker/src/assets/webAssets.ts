import { existsSync, statSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';

// The built panel (renderer/dist) as both shells serve it: `headroom serve` over HTTP and
// the Electron app over its app:// scheme. A neutral module so neither shell imports the other.

/** What both shells of the panel (headroom serve, the Electron app) send with the built UI. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** The file under `root` a URL path names ('/' is index.html), or null: outside root, missing, or malformed. */
export function assetFile(root: string, pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null; // a malformed %-escape names nothing
  }
  const file = join(root, normalize(decoded === '/' ? '/index.html' : decoded).replace(/^([/\\])+/, ''));
  return file.startsWith(root + sep) && existsSync(file) && statSync(file).isFile() ? file : null;
}
