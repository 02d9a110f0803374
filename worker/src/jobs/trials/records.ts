/**
 * A sweep's journal records. The journal is the Engine's truth: a trial is
 * finished once its `trial_done` is here (fsynced), and trials.jsonl is always
 * rebuilt from these records. The study (study.db) is the runtime's; on resume
 * the two are reconciled by the runtime (trialsProtocol.ts).
 */
import { z } from 'zod';
import type { Journal, NewRecord as BaseNewRecord } from '../../runs/journal.js';
import { TrialResult, TrialsEngineName } from '../../contract/trialsProtocol.js';

const Count = z.number().int().nonnegative();
const Bytes = Count.nullable();
const At = z.string();

export const TrialDoneRecord = z.object({
  type: z.literal('trial_done'),
  at: At,
  result: TrialResult,
  /** Found COMPLETE in the study but missing here (a crash between the study's tell and this record). */
  recovered: z.boolean(),
});
export type TrialDoneRecord = z.infer<typeof TrialDoneRecord>;

export const JournalRecord = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run_created'), at: At }),
  z.object({
    type: z.literal('session_started'),
    at: At,
    pid: Count,
    command: z.enum(['trials', 'resume']),
    /** Trials this journal holds as finished when the session began (complete ones counted apart). */
    finished: Count,
    complete: Count,
  }),
  z.object({ type: z.literal('worker_ready'), at: At, pid: Count, python: z.string(), torch: z.string(), cuda: z.boolean() }),
  z.object({
    type: z.literal('sweep_opened'),
    at: At,
    complete: Count,
    failedStale: z.array(Count),
    engine: TrialsEngineName,
    engineWhy: z.string(),
    concurrency: z.number().int().positive(),
    memberBytes: Count,
    roomBytes: Bytes,
    device: z.string(),
  }),
  TrialDoneRecord,
  z.object({ type: z.literal('concurrency'), at: At, concurrency: z.number().int().positive(), reason: z.enum(['oom', 'measured']), peak: Bytes, estimate: Bytes }),
  z.object({ type: z.literal('trials_oom'), at: At, members: z.number().int().positive(), concurrency: z.number().int().positive(), restarted: z.array(Count) }),
  z.object({ type: z.literal('run_interrupted'), at: At, reason: z.string() }),
  z.object({ type: z.literal('run_failed'), at: At, kind: z.string(), message: z.string() }),
  z.object({ type: z.literal('run_completed'), at: At, complete: Count }),
]);
export type JournalRecord = z.infer<typeof JournalRecord>;
export type NewRecord = BaseNewRecord<JournalRecord>;
export type TrialsJournal = Journal<JournalRecord>;
