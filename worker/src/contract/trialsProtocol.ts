/**
 * The trials job's lines of the runtime protocol (protocol.ts spreads them into
 * its two unions). The runtime owns the Optuna study (study.db, the one writer);
 * the Engine owns the journal. A trial is told COMPLETE in the study before its
 * `trial_done` is sent, so after a crash the study may hold a finished trial the
 * journal lacks: `sweep` names what the journal has, and the runtime sends those
 * others again as `trial_done` with `recovered: true` before it trains anything.
 */
import { z } from 'zod';

const Count = z.number().int().nonnegative();
const Bytes = z.number().int().nonnegative().nullable();

export const TrialsTask = z.enum(['regression', 'binary']);
export type TrialsTask = z.infer<typeof TrialsTask>;
/** How the trials train: batched (stacked weights, K members per shape), serial (one nn.Module at a time), streams (CUDA streams, serial in each). */
export const TrialsEngineName = z.enum(['batched', 'serial', 'streams']);
export type TrialsEngineName = z.infer<typeof TrialsEngineName>;
export const TrialsSampler = z.enum(['tpe', 'random']);
export type TrialsSampler = z.infer<typeof TrialsSampler>;
/**
 * A family of models a sweep searches: nn (the batched PyTorch networks) or a tree
 * library, whose trials run in worker processes of their own (one Optuna study each).
 */
export const TrialsFamily = z.enum(['nn', 'xgboost', 'lightgbm', 'catboost']);
export type TrialsFamily = z.infer<typeof TrialsFamily>;
/** Why a tree_worker line was sent: a worker started, replaced after dying, hung (killed as silent), recycled, or started after an OOM. */
export const TreeWorkerReason = z.enum(['started', 'replaced', 'hung', 'recycled', 'oom']);
export type TreeWorkerReason = z.infer<typeof TreeWorkerReason>;
/** What trained a trial: an NN engine, or a tree family's worker process. */
export const TrialRunner = z.enum([...TrialsEngineName.options, 'worker']);
export type TrialRunner = z.infer<typeof TrialRunner>;
/** A trial's identity in a run: numbers count per family (each family has its own study). */
export const TrialKey = z.object({ family: TrialsFamily, number: z.number().int().nonnegative() });
export type TrialKey = z.infer<typeof TrialKey>;

/**
 * A search space: parameter name -> an Optuna distribution as Optuna serialises it
 * (`optuna.distributions.distribution_to_json`): {"name": "FloatDistribution",
 * "attributes": {"low": 0.0001, "high": 0.01, "log": true, "step": null}}. Keys:
 * hidden (CategoricalDistribution of layer shapes written "256-128-64"), lr,
 * weight_decay, dropout. The runtime checks names, attributes and ranges.
 */
export const SearchSpace = z.record(z.string(), z.object({ name: z.string(), attributes: z.record(z.string(), z.unknown()) }).loose());
export type SearchSpace = z.infer<typeof SearchSpace>;
/**
 * Search spaces by family ({"nn": {...}, "xgboost": {...}}); a family left out
 * searches its default space. (A space file may also be one family's space alone,
 * flat, when the sweep has one family: the CLI keys it by that family.)
 */
export const FamilySpaces = z.partialRecord(TrialsFamily, SearchSpace);
export type FamilySpaces = z.infer<typeof FamilySpaces>;

