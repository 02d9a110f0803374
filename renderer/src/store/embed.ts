/**
 * The embed slice: each embed run's live series (bounded windows), folded from
 * its events. An event is parsed once with the contract's EmbedEvent; one that
 * fails it is dropped, never half-applied.
 */
import type { RunEvent, RunHistory, RunInfo } from '../../../worker/src/contract/api.ts';
import { EmbedEvent, EmbedRunInfo, type EmbedWorkerInfo } from '../../../worker/src/contract/jobs/embed.ts';
import { SessionEvent } from '../../../worker/src/contract/runs.ts';
import type { Point } from '../charts/decimate.ts';
import { bytes as bytesWord } from '../format.ts';
import { WINDOW } from './core.ts';
import type { KindStore, SliceCreator, Store } from './types.ts';

const LOG_LINES = 500;
const OOM_MARKS = 1000;
const INCIDENTS = 500;

/**
 * What the VRAM guard, the leak detector and the workers' health said: drawn as marks on the
 * memory chart and listed, from history so a finished run shows them too.
 */
export interface Incident {
  /** Seconds since the epoch, as the charts' t. */
  t: number;
  kind: 'warning' | 'critical' | 'leak' | 'recycle' | 'hung' | 'restarted' | 'given_up';
  /** The worker it concerns (w0, w1, ...); null where the event names none (runs made before workers). */
  worker: string | null;
  words: string;
}

export interface PassRow {
  model: string;
  /** The worker that ran it (w0, w1, ...); null in runs made before workers. */
  worker: string | null;
  device: string;
  phase: 'started' | 'completed';
  ms: number | null;
  rows: number | null;
  residentPeak: number | null;
}

export interface RunSeries {
  vram: Point[];
  /** Bytes the runtime may use (GPU capacity or system memory): the chart's scale and warning lines. */
  total: number | null;
  batchDocs: Point[];
  tokensPerSecond: Point[];
  chunks: Point[];
  ooms: number[];
  passes: PassRow[];
  log: { at: number; line: string }[];
  batches: number;
  /** Each worker's memory (allocated, bytes) and batch sizes (docs), by worker id: from the events that name their worker. */
  workerVram: Record<string, Point[]>;
  workerBatch: Record<string, Point[]>;
  /** Each worker's highest memory figure seen (its samples' peak or allocated, bytes): the Workers card's peak once the run is not live. */
  workerPeak: Record<string, number>;
  /** Memory after clean-up between units (the leak detector's input), every worker's. */
  baseline: Point[];
  incidents: Incident[];
}

export const emptySeries = (): RunSeries => ({ vram: [], total: null, batchDocs: [], tokensPerSecond: [], chunks: [], ooms: [], passes: [], log: [], batches: 0, workerVram: {}, workerBatch: {}, workerPeak: {}, baseline: [], incidents: [] });

type PerWorker = 'workerVram' | 'workerBatch';
type Lists = Pick<RunSeries, 'vram' | 'batchDocs' | 'tokensPerSecond' | 'chunks' | 'ooms' | 'log' | 'baseline' | 'incidents'>;
const BOUNDS: Record<keyof Lists, number> = { vram: WINDOW, batchDocs: WINDOW, tokensPerSecond: WINDOW, chunks: WINDOW, ooms: OOM_MARKS, log: LOG_LINES, baseline: WINDOW, incidents: INCIDENTS };

/**
 * A run's series being folded: each list is copied the first time an event adds
 * to it, then pushed to; trimmed to its window at the end. One live event copies
 * one list (React sees a new array); a history of thousands copies each list once.
 */
class SeriesDraft {
  readonly series: RunSeries;
  private readonly touched = new Set<keyof Lists>();
  private readonly touchedWorkers = new Set<`${PerWorker}:${string}`>();

  constructor(base: RunSeries) {
    this.series = { ...base };
  }

