/** Embed events and runs as the Engine sends them (each checked against the contract where it is used). */
import type { RunInfo } from '../../../worker/src/contract/api.ts';
import { EMBED_KIND, type EmbedEvent, type EmbedRunInfo } from '../../../worker/src/contract/jobs/embed.ts';

export const memory = (allocated: number | null, total: number | null = 1000): EmbedEvent => ({ kind: 'memory', allocated, total, reserved: allocated, free: total, peak: allocated });
export const batch = (docs: number, tokens: number, ms: number): EmbedEvent => ({ kind: 'batch', docs, tokens, padded: tokens, ms, peak: null });
export const oom = (docs: number): EmbedEvent => ({ kind: 'oom', model: 'm', chunk: 0, docs, tokens: 8192, budget: 4096, action: 'retry' });
export const chunk = (chunksDone: number): EmbedEvent => ({
  kind: 'chunk',
  model: 'm',
  index: chunksDone - 1,
  chunksDone,
  chunksTotal: 10,
  rowsDone: chunksDone * 60,
  rowsTotal: 600,
  ms: 250,
  budget: 4096,
  fileBytes: 92_160,
  truncated: 0,
  cutToFit: 0,
  onCpu: 0,
});

/** The words and figures every kind's RunInfo carries (a run that has not worked yet). */
export const NO_WORDS = { name: null, phase: 'not started', progressLine: '', elapsedMs: 0, sessionStartedAt: null, etaMs: null, failure: null } as const;

export const EMBED_SETTINGS: EmbedRunInfo['settings'] = {
  models: [{ model: 'm1', key: 'm1', weight: 1, device: 'auto', ranOn: null }],
  ensembleMode: 'simultaneous',
  oomPolicy: 'fail',
  aggregate: 'concat',
  chunkSize: 1000,
  batchSize: 'auto',
  minBatch: 8,
  maxBatch: 512,
  maxBatchTokens: null,
  targetMemory: 0.85,
  vramLimitGiB: null,
  maxSeqLen: null,
  keepChunks: false,
    vramWarning: 0.85,
    vramCritical: 0.95,
    onCritical: 'shrink',
    workers: null,
};

export const embedRun = (runId: string, patch: Partial<EmbedRunInfo> = {}): EmbedRunInfo => ({
  ...NO_WORDS,
  documentsDone: 0,
  chunksTotal: 10,
  sessionDocumentsStart: null,
  docsPerSecond: null,
  tokensPerSecond: null,
  summary: null,
  settings: EMBED_SETTINGS,
  runId,
  kind: EMBED_KIND,
  known: true,
  status: 'running',
  unitsDone: 3,
  unitsTotal: 10,
  unit: 'chunks',
  device: 'cpu',
  createdAt: '2025-01-01T00:00:00.000Z',
  diskBytes: 1024,
  errors: [],
  models: ['m1', 'm2'],
  ensembleMode: 'simultaneous',
  input: '/data/corpus.jsonl',
  rowsTotal: 600,
  truncated: 0,
  cutToFit: 0,
  onCpu: 0,
  ...patch,
});

/** A run of a kind this Headroom does not know, as listRuns reports it (with its own fields, loose). */
export const trialsRun = (runId: string): RunInfo => ({
  ...NO_WORDS,
  runId,
  kind: 'trials',
  known: false,
  status: 'unknown',
  unitsDone: 0,
  unitsTotal: 0,
  unit: 'units',
  device: null,
  createdAt: '2025-01-02T00:00:00.000Z',
  diskBytes: 2048,
  errors: ['unknown kind "trials" (made by a newer Headroom?)'],
  trialsTotal: 40,
});
