import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { redact } from './redact.js';

/** Named errors that carry what the user must know; the CLI maps `kind` to its exit code. */
export type ErrorKind = 'usage' | 'bad_input' | 'busy' | 'interrupted' | 'internal';

/** The only exit codes of the CLI: 0 done, 1 internal, 2 bad input or usage, 3 interrupted (resumable). */
export const EXIT_CODES: Record<ErrorKind | 'done', number> = {
  done: 0,
  internal: 1,
  usage: 2,
  bad_input: 2,
  busy: 2,
  interrupted: 3,
};

export class HeadroomError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(redact(message), options); // messages reach users, logs and the journal
    this.name = 'HeadroomError';
    this.kind = kind;
  }
}

/** Disk full is not a failure of the run: it stops, resumable once there is room (exit 3). */
export function noSpace(dir: string): HeadroomError {
  const next = existsSync(join(dir, 'run.json')) ? `\`headroom resume ${dir}\`` : 'run the command again';
  return new HeadroomError('interrupted', `no space left in ${dir}: free space, then ${next}`);
}

/** A folder the run must write in but cannot (exit 2, naming it). */
export function notWritable(dir: string, code: string): HeadroomError {
  const why = code === 'EROFS' ? 'it is on a read-only file system' : 'permission denied';
  const next = existsSync(join(dir, 'run.json')) ? `, then \`headroom resume ${dir}\`` : '';
  return new HeadroomError('bad_input', `cannot write in ${dir}: ${why} (${code}); make it writable (or copy the run folder to a writable disk)${next}`);
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);
const NOT_WRITABLE = new Set(['EROFS', 'EACCES', 'EPERM']);
/** The Python runtime reports an OSError as text, e.g. `OSError: [Errno 28] No space left on device`. */
const WORKER_NO_SPACE = /\[Errno (?:28|122)\]|No space left on device|Disk quota exceeded/;

function errnoOf(error: unknown): { code: string; path: string | undefined } | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, path } = error as NodeJS.ErrnoException;
  if (typeof code === 'string') return { code, path };
  if (error instanceof HeadroomError && error.kind === 'internal') {
    if (WORKER_NO_SPACE.test(error.message)) return { code: 'ENOSPC', path: undefined };
    return errnoOf(error.cause);
  }
  return undefined;
}

/**
 * Any failure as a HeadroomError. File-system faults the user can act on get their
 * own message and kind: disk full (exit 3, resumable) and a folder that cannot be
 * written (exit 2); `runDir` is the run folder they concern, when there is one.
 */
export function asHeadroomError(error: unknown, runDir?: string): HeadroomError {
  const errno = errnoOf(error);
  if (errno && NO_SPACE.has(errno.code)) return noSpace(runDir ?? (errno.path ? dirname(errno.path) : '.'));
  if (errno && NOT_WRITABLE.has(errno.code)) {
    if (runDir !== undefined || errno.path === undefined) return notWritable(runDir ?? '.', errno.code);
    return new HeadroomError('bad_input', `cannot ${errno.code === 'EROFS' ? 'write' : 'access'} ${errno.path}: ${errno.code === 'EROFS' ? 'read-only file system' : 'permission denied'} (${errno.code})`);
  }
  if (error instanceof HeadroomError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new HeadroomError('internal', `internal error: ${message}`, { cause: error });
}