  push<K extends keyof Lists>(key: K, item: Lists[K][number]): void {
    if (!this.touched.has(key)) {
      this.touched.add(key);
      (this.series[key] as Lists[K][number][]) = this.series[key].slice();
    }
    (this.series[key] as Lists[K][number][]).push(item);
  }

  log(at: number, line: string): void {
    this.push('log', { at, line });
  }

  /** A worker's sample (its list copied once per draft, as push does). */
  workerPoint(key: PerWorker, worker: string, point: Point): void {
    if (!this.touchedWorkers.has(`${key}:${worker}`)) {
      this.touchedWorkers.add(`${key}:${worker}`);
      this.series[key] = { ...this.series[key], [worker]: (this.series[key][worker] ?? []).slice() };
    }
    this.series[key][worker]!.push(point);
  }

  /** An incident: listed, and its line in the event log. */
  incident(at: number, incident: Omit<Incident, 't'>): void {
    this.push('incidents', { t: at / 1000, ...incident });
    this.log(at, `${incident.worker ? `${incident.worker}: ` : ''}${incident.words}`);
  }

  finish(): RunSeries {
    for (const key of this.touched) {
      const list = this.series[key];
      // Past the window, the oldest tenth goes at once (amortised, as appendBounded does).
      if (list.length > BOUNDS[key]) (this.series[key] as unknown[]) = list.slice(list.length - BOUNDS[key] + Math.floor(BOUNDS[key] / 10));
    }
    for (const touched of this.touchedWorkers) {
      const [key, worker] = touched.split(':') as [PerWorker, string];
      const list = this.series[key][worker]!;
      if (list.length > WINDOW) this.series[key][worker] = list.slice(list.length - WINDOW + Math.floor(WINDOW / 10));
    }
    return this.series;
  }
}