/** Everything the runtime needs to check the data and to run the sweep (run.json's spec, resolved). */
export const SweepSpec = z.object({
  /** Absolute paths. target: a .npy path, or a column of the data table. */
  data: z.string(),
  target: z.string(),
  /** null: decided from the target (two values 0/1: binary; otherwise regression). */
  task: TrialsTask.nullable(),
  trials: z.number().int().positive(),
  /** null: auto (from the memory estimate). */
  concurrency: z.number().int().positive().nullable(),
  epochs: z.number().int().positive(),
  /** Epochs without a better validation loss before a member stops; 0: never stop early. */
  patience: Count,
  /** K folds, or null for one held-out part of valFraction. */
  folds: z.number().int().min(2).nullable(),
  valFraction: z.number().gt(0).lt(1),
  /** The families searched, in the order they run (each its own study in study.db); trials counts per family. */
  families: z.array(TrialsFamily).min(1),
  /** Spaces by family, overriding keys of each family's default space; null: the defaults. */
  space: FamilySpaces.nullable(),
  /** Where the space came from, for messages ("space.json"); null when inline or default. */
  spaceSource: z.string().nullable(),
  sampler: TrialsSampler,
  seed: Count,
  device: z.string(),
  /** null: auto (batched on a GPU; on a CPU the fastest engine there). */
  engine: TrialsEngineName.nullable(),
  vramLimit: z.number().positive().nullable(),
  targetMemory: z.number().gt(0).max(1),
  /** Tree worker processes per GPU (on a CPU: processes, the cores split between them); null: auto. */
  treeWorkers: z.number().int().positive().nullable(),
});
export type SweepSpec = z.infer<typeof SweepSpec>;

/** One trial's hyperparameters as Optuna drew them (an NN's hidden as "256-128-64"; a tree family's max_depth, learning_rate, ...). */
export const TrialParams = z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]));
export type TrialParams = z.infer<typeof TrialParams>;

/** The metrics of a finished trial on held-out data (mean over folds): r2 and mse, or auc and logloss. */
export const TrialMetrics = z.record(z.string(), z.number());

/** A finished trial, as the study, the journal, trials.jsonl and the panel keep it. */
export const TrialResult = z.object({
  /** Absent in trials.jsonl written before families existed: nn. */
  family: TrialsFamily.default('nn'),
  number: Count,
  state: z.enum(['complete', 'pruned', 'failed']),
  params: TrialParams,
  seed: Count,
  /** The objective (r2 or auc; higher is better); null when the trial failed. */
  value: z.number().nullable(),
  metrics: TrialMetrics,
  /** Epochs trained (a tree: boosting rounds), the most over its folds, and the best epoch's (round's) number. */
  epochs: Count,
  bestEpoch: Count,
  ms: z.number().nonnegative(),
  /** Bytes: measured on a GPU, the estimate on a CPU (peakSource says which). */
  peakBytes: Bytes,
  peakSource: z.enum(['measured', 'estimate']),
  engine: TrialRunner,
  /** Where it trained ("cpu", "cuda:0"); absent before families existed. */
  device: z.string().nullable().default(null),
  /** Why a failed trial failed. */
  message: z.string().nullable(),
});
export type TrialResult = z.infer<typeof TrialResult>;

/** A column of the data table, for the New sweep form's preview. */
export const DataColumn = z.object({ name: z.string(), dtype: z.string(), sample: z.array(z.union([z.number(), z.string(), z.null()])) });

export const TrialsCommands = [
  /** Load and check the data, target and space without touching a run folder; answered by `trials_checked` or a bad_input error. */
  z.object({ type: z.literal('trials_check'), spec: SweepSpec }),
  /** The columns and rows of a table (or an .npy's shape), for a form's preview; answered by `data_inspected` or a bad_input error. */
  z.object({ type: z.literal('inspect_data'), path: z.string() }),
  /** Run (or go on with) the sweep in runDir; journaled: the trials the journal has as finished. */
  z.object({ type: z.literal('sweep'), spec: SweepSpec, runDir: z.string(), journaled: z.array(TrialKey) }),
] as const;

