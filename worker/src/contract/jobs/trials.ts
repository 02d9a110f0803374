/**
 * The trials job's half of the contract: the request that starts a sweep (every
 * default here, and only here: the CLI's flags, the panel's New sweep form and the
 * tests parse it), the events a sweep reports, and what the panel shows of it.
 */
import { z } from 'zod';
import { CommonEvent, RunInfoBase, RunName } from '../runs.js';
import { DeviceRequest } from '../protocol.js';
import { FamilySpaces, TreeWorkerReason, TrialKey, TrialParams, TrialResult, TrialRunner, TrialsEngineName, TrialsFamily, TrialsSampler, TrialsTask } from '../trialsProtocol.js';

export const TRIALS_KIND = 'trials';

const Whole = (what: string) => z.number(`a whole number of ${what}`).int(`a whole number of ${what}`);

/** Starts a sweep. Every field but data and target has its default here. */
export const TrialsRequest = z
  .object({
    /** X.npy, table.csv or table.parquet. */
    data: z.string().min(1, 'choose a data file'),
    /** y.npy, or a column of the table. */
    target: z.string().min(1, 'name the target (a column, or a .npy file)'),
    /** auto: binary when the target holds exactly the values 0 and 1, regression otherwise. */
    task: z.union([z.literal('auto'), TrialsTask]).default('auto'),
    /** The families compared, in the order they run; each gets `trials` trials (its own Optuna study). */
    families: z
      .array(TrialsFamily, "families among 'nn', 'xgboost', 'lightgbm', 'catboost'")
      .min(1, 'at least one family')
      .refine((list) => new Set(list).size === list.length, 'a family is named twice')
      .default(['nn']),
    /** Trials per family. */
    trials: Whole('trials').min(1, 'at least 1 trial').max(100_000, 'at most 100,000 trials').default(20),
    /** Members trained at once (a trial with K folds is K members); auto: from the memory estimate. */
    concurrency: z.union([z.literal('auto'), Whole('members').min(1, 'at least 1').max(4096, 'at most 4,096')]).default('auto'),
    epochs: Whole('epochs').min(1, 'at least 1 epoch').max(100_000, 'at most 100,000 epochs').default(200),
    /** Epochs without a better validation loss before a trial stops; 0: never stop early. */
    patience: Whole('epochs').min(0, 'at least 0').default(20),
    /** K-fold cross-validation (a trial's K fold models train as K members); null: one held-out part. */
    folds: Whole('folds').min(2, 'at least 2 folds').max(50, 'at most 50 folds').nullable().default(null),
    valFraction: z.number('a fraction').gt(0, 'above 0').lt(1, 'below 1').default(0.2),
    /** Search spaces by family (Optuna's distributions by parameter name), over each family's default; null: the defaults. */
    space: FamilySpaces.nullable().default(null),
    /** Where the space came from (a file's name), for messages. */
    spaceSource: z.string().nullable().default(null),
    sampler: TrialsSampler.default('tpe'),
    seed: Whole('').min(0, 'at least 0').max(2 ** 31 - 1, 'below 2^31').default(0),
    device: DeviceRequest.default('auto'),
    engine: z.union([z.literal('auto'), TrialsEngineName]).default('auto'),
    vramLimitGiB: z.number('GiB').positive('above 0 GiB').nullable().default(null),
    targetMemory: z.number('a fraction').gt(0, 'above 0').max(1, 'at most 1').default(0.85),
    /** Tree worker processes per GPU (on a CPU: processes sharing the cores); auto: from the first trial's measured peak on a GPU, on a CPU up to 4 with the cores split. */
    treeWorkers: z.union([z.literal('auto'), Whole('workers').min(1, 'at least 1').max(64, 'at most 64')]).default('auto'),
    name: RunName.optional(),
  })
  .strict();
export type TrialsRequest = z.input<typeof TrialsRequest>;
export type TrialsRequestParsed = z.output<typeof TrialsRequest>;

export const TRIALS_REQUEST_DEFAULTS = (() => {
  const { data, target, ...defaults } = TrialsRequest.parse({ data: '-', target: '-' });
  void data;
  void target;
  return defaults;
})();

/** A sweep takes no settings while it works (pause, resume and stop are generic). */
export const TrialsSettings = z.object({}).strict();
export type TrialsSettings = z.infer<typeof TrialsSettings>;

const Count = z.number().int().nonnegative();
const Bytes = z.number().int().nonnegative().nullable();

