/** How the runs list reads a run, whatever its kind: the generic fields, plus the kind's own words when it has a slice. */
import type { RunInfo, RunState } from '../../../worker/src/contract/api.ts';
import { kindStore } from './kinds.ts';
import type { KindStore, RunWords } from './types.ts';

export interface RunRow {
  run: RunInfo;
  /** True when this panel can show the run: a kind the Engine knows, that has a slice here, whose RunInfo parses. */
  viewable: boolean;
  /** The kind column: the kind's name, or what is wrong with it ("unknown kind trials"). */
  kind: string;
  details: string;
  /** "3/10 chunks · 600 docs". */
  progress: string;
  percent: number;
  resumable: boolean;
}

/** States a stopped run can be resumed from ("Resume run"). */
export const RESUMABLE: ReadonlySet<RunState> = new Set<RunState>(['interrupted', 'failed']);
/** States of a run that is being worked on (Pause, Stop). */
export const LIVE: ReadonlySet<RunState> = new Set<RunState>(['running', 'paused']);

/** What the list says about a run of a kind it cannot show. */
function unviewable(run: RunInfo, store: KindStore | undefined): { kind: string; words: RunWords } {
  const kind = !run.known || !store ? `unknown kind ${run.kind}` : `${run.kind} (unreadable)`;
  const why = !run.known ? 'this Headroom does not know this kind of job (a newer version made it?)' : !store ? 'this panel has no view for this kind of job' : 'its run info does not fit its kind';
  return { kind, words: { details: run.errors[0] ?? why, progressNote: null } };
}

export function runRow(run: RunInfo, find: (kind: string) => KindStore | undefined = kindStore): RunRow {
  const store = find(run.kind);
  const words = run.known ? (store?.describe(run) ?? null) : null;
  const shown = words ? { kind: run.kind, words } : unviewable(run, store);
  const units = `${run.unitsDone}/${run.unitsTotal} ${run.unit}`;
  return {
    run,
    viewable: words !== null,
    kind: shown.kind,
    details: shown.words.details,
    progress: shown.words.progressNote ? `${units} · ${shown.words.progressNote}` : units,
    percent: run.unitsTotal ? (100 * run.unitsDone) / run.unitsTotal : 0,
    resumable: words !== null && RESUMABLE.has(run.status),
  };
}