export const TrialsEvents = [
  z.object({
    type: z.literal('trials_checked'),
    rows: z.number().int().positive(),
    features: z.number().int().positive(),
    task: TrialsTask,
    /** The objective and its direction (always maximize: r2 or auc). */
    metric: z.enum(['r2', 'auc']),
    /** The space in force for each family of the sweep (defaults filled in). */
    spaces: FamilySpaces,
  }),
  z.object({ type: z.literal('data_inspected'), path: z.string(), format: z.enum(['npy', 'csv', 'parquet']), rows: Count, columns: z.array(DataColumn) }),
  /**
   * A family's study is open and reconciled (sent as each family starts, in the
   * spec's order): trials a crash left RUNNING were failed (their params enqueued again).
   * For a tree family engine is 'worker' and concurrency the number of workers.
   */
  z.object({
    type: z.literal('sweep_opened'),
    family: TrialsFamily,
    complete: Count,
    /** Trials a crash left RUNNING, now FAIL in the study, their params enqueued again (so no trial is lost or counted twice). */
    failedStale: z.array(Count),
    engine: TrialRunner,
    /** Why this engine (auto's choice, or "asked for"). */
    engineWhy: z.string(),
    concurrency: z.number().int().positive(),
    /** Bytes one member of the widest shape needs (the estimate) and the room the concurrency was sized for. */
    memberBytes: z.number().int().nonnegative(),
    roomBytes: Bytes,
    device: z.string(),
  }),
  z.object({ type: z.literal('trial_started'), family: TrialsFamily, number: Count, params: TrialParams, seed: Count, members: z.number().int().positive() }),
  /** Sampled loss curves of running trials (validation and training loss by epoch, mean over folds). */
  z.object({ type: z.literal('trial_progress'), points: z.array(z.object({ number: Count, epoch: Count, train: z.number(), val: z.number() })).min(1) }),
  z.object({ type: z.literal('trial_done'), result: TrialResult, recovered: z.boolean() }),
  /** The number of members trained at once changed (an OOM halved it, or the first batch's measured peak resized it). */
  z.object({ type: z.literal('concurrency'), concurrency: z.number().int().positive(), reason: z.enum(['oom', 'measured']), peak: Bytes, estimate: Bytes }),
  /** Out of memory in a batch of `members`: the unfinished members restart from their initial state at the new concurrency. */
  z.object({ type: z.literal('trials_oom'), members: z.number().int().positive(), concurrency: z.number().int().positive(), restarted: z.array(Count) }),
  /**
   * A tree worker process started, was replaced (it died mid-trial: the trial runs
   * again), hung (silent past HEADROOM_HEARTBEAT_TIMEOUT_S: its group killed, then
   * as replaced), or was recycled (its memory baseline grew), with what it sees: the
   * CUDA_VISIBLE_DEVICES it was started with ("" on a CPU) and its threads.
   */
  z.object({
    type: z.literal('tree_worker'),
    family: TrialsFamily,
    slot: Count,
    pid: z.number().int().positive(),
    device: z.string(),
    visibleDevices: z.string(),
    threads: z.number().int().positive(),
    reason: TreeWorkerReason,
    /** Why it was replaced or recycled, in words (null when started). */
    detail: z.string().nullable(),
  }),
  /**
   * A tree worker's memory baseline (its RSS after the trial's clean-up) once trial `number` finished: one point per
   * trial of that worker's series, which the Engine's leak detector (jobs/embed/leakDetector.ts) fits a slope to.
   */
  z.object({ type: z.literal('tree_baseline'), family: TrialsFamily, slot: Count, pid: z.number().int().positive(), number: Count, bytes: Count }),
  /** A tree trial ran out of GPU memory: it runs again with fewer workers on that GPU, or on the CPU. */
  z.object({
    type: z.literal('tree_oom'),
    family: TrialsFamily,
    number: Count,
    device: z.string(),
    action: z.enum(['fewer_workers', 'cpu']),
    /** Workers left on that device. */
    workers: Count,
    message: z.string(),
  }),
  /** A family reached its count; ms: this session's wall time for it. */
  z.object({ type: z.literal('family_done'), family: TrialsFamily, complete: Count, ms: z.number().nonnegative() }),
  z.object({ type: z.literal('sweep_done'), complete: Count }),
] as const;
