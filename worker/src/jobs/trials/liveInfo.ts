/**
 * Folds a sweep's live events into the panel's cached RunInfo (Job.onEvent), with
 * no disk read: the engine and concurrency in force, trials done, the best so far,
 * the phase and progress line (words.ts, as the status words them) and the time
 * left at this session's rate. Curves, started trials and memory change nothing
 * listed: they return undefined at once (they are the high-rate events).
 */
import { rankFamilies, type FamilySummary, type TrialsEvent, type TrialsRunInfo } from '../../contract/jobs/trials.js';
import type { RunInfo } from '../../contract/runs.js';
import type { TrialResult } from '../../contract/trialsProtocol.js';
import { namesFamilies, OPENING, progressLine, trainingPhase } from './words.js';

/** sessionTrialsStart: complete trials when the session running now began (the status's, kept in the info beside the contract's fields). */
type Info = RunInfo & Partial<Omit<TrialsRunInfo, 'kind'>> & { sessionTrialsStart?: number | null };

/** Time left at this session's rate: trials done since it began (`startDone`) over the time since. */
function eta(info: Info, done: number, total: number, startDone: number, now: number): number | null {
  const since = info.sessionStartedAt ? Date.parse(info.sessionStartedAt) : NaN;
  if (!Number.isFinite(since) || done <= startDone || now <= since) return info.etaMs ?? null;
  return Math.round(((total - done) * (now - since)) / (done - startDone));
}

/** A family's summary with one more finished trial (elapsed time is the journal's: the next read from disk brings it). */
function withTrial(summary: FamilySummary, result: TrialResult): FamilySummary {
  const complete = result.state === 'complete';
  const done = summary.trialsDone + (complete ? 1 : 0);
  const wins = complete && result.value !== null && (summary.best === null || result.value > summary.best.value || (result.value === summary.best.value && result.number < summary.best.number));
  const higher = result.peakBytes !== null && (summary.peakBytes === null || result.peakBytes > summary.peakBytes);
  return {
    ...summary,
    trialsDone: done,
    failed: summary.failed + (result.state === 'failed' ? 1 : 0),
    best: wins ? { number: result.number, value: result.value!, params: result.params } : summary.best,
    msPerTrial: complete ? ((summary.msPerTrial ?? 0) * summary.trialsDone + result.ms) / done : summary.msPerTrial,
    peakBytes: higher ? result.peakBytes : summary.peakBytes,
    peakSource: higher ? result.peakSource : summary.peakSource,
  };
}

const foldFamily = (families: FamilySummary[] | undefined, family: FamilySummary['family'], change: (summary: FamilySummary) => FamilySummary): FamilySummary[] | undefined =>
  families === undefined ? undefined : rankFamilies(families.map((summary) => (summary.family === family ? change(summary) : summary)));

export function foldTrialsEvent(info: Info, event: TrialsEvent, now = Date.now()): RunInfo | undefined {
  if (info.trialsTotal === undefined) return undefined; // read from a run folder without the fields: nothing to fold into
  const total = info.trialsTotal;
  const done = info.trialsDone ?? 0;
  const words = (next: Info): Info => ({
    ...next,
    // families train one after the other: the one training is the first not yet full
    phase: next.concurrency
      ? trainingPhase(next.concurrency, next.trialsDone ?? 0, total, namesFamilies(next.settings?.families) ? next.families?.find((f) => f.trialsDone < f.trialsTotal)?.family : undefined)
      : OPENING,
    progressLine: progressLine({ done: next.trialsDone ?? 0, total, metric: next.metric ?? null, best: next.best ?? null, named: namesFamilies(next.settings?.families) }),
  });
  switch (event.kind) {
    case 'runtime':
      return { ...info, phase: OPENING };
    case 'engine':
      return words({
        ...info,
        ...(event.engine === 'worker' ? {} : { engine: event.engine }),
        concurrency: event.concurrency,
        device: event.device,
        families: foldFamily(info.families, event.family, (summary) => ({ ...summary, engine: event.engine, concurrency: event.concurrency })),
      });
    case 'concurrency':
      return words({ ...info, concurrency: event.concurrency });
    case 'trialDone': {
      const { result } = event;
      const held = info.best ?? null;
      const wins =
        result.state === 'complete' && result.value !== null && (held === null || result.value > held.value || (result.value === held.value && result.family === held.family && result.number < held.number));
      const best = wins ? { family: result.family, number: result.number, value: result.value!, params: result.params } : held;
      const startDone = info.sessionTrialsStart ?? done;
      return words({
        ...info,
        trialsDone: event.trialsDone,
        unitsDone: event.trialsDone,
        best,
        families: foldFamily(info.families, result.family, (summary) => withTrial(summary, result)),
        etaMs: eta(info, event.trialsDone, total, startDone, now),
      });
    }
    default:
      return undefined;
  }
}
