/**
 * The generic slice: the API, the connection, the view, the runs list, the
 * selection, GPU samples and errors. It knows no kind of job: a run event goes
 * to its kind's slice through the table it is given (kinds.ts).
 */
import type { GpuSample, HeadroomApi, RunEvent, RunInfo } from '../../../worker/src/contract/api.ts';
import { appendBounded, type Point } from '../charts/decimate.ts';
import type { KindStore, SliceCreator } from './types.ts';

/** A day of 1 Hz samples: the bound of every live series (the journal on disk holds the rest). */
export const WINDOW = 86_400;

export type View = 'runs' | 'new' | 'run' | 'gpus' | 'doctor';

export interface CoreSlice {
  api: HeadroomApi | null;
  connected: boolean;
  view: View;
  runs: RunInfo[];
  selected: string | null;
  gpu: GpuSample | null;
  gpuHistory: Point[];
  error: string | null;
  /** Run events dropped: of a kind this panel has no slice for, or failing their kind's schema. */
  droppedEvents: number;
  setApi(api: HeadroomApi): void;
  setConnected(up: boolean): void;
  show(view: View, runId?: string): void;
  setRuns(runs: RunInfo[]): void;
  upsertRun(run: RunInfo): void;
  onRunEvent(event: RunEvent): void;
  onGpu(sample: GpuSample): void;
  setError(message: string | null): void;
}

/** Puts a run in the list, replacing the one with its id (a new run goes first). */
export function upsert(runs: RunInfo[], run: RunInfo): RunInfo[] {
  return runs.some((r) => r.runId === run.runId) ? runs.map((r) => (r.runId === run.runId ? run : r)) : [run, ...runs];
}

export const createCoreSlice =
  (kinds: Readonly<Record<string, KindStore>>): SliceCreator<CoreSlice> =>
  (set, get) => ({
    api: null,
    connected: false,
    view: 'runs',
    runs: [],
    selected: null,
    gpu: null,
    gpuHistory: [],
    error: null,
    droppedEvents: 0,
    setApi: (api) => set({ api }),
    setConnected: (connected) => set({ connected }),
    show: (view, runId) => set((state) => ({ view, selected: runId ?? state.selected })),
    setRuns: (runs) => set({ runs }),
    upsertRun: (run) => set((state) => ({ runs: upsert(state.runs, run) })),
    onRunEvent: (event) => {
      const kind = Object.hasOwn(kinds, event.jobKind) ? kinds[event.jobKind] : undefined;
      if (!kind?.onEvent(get(), event)) set((state) => ({ droppedEvents: state.droppedEvents + 1 }));
    },
    onGpu: (sample) =>
      set((state) => ({
        gpu: sample,
        gpuHistory: appendBounded(state.gpuHistory, { t: sample.at / 1000, v: sample.gpus[0]?.memoryUsed ?? sample.system.memoryUsed }, WINDOW),
      })),
    setError: (error) => set({ error }),
  });