/** Folds one embed event (already parsed) into a draft; `at` is ms since the epoch. */
function foldEmbedEvent(draft: SeriesDraft, at: number, event: EmbedEvent): void {
  const t = at / 1000;
  const s = draft.series;
  switch (event.kind) {
    case 'memory':
      if (event.allocated === null) return;
      draft.push('vram', { t, v: event.allocated });
      if (event.worker !== undefined) {
        draft.workerPoint('workerVram', event.worker, { t, v: event.allocated });
        const peak = Math.max(s.workerPeak[event.worker] ?? 0, event.peak ?? 0, event.allocated);
        if (peak !== s.workerPeak[event.worker]) s.workerPeak = { ...s.workerPeak, [event.worker]: peak };
      }
      s.total = event.total ?? s.total;
      return;
    case 'batch':
      s.batches += 1;
      draft.push('batchDocs', { t, v: event.docs });
      if (event.worker !== undefined) draft.workerPoint('workerBatch', event.worker, { t, v: event.docs });
      if (event.ms > 0) draft.push('tokensPerSecond', { t, v: (event.tokens / event.ms) * 1000 });
      return;
    case 'chunk':
    case 'started':
      draft.push('chunks', { t, v: event.chunksDone });
      return;
    case 'oom':
      draft.push('ooms', t);
      draft.log(at, `out of memory: ${event.docs} docs, ${event.tokens} tokens, budget now ${event.budget} (${event.action})`);
      return;
    case 'pass': {
      const row: PassRow =
        event.phase === 'completed'
          ? { model: event.model, worker: event.worker ?? null, device: event.device, phase: 'completed', ms: event.ms, rows: event.rows, residentPeak: event.residentPeak }
          : { model: event.model, worker: event.worker ?? null, device: event.device, phase: 'started', ms: event.ms, rows: null, residentPeak: event.resident };
      // A pass is one model on one worker: its start row gives way to what comes next.
      s.passes = [...s.passes.filter((pass) => !(pass.model === row.model && pass.worker === row.worker && pass.phase === 'started')), row];
      draft.log(at, `${event.worker ? `${event.worker}: ` : ''}pass ${row.model} ${row.phase} on ${row.device}`);
      return;
    }
    case 'log':
      draft.log(at, event.line);
      return;
    case 'runtime':
      draft.log(at, `${event.worker ? `${event.worker}: ` : ''}runtime ${event.pid} ready (torch ${event.torch}, ${event.cuda ? 'CUDA' : 'CPU only'})`);
      return;
    case 'runtime_hung':
      draft.incident(at, { kind: 'hung', worker: event.worker ?? null, words: `runtime ${event.pid} silent ${event.silentS.toFixed(0)} s (timeout ${event.timeoutS} s): ${event.giveUp ? 'giving up' : 'restarting it'}` });
      return;
    case 'vram_level': {
      const share = `${((100 * event.used) / event.total).toFixed(0)}% of ${bytesWord(event.total)}`;
      const acted = event.action === 'warn' ? 'nothing done below the critical level' : event.action === 'shrink' ? `budget shrunk${event.budget === null ? '' : ` to ${Math.round(event.budget).toLocaleString()} tokens`}, cache released` : 'run paused';
      draft.incident(at, { kind: event.level, worker: event.worker ?? null, words: `VRAM ${event.level}: ${share} in use (${event.model}, chunk ${event.chunk + 1}): ${acted}` });
      return;
    }
    case 'baseline':
      draft.push('baseline', { t, v: event.bytes });
      return;
    case 'leak_warning':
      draft.incident(at, {
        kind: event.recycle ? 'recycle' : 'leak',
        worker: event.worker ?? null,
        words: `leak warning: the memory baseline rises ${event.slopeMB.toFixed(1)} MB per unit over ${event.units} units (${event.driftMB.toFixed(0)} MB in all)${event.recycle ? ': past the limit, a fresh worker takes over' : ''}`,
      });
      return;
    case 'worker': {
      const on = event.device ? ` on ${event.device}` : '';
      if (event.phase === 'started') {
        draft.log(at, `${event.worker}${on} started${event.pid === null ? '' : ` (pid ${event.pid})`}`);
        return;
      }
      const why = event.reason ? ` (${event.reason})` : '';
      draft.incident(
        at,
        event.phase === 'restarted'
          ? { kind: 'restarted', worker: event.worker, words: `restarted${on}${why}${event.attempt > 1 ? `, attempt ${event.attempt}` : ''}${event.pid === null ? '' : `: pid ${event.pid}`}` }
          : { kind: 'given_up', worker: event.worker, words: `given up${on}${why}; the other workers go on` },
      );
      return;
    }
    case 'mode':
      draft.log(at, `ensemble mode now ${event.ensembleMode}`);
      return;
    case 'policy':
      draft.log(at, `OOM policy now ${event.oomPolicy}`);
      return;
    case 'paused':
      draft.log(at, event.reason ? `paused: ${event.reason}` : 'paused');
      return;
    case 'resumed':
      draft.log(at, event.kind);
      return;
    default:
      assertNever(event);
  }
}

/** The event log's words for a session's start and end (every kind's sessions; the time axis shows the gap). */
function sessionLine(event: SessionEvent): string {
  if (event.phase === 'start') return event.command === 'start' ? 'session started' : 'session resumed';
  return event.outcome === 'done' ? 'session ended: done' : `session ended: ${event.outcome}${event.message ? ` (${event.message})` : ''}`;
}

/** Folds events (parsed here; one failing EmbedEvent is skipped and counted) into a run's series. */
function foldEvents(base: RunSeries, events: readonly Pick<RunEvent, 'at' | 'event'>[]): { series: RunSeries; dropped: number } {
  const draft = new SeriesDraft(base);
  let dropped = 0;
  for (const { at, event } of events) {
    const session = event.kind === 'session' ? SessionEvent.safeParse(event) : null;
    if (session?.success) {
      draft.log(at, sessionLine(session.data));
      continue;
    }
    const parsed = EmbedEvent.safeParse(event);
    if (parsed.success) foldEmbedEvent(draft, at, parsed.data);
    else dropped += 1;
  }
  return { series: draft.finish(), dropped };
}

