/**
 * The access token of `headroom serve`. On a fixed port (--port N) it is kept in the per-user
 * config folder, so a tab opened before a restart (same URL, same token) reconnects by itself;
 * --new-token replaces it (tabs opened before are refused). On a random port (the default, 0)
 * every start gets a fresh one and nothing is written: the URL changes with the port anyway, so
 * an old tab cannot find the server and a kept token would only be a secret on disk for nothing.
 *
 * A kept file is trusted only if it is a regular file (not a link) of this user, readable by no
 * one else, holding a token of the form we write; anything else is replaced by a new token (and
 * said so), since a token another user could read or plant lets them drive this user's GPU jobs.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HeadroomError } from '../errors.js';

/** 32 random bytes, base64url: 43 characters. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const POSIX = process.platform !== 'win32';

export const newToken = (): string => randomBytes(32).toString('base64url');

/** Headroom's per-user config folder: HEADROOM_CONFIG_DIR, else the platform's. */
export function configDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.HEADROOM_CONFIG_DIR) return env.HEADROOM_CONFIG_DIR;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Headroom');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Headroom');
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'headroom');
}

export interface ServeToken {
  token: string;
  /** Where it is kept; null on a random port. */
  file: string | null;
}

/** Why the kept token in `file` cannot be used, or null when it can. */
function distrust(file: string): string | null {
  let stat;
  try {
    stat = lstatSync(file);
  } catch {
    return 'none kept yet';
  }
  if (stat.isDirectory()) throw new HeadroomError('usage', `${file} is a folder where headroom serve keeps its token: move it away, or set HEADROOM_CONFIG_DIR`);
  if (!stat.isFile()) return 'it is not a regular file';
  if (POSIX && stat.uid !== process.getuid!()) return `it belongs to another user (uid ${stat.uid})`;
  if (POSIX && (stat.mode & 0o077) !== 0) return `others may read it (mode ${(stat.mode & 0o777).toString(8)}, not 600)`;
  return TOKEN.test(readFileSync(file, 'utf8').trim()) ? null : 'it holds no token of the form Headroom writes';
}

/** Writes the token readable by this user only, replacing what was there in one rename. */
function keep(file: string, token: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  rmSync(temp, { force: true });
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

export function serveToken(options: { port: number; newToken: boolean; dir?: string; log: (line: string) => void }): ServeToken {
  if (options.port === 0) return { token: newToken(), file: null };
  const dir = options.dir ?? configDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 }); // the file's own mode (600) is what protects it
  const file = join(dir, `serve-token-${options.port}`);
  const why = options.newToken ? 'you asked for a new one (--new-token)' : distrust(file);
  if (why === null) return { token: readFileSync(file, 'utf8').trim(), file };
  if (why !== 'none kept yet') options.log(`new access token for port ${options.port}: ${why}; tabs opened before need the new URL`);
  const token = newToken();
  keep(file, token); // the rename replaces a link itself, never writes through it
  return { token, file };
}
