/**
 * A run's lifecycle, the same for every kind: the journal's session records say
 * where it stands, and who holds the lock says whether "running" is still true.
 * Each kind's replay adds its own units on top (jobs/<kind>/runState.ts).
 */
import { z } from 'zod';
import type { HeadroomError } from '../errors.js';
import type { BaseRecord, NewRecord } from './journal.js';

export type RunStatus = 'created' | 'running' | 'interrupted' | 'failed' | 'done';

/** The lifecycle records every kind journals (their other fields are the kind's). */
export interface Lifecycle {
  status: RunStatus;
  /** Why each failed session failed, oldest first. */
  errors: string[];
  /** The reason of the last interruption, if the run was ever interrupted. */
  lastInterruption: string | null;
}

export function replayLifecycle(records: readonly BaseRecord[], ownerAlive: boolean): Lifecycle {
  let status: RunStatus = 'created';
  const errors: string[] = [];
  let lastInterruption: string | null = null;
  for (const record of records) {
    switch (record.type) {
      case 'session_started':
        status = 'running';
        break;
      case 'run_interrupted':
        status = 'interrupted';
        lastInterruption = String((record as BaseRecord & { reason?: unknown }).reason ?? '');
        break;
      case 'run_failed':
        status = 'failed';
        errors.push(String((record as BaseRecord & { message?: unknown }).message ?? ''));
        break;
      case 'run_completed':
        status = 'done';
        break;
      default:
        break;
    }
  }
  // A session that ended without a word (kill -9, power loss) was interrupted.
  if (status === 'running' && !ownerAlive) status = 'interrupted';
  return { status, errors, lastInterruption };
}

/** The records that end a session cut short, the same in every kind's journal (its schema lists these two). */
export const RunInterruptedRecord = z.object({ type: z.literal('run_interrupted'), at: z.string(), reason: z.string() });
export const RunFailedRecord = z.object({ type: z.literal('run_failed'), at: z.string(), kind: z.string(), message: z.string() });
type SessionEnd = NewRecord<z.infer<typeof RunInterruptedRecord> | z.infer<typeof RunFailedRecord>>;

/**
 * Journals how a session that threw ended: run_interrupted for an interruption (resumable),
 * run_failed with the error's kind for anything else. Nothing when there is no journal yet.
 */
export function journalFailure(journal: { append(record: SessionEnd): unknown } | undefined, failure: HeadroomError): void {
  if (!journal) return;
  try {
    journal.append(failure.kind === 'interrupted' ? { type: 'run_interrupted', reason: failure.message } : { type: 'run_failed', kind: failure.kind, message: failure.message });
  } catch {
    /* a full disk may refuse even this line; the run reads as interrupted without it */
  }
}
