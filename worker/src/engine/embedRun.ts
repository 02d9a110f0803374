/**
 * An embed run from start to finish: plan chunks, hand them to a worker, journal
 * each finished chunk, validate everything on resume, assemble the outputs.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assembleOutputs } from '../chunks/assemble.js';
import { checkChunk, fileSha256, sha256 } from '../chunks/chunkCheck.js';
import { planChunks } from '../chunks/planner.js';
import type { EnsembleMode, OomPolicy } from '../contract/protocol.js';
import { parseCorpus, readInputBytes, type Corpus } from '../corpus/readCorpus.js';
import { asHeadroomError, HeadroomError } from '../errors.js';
import { Journal } from '../runs/journal.js';
import { acquireLock } from '../runs/lock.js';
import { chunkFile, EmbedSpec, readManifest, runPaths, writeManifest, type RunManifest } from '../runs/manifest.js';
import type { ChunkRecord } from '../runs/records.js';
import { chunkKey, replay, settingsInForce } from '../runs/runState.js';
import { HEADROOM_VERSION } from '../version.js';
import { encodePending, type Unit } from './encodeSession.js';
import { looksLikePath } from './modelKey.js';
import type { MemoryFigures, Progress } from './progress.js';
import type { RunControl } from './runControl.js';

export type { Progress } from './progress.js';

export type EmbedOptions = EmbedSpec;

/** An embed run's defaults, for callers that set only what they care about (the demo, the panel, tests). */
export const EMBED_DEFAULTS: Omit<EmbedOptions, 'models'> = {
  ensembleMode: 'simultaneous',
  aggregate: 'concat',
  chunkSize: 1000,
  batchSize: 'auto',
  minBatch: 8,
  maxBatch: 512,
  maxBatchTokens: null,
  targetMemory: 0.85,
  vramLimitGiB: null,
  oomPolicy: 'fail',
  maxSeqLen: null,
  textField: 'text',
  idField: 'id',
  keepChunks: false,
};

export interface PassFigures {
  model: string;
  device: string;
  ms: number;
  rows: number;
  peak: number | null;
  residentPeak: number;
}

export interface RunSummary {
  runDir: string;
  status: 'done';
  rows: number;
  dim: number;
  chunks: number;
  models: { key: string; model: string; weight: number; dim: number }[];
  ensembleMode: EnsembleMode;
  aggregate: EmbedSpec['aggregate'];
  device: string | undefined;
  truncated: number;
  sha256: string;
  chunksKept: boolean;
  /** Over all sessions of the run: */
  batches: number;
  ooms: number;
  meanBudget: number;
  finalBudget: number;
  /** Real tokens / padded tokens. */
  paddingEfficiency: number;
  /** This session's figures (zero work when the run was already done). */
  seconds: number;
  rowsEncoded: number;
  docsPerSecond: number;
  tokensPerSecond: number;
  /** Worker memory in bytes (GPU allocated, or process RSS on CPU): first sample, peak, last; resident model bytes. */
  memory: MemoryFigures;
  /** This session's passes, in the order they finished. */
  passes: PassFigures[];
}

export interface ExecuteOptions {
  command: 'embed' | 'resume';
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  python?: string;
  env?: NodeJS.ProcessEnv;
  /** Changes the OOM policy for the rest of the run (journaled). */
  oomPolicy?: OomPolicy;
  /** Changes the ensemble mode for the rest of the run (journaled). */
  ensembleMode?: EnsembleMode;
  /** Pause, resume and changes while the run works. */
  control?: RunControl;
}

