/**
 * What an embed run's journal says beyond its state: time worked (over every
 * session, so it survives restarts), rates, the phase in words, the settings in
 * force, a done run's summary and a failed run's reason. Read-only.
 */
import { statSync } from 'node:fs';
import type { EmbedDoneSummary, EmbedSettingsInForce } from '../../contract/jobs/embed.js';
import type { RunFailure } from '../../contract/runs.js';
import type { RunManifest } from './manifest.js';
import { runPaths } from './manifest.js';
import type { ChunkRecord, JournalRecord } from './records.js';
import { replay, settingsInForce, type RunState } from './runState.js';
import { ASSEMBLING, encodingPhase, failedPhase, failureWords, interruptionPhase, loadingPhase, progressLine, STARTING, type ModelName } from './words.js';

export interface RunFacts {
  phase: string;
  progressLine: string;
  elapsedMs: number;
  sessionStartedAt: string | null;
  etaMs: number | null;
  documentsDone: number;
  chunksTotal: number;
  sessionDocumentsStart: number | null;
  docsPerSecond: number | null;
  tokensPerSecond: number | null;
  settings: EmbedSettingsInForce;
  summary: EmbedDoneSummary | null;
  failure: RunFailure | null;
}

const ms = (at: string): number => Date.parse(at);

/** Each session's start and its last record's time; the last one open when the run is running. */
function sessions(records: readonly JournalRecord[]): { start: number; startAt: string; end: number; index: number }[] {
  const out: { start: number; startAt: string; end: number; index: number }[] = [];
  records.forEach((record, index) => {
    if (record.type === 'session_started') out.push({ start: ms(record.at), startAt: record.at, end: ms(record.at), index });
    else if (out.length > 0) out.at(-1)!.end = Math.max(out.at(-1)!.end, ms(record.at));
  });
  return out;
}

// Three significant digits: a slow or short run reads "0.13 documents/s", not "0".
const rate = (amount: number, elapsedMs: number): number | null => (elapsedMs > 0 ? Number(((amount * 1000) / elapsedMs).toPrecision(3)) : null);

export function settingsOf(manifest: RunManifest, records: readonly JournalRecord[]): EmbedSettingsInForce {
  const { spec } = manifest;
  const { oomPolicy, ensembleMode } = settingsInForce(records, spec);
  const ranOn = new Map(records.flatMap((record) => (record.type === 'pass_started' ? [[record.model, record.device] as const] : [])));
  return {
    models: spec.models.map((entry) => ({ model: entry.model, key: entry.key, weight: Number(entry.weight.toFixed(4)), device: entry.device, ranOn: ranOn.get(entry.key) ?? null })),
    ensembleMode,
    oomPolicy,
    aggregate: spec.aggregate,
    chunkSize: spec.chunkSize,
    batchSize: spec.batchSize,
    minBatch: spec.minBatch,
    maxBatch: spec.maxBatch,
    maxBatchTokens: spec.maxBatchTokens,
    targetMemory: spec.targetMemory,
    vramLimitGiB: spec.vramLimitGiB,
    maxSeqLen: spec.maxSeqLen,
    keepChunks: spec.keepChunks,
    vramWarning: spec.vramWarning,
    vramCritical: spec.vramCritical,
    onCritical: spec.onCritical,
    workers: spec.workers,
  };
}

const bytesOf = (path: string): number | null => {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
};

/** The phase of a run some process is working on now, from its last session's records. */
function runningPhase(manifest: RunManifest, session: readonly JournalRecord[], chunks: readonly ChunkRecord[], models: readonly ModelName[], sequential: boolean): string {
  const total = manifest.chunks;
  const doneOf = (key: string): number => chunks.filter((chunk) => chunk.model === key).length;
  const firstPending = models.findIndex((m) => doneOf(m.key) < total);
  const last = session.findLast((record) => record.type !== 'worker_recycled' && record.type !== 'policy_changed' && record.type !== 'mode_changed');
  if (!last || last.type === 'session_started') return STARTING;
  if (firstPending === -1) return ASSEMBLING;
  if (last.type === 'worker_ready' || last.type === 'worker_hung') return loadingPhase(models, firstPending);
  if (last.type === 'pass_completed') return loadingPhase(models, firstPending);
  const lastPass = session.findLast((record) => record.type === 'pass_started');
  const passIndex = lastPass?.type === 'pass_started' ? models.findIndex((m) => m.key === lastPass.model) : firstPending;
  if (sequential) return encodingPhase(doneOf(models[passIndex]?.key ?? '') + 1, total, { models, index: passIndex });
  // Simultaneous: every model's pass opens first, then chunk i for all models before chunk i+1.
  const opened = new Set(session.flatMap((record) => (record.type === 'pass_started' ? [record.model] : [])));
  const unopened = models.findIndex((m) => doneOf(m.key) < total && !opened.has(m.key));
  if (unopened !== -1) return loadingPhase(models, unopened);
  return encodingPhase(Math.floor(chunks.length / models.length) + 1, total);
}

