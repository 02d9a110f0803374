/**
 * An embed run from start to finish: plan chunks, hand them to a worker, journal
 * each finished chunk, validate everything on resume, assemble the outputs.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assembleOutputs } from '../chunks/assemble.js';
import { checkChunk, fileSha256, sha256 } from '../chunks/chunkCheck.js';
import { planChunks } from '../chunks/planner.js';
import type { OomPolicy } from '../contract/protocol.js';
import { parseCorpus, readInputBytes, type Corpus } from '../corpus/readCorpus.js';
import { asHeadroomError, HeadroomError } from '../errors.js';
import { Journal } from '../runs/journal.js';
import { acquireLock } from '../runs/lock.js';
import { chunkFile, readManifest, runPaths, writeManifest, type EmbedSpec, type RunManifest } from '../runs/manifest.js';
import type { ChunkRecord } from '../runs/records.js';
import { chunkKey, replay } from '../runs/runState.js';
import { HEADROOM_VERSION } from '../version.js';
import { encodePending } from './encodeSession.js';
import { looksLikePath, modelKey } from './modelKey.js';
import type { MemoryFigures, Progress } from './progress.js';

export type { Progress } from './progress.js';

export type EmbedOptions = Omit<EmbedSpec, 'modelKey'>;

export interface RunSummary {
  runDir: string;
  status: 'done';
  rows: number;
  dim: number;
  chunks: number;
  model: string;
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
  /** Worker memory in bytes (GPU allocated, or process RSS on CPU): first sample, peak, last. */
  memory: MemoryFigures;
}

export interface ExecuteOptions {
  command: 'embed' | 'resume';
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  python?: string;
  env?: NodeJS.ProcessEnv;
  /** Changes the OOM policy for the rest of the run (journaled). */
  oomPolicy?: OomPolicy;
}

/** Validates the input and writes run.json; nothing is created when the input is bad. */
export function createEmbedRun(input: string, outDir: string, options: EmbedOptions): string {
  const inputPath = resolve(input);
  const bytes = readInputBytes(inputPath);
  const corpus = parseCorpus(inputPath, bytes, options);
  if (looksLikePath(options.model) && !existsSync(options.model)) {
    throw new HeadroomError('bad_input', `model folder ${options.model} does not exist`);
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
    format: 1,
    kind: 'embed',
    createdAt: new Date().toISOString(),
    input: { path: inputPath, sha256: sha256(bytes), bytes: bytes.length, rows: corpus.ids.length },
    spec: { ...options, modelKey: modelKey(options.model) },
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
      return summarize(runDir, manifest, journal, started, 0, { start: null, peak: null, end: null });
    }
    const corpus = loadInput(manifest);
    const plan = planChunks(corpus.ids.length, manifest.spec.chunkSize);
    const { spec } = manifest;
    const done = new Map<number, ChunkRecord>();
    const recomputing: { model: string; index: number; reason: string }[] = [];
    for (const chunk of plan) {
      const record = state.chunks.get(chunkKey(spec.modelKey, chunk.index));
      if (record) {
        const verdict = checkChunk(runDir, record);
        if (verdict.ok) done.set(chunk.index, record);
        else recomputing.push({ model: spec.modelKey, index: chunk.index, reason: verdict.reason });
      } else if (existsSync(join(runDir, chunkFile(spec.modelKey, chunk.index)))) {
        recomputing.push({ model: spec.modelKey, index: chunk.index, reason: 'file not in the journal' });
      }
    }
    const pending = plan.filter((chunk) => !done.has(chunk.index));
    journal.append({ type: 'session_started', pid: process.pid, command: options.command, pending: pending.length, recomputing });
    const oomPolicy = effectivePolicy(journal, manifest.spec.oomPolicy, options.oomPolicy);
    options.onProgress?.({
      kind: 'started',
      runDir,
      chunksTotal: plan.length,
      chunksDone: done.size,
      rowsTotal: corpus.ids.length,
      recomputing: recomputing.length,
    });
    const memory: MemoryFigures = { start: null, peak: null, end: null };
    if (pending.length > 0) {
      await encodePending(
        {
          runDir,
          spec,
          corpus,
          journal,
          done,
          chunksTotal: plan.length,
          oomPolicy,
          report: options.onProgress ?? (() => undefined),
          signal: options.signal,
          python: options.python,
          env: options.env,
          memory,
        },
        pending,
      );
    }
    const ordered = plan.map((chunk) => done.get(chunk.index)!);
    const output = assembleOutputs(runDir, ordered, corpus.ids);
    journal.append({
      type: 'run_completed',
      rows: output.rows,
      dim: output.dim,
      sha256: output.sha256,
      truncated: ordered.reduce((sum, chunk) => sum + chunk.truncated, 0),
      chunksKept: spec.keepChunks,
    });
    if (!spec.keepChunks) rmSync(paths.chunks, { recursive: true, force: true });
    const rowsEncoded = pending.reduce((sum, chunk) => sum + chunk.end - chunk.start, 0);
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

/** The OOM policy in force: the latest change journaled, after this session's own. */
function effectivePolicy(journal: Journal, initial: OomPolicy, requested: OomPolicy | undefined): OomPolicy {
  let current = initial;
  for (const record of journal.records) if (record.type === 'policy_changed') current = record.oomPolicy;
  if (requested === undefined || requested === current) return current;
  journal.append({ type: 'policy_changed', oomPolicy: requested });
  return requested;
}

function summarize(runDir: string, manifest: RunManifest, journal: Journal, started: number, rowsEncoded: number, memory: MemoryFigures): RunSummary {
  const state = replay(journal.records, true);
  const completed = state.completed;
  if (!completed) throw new HeadroomError('internal', `run ${runDir} has no completion record`);
  const loaded = journal.records.filter((record) => record.type === 'model_loaded').at(-1);
  const seconds = (performance.now() - started) / 1000;
  const chunks = [...state.chunks.values()].sort((a, b) => a.index - b.index);
  const sum = (pick: (chunk: ChunkRecord) => number): number => chunks.reduce((total, chunk) => total + pick(chunk), 0);
  const lastSession = journal.records.map((record) => record.type).lastIndexOf('session_started');
  const sessionTokens = journal.records
    .slice(lastSession)
    .reduce((total, record) => total + (record.type === 'chunk_done' ? record.stats.realTokens : 0), 0);
  return {
    runDir,
    status: 'done',
    rows: completed.rows,
    dim: completed.dim,
    chunks: manifest.chunks,
    model: manifest.spec.model,
    device: loaded?.type === 'model_loaded' ? loaded.device : undefined,
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
  };
}
