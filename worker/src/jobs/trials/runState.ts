/** A sweep's state is the replay of its journal plus who holds its lock. */
import type { TrialResult } from '../../contract/trialsProtocol.js';
import { replayLifecycle, type Lifecycle } from '../../runs/lifecycle.js';
import type { JournalRecord } from './records.js';

type Record<T extends JournalRecord['type']> = Extract<JournalRecord, { type: T }>;

export interface SweepState extends Lifecycle {
  /** Every finished trial by number (complete, pruned or failed), in the order the journal has them. */
  trials: Map<number, TrialResult>;
  /** How many of them are complete (what the sweep counts toward its total). */
  complete: number;
  best: TrialResult | null;
  /** The last session's sweep_opened, and the concurrency in force after it. */
  opened: Record<'sweep_opened'> | null;
  concurrency: number | null;
  completed: Record<'run_completed'> | undefined;
}

/** The better of two complete results: the higher value, the earlier trial on a tie. */
export function better(a: TrialResult | null, b: TrialResult): TrialResult {
  if (b.state !== 'complete' || b.value === null) return a ?? b;
  if (a === null || a.value === null || a.state !== 'complete') return b;
  return b.value > a.value || (b.value === a.value && b.number < a.number) ? b : a;
}

export function replay(records: readonly JournalRecord[], ownerAlive: boolean): SweepState {
  const lifecycle = replayLifecycle(records, ownerAlive);
  const trials = new Map<number, TrialResult>();
  let opened: SweepState['opened'] = null;
  let concurrency: number | null = null;
  let completed: SweepState['completed'];
  for (const record of records) {
    switch (record.type) {
      case 'trial_done':
        // The first record of a number is the one in force: a trial is never finished twice.
        if (!trials.has(record.result.number)) trials.set(record.result.number, record.result);
        break;
      case 'sweep_opened':
        opened = record;
        concurrency = record.concurrency;
        break;
      case 'concurrency':
        concurrency = record.concurrency;
        break;
      case 'session_started':
        completed = undefined;
        break;
      case 'run_completed':
        completed = record;
        break;
      default:
        break;
    }
  }
  let best: TrialResult | null = null;
  let complete = 0;
  for (const result of trials.values()) {
    if (result.state !== 'complete') continue;
    complete += 1;
    best = better(best, result);
  }
  return { ...lifecycle, trials, complete, best: best?.state === 'complete' ? best : null, opened, concurrency, completed };
}

/** The trial_done records in force (the first per number), in journal order: what trials.jsonl holds. */
export function finishedTrials(records: readonly JournalRecord[]): TrialResult[] {
  return [...replay(records, false).trials.values()];
}
