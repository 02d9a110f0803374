/** Sweep events and runs as the Engine sends them (each checked against the contract where it is used). */
import { TRIALS_KIND, TRIALS_REQUEST_DEFAULTS, type TrialsEvent, type TrialsRunInfo } from '../../../worker/src/contract/jobs/trials.ts';
import type { FamilySummary } from '../../../worker/src/contract/jobs/trials.ts';
import type { TrialParams, TrialResult, TrialsFamily } from '../../../worker/src/contract/trialsProtocol.ts';
import { NO_WORDS } from './fixtures.ts';

export const params = (n: number) => ({ hidden: n % 2 ? '16-8' : '12-6', lr: 0.001 * (n + 1), weight_decay: 1e-5, dropout: 0.1 });
/** A tree family's params (xgboost's names). */
export const treeParams = (n: number): TrialParams => ({ max_depth: 3 + (n % 3), learning_rate: 0.05 * (n + 1), n_estimators: 200, subsample: 0.8 });

export const result = (number: number, value: number | null, patch: Partial<TrialResult> = {}): TrialResult => ({
  family: 'nn',
  number,
  state: value === null ? 'failed' : 'complete',
  params: patch.family && patch.family !== 'nn' ? treeParams(number) : params(number),
  seed: number,
  value,
  metrics: value === null ? {} : { r2: value, mse: 1 - value },
  epochs: 40,
  bestEpoch: 30,
  ms: 1000 + number,
  peakBytes: 1024 * (number + 1),
  peakSource: 'estimate',
  engine: patch.family && patch.family !== 'nn' ? 'worker' : 'batched',
  device: 'cpu',
  message: value === null ? 'nan loss' : null,
  ...patch,
});

export const started = (runDir = '/runs/s1', families: TrialsFamily[] = ['nn']): TrialsEvent => ({ kind: 'started', runDir, trialsTotal: 6 * families.length, trialsDone: 0, task: 'regression', metric: 'r2', families, best: null, doneByFamily: {} });
export const engine = (concurrency = 2, failedStale: number[] = [], family: TrialsFamily = 'nn'): TrialsEvent =>
  family === 'nn'
    ? { kind: 'engine', family, engine: 'batched', why: 'auto: batched on a CPU at 1', concurrency, memberBytes: 1e6, roomBytes: null, device: 'cpu', failedStale }
    : { kind: 'engine', family, engine: 'worker', why: 'auto: 2 processes on a CPU, the cores split', concurrency, memberBytes: 0, roomBytes: null, device: 'cpu', failedStale };
export const trialStarted = (number: number, family: TrialsFamily = 'nn'): TrialsEvent => ({ kind: 'trialStarted', family, number, params: family === 'nn' ? params(number) : treeParams(number), seed: number, members: 1 });
export const treeWorker = (family: TrialsFamily, slot: number, pid: number, reason: 'started' | 'replaced' | 'recycled' | 'oom' = 'started', detail: string | null = null): TrialsEvent => ({
  kind: 'treeWorker',
  family,
  slot,
  pid,
  device: 'cpu',
  visibleDevices: '',
  threads: 1,
  reason,
  detail,
});
export const familyDone = (family: TrialsFamily, complete: number, ms: number): TrialsEvent => ({ kind: 'familyDone', family, complete, ms });

/** A family's summary as the Engine writes it. */
export const summary = (family: TrialsFamily, patch: Partial<FamilySummary> = {}): FamilySummary => ({
  family,
  rank: null,
  trialsDone: 0,
  trialsTotal: 6,
  failed: 0,
  best: null,
  msPerTrial: null,
  peakBytes: null,
  peakSource: null,
  elapsedMs: 0,
  engine: null,
  concurrency: null,
  ...patch,
});
export const curve = (number: number, from: number, to: number): TrialsEvent => ({
  kind: 'curve',
  points: Array.from({ length: to - from + 1 }, (_, i) => ({ number, epoch: from + i, train: 1 / (from + i + 1), val: 2 / (from + i + 1) })),
});
export const trialDone = (r: TrialResult, trialsDone: number): TrialsEvent => ({ kind: 'trialDone', result: r, trialsDone, trialsTotal: 6 });

export const trialsRun = (runId: string, patch: Partial<TrialsRunInfo> = {}): TrialsRunInfo => ({
  ...NO_WORDS,
  runId,
  kind: TRIALS_KIND,
  known: true,
  status: 'running',
  unitsDone: 2,
  unitsTotal: 6,
  unit: 'trials',
  device: 'cpu',
  createdAt: '2025-01-03T00:00:00.000Z',
  diskBytes: 4096,
  errors: [],
  data: '/data/table.csv',
  target: 'y',
  task: 'regression',
  metric: 'r2',
  trialsDone: 2,
  trialsTotal: 6,
  engine: 'batched',
  concurrency: 2,
  best: { family: 'nn', number: 1, value: 0.8, params: params(1) },
  families: [summary('nn', { rank: 1, trialsDone: 2, best: { number: 1, value: 0.8, params: params(1) }, msPerTrial: 1000, peakBytes: 2048, peakSource: 'estimate', elapsedMs: 2500, engine: 'batched', concurrency: 2 })],
  settings: {
    epochs: 40,
    patience: 20,
    folds: null,
    valFraction: 0.2,
    sampler: 'tpe',
    seed: 0,
    engine: 'auto',
    concurrency: TRIALS_REQUEST_DEFAULTS.concurrency,
    device: 'auto',
    space: null,
    families: ['nn'],
    treeWorkers: 'auto',
  },
  ...patch,
});
