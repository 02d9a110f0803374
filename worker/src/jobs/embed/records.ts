/** The journal's record types. A run's state is the replay of these (see runState.ts). */
import { z } from 'zod';
import type { Journal, NewRecord as BaseNewRecord } from '../../runs/journal.js';
import { RunFailedRecord, RunInterruptedRecord } from '../../runs/lifecycle.js';
import { ChunkStats, EnsembleMode, OomAction, OomKind, OomPolicy, ProbeMethod } from '../../contract/protocol.js';
import { BudgetSource } from '../../contract/jobs/embed.js';

const Count = z.number().int().nonnegative();
const At = z.string();

export const ChunkRecord = z.object({
  type: z.literal('chunk_done'),
  at: At,
  model: z.string(),
  index: Count,
  rows: z.number().int().positive(),
  dim: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Path relative to the run directory. */
  file: z.string(),
  truncated: Count,
  ms: z.number().nonnegative(),
  stats: ChunkStats,
  /** The worker (w0, w1, ...) that did it; absent in runs made before workers. */
  worker: z.string().optional(),
  /** The worker's device as listed in --workers (cuda:1), or the pass's device for a run without --workers. */
  device: z.string().optional(),
});
export type ChunkRecord = z.infer<typeof ChunkRecord>;

export const JournalRecord = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run_created'), at: At }),
  z.object({
    type: z.literal('session_started'),
    at: At,
    pid: Count,
    command: z.enum(['embed', 'resume']),
    pending: Count,
    /** Chunk files found damaged, unrecorded or not matching their record, queued again. */
    recomputing: z.array(z.object({ model: z.string(), index: Count, reason: z.string() })),
    /** Outputs of a done run found not matching run_completed, rebuilt by this session. */
    outputs: z.array(z.object({ file: z.string(), reason: z.string() })).optional(),
    /** Chunk records naming no unit of the plan (a model not in the spec, an index past the end): not used. */
    ignored: z.array(z.object({ model: z.string(), index: Count, reason: z.string() })).optional(),
  }),
  z.object({
    type: z.literal('worker_ready'),
    at: At,
    pid: Count,
    python: z.string(),
    torch: z.string(),
    sentenceTransformers: z.string(),
    cuda: z.boolean(),
    worker: z.string().optional(),
  }),
  z.object({
    type: z.literal('pass_started'),
    at: At,
    /** The model's key in the spec. */
    model: z.string(),
    source: z.string(),
    device: z.string(),
    dim: z.number().int().positive(),
    maxSeqLen: z.number().int().positive(),
    /** False when the model stayed resident from the pass before. */
    loaded: z.boolean(),
    ms: z.number().nonnegative(),
    resident: Count,
    /** Where the first budget came from: learned (this run or the per-user cache) or a probe. */
    budgetKey: z.string(),
    initialBudget: z.number().int().positive().nullable(),
    budgetSource: BudgetSource,
    worker: z.string().optional(),
  }),
  z.object({
    type: z.literal('pass_completed'),
    at: At,
    model: z.string(),
    device: z.string(),
    ms: z.number().nonnegative(),
    rows: Count,
    peak: Count.nullable(),
    residentPeak: Count,
    released: z.boolean(),
    worker: z.string().optional(),
  }),
  z.object({ type: z.literal('mode_changed'), at: At, ensembleMode: EnsembleMode }),
  z.object({
    type: z.literal('probe'),
    at: At,
    method: ProbeMethod,
    tokens: Count,
    budget: z.number().int().positive(),
    worker: z.string().optional(),
  }),
  z.object({
    type: z.literal('oom'),
    at: At,
    model: z.string(),
    chunk: Count,
    kind: OomKind,
    docs: z.number().int().positive(),
    tokens: Count,
    budget: z.number().int().positive(),
    action: OomAction,
    worker: z.string().optional(),
  }),
  z.object({ type: z.literal('worker_recycled'), at: At, reason: z.string(), worker: z.string().optional() }),
  /** The VRAM guard: memory used crossed a level (runtime event vram_level); the unit in hand, and what was done. */
  z.object({
    type: z.literal('vram_level'),
    at: At,
    model: z.string(),
    chunk: Count,
    level: z.enum(['warning', 'critical']),
    used: Count,
    total: z.number().int().positive(),
    action: z.enum(['warn', 'shrink', 'pause']),
    budget: z.number().int().positive().nullable(),
    worker: z.string().optional(),
  }),
  /** The leak detector (leakDetector.ts): the worker's baseline keeps rising; `recycle`: it drifted past HEADROOM_LEAK_RECYCLE_MB. */
  z.object({
    type: z.literal('leak_warning'),
    at: At,
    model: z.string(),
    chunk: Count.nullable(),
    slopeMB: z.number(),
    driftMB: z.number(),
    units: Count,
    recycle: z.boolean(),
    worker: z.string().optional(),
  }),
  /** A worker's runtime spawned (runs with --workers): its id, its device as listed, its pid; attempt 0 first, then restarts in a row. */
  z.object({ type: z.literal('worker_started'), at: At, worker: z.string(), device: z.string(), pid: Count, attempt: Count }),
  /** A worker's runtime that exited by itself or was killed from outside (not hung, not stopped); its units go back to the queue. */
  z.object({ type: z.literal('worker_died'), at: At, worker: z.string(), pid: Count, reason: z.string(), model: z.string().nullable(), chunk: Count.nullable(), inARow: z.number().int().positive() }),
  /** A worker restarted after it hung, died or was recycled; given up after MAX_WORKER_FAILURES in a row (the others go on). */
  z.object({ type: z.literal('worker_restarted'), at: At, worker: z.string(), device: z.string(), after: z.enum(['hung', 'died', 'recycled']), attempt: z.number().int().positive() }),
  z.object({ type: z.literal('worker_given_up'), at: At, worker: z.string(), device: z.string(), reason: z.string() }),
  /** A runtime silent past the heartbeat timeout, killed; `model`/`chunk`: the unit it held (redone), null at start-up. */
  z.object({
    type: z.literal('worker_hung'),
    at: At,
    pid: Count,
    silentS: z.number().nonnegative(),
    timeoutS: z.number().positive(),
    model: z.string().nullable(),
    chunk: Count.nullable(),
    inARow: z.number().int().positive(),
    worker: z.string().optional(),
  }),
  z.object({ type: z.literal('policy_changed'), at: At, oomPolicy: OomPolicy }),
  ChunkRecord,
  RunInterruptedRecord,
  RunFailedRecord,
  z.object({
    type: z.literal('run_completed'),
    at: At,
    rows: z.number().int().positive(),
    dim: z.number().int().positive(),
    /** Of embeddings.npy. */
    sha256: z.string(),
    /** ids.txt, so a deleted, cut or edited one is found too. */
    ids: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), rows: z.number().int().positive() }),
    truncated: Count,
    chunksKept: z.boolean(),
  }),
]);
export type JournalRecord = z.infer<typeof JournalRecord>;

export type NewRecord = BaseNewRecord<JournalRecord>;

/** An embed run's journal, typed by its records. */
export type EmbedJournal = Journal<JournalRecord>;
