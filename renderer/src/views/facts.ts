/**
 * What the run page and the runs list say about time and progress, whatever the kind:
 * the phase line, elapsed, ETA, from RunInfoBase's phase, progressLine, elapsedMs,
 * sessionStartedAt and etaMs.
 */
import type { RunInfo } from '../../../worker/src/contract/api.ts';

export interface RunTiming {
  /** Seconds of work so far: the sessions that ended plus the one running now. */
  elapsedS: number;
  /** Seconds left at this session's rate; null when not running, paused or unknown. */
  etaS: number | null;
}

const str = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);

/** A field of a run's info, read as unknown: the contract's extra fields may be missing on an older server. */
export function field(run: object, name: string): unknown {
  return (run as Record<string, unknown>)[name];
}

/** The one line on what the run is doing now ("encoding chunk 6 of 16"); the status when the worker says nothing. */
export const phaseOf = (run: RunInfo): string => run.phase || run.status;

/** Progress in the user's words ("chunk 6 of 16 · 12,000/30,000 documents"); falls back to the units. */
export const progressLineOf = (run: RunInfo): string => run.progressLine || `${run.unitsDone}/${run.unitsTotal} ${run.unit}`;

/** The units the work is counted in, for a tooltip ("10/16 (model, chunk) units"). */
export const unitsLine = (run: RunInfo): string => `${run.unitsDone}/${run.unitsTotal} ${run.unit === 'chunks' ? '(model, chunk) units' : run.unit}`;

/** The run's given name, when it has one (read as unknown: older runs have none). */
export const nameOf = (run: RunInfo): string | null => str(field(run, 'name'));

/** Elapsed (ticking while a session runs, from `now` in ms) and the ETA, shown only while running. */
export function timingOf(run: RunInfo, now: number): RunTiming {
  const started = run.sessionStartedAt === null ? NaN : Date.parse(run.sessionStartedAt);
  // A paused session is still open: its time counts (pauses are not journaled).
  const open = run.status === 'running' || run.status === 'paused';
  const live = open && Number.isFinite(started) ? Math.max(0, now - started) : 0;
  return { elapsedS: (run.elapsedMs + live) / 1000, etaS: run.status === 'running' && run.etaMs !== null ? run.etaMs / 1000 : null };
}

export const percentOf = (run: RunInfo): number => (run.unitsTotal ? (100 * run.unitsDone) / run.unitsTotal : run.status === 'done' ? 100 : 0);