/** Validates the input and writes run.json; nothing is created when the input is bad. */
export function createEmbedRun(input: string, outDir: string, options: EmbedOptions): string {
  const checked = EmbedSpec.safeParse(options);
  if (!checked.success) throw new HeadroomError('usage', `invalid run spec: ${checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  if (new Set(options.models.map((entry) => entry.key)).size !== options.models.length) {
    throw new HeadroomError('usage', 'two models of the ensemble share a key');
  }
  const inputPath = resolve(input);
  const bytes = readInputBytes(inputPath);
  const corpus = parseCorpus(inputPath, bytes, options);
  for (const { model } of options.models) {
    if (looksLikePath(model) && !existsSync(model)) throw new HeadroomError('bad_input', `model folder ${model} does not exist`);
  }
  const runDir = resolve(outDir);
  const paths = runPaths(runDir);
  if (existsSync(paths.manifest)) {
    throw new HeadroomError('usage', `${runDir} already holds a run: continue it with \`headroom resume ${outDir}\` or choose another --out`);
  }
  if (existsSync(runDir) && readdirSync(runDir).length > 0) {
    throw new HeadroomError('usage', `${runDir} exists and is not empty; choose a new or empty folder for --out`);
  }
  mkdirSync(runDir, { recursive: true });
  const manifest: RunManifest = {
    format: 2,
    kind: 'embed',
    createdAt: new Date().toISOString(),
    input: { path: inputPath, sha256: sha256(bytes), bytes: bytes.length, rows: corpus.ids.length },
    spec: checked.data,
    chunks: planChunks(corpus.ids.length, options.chunkSize).length,
    versions: { headroom: HEADROOM_VERSION, node: process.versions.node },
  };
  writeManifest(runDir, manifest);
  const journal = Journal.open(paths.journal);
  journal.append({ type: 'run_created' });
  journal.close();
  return runDir;
}

function loadInput(manifest: RunManifest): Corpus {
  const bytes = readInputBytes(manifest.input.path);
  if (sha256(bytes) !== manifest.input.sha256) {
    throw new HeadroomError('bad_input', `${manifest.input.path} changed since the run was created; restore it or start a new run`);
  }
  return parseCorpus(manifest.input.path, bytes, manifest.spec);
}

export async function executeRun(runDirArg: string, options: ExecuteOptions): Promise<RunSummary> {
  const runDir = resolve(runDirArg);
  const manifest = readManifest(runDir);
  const paths = runPaths(runDir);
  const lock = acquireLock(paths.lock, runDir);
  let journal: Journal | undefined;
  const started = performance.now();
  try {
    journal = Journal.open(paths.journal);
    const state = replay(journal.records, false);
    if (state.completed && fileSha256(paths.embeddings) === state.completed.sha256) {
      return summarize(runDir, manifest, journal, started, 0, { start: null, peak: null, end: null, resident: null });
    }
    const corpus = loadInput(manifest);
    const plan = planChunks(corpus.ids.length, manifest.spec.chunkSize);
    const { spec } = manifest;
    const done = new Map<string, ChunkRecord>();
    const recomputing: { model: string; index: number; reason: string }[] = [];
    const pending: Unit[] = [];
    for (const chunk of plan) {
      for (const entry of spec.models) {
        const key = chunkKey(entry.key, chunk.index);
        const record = state.chunks.get(key);
        const verdict = record ? checkChunk(runDir, record) : undefined;
        if (record && verdict?.ok) {
          done.set(key, record);
          continue;
        }
        pending.push({ entry, chunk });
        if (verdict && !verdict.ok) recomputing.push({ model: entry.key, index: chunk.index, reason: verdict.reason });
        else if (existsSync(join(runDir, chunkFile(entry.key, chunk.index)))) recomputing.push({ model: entry.key, index: chunk.index, reason: 'file not in the journal' });
      }
    }
    journal.append({ type: 'session_started', pid: process.pid, command: options.command, pending: pending.length, recomputing });
    const settings = effectiveSettings(journal, spec, options);
    const unitsTotal = plan.length * spec.models.length;
    options.onProgress?.({
      kind: 'started',
      runDir,
      chunksTotal: unitsTotal,
      chunksDone: done.size,
      rowsTotal: corpus.ids.length,
      recomputing: recomputing.length,
      models: spec.models.map((entry) => entry.key),
      ensembleMode: settings.ensembleMode,
    });
    const memory: MemoryFigures = { start: null, peak: null, end: null, resident: null };
    if (pending.length > 0) {
      await encodePending(
        {
          runDir,
          spec,
          corpus,
          journal,
          done,
          unitsTotal,
          ...settings,
          control: options.control,
          report: options.onProgress ?? (() => undefined),
          signal: options.signal,
          python: options.python,
          env: options.env,
          memory,
        },
        pending,
      );
    }
    const ordered = plan.map((chunk) => spec.models.map((entry) => done.get(chunkKey(entry.key, chunk.index))!));
    const output = assembleOutputs(runDir, ordered, corpus.ids, spec);
    journal.append({
      type: 'run_completed',
      rows: output.rows,
      dim: output.dim,
      sha256: output.sha256,
      truncated: ordered.flat().reduce((sum, unit) => sum + unit.truncated, 0),
      chunksKept: spec.keepChunks,
    });
    if (!spec.keepChunks) rmSync(paths.chunks, { recursive: true, force: true });
    const rowsEncoded = pending.reduce((sum, unit) => sum + unit.chunk.end - unit.chunk.start, 0);
    return summarize(runDir, manifest, journal, started, rowsEncoded, memory);
  } catch (error) {
    const failure = asHeadroomError(error);
    if (journal && failure.kind === 'interrupted') journal.append({ type: 'run_interrupted', reason: failure.message });
    else if (journal) journal.append({ type: 'run_failed', kind: failure.kind, message: failure.message });
    throw failure;
  } finally {
    journal?.close();
    lock.release();
  }
}