export const TrialsEvent = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('started'),
    runDir: z.string(),
    trialsTotal: Count,
    trialsDone: Count,
    task: TrialsTask,
    metric: z.enum(['r2', 'auc']),
    families: z.array(TrialsFamily),
    /** What earlier sessions finished: the best complete trial, and the complete trials per family. */
    best: z.object({ family: TrialsFamily, number: Count, value: z.number() }).nullable().default(null),
    doneByFamily: z.partialRecord(TrialsFamily, Count).default({}),
  }),
  ...CommonEvent.options,
  /** The engine and concurrency this session trains with, and why. */
  /** A family started: its engine (tree families: 'worker') and concurrency (tree families: workers), and why. */
  z.object({ kind: z.literal('engine'), family: TrialsFamily, engine: TrialRunner, why: z.string(), concurrency: z.number().int().positive(), memberBytes: Count, roomBytes: Bytes, device: z.string(), failedStale: z.array(Count) }),
  z.object({ kind: z.literal('trialStarted'), family: TrialsFamily, number: Count, params: TrialParams, seed: Count, members: z.number().int().positive() }),
  /** Sampled validation and training loss by epoch of running trials. */
  z.object({ kind: z.literal('curve'), points: z.array(z.object({ number: Count, epoch: Count, train: z.number(), val: z.number() })) }),
  /** A trial finished (complete, pruned or failed); trialsDone counts the complete ones. */
  z.object({ kind: z.literal('trialDone'), result: TrialResult, trialsDone: Count, trialsTotal: Count }),
  z.object({ kind: z.literal('concurrency'), concurrency: z.number().int().positive(), reason: z.enum(['oom', 'measured']), peak: Bytes, estimate: Bytes }),
  z.object({ kind: z.literal('oom'), members: z.number().int().positive(), concurrency: z.number().int().positive(), restarted: z.array(Count) }),
  /** A tree worker process started, was replaced, hung or recycled (trialsProtocol's tree_worker). */
  z.object({ kind: z.literal('treeWorker'), family: TrialsFamily, slot: Count, pid: z.number().int().positive(), device: z.string(), visibleDevices: z.string(), threads: z.number().int().positive(), reason: TreeWorkerReason, detail: z.string().nullable() }),
  /** A tree trial ran out of GPU memory and runs again with fewer workers, or on the CPU. */
  z.object({ kind: z.literal('treeOom'), family: TrialsFamily, number: Count, device: z.string(), action: z.enum(['fewer_workers', 'cpu']), workers: Count, message: z.string() }),
  /** The runtime was killed as hung (silent past the heartbeat timeout): a fresh one goes on, the trials it left running asked again, unless giveUp. */
  z.object({ kind: z.literal('runtimeHung'), pid: Count, silentS: z.number().nonnegative(), timeoutS: z.number().nonnegative(), inARow: z.number().int().positive(), giveUp: z.boolean(), running: z.array(TrialKey) }),
  z.object({ kind: z.literal('familyDone'), family: TrialsFamily, complete: Count, ms: z.number().nonnegative() }),
]);
export type TrialsEvent = z.infer<typeof TrialsEvent>;

/** One family's line of a sweep's comparison (the summary, the panel and `status --json`). */
export const FamilySummary = z.object({
  family: TrialsFamily,
  /** 1 for the best family (by its best value), and so on; null while it has no complete trial. */
  rank: z.number().int().positive().nullable(),
  trialsDone: Count,
  trialsTotal: Count,
  failed: Count,
  best: z.object({ number: Count, value: z.number(), params: TrialParams }).nullable(),
  /** Mean wall ms per complete trial, and the most memory one trial used (peakSource says how it was known). */
  msPerTrial: z.number().nonnegative().nullable(),
  peakBytes: Bytes,
  peakSource: z.enum(['measured', 'estimate']).nullable(),
  /** The family's wall time, summed over sessions (each session's family_done ms; a session cut short: from its sweep_opened to its last journaled record). */
  elapsedMs: z.number().nonnegative(),
  engine: TrialRunner.nullable(),
  /** Workers (tree families) or members at once (nn) in the last session. */
  concurrency: z.number().int().positive().nullable(),
});
export type FamilySummary = z.infer<typeof FamilySummary>;

/** Ranks by best value (higher is better; a tie keeps the given order); a family without a complete trial has no rank. The Engine's summaries and the panel's live comparison both rank with this. */
export function rankFamilies(list: readonly FamilySummary[]): FamilySummary[] {
  const ranked = list
    .map((summary, index) => ({ summary, index }))
    .filter(({ summary }) => summary.best !== null)
    .sort((a, b) => b.summary.best!.value - a.summary.best!.value || a.index - b.index);
  const rankOf = new Map(ranked.map(({ index }, position) => [index, position + 1]));
  return list.map((summary, index) => ({ ...summary, rank: rankOf.get(index) ?? null }));
}

/** What the panel shows of a sweep beyond the base. */
export const TrialsRunInfo = RunInfoBase.extend({
  data: z.string(),
  target: z.string(),
  task: TrialsTask.nullable(),
  metric: z.enum(['r2', 'auc']).nullable(),
  trialsDone: Count,
  trialsTotal: Count,
  engine: TrialsEngineName.nullable(),
  concurrency: z.number().int().positive().nullable(),
  best: z.object({ family: TrialsFamily, number: Count, value: z.number(), params: TrialParams }).nullable(),
  /** The families side by side, in the spec's order. */
  families: z.array(FamilySummary),
  /** The request's settings (epochs, patience, folds, sampler, seed, space, ...), as run.json keeps them. */
  settings: z.object({
    epochs: Count,
    patience: Count,
    folds: Count.nullable(),
    valFraction: z.number(),
    sampler: TrialsSampler,
    seed: Count,
    engine: z.string(),
    concurrency: z.union([z.literal('auto'), Count]),
    device: z.string(),
    space: FamilySpaces.nullable(),
    families: z.array(TrialsFamily),
    treeWorkers: z.union([z.literal('auto'), Count]),
  }),
});
export type TrialsRunInfo = z.infer<typeof TrialsRunInfo>;

/** runTrials: every finished trial of a sweep, as trials.jsonl holds them (the table reads these). */
export const TrialsTable = z.object({
  runId: z.string(),
  trials: z.array(TrialResult),
  /** Lines of trials.jsonl that are not a trial (damaged, or the last one half-written): skipped, named by line number. */
  skipped: z.array(z.object({ line: z.number().int().positive(), reason: z.string() })).default([]),
});
export type TrialsTable = z.infer<typeof TrialsTable>;
