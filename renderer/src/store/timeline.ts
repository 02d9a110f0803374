/**
 * A run's time axis, whatever its kind: when it began, where it worked, and the
 * gaps (paused by the user; between sessions: interrupted, failed) the charts
 * show instead of drawing a line across. Folded from the session, pause and
 * resume events every kind reports, from history and live alike.
 */
import type { RunEvent } from '../../../worker/src/contract/api.ts';
import { SessionEvent } from '../../../worker/src/contract/runs.ts';

export type GapReason = 'paused' | 'interrupted' | 'failed' | 'stopped';

export interface Gap {
  /** ms since the epoch; `to` null while the gap is still open (paused now). */
  from: number;
  to: number | null;
  why: GapReason;
}

export interface Timeline {
  start: number | null;
  lastAt: number | null;
  gaps: Gap[];
  /** A session is working now (started and not ended). */
  open: boolean;
  /** How the last session ended, and when. */
  ended: { at: number; outcome: 'done' | 'interrupted' | 'failed'; message: string | null } | null;
}

export const emptyTimeline = (): Timeline => ({ start: null, lastAt: null, gaps: [], open: false, ended: null });

const closeOpenPause = (gaps: Gap[], at: number): Gap[] => gaps.map((gap) => (gap.to === null && gap.why === 'paused' ? { ...gap, to: at } : gap));

/** Folds one event in; returns the same object when the event changes nothing (so selectors stay stable). */
export function foldTimeline(line: Timeline, { at, event }: Pick<RunEvent, 'at' | 'event'>): Timeline {
  const session = event.kind === 'session' ? SessionEvent.safeParse(event) : null;
  if (session?.success && session.data.phase === 'start') {
    let gaps = line.gaps;
    // A session after another: the time between is a gap, named by how the last one ended (no end: it was killed).
    if (line.ended) gaps = [...gaps, { from: line.ended.at, to: at, why: line.ended.outcome === 'failed' ? 'failed' : 'interrupted' }];
    else if (line.open && line.lastAt !== null) gaps = [...closeOpenPause(gaps, line.lastAt), { from: line.lastAt, to: at, why: 'interrupted' }];
    return { start: line.start ?? at, lastAt: at, gaps, open: true, ended: null };
  }
  if (session?.success && session.data.phase === 'end') {
    return { ...line, lastAt: at, open: false, gaps: closeOpenPause(line.gaps, at), ended: { at, outcome: session.data.outcome, message: session.data.message } };
  }
  if (event.kind === 'paused') return { ...line, lastAt: at, gaps: [...closeOpenPause(line.gaps, at), { from: at, to: null, why: 'paused' }] };
  if (event.kind === 'resumed') return { ...line, lastAt: at, gaps: closeOpenPause(line.gaps, at) };
  if (line.lastAt !== null && at <= line.lastAt && line.start !== null) return line;
  return { ...line, start: line.start ?? at, lastAt: Math.max(at, line.lastAt ?? at) };
}

/** The span the charts share: the run's start to its last event (or now, while it works). */
export function timeDomain(line: Timeline, now: number): [number, number] | null {
  if (line.start === null) return null;
  return [line.start, line.open ? Math.max(now, line.lastAt ?? now) : (line.ended?.at ?? line.lastAt ?? line.start)];
}

/**
 * How the run's last session ended, as the axis shows it: its recorded end, or, for
 * a run no longer working whose session never recorded one (the process was killed),
 * its last event, as an interruption.
 */
export function lastEnd(line: Timeline, working: boolean): Timeline['ended'] {
  if (line.ended) return line.ended;
  if (!working && line.open && line.lastAt !== null) return { at: line.lastAt, outcome: 'interrupted', message: null };
  return null;
}
