/**
 * The trials job's half of the contract: the request that starts a sweep (every
 * default here, and only here: the CLI's flags, the panel's New sweep form and the
 * tests parse it), the events a sweep reports, and what the panel shows of it.
 */
import { z } from 'zod';
import { CommonEvent, RunInfoBase, RunName } from '../runs.js';
import { DeviceRequest } from '../protocol.js';
import { SearchSpace, TrialParams, TrialResult, TrialsEngineName, TrialsSampler, TrialsTask } from '../trialsProtocol.js';

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
    trials: Whole('trials').min(1, 'at least 1 trial').max(100_000, 'at most 100,000 trials').default(20),
    /** Members trained at once (a trial with K folds is K members); auto: from the memory estimate. */
    concurrency: z.union([z.literal('auto'), Whole('members').min(1, 'at least 1').max(4096, 'at most 4,096')]).default('auto'),
    epochs: Whole('epochs').min(1, 'at least 1 epoch').max(100_000, 'at most 100,000 epochs').default(200),
    /** Epochs without a better validation loss before a trial stops; 0: never stop early. */
    patience: Whole('epochs').min(0, 'at least 0').default(20),
    /** K-fold cross-validation (a trial's K fold models train as K members); null: one held-out part. */
    folds: Whole('folds').min(2, 'at least 2 folds').max(50, 'at most 50 folds').nullable().default(null),
    valFraction: z.number('a fraction').gt(0, 'above 0').lt(1, 'below 1').default(0.2),
    /** The search space (SearchSpace, Optuna's distributions by name); null: the default space. */
    space: SearchSpace.nullable().default(null),
    /** Where the space came from (a file's name), for messages. */
    spaceSource: z.string().nullable().default(null),
    sampler: TrialsSampler.default('tpe'),
    seed: Whole('').min(0, 'at least 0').max(2 ** 31 - 1, 'below 2^31').default(0),
    device: DeviceRequest.default('auto'),
    engine: z.union([z.literal('auto'), TrialsEngineName]).default('auto'),
    vramLimitGiB: z.number('GiB').positive('above 0 GiB').nullable().default(null),
    targetMemory: z.number('a fraction').gt(0, 'above 0').max(1, 'at most 1').default(0.85),
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
  }),
  ...CommonEvent.options,
  /** The engine and concurrency this session trains with, and why. */
  z.object({ kind: z.literal('engine'), engine: TrialsEngineName, why: z.string(), concurrency: z.number().int().positive(), memberBytes: Count, roomBytes: Bytes, device: z.string(), failedStale: z.array(Count) }),
  z.object({ kind: z.literal('trialStarted'), number: Count, params: TrialParams, seed: Count, members: z.number().int().positive() }),
  /** Sampled validation and training loss by epoch of running trials. */
  z.object({ kind: z.literal('curve'), points: z.array(z.object({ number: Count, epoch: Count, train: z.number(), val: z.number() })) }),
  /** A trial finished (complete, pruned or failed); trialsDone counts the complete ones. */
  z.object({ kind: z.literal('trialDone'), result: TrialResult, trialsDone: Count, trialsTotal: Count }),
  z.object({ kind: z.literal('concurrency'), concurrency: z.number().int().positive(), reason: z.enum(['oom', 'measured']), peak: Bytes, estimate: Bytes }),
  z.object({ kind: z.literal('oom'), members: z.number().int().positive(), concurrency: z.number().int().positive(), restarted: z.array(Count) }),
]);
export type TrialsEvent = z.infer<typeof TrialsEvent>;

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
  best: z.object({ number: Count, value: z.number(), params: TrialParams }).nullable(),
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
    space: SearchSpace.nullable(),
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