/** Folds one embed event (already parsed) into a run's series; `at` is ms since the epoch. */
export function applyEmbedEvent(series: RunSeries, at: number, event: EmbedEvent): RunSeries {
  const draft = new SeriesDraft(series);
  foldEmbedEvent(draft, at, event);
  return draft.finish();
}

/** A run's series rebuilt from its history; the batch count is the history's own (its samples are thinned). */
export function seriesFromHistory(history: Pick<RunHistory, 'events' | 'counts'>): RunSeries {
  const { series } = foldEvents(emptySeries(), history.events);
  return { ...series, batches: history.counts.batch ?? series.batches };
}

function assertNever(event: never): never {
  throw new Error(`an embed event the reducer does not handle: ${JSON.stringify(event)}`);
}

/** A listed run read as an embed run; null when it is not one (or does not fit the schema). */
export function readEmbedRun(run: RunInfo): EmbedRunInfo | null {
  const parsed = EmbedRunInfo.safeParse(run);
  return parsed.success ? parsed.data : null;
}

export interface EmbedSlice {
  embedSeries: Record<string, RunSeries>;
  /** Parses the event with EmbedEvent and folds it in; false (nothing changed) when it fails the schema. */
  onEmbedEvent(event: RunEvent): boolean;
  setEmbedSeries(runId: string, series: RunSeries): void;
}

export const createEmbedSlice: SliceCreator<EmbedSlice> = (set) => ({
  embedSeries: {},
  onEmbedEvent: ({ runId, at, event }) => {
    let dropped = 0;
    set((state) => {
      const next = foldEvents(state.embedSeries[runId] ?? emptySeries(), [{ at, event }]);
      dropped = next.dropped;
      return dropped ? {} : { embedSeries: { ...state.embedSeries, [runId]: next.series } };
    });
    return dropped === 0;
  },
  setEmbedSeries: (runId, series) => set((state) => ({ embedSeries: { ...state.embedSeries, [runId]: series } })),
});

export const embedStore: KindStore = {
  describe: (run) => {
    const info = readEmbedRun(run);
    return info && { details: info.models.join(', '), progressNote: `${info.rowsTotal.toLocaleString()} docs` };
  },
  onEvent: (store, event) => store.onEmbedEvent(event),
  rebuild: (store, history) => store.setEmbedSeries(history.runId, seriesFromHistory(history)),
};

/** A worker's memory, peak and batch size as the Workers card shows them. */
export interface WorkerFigures {
  allocated: number | null;
  peak: number | null;
  batchDocs: number | null;
  /** When the run's history recorded them (seconds since the epoch, as the charts' t); null: the live figures, or none. */
  recordedAt: number | null;
}

/**
 * While the run is live, its Engine's figures (kept current by live events). Otherwise (done, stopped,
 * interrupted, or opened from disk) the Engine has none: the last ones the run's history recorded for
 * the worker (history.jsonl keeps each worker's samples apart, so each has its own last figures).
 */
export function workerFigures(worker: EmbedWorkerInfo, series: Pick<RunSeries, 'workerVram' | 'workerBatch' | 'workerPeak'>, live: boolean): WorkerFigures {
  if (live) return { allocated: worker.allocated, peak: worker.peak, batchDocs: worker.batchDocs, recordedAt: null };
  const memory = series.workerVram[worker.id]?.at(-1);
  const batch = series.workerBatch[worker.id]?.at(-1);
  const recorded = [memory?.t, batch?.t].filter((t) => t !== undefined);
  return {
    allocated: memory?.v ?? worker.allocated,
    peak: series.workerPeak[worker.id] ?? worker.peak,
    batchDocs: batch?.v ?? worker.batchDocs,
    recordedAt: recorded.length > 0 ? Math.max(...recorded) : null,
  };
}

const EMPTY = emptySeries();
/** A run's series (a shared empty one before its first event, so selectors stay stable). */
export const embedSeriesOf = (state: Store, runId: string | null): RunSeries => (runId && state.embedSeries[runId]) || EMPTY;
