/**
 * The embed slice: each embed run's live series (bounded windows), folded from
 * its events. An event is parsed once with the contract's EmbedEvent; one that
 * fails it is dropped, never half-applied.
 */
import type { RunEvent, RunInfo } from '../../../worker/src/contract/api.ts';
import { EmbedEvent, EmbedRunInfo } from '../../../worker/src/contract/jobs/embed.ts';
import { appendBounded, type Point } from '../charts/decimate.ts';
import { WINDOW } from './core.ts';
import type { KindStore, SliceCreator, Store } from './types.ts';

const LOG_LINES = 500;
const OOM_MARKS = 1000;

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
  /** Bytes the runtime may use (GPU capacity or system memory): the chart's scale and warning lines. */
  total: number | null;
  batchDocs: Point[];
  tokensPerSecond: Point[];
  chunks: Point[];
  ooms: number[];
  passes: PassRow[];
  log: { at: number; line: string }[];
  batches: number;
}

export const emptySeries = (): RunSeries => ({ vram: [], total: null, batchDocs: [], tokensPerSecond: [], chunks: [], ooms: [], passes: [], log: [], batches: 0 });

const logged = (series: RunSeries, at: number, line: string): RunSeries => ({ ...series, log: appendBounded(series.log, { at, line }, LOG_LINES) });

/** Folds one embed event (already parsed) into a run's series; `at` is ms since the epoch. */
export function applyEmbedEvent(series: RunSeries, at: number, event: EmbedEvent): RunSeries {
  const t = at / 1000;
  switch (event.kind) {
    case 'memory':
      if (event.allocated === null) return series;
      return { ...series, vram: appendBounded(series.vram, { t, v: event.allocated }, WINDOW), total: event.total ?? series.total };
    case 'batch':
      return {
        ...series,
        batches: series.batches + 1,
        batchDocs: appendBounded(series.batchDocs, { t, v: event.docs }, WINDOW),
        tokensPerSecond: event.ms > 0 ? appendBounded(series.tokensPerSecond, { t, v: (event.tokens / event.ms) * 1000 }, WINDOW) : series.tokensPerSecond,
      };
    case 'chunk':
    case 'started':
      return { ...series, chunks: appendBounded(series.chunks, { t, v: event.chunksDone }, WINDOW) };
    case 'oom':
      return logged({ ...series, ooms: appendBounded(series.ooms, t, OOM_MARKS) }, at, `out of memory: ${event.docs} docs, ${event.tokens} tokens, budget now ${event.budget} (${event.action})`);
    case 'pass': {
      const row: PassRow =
        event.phase === 'completed'
          ? { model: event.model, device: event.device, phase: 'completed', ms: event.ms, rows: event.rows, residentPeak: event.residentPeak }
          : { model: event.model, device: event.device, phase: 'started', ms: event.ms, rows: null, residentPeak: event.resident };
      const others = series.passes.filter((pass) => !(pass.model === row.model && pass.phase === 'started'));
      return logged({ ...series, passes: [...others, row] }, at, `pass ${row.model} ${row.phase} on ${row.device}`);
    }
    case 'log':
      return logged(series, at, event.line);
    case 'runtime':
      return logged(series, at, `runtime ${event.pid} ready (torch ${event.torch}, ${event.cuda ? 'CUDA' : 'CPU only'})`);
    case 'runtime_hung':
      return logged(series, at, `runtime ${event.pid} silent ${event.silentS.toFixed(0)} s (timeout ${event.timeoutS} s): ${event.giveUp ? 'giving up' : 'restarting it'}`);
    case 'mode':
      return logged(series, at, `ensemble mode now ${event.ensembleMode}`);
    case 'paused':
    case 'resumed':
      return logged(series, at, event.kind);
    default:
      return assertNever(event);
  }
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
}

export const createEmbedSlice: SliceCreator<EmbedSlice> = (set) => ({
  embedSeries: {},
  onEmbedEvent: ({ runId, at, event }) => {
    const parsed = EmbedEvent.safeParse(event);
    if (!parsed.success) return false;
    set((state) => ({ embedSeries: { ...state.embedSeries, [runId]: applyEmbedEvent(state.embedSeries[runId] ?? emptySeries(), at, parsed.data) } }));
    return true;
  },
});

export const embedStore: KindStore = {
  describe: (run) => {
    const info = readEmbedRun(run);
    return info && { details: info.models.join(', '), progressNote: `${info.rowsTotal.toLocaleString()} docs` };
  },
  onEvent: (store, event) => store.onEmbedEvent(event),
};

const EMPTY = emptySeries();
/** A run's series (a shared empty one before its first event, so selectors stay stable). */
export const embedSeriesOf = (state: Store, runId: string | null): RunSeries => (runId && state.embedSeries[runId]) || EMPTY;
