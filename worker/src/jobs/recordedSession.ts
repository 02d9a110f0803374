/**
 * One session of a run (a start or a resume), recorded into the run's history as
 * it reports: the same code for the CLI and the panel, so any run can be drawn
 * from disk whoever ran it. Nothing is written before the run's first event, which
 * comes after its lock is held: a session refused as busy leaves the history of
 * the process that owns the run untouched.
 */
import type { SessionEvent } from '../contract/runs.js';
import { asHeadroomError } from '../errors.js';
import { HistoryWriter, type HistoryEntry } from '../runs/history.js';
import type { AnyJob, JobEvent } from './job.js';

export class RecordedSession {
  private readonly writer: HistoryWriter;
  private started = false;

  constructor(
    job: AnyJob,
    runDir: string,
    private readonly command: 'start' | 'resume',
  ) {
    this.writer = new HistoryWriter(runDir, job.historySamples ?? {});
  }

  /** Records one event (after the session's start, the first time); returns what was recorded, in order. */
  record(event: JobEvent): HistoryEntry[] {
    const entries: HistoryEntry[] = [];
    if (!this.started) {
      this.started = true;
      const start: SessionEvent = { kind: 'session', phase: 'start', command: this.command };
      entries.push(this.writer.record(start));
    }
    entries.push(this.writer.record(event));
    return entries;
  }

  /**
   * A line about the session that is recorded only if the session began: a session
   * refused before its first event (another process owns the run) must not write
   * into that run's history, so its line goes out as seq 0, outside any history.
   */
  say(line: string): HistoryEntry[] {
    const event = { kind: 'log', line };
    return this.started ? [this.writer.record(event)] : [{ seq: 0, at: Date.now(), event }];
  }

  /** The session's end, with how it ended; nothing when it never started (refused before its first event). */
  end(error?: unknown): HistoryEntry[] {
    if (!this.started) return [];
    const failure = error === undefined ? null : asHeadroomError(error);
    const outcome = failure === null ? 'done' : failure.kind === 'interrupted' ? 'interrupted' : 'failed';
    const end: SessionEvent = { kind: 'session', phase: 'end', outcome, message: failure?.message ?? null };
    const entry = this.writer.record(end);
    this.writer.close();
    return [entry];
  }

  /** What the panel draws when it opens this run now: the file plus the part not yet written. */
  snapshot(): ReturnType<HistoryWriter['snapshot']> {
    return this.writer.snapshot();
  }
}
