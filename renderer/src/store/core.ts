/**
 * The generic slice: the API, the connection, the view, the runs list, the
 * selection, GPU samples and errors. It knows no kind of job: a run event goes
 * to its kind's slice through the table it is given (kinds.ts).
 */
import type { GpuHistory, GpuSample, HeadroomApi, RunEvent, RunHistory, RunInfo } from '../../../worker/src/contract/api.ts';
import { emptyGpuSeries, foldGpuPoints, gpuSeriesFromHistory, pointOfSample, type GpuSeries } from './gpus.ts';
import { emptyTimeline, foldTimeline, type Timeline } from './timeline.ts';
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
  /** Per GPU its memory, unaccounted memory and utilisation, and system memory: the monitor's history, then live samples. */
  gpuSeries: GpuSeries;
  error: string | null;
  /** Run events dropped: of a kind this panel has no slice for, or failing their kind's schema. */
  droppedEvents: number;
  /** Each run's time axis (start, gaps, how it ended): shared by all its charts. */
  timelines: Record<string, Timeline>;
  /** Charts read as clock time or as time since the run began. */
  timeAxis: 'clock' | 'elapsed';
  /** Live events that came while a run's history was loading: applied after it, past its last event. */
  loading: Record<string, RunEvent[]>;
  setApi(api: HeadroomApi): void;
  setConnected(up: boolean): void;
  show(view: View, runId?: string): void;
  setRuns(runs: RunInfo[]): void;
  upsertRun(run: RunInfo): void;
  onRunEvent(event: RunEvent): void;
  /** Rebuilds a run's view from its history on disk (open, reload, reconnect), then goes on live without a gap or a duplicate. */
  loadHistory(runId: string): Promise<void>;
  setTimeAxis(axis: 'clock' | 'elapsed'): void;
  onGpu(sample: GpuSample): void;
  /** The monitor's history from disk (gpuHistory): drawn before the live samples that came after it. */
  loadGpuHistory(history: GpuHistory): void;
  setError(message: string | null): void;
}

/** Puts a run in the list, replacing the one with its id (a new run goes first). */
export function upsert(runs: RunInfo[], run: RunInfo): RunInfo[] {
  return runs.some((r) => r.runId === run.runId) ? runs.map((r) => (r.runId === run.runId ? run : r)) : [run, ...runs];
}

export const createCoreSlice =
  (kinds: Readonly<Record<string, KindStore>>): SliceCreator<CoreSlice> =>
  (set, get) => {
    /**
     * The last event number drawn per run (its history's last, then each live one): an event at or
     * below it is already drawn. Kept outside the state: bookkeeping no view renders.
     */
    const drawnSeq = new Map<string, number>();
    /** One live event: the run's time axis, then its kind's slice. */
    const applyLive = (event: RunEvent): void => {
      // seq 0: a line outside any history (a session refused before it began); never a duplicate.
      if (event.seq !== 0) {
        if (event.seq <= (drawnSeq.get(event.runId) ?? 0)) return;
        drawnSeq.set(event.runId, event.seq);
      }
      const before = get().timelines[event.runId] ?? emptyTimeline();
      const after = foldTimeline(before, event);
      // The axis moves on a session, a pause or a resume; an ordinary event only moves its last time, kept to the second
      // (no chart redraws for it: live charts end on 5 s steps), so most events change nothing here.
      const moved = after.gaps !== before.gaps || after.open !== before.open || after.start !== before.start || after.ended !== before.ended;
      const tick = Math.floor((after.lastAt ?? 0) / 1000) !== Math.floor((before.lastAt ?? 0) / 1000);
      if (moved || tick) set((state) => ({ timelines: { ...state.timelines, [event.runId]: after } }));
      const kind = Object.hasOwn(kinds, event.jobKind) ? kinds[event.jobKind] : undefined;
      if (!kind?.onEvent(get(), event)) set((state) => ({ droppedEvents: state.droppedEvents + 1 }));
    };
    return {
    api: null,
    connected: false,
    view: 'runs',
    runs: [],
    selected: null,
    gpu: null,
    gpuSeries: emptyGpuSeries(),
    error: null,
    droppedEvents: 0,
    timelines: {},
    timeAxis: 'clock',
    loading: {},
    setApi: (api) => set({ api }),
    setConnected: (connected) => {
      const was = get().connected;
      set({ connected });
      // Back after a lost connection (a server restart): what was missed is on disk, so everything is read again.
      if (connected && !was) {
        const { api, selected } = get();
        void api?.listRuns({}).then(get().setRuns, (error: Error) => get().setError(error.message));
        void api?.gpuHistory({}).then(get().loadGpuHistory, () => undefined);
        if (selected) void get().loadHistory(selected);
      }
    },
    show: (view, runId) => {
      set((state) => ({ view, selected: runId ?? state.selected }));
      const selected = runId ?? get().selected;
      if (view === 'run' && selected) void get().loadHistory(selected);
    },
    setRuns: (runs) => set({ runs }),
    upsertRun: (run) => set((state) => ({ runs: upsert(state.runs, run) })),
    onRunEvent: (event) => {
      if (Object.hasOwn(get().loading, event.runId)) {
        set((state) => ({ loading: { ...state.loading, [event.runId]: [...(state.loading[event.runId] ?? []), event] } }));
        return;
      }
      applyLive(event);
    },
    loadHistory: async (runId) => {
      const api = get().api;
      if (!api || Object.hasOwn(get().loading, runId)) return;
      set((state) => ({ loading: { ...state.loading, [runId]: [] } }));
      let history: RunHistory | null = null;
      try {
        history = await api.runHistory({ runId });
      } catch (error) {
        get().setError(`cannot read the history of run ${runId}: ${(error as Error).message}`);
      }
      const buffered = get().loading[runId] ?? [];
      set((state) => {
        const { [runId]: _done, ...loading } = state.loading;
        void _done;
        return { loading };
      });
      if (history) {
        const kind = Object.hasOwn(kinds, history.jobKind) ? kinds[history.jobKind] : undefined;
        kind?.rebuild(get(), history);
        const timeline = history.events.reduce(foldTimeline, emptyTimeline());
        set((state) => ({ timelines: { ...state.timelines, [runId]: timeline } }));
        drawnSeq.set(runId, history.lastSeq);
      }
      // What came while it loaded: those past the history's last event (applyLive drops the rest).
      for (const event of buffered) applyLive(event);
    },
    setTimeAxis: (timeAxis) => set({ timeAxis }),
    onGpu: (sample) => set((state) => ({ gpu: sample, gpuSeries: foldGpuPoints(state.gpuSeries, [pointOfSample(sample)], WINDOW) })),
    loadGpuHistory: (history) => set((state) => ({ gpuSeries: gpuSeriesFromHistory(history, state.gpuSeries, WINDOW) })),
    setError: (error) => set({ error }),
  };
  };
