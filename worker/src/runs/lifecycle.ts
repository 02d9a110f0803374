/**
 * A run's lifecycle, the same for every kind: the journal's session records say
 * where it stands, and who holds the lock says whether "running" is still true.
 * Each kind's replay adds its own units on top (jobs/<kind>/runState.ts).
 */
import type { BaseRecord } from './journal.js';

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
