import { redact } from './redact.js';

/** Named errors that carry what the user must know; the CLI maps `kind` to its exit code. */
export type ErrorKind = 'usage' | 'bad_input' | 'busy' | 'interrupted' | 'internal';

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

export function asHeadroomError(error: unknown): HeadroomError {
  if (error instanceof HeadroomError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new HeadroomError('internal', `internal error: ${message}`, { cause: error });
}
