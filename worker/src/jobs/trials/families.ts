/**
 * The families of a sweep side by side (FamilySummary), from its journal alone:
 * the status, the panel's list and the CLI's final summary read these. Pure.
 */
import { rankFamilies, type FamilySummary } from '../../contract/jobs/trials.js';
import type { TrialResult, TrialsFamily } from '../../contract/trialsProtocol.js';
import type { JournalRecord } from './records.js';
import { better, keyOf } from './runState.js';

/**
 * Each family's wall time over the sessions. Families run one after another: in a
 * session a family runs from its sweep_opened to its family_done, whose ms (the
 * runtime's clock, from the moment it began the family, its data and workers
 * included) is that session's share. A session that ended without the family's
 * family_done (killed, stopped, failed, or running now) is bounded by the journal's
 * times instead: from its sweep_opened to the last record journaled after it (a
 * trial_done, a tree_worker, run_interrupted when the Engine saw the end). The time
 * after that last record is not known and not counted, so an interrupted session's
 * share is a lower bound of the time it spent.
 */
function elapsedByFamily(records: readonly JournalRecord[]): Map<TrialsFamily, number> {
  const elapsed = new Map<TrialsFamily, number>();
  let current: { family: TrialsFamily; start: number; end: number } | null = null;
  const add = (family: TrialsFamily, ms: number): void => void elapsed.set(family, (elapsed.get(family) ?? 0) + Math.max(0, ms));
  const close = (): void => {
    if (current) add(current.family, current.end - current.start);
    current = null;
  };
  for (const record of records) {
    const at = Date.parse(record.at);
    if (record.type === 'session_started') close();
    else if (record.type === 'sweep_opened') {
      close();
      current = { family: record.family, start: at, end: at };
    } else if (record.type === 'family_done' && current?.family === record.family) {
      add(record.family, record.ms);
      current = null;
    } else if (current) current.end = Math.max(current.end, at);
  }
  close();
  return elapsed;
}

/** The engine and concurrency of each family's last session: its last sweep_opened, and a concurrency change while it ran. */
function engineByFamily(records: readonly JournalRecord[]): Map<TrialsFamily, { engine: FamilySummary['engine']; concurrency: number }> {
  const out = new Map<TrialsFamily, { engine: FamilySummary['engine']; concurrency: number }>();
  let current: TrialsFamily | null = null;
  for (const record of records) {
    if (record.type === 'sweep_opened') {
      current = record.family;
      out.set(record.family, { engine: record.engine, concurrency: record.concurrency });
    } else if (record.type === 'concurrency' && current !== null) out.set(current, { ...out.get(current)!, concurrency: record.concurrency });
    else if (record.type === 'family_done' || record.type === 'session_started') current = null;
  }
  return out;
}

/** One FamilySummary per family of the spec, in its order, ranked. */
export function familySummaries(records: readonly JournalRecord[], families: readonly TrialsFamily[], trialsPerFamily: number): FamilySummary[] {
  const trials = new Map<string, TrialResult>();
  for (const record of records) if (record.type === 'trial_done' && !trials.has(keyOf(record.result))) trials.set(keyOf(record.result), record.result);
  const elapsed = elapsedByFamily(records);
  const engines = engineByFamily(records);
  return rankFamilies(
    families.map((family) => {
      const own = [...trials.values()].filter((result) => result.family === family);
      const complete = own.filter((result) => result.state === 'complete');
      let best: TrialResult | null = null;
      for (const result of complete) best = better(best, result);
      let peak: TrialResult | null = null;
      for (const result of own) if (result.peakBytes !== null && (peak === null || result.peakBytes > peak.peakBytes!)) peak = result;
      return {
        family,
        rank: null,
        trialsDone: complete.length,
        trialsTotal: trialsPerFamily,
        failed: own.filter((result) => result.state === 'failed').length,
        best: best && best.value !== null ? { number: best.number, value: best.value, params: best.params } : null,
        msPerTrial: complete.length === 0 ? null : complete.reduce((sum, result) => sum + result.ms, 0) / complete.length,
        peakBytes: peak?.peakBytes ?? null,
        peakSource: peak?.peakSource ?? null,
        elapsedMs: elapsed.get(family) ?? 0,
        engine: engines.get(family)?.engine ?? null,
        concurrency: engines.get(family)?.concurrency ?? null,
      };
    }),
  );
}