/** The OOM policy and ensemble mode in force: the latest changes journaled, then this session's own. */
function effectiveSettings(journal: Journal, spec: EmbedSpec, requested: Pick<ExecuteOptions, 'oomPolicy' | 'ensembleMode'>): { oomPolicy: OomPolicy; ensembleMode: EnsembleMode } {
  let { oomPolicy, ensembleMode } = settingsInForce(journal.records, spec);
  if (requested.oomPolicy !== undefined && requested.oomPolicy !== oomPolicy) {
    oomPolicy = requested.oomPolicy;
    journal.append({ type: 'policy_changed', oomPolicy });
  }
  if (requested.ensembleMode !== undefined && requested.ensembleMode !== ensembleMode) {
    ensembleMode = requested.ensembleMode;
    journal.append({ type: 'mode_changed', ensembleMode });
  }
  return { oomPolicy, ensembleMode };
}

function summarize(runDir: string, manifest: RunManifest, journal: Journal, started: number, rowsEncoded: number, memory: MemoryFigures): RunSummary {
  const state = replay(journal.records, true);
  const completed = state.completed;
  if (!completed) throw new HeadroomError('internal', `run ${runDir} has no completion record`);
  const lastSession = journal.records.map((record) => record.type).lastIndexOf('session_started');
  const session = journal.records.slice(lastSession);
  const passStarts = journal.records.filter((record) => record.type === 'pass_started');
  const settings = effectiveSettings(journal, manifest.spec, {});
  const dims = new Map(passStarts.map((record) => [record.model, record.dim]));
  const seconds = (performance.now() - started) / 1000;
  const chunks = [...state.chunks.values()].sort((a, b) => a.index - b.index);
  const sum = (pick: (chunk: ChunkRecord) => number): number => chunks.reduce((total, chunk) => total + pick(chunk), 0);
  const sessionTokens = session.reduce((total, record) => total + (record.type === 'chunk_done' ? record.stats.realTokens : 0), 0);
  return {
    runDir,
    status: 'done',
    rows: completed.rows,
    dim: completed.dim,
    chunks: manifest.chunks,
    models: manifest.spec.models.map((entry) => ({ key: entry.key, model: entry.model, weight: entry.weight, dim: dims.get(entry.key) ?? 0 })),
    ensembleMode: settings.ensembleMode,
    aggregate: manifest.spec.aggregate,
    device: passStarts.at(-1)?.device,
    truncated: completed.truncated,
    sha256: completed.sha256,
    chunksKept: completed.chunksKept,
    batches: sum((c) => c.stats.batches),
    ooms: sum((c) => c.stats.ooms),
    meanBudget: chunks.length ? Math.round(sum((c) => c.stats.budget) / chunks.length) : 0,
    finalBudget: chunks.at(-1)?.stats.budget ?? 0,
    paddingEfficiency: Number((sum((c) => c.stats.realTokens) / Math.max(1, sum((c) => c.stats.paddedTokens))).toFixed(4)),
    seconds: Number(seconds.toFixed(3)),
    rowsEncoded,
    docsPerSecond: seconds > 0 ? Math.round(rowsEncoded / seconds) : 0,
    tokensPerSecond: seconds > 0 && rowsEncoded > 0 ? Math.round(sessionTokens / seconds) : 0,
    memory,
    passes: session.flatMap((record) =>
      record.type === 'pass_completed' ? [{ model: record.model, device: record.device, ms: record.ms, rows: record.rows, peak: record.peak, residentPeak: record.residentPeak }] : [],
    ),
  };
}