/**
 * The facts of a run from its journal. `state` is the replay the status already
 * made (its status corrected for damaged outputs); `chunks` the records in force.
 */
export function runFacts(runDir: string, manifest: RunManifest, records: readonly JournalRecord[], state: RunState, chunks: readonly ChunkRecord[]): RunFacts {
  const models: ModelName[] = manifest.spec.models.map((entry) => ({ key: entry.key, model: entry.model }));
  const n = models.length;
  const settings = settingsOf(manifest, records);
  const all = sessions(records);
  const running = state.status === 'running';
  const open = running ? all.at(-1) : undefined;
  const elapsedMs = all.filter((session) => session !== open).reduce((sum, session) => sum + (session.end - session.start), 0);
  const documentsTotal = manifest.input.rows;
  const documentsDone = state.completed ? state.completed.rows : Math.floor(chunks.reduce((sum, chunk) => sum + chunk.rows, 0) / n);
  const realTokens = chunks.reduce((sum, chunk) => sum + chunk.stats.realTokens, 0);
  const unitsDone = state.completed ? manifest.chunks * n : chunks.length;
  const chunksDone = Math.floor(unitsDone / n);
  const base = { elapsedMs, documentsDone, chunksTotal: manifest.chunks, settings, summary: null, failure: null };
  const line = (chunk: number | null): string => progressLine({ chunk, chunksDone, chunksTotal: manifest.chunks, documentsDone, documentsTotal });

  if (open) {
    // The rate of this session: documents done since it began, over the time to its last record.
    const before = replay(records.slice(0, open.index), true);
    const keys = new Set(models.map((m) => m.key));
    const startDocs = Math.floor([...before.chunks.values()].filter((chunk) => keys.has(chunk.model)).reduce((sum, chunk) => sum + chunk.rows, 0) / n);
    const docsPerSecond = documentsDone > startDocs ? rate(documentsDone - startDocs, open.end - open.start) : null;
    const session = records.slice(open.index);
    const phase = runningPhase(manifest, session, chunks, models, settings.ensembleMode === 'sequential');
    const chunk = phase.startsWith('encoding') ? Number(/chunk (\d+)/.exec(phase)?.[1]) : null;
    return {
      ...base,
      phase,
      progressLine: line(chunk),
      sessionStartedAt: open.startAt,
      sessionDocumentsStart: startDocs,
      etaMs: docsPerSecond ? Math.round(((documentsTotal - documentsDone) / docsPerSecond) * 1000) : null,
      docsPerSecond,
      tokensPerSecond: null,
    };
  }
  const ended = { ...base, progressLine: line(null), sessionStartedAt: null, sessionDocumentsStart: null, etaMs: null, docsPerSecond: rate(documentsDone, elapsedMs), tokensPerSecond: rate(realTokens, elapsedMs) };
  switch (state.status) {
    case 'created':
      return { ...ended, phase: 'not started yet', docsPerSecond: null, tokensPerSecond: null };
    case 'done': {
      const completed = state.completed!;
      const paths = runPaths(runDir);
      const summary: EmbedDoneSummary = {
        files: [
          { name: 'embeddings.npy', path: paths.embeddings, bytes: bytesOf(paths.embeddings), sha256: completed.sha256 },
          { name: 'ids.txt', path: paths.ids, bytes: bytesOf(paths.ids), sha256: completed.ids.sha256 },
        ],
        rows: completed.rows,
        dim: completed.dim,
        elapsedMs,
        docsPerSecond: rate(completed.rows, elapsedMs) ?? 0,
        tokensPerSecond: rate(realTokens, elapsedMs) ?? 0,
        truncated: completed.truncated,
        truncatedShare: Number((completed.truncated / Math.max(1, completed.rows * n)).toFixed(4)),
        cutToFit: chunks.reduce((sum, chunk) => sum + chunk.stats.oomTruncated, 0),
        onCpu: chunks.reduce((sum, chunk) => sum + chunk.stats.cpuFallbacks, 0),
        oomsRecovered: chunks.reduce((sum, chunk) => sum + chunk.stats.ooms, 0),
        batches: chunks.reduce((sum, chunk) => sum + chunk.stats.batches, 0),
      };
      return { ...ended, phase: 'done', summary };
    }
    case 'failed': {
      const failure = failureWords(state.errors.at(-1) ?? 'the run failed without a message');
      return { ...ended, phase: failedPhase(failure), failure };
    }
    case 'interrupted': {
      const last = all.at(-1);
      const tail = last ? records.slice(last.index) : [];
      const interrupted = tail.findLast((record) => record.type === 'run_interrupted');
      const damaged = state.completed !== undefined; // interrupted with a completion: its outputs no longer match
      const phase = damaged ? interruptionPhase('the outputs do not match the journal') : interruptionPhase(interrupted?.type === 'run_interrupted' ? interrupted.reason : null);
      return { ...ended, phase };
    }
    default:
      return { ...ended, phase: state.status };
  }
}
