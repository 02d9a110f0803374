/**
 * Folds an embed run's live events into the panel's cached RunInfo (Job.onEvent):
 * counts, the phase in words (words.ts, as the journal's replay words it) and
 * this session's rate, with no disk read.
 */
import type { EmbedEvent, EmbedRunInfo } from '../../contract/jobs/embed.js';
import type { RunInfo } from '../../contract/runs.js';
import { foldWorkers } from './workerInfo.js';
import { ASSEMBLING, encodingPhase, loadingPhase, progressLine, STARTING, type ModelName } from './words.js';

type Info = RunInfo & Partial<Omit<EmbedRunInfo, 'kind'>>;

/** This session's documents/s and the time left at that rate, from what the info holds. */
function rates(info: Info, documentsDone: number, now: number): Pick<EmbedRunInfo, 'docsPerSecond' | 'etaMs'> {
  const since = info.sessionStartedAt ? Date.parse(info.sessionStartedAt) : NaN;
  const start = info.sessionDocumentsStart ?? null;
  if (!Number.isFinite(since) || start === null || documentsDone <= start || now <= since) return { docsPerSecond: info.docsPerSecond ?? null, etaMs: info.etaMs ?? null };
  const perMs = (documentsDone - start) / (now - since);
  return { docsPerSecond: Math.round(perMs * 1000), etaMs: Math.round(Math.max(0, (info.rowsTotal ?? 0) - documentsDone) / perMs) };
}

/** Where a session stands, enough to word it: the panel's info and the CLI's reporter both keep one. */
export interface Standing {
  models: readonly ModelName[];
  sequential: boolean;
  /** Chunks of the input; units are chunks x models. */
  chunksTotal: number;
  unitsDone: number;
  unitsTotal: number;
  documentsDone: number;
  documentsTotal: number;
}

/**
 * The phase and progress line after one event (undefined: the event changes
 * neither), with `standing` already counting it (a chunk event's counts).
 */
export function wordsAfter(standing: Standing, event: EmbedEvent): { phase: string; progressLine: string } | undefined {
  const { models, sequential, chunksTotal, unitsDone } = standing;
  const n = Math.max(1, models.length);
  const indexOf = (key: string): number => Math.max(0, models.findIndex((m) => m.key === key));
  const line = (chunk: number | null): string =>
    progressLine({ chunk: chunk === null ? null : Math.min(chunk, chunksTotal), chunksDone: Math.floor(unitsDone / n), chunksTotal, documentsDone: standing.documentsDone, documentsTotal: standing.documentsTotal });
  // The chunk a simultaneous run works on: every model's share of chunk i comes before chunk i+1.
  const nextChunk = Math.floor(unitsDone / n) + 1;
  switch (event.kind) {
    case 'started':
      return { phase: STARTING, progressLine: line(null) };
    case 'runtime': {
      const first = sequential && chunksTotal > 0 ? Math.min(n - 1, Math.floor(unitsDone / chunksTotal)) : 0;
      return { phase: loadingPhase(models, first), progressLine: line(null) };
    }
    case 'pass': {
      const index = indexOf(event.model);
      if (event.phase === 'completed') return { phase: unitsDone >= standing.unitsTotal || index + 1 >= n ? ASSEMBLING : loadingPhase(models, index + 1), progressLine: line(null) };
      if (!sequential && index + 1 < n) return { phase: loadingPhase(models, index + 1), progressLine: line(null) };
      const chunk = sequential ? unitsDone - index * chunksTotal + 1 : nextChunk;
      return { phase: encodingPhase(chunk, chunksTotal, sequential ? { models, index } : undefined), progressLine: line(chunk) };
    }
    case 'chunk': {
      if (unitsDone >= standing.unitsTotal) return { phase: ASSEMBLING, progressLine: line(null) };
      const index = indexOf(event.model);
      const chunk = sequential ? event.index + 2 : nextChunk;
      return { phase: encodingPhase(chunk, chunksTotal, sequential ? { models, index } : undefined), progressLine: line(chunk) };
    }
    default:
      return undefined;
  }
}

/** The new info, or undefined when the event changes nothing listed. */
export function foldEmbedEvent(info: Info, event: EmbedEvent, now = Date.now()): RunInfo | undefined {
  const settings = info.settings;
  if (!settings) return undefined; // read from a run folder without the fields: nothing to fold into
  const n = Math.max(1, settings.models.length);
  const standing = (next: Info): Standing => ({
    models: settings.models,
    sequential: (next.settings ?? settings).ensembleMode === 'sequential',
    chunksTotal: next.chunksTotal ?? 0,
    unitsDone: next.unitsDone,
    unitsTotal: next.unitsTotal,
    documentsDone: next.documentsDone ?? 0,
    documentsTotal: next.rowsTotal ?? 0,
  });
  const worded = (next: Info): RunInfo => ({ ...next, ...wordsAfter(standing(next), event) });
  // Each worker's figures (runs with --workers): kept beside whatever else the event changes.
  const workers = info.workers ? foldWorkers(info.workers, event) : undefined;
  const folded = foldInfo(workers ? { ...info, workers } : info, event, now, settings, n, worded);
  return folded ?? (workers ? { ...info, workers } : undefined);
}

function foldInfo(
  info: Info,
  event: EmbedEvent,
  now: number,
  settings: NonNullable<Info['settings']>,
  n: number,
  worded: (next: Info) => RunInfo,
): RunInfo | undefined {
  switch (event.kind) {
    case 'runtime':
      return worded(info);
    case 'pass': {
      if (event.phase === 'completed') return worded(info);
      const device = event.device;
      return worded({ ...info, device, settings: { ...settings, models: settings.models.map((m) => (m.key === event.model ? { ...m, ranOn: device } : m)) } });
    }
    case 'mode':
      return { ...info, ensembleMode: event.ensembleMode, settings: { ...settings, ensembleMode: event.ensembleMode } };
    case 'policy':
      return { ...info, settings: { ...settings, oomPolicy: event.oomPolicy } };
    case 'chunk': {
      const documentsDone = Math.floor(event.rowsDone / n);
      const counted: Info = {
        ...info,
        unitsDone: event.chunksDone,
        unitsTotal: event.chunksTotal,
        documentsDone,
        // A redone chunk replaces its file; the size is read again from disk when the session ends.
        diskBytes: info.diskBytes + event.fileBytes,
        truncated: (info.truncated ?? 0) + event.truncated,
        cutToFit: (info.cutToFit ?? 0) + event.cutToFit,
        onCpu: (info.onCpu ?? 0) + event.onCpu,
        ...rates(info, documentsDone, now),
      };
      return worded(event.chunksDone >= event.chunksTotal ? { ...counted, etaMs: 0 } : counted);
    }
    default:
      return undefined;
  }
}
