/**
 * A sweep's journal records. The journal is the Engine's truth: a trial is
 * finished once its `trial_done` is here (fsynced), and trials.jsonl is always
 * rebuilt from these records. The study (study.db) is the runtime's; on resume
 * the two are reconciled by the runtime (trialsProtocol.ts).
 */
import { z } from 'zod';
import type { Journal, NewRecord as BaseNewRecord } from '../../runs/journal.js';
import { RunFailedRecord, RunInterruptedRecord } from '../../runs/lifecycle.js';
import { TreeWorkerReason, TrialKey, TrialResult, TrialRunner, TrialsFamily } from '../../contract/trialsProtocol.js';

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
  /** A family's study opened (one per family per session, in the spec's order); a record from before families existed is nn's. */
  z.object({
    type: z.literal('sweep_opened'),
    at: At,
    family: TrialsFamily.default('nn'),
    complete: Count,
    failedStale: z.array(Count),
    engine: TrialRunner,
    engineWhy: z.string(),
    concurrency: z.number().int().positive(),
    memberBytes: Count,
    roomBytes: Bytes,
    device: z.string(),
  }),
  TrialDoneRecord,
  z.object({ type: z.literal('concurrency'), at: At, concurrency: z.number().int().positive(), reason: z.enum(['oom', 'measured']), peak: Bytes, estimate: Bytes }),
  z.object({ type: z.literal('trials_oom'), at: At, members: z.number().int().positive(), concurrency: z.number().int().positive(), restarted: z.array(Count) }),
  /** A tree worker process started, was replaced (it died mid-trial), hung (killed as silent, then replaced), recycled (its memory grew) or restarted after an OOM. */
  z.object({
    type: z.literal('tree_worker'),
    at: At,
    family: TrialsFamily,
    slot: Count,
    pid: z.number().int().positive(),
    device: z.string(),
    visibleDevices: z.string(),
    threads: z.number().int().positive(),
    reason: TreeWorkerReason,
    detail: z.string().nullable(),
  }),
  /** A tree trial ran out of GPU memory: it runs again with fewer workers on that device, or on the CPU. */
  z.object({ type: z.literal('tree_oom'), at: At, family: TrialsFamily, number: Count, device: z.string(), action: z.enum(['fewer_workers', 'cpu']), workers: Count, message: z.string() }),
  /** A family reached its count in this session; ms: the runtime's wall time for it in this session. */
  z.object({ type: z.literal('family_done'), at: At, family: TrialsFamily, complete: Count, ms: z.number().nonnegative() }),
  /**
   * The runtime was killed as hung mid-sweep (silent past HEADROOM_HEARTBEAT_TIMEOUT_S); a fresh one goes on in the same
   * session, as a resume does (its sweep_opened's failedStale: the trials it left RUNNING, asked again), unless this was the
   * MAX_HANGS_IN_A_ROW-th hang with no trial finished in between. running: the trials it had started and not finished.
   */
  z.object({ type: z.literal('worker_hung'), at: At, pid: Count, silentS: z.number().nonnegative(), timeoutS: z.number().nonnegative(), inARow: z.number().int().positive(), running: z.array(TrialKey) }),
  RunInterruptedRecord,
  RunFailedRecord,
  z.object({ type: z.literal('run_completed'), at: At, complete: Count }),
]);
export type JournalRecord = z.infer<typeof JournalRecord>;
export type NewRecord = BaseNewRecord<JournalRecord>;
export type TrialsJournal = Journal<JournalRecord>;
