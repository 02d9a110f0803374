/**
 * The New sweep form's state, outside the component: switching views and coming
 * back finds it as it was left. Starts from the contract's defaults (the CLI's).
 */
import { create } from 'zustand';
import type { DataInspection } from '../../../../worker/src/contract/api.ts';
import { TRIALS_REQUEST_DEFAULTS } from '../../../../worker/src/contract/jobs/trials.ts';
import type { TrialsEngineName, TrialsFamily, TrialsSampler } from '../../../../worker/src/contract/trialsProtocol.ts';
import { DEFAULT_ROWS, type SpacesRows } from './space.ts';

const D = TRIALS_REQUEST_DEFAULTS;

/** What the preview shows for the data path typed: its columns, or why there are none. */
export type InspectState = { path: string; result: DataInspection; error: null } | { path: string; result: null; error: string };

export type TaskChoice = 'auto' | 'regression' | 'binary';
export type Validation = 'holdout' | 'folds';

export interface SweepFormValues {
  data: string;
  target: string;
  task: TaskChoice;
  /** The families checked (sent in TrialsFamily's order, the order they run). */
  families: TrialsFamily[];
  trials: number | string;
  epochs: number | string;
  patience: number | string;
  validation: Validation;
  folds: number | string;
  valFraction: number | string;
  concurrencyMode: 'auto' | 'fixed';
  concurrency: number | string;
  sampler: TrialsSampler;
  seed: number | string;
  device: string;
  engine: 'auto' | TrialsEngineName;
  treeWorkersMode: 'auto' | 'fixed';
  treeWorkers: number | string;
  name: string;
  /** Every family's rows (a family unchecked keeps its edits for when it is checked again). */
  space: SpacesRows;
}

interface SweepFormState extends SweepFormValues {
  inspect: InspectState | null;
  /** Errors by request path (data, target, trials, space.lr, ...), and `form` for the rest. */
  errors: Record<string, string>;
  busy: boolean;
  set(patch: Partial<Omit<SweepFormState, 'set'>>): void;
}

/** What the folds field offers when one switches to K folds (the request's default is a held-out part). */
const FOLDS_SUGGESTION = 5;
/** What the concurrency field offers when one switches from auto. */
const CONCURRENCY_SUGGESTION = 4;
/** What the tree workers field offers when one switches from auto. */
const TREE_WORKERS_SUGGESTION = 2;

export const initialSweepForm = (): Omit<SweepFormState, 'set'> => ({
  data: '',
  target: '',
  task: D.task,
  families: [...D.families],
  trials: D.trials,
  epochs: D.epochs,
  patience: D.patience,
  validation: D.folds === null ? 'holdout' : 'folds',
  folds: D.folds ?? FOLDS_SUGGESTION,
  valFraction: D.valFraction,
  concurrencyMode: D.concurrency === 'auto' ? 'auto' : 'fixed',
  concurrency: D.concurrency === 'auto' ? CONCURRENCY_SUGGESTION : D.concurrency,
  sampler: D.sampler,
  seed: D.seed,
  device: typeof D.device === 'string' ? D.device : 'auto',
  engine: D.engine,
  treeWorkersMode: D.treeWorkers === 'auto' ? 'auto' : 'fixed',
  treeWorkers: D.treeWorkers === 'auto' ? TREE_WORKERS_SUGGESTION : D.treeWorkers,
  name: '',
  space: DEFAULT_ROWS,
  inspect: null,
  errors: {},
  busy: false,
});

export const useSweepForm = create<SweepFormState>()((set) => ({
  ...initialSweepForm(),
  set: (patch) => set(patch),
}));
