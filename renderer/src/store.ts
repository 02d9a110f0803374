/**
 * The panel's state (zustand). Live series are bounded windows (a day of 1 Hz
 * samples each); the journal on disk holds the rest of a run's history.
 */
import { create } from 'zustand';
import type { GpuSample, HeadroomApi, RunEvent, RunInfo } from '../../worker/src/contract/api.ts';
import { appendBounded, type Point } from './decimate.ts';

export const WINDOW = 86_400;

export interface PassRow {
  model: string;
  device: string;
  phase: 'started' | 'completed';
  ms: number | null;
  rows: number | null;
  residentPeak: number | null;
}

export interface RunSeries {
  vram: Point[];
  /** Bytes the worker may use (GPU capacity or system memory): the chart's scale and warning lines. */
  total: number | null;
  batchDocs: Point[];
  tokensPerSecond: Point[];
  chunks: Point[];
  ooms: number[];
  passes: PassRow[];
  log: { at: number; line: string }[];
  batches: number;
}

export type View = 'runs' | 'new' | 'run' | 'gpus' | 'doctor';

interface State {
  api: HeadroomApi | null;
  connected: boolean;
  view: View;
  runs: RunInfo[];
  selected: string | null;
  series: Record<string, RunSeries>;
  gpu: GpuSample | null;
  gpuHistory: Point[];
  error: string | null;
  setApi(api: HeadroomApi): void;
  setConnected(up: boolean): void;
  show(view: View, runId?: string): void;
  setRuns(runs: RunInfo[]): void;
  upsertRun(run: RunInfo): void;
  onRunEvent(event: RunEvent): void;
  onGpu(sample: GpuSample): void;
  setError(message: string | null): void;
}

const emptySeries = (): RunSeries => ({ vram: [], total: null, batchDocs: [], tokensPerSecond: [], chunks: [], ooms: [], passes: [], log: [], batches: 0 });

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Folds one Engine progress event into a run's series. */
export function applyEvent(series: RunSeries, { at, event }: RunEvent): RunSeries {
  const t = at / 1000;
  switch (event.kind) {
    case 'memory': {
      const allocated = num(event.allocated);
      if (allocated === null) return series;
      return { ...series, vram: appendBounded(series.vram, { t, v: allocated }, WINDOW), total: num(event.total) ?? series.total };
    }
    case 'batch': {
      const docs = num(event.docs) ?? 0;
      const ms = num(event.ms) ?? 0;
      const tokens = num(event.tokens) ?? 0;
      return {
        ...series,
        batches: series.batches + 1,
        batchDocs: appendBounded(series.batchDocs, { t, v: docs }, WINDOW),
        tokensPerSecond: ms > 0 ? appendBounded(series.tokensPerSecond, { t, v: (tokens / ms) * 1000 }, WINDOW) : series.tokensPerSecond,
      };
    }
    case 'chunk':
    case 'started':
      return { ...series, chunks: appendBounded(series.chunks, { t, v: num(event.chunksDone) ?? 0 }, WINDOW) };
    case 'oom':
      return { ...series, ooms: appendBounded(series.ooms, t, 1000), log: appendBounded(series.log, { at, line: `out of memory: ${String(event.docs)} docs, ${String(event.tokens)} tokens, budget now ${String(event.budget)} (${String(event.action)})` }, 500) };
    case 'pass': {
      const row: PassRow = {
        model: String(event.model),
        device: String(event.device),
        phase: event.phase === 'completed' ? 'completed' : 'started',
        ms: num(event.ms),
        rows: num(event.rows),
        residentPeak: num(event.residentPeak) ?? num(event.resident),
      };
      const others = series.passes.filter((pass) => !(pass.model === row.model && pass.phase === 'started'));
      return { ...series, passes: [...others, row], log: appendBounded(series.log, { at, line: `pass ${row.model} ${row.phase} on ${row.device}` }, 500) };
    }
    case 'log':
      return { ...series, log: appendBounded(series.log, { at, line: String(event.line) }, 500) };
    case 'paused':
    case 'resumed':
    case 'mode':
    case 'worker':
      return { ...series, log: appendBounded(series.log, { at, line: describe(event) }, 500) };
    default:
      return series;
  }
}

function describe(event: RunEvent['event']): string {
  if (event.kind === 'worker') return `worker ${String(event.pid)} ready (torch ${String(event.torch)}, ${event.cuda ? 'CUDA' : 'CPU only'})`;
  if (event.kind === 'mode') return `ensemble mode now ${String(event.ensembleMode)}`;
  return String(event.kind);
}

export const useStore = create<State>((set) => ({
  api: null,
  connected: false,
  view: 'runs',
  runs: [],
  selected: null,
  series: {},
  gpu: null,
  gpuHistory: [],
  error: null,
  setApi: (api) => set({ api }),
  setConnected: (connected) => set({ connected }),
  show: (view, runId) => set((state) => ({ view, selected: runId ?? state.selected })),
  setRuns: (runs) => set({ runs }),
  upsertRun: (run) =>
    set((state) => {
      const found = state.runs.some((r) => r.runId === run.runId);
      return { runs: found ? state.runs.map((r) => (r.runId === run.runId ? run : r)) : [run, ...state.runs] };
    }),
  onRunEvent: (event) =>
    set((state) => ({ series: { ...state.series, [event.runId]: applyEvent(state.series[event.runId] ?? emptySeries(), event) } })),
  onGpu: (sample) =>
    set((state) => ({
      gpu: sample,
      gpuHistory: appendBounded(state.gpuHistory, { t: sample.at / 1000, v: sample.gpus[0]?.memoryUsed ?? sample.system.memoryUsed }, WINDOW),
    })),
  setError: (error) => set({ error }),
}));

const EMPTY = emptySeries();
export const seriesOf = (state: State, runId: string | null): RunSeries => (runId && state.series[runId]) || EMPTY;
