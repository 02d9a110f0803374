/** A sweep's state is the replay of its journal plus who holds its lock. */
import type { TrialKey, TrialResult, TrialsFamily } from '../../contract/trialsProtocol.js';
import { replayLifecycle, type Lifecycle } from '../../runs/lifecycle.js';
import type { JournalRecord } from './records.js';

type Record<T extends JournalRecord['type']> = Extract<JournalRecord, { type: T }>;

/** A finished trial's identity as one string: numbers repeat across families (each has its own study). */
export const keyOf = (trial: TrialKey): string => `${trial.family}:${trial.number}`;

export interface SweepState extends Lifecycle {
  /** Every finished trial by key (keyOf: family and number; complete, pruned or failed), in the order the journal has them. */
  trials: Map<string, TrialResult>;
  /** How many of them are complete (what the sweep counts toward its total), over all families. */
  complete: number;
  /** Complete trials by family. */
  completeBy: Map<TrialsFamily, number>;
  best: TrialResult | null;
  /** The last sweep_opened (of the family opened last), and the concurrency in force after it. */
  opened: Record<'sweep_opened'> | null;
  /** The last sweep_opened of each family. */
  openedBy: Map<TrialsFamily, Record<'sweep_opened'>>;
  concurrency: number | null;
  completed: Record<'run_completed'> | undefined;
}

/** The better of two complete results: the higher value, the earlier trial on a tie (across families: the one held). */
export function better(a: TrialResult | null, b: TrialResult): TrialResult {
  if (b.state !== 'complete' || b.value === null) return a ?? b;
  if (a === null || a.value === null || a.state !== 'complete') return b;
  return b.value > a.value || (b.value === a.value && b.family === a.family && b.number < a.number) ? b : a;
}

export function replay(records: readonly JournalRecord[], ownerAlive: boolean): SweepState {
  const lifecycle = replayLifecycle(records, ownerAlive);
  const trials = new Map<string, TrialResult>();
  let opened: SweepState['opened'] = null;
  const openedBy: SweepState['openedBy'] = new Map();
  let concurrency: number | null = null;
  let completed: SweepState['completed'];
  for (const record of records) {
    switch (record.type) {
      case 'trial_done': {
        // The first record of a key is the one in force: a trial is never finished twice.
        const key = keyOf(record.result);
        if (!trials.has(key)) trials.set(key, record.result);
        break;
      }
      case 'sweep_opened':
        opened = record;
        openedBy.set(record.family, record);
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
  const completeBy = new Map<TrialsFamily, number>();
  for (const result of trials.values()) {
    if (result.state !== 'complete') continue;
    complete += 1;
    completeBy.set(result.family, (completeBy.get(result.family) ?? 0) + 1);
    best = better(best, result);
  }
  return { ...lifecycle, trials, complete, completeBy, best: best?.state === 'complete' ? best : null, opened, openedBy, concurrency, completed };
}

/** The trial_done records in force (the first per key), in journal order: what trials.jsonl holds. */
export function finishedTrials(records: readonly JournalRecord[]): TrialResult[] {
  return [...replay(records, false).trials.values()];
}
