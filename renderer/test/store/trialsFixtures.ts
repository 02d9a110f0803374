/** Sweep events and runs as the Engine sends them (each checked against the contract where it is used). */
import { TRIALS_KIND, TRIALS_REQUEST_DEFAULTS, type TrialsEvent, type TrialsRunInfo } from '../../../worker/src/contract/jobs/trials.ts';
import type { TrialResult } from '../../../worker/src/contract/trialsProtocol.ts';
import { NO_WORDS } from './fixtures.ts';

export const params = (n: number) => ({ hidden: n % 2 ? '16-8' : '12-6', lr: 0.001 * (n + 1), weight_decay: 1e-5, dropout: 0.1 });

export const result = (number: number, value: number | null, patch: Partial<TrialResult> = {}): TrialResult => ({
  number,
  state: value === null ? 'failed' : 'complete',
  params: params(number),
  seed: number,
  value,
  metrics: value === null ? {} : { r2: value, mse: 1 - value },
  epochs: 40,
  bestEpoch: 30,
  ms: 1000 + number,
  peakBytes: 1024 * (number + 1),
  peakSource: 'estimate',
  engine: 'batched',
  message: value === null ? 'nan loss' : null,
  ...patch,
});

export const started = (runDir = '/runs/s1'): TrialsEvent => ({ kind: 'started', runDir, trialsTotal: 6, trialsDone: 0, task: 'regression', metric: 'r2' });
export const engine = (concurrency = 2, failedStale: number[] = []): TrialsEvent => ({ kind: 'engine', engine: 'batched', why: 'auto: batched on a CPU at 1', concurrency, memberBytes: 1e6, roomBytes: null, device: 'cpu', failedStale });
export const trialStarted = (number: number): TrialsEvent => ({ kind: 'trialStarted', number, params: params(number), seed: number, members: 1 });
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
  best: { number: 1, value: 0.8, params: params(1) },
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
  },
  ...patch,
});
