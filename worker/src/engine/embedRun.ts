/**
 * An embed run from start to finish: plan chunks, hand them to a worker, journal
 * each finished chunk, validate everything on resume, assemble the outputs.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assembleOutputs } from '../chunks/assemble.js';
import { checkChunk, fileSha256, sha256 } from '../chunks/chunkCheck.js';
import { planChunks, type ChunkPlan } from '../chunks/planner.js';
import type { EncodeSpec, WorkerErrorCode, WorkerToEngine } from '../contract/protocol.js';
import { parseCorpus, readInputBytes, type Corpus } from '../corpus/readCorpus.js';
import { asHeadroomError, HeadroomError, type ErrorKind } from '../errors.js';
import { Journal } from '../runs/journal.js';
import { acquireLock } from '../runs/lock.js';
import { chunkFile, readManifest, runPaths, writeManifest, type EmbedSpec, type RunManifest } from '../runs/manifest.js';
import type { ChunkRecord } from '../runs/records.js';
import { chunkKey, replay } from '../runs/runState.js';
import { describeExit, WorkerProcess } from '../supervisor/workerProcess.js';
import { HEADROOM_VERSION } from '../version.js';
import { looksLikePath, modelKey } from './modelKey.js';

/** Chunks handed to the worker ahead of time, so it never waits on the Engine. */
const CHUNKS_IN_FLIGHT = 2;

export type EmbedOptions = Omit<EmbedSpec, 'modelKey'>;

export type Progress =
  | { kind: 'started'; runDir: string; chunksTotal: number; chunksDone: number; rowsTotal: number; recomputing: number }
  | { kind: 'worker'; pid: number; torch: string; cuda: boolean }
  | { kind: 'model'; model: string; device: string; dim: number; source: string; ms: number }
  | { kind: 'chunk'; index: number; chunksDone: number; chunksTotal: number; rowsDone: number; rowsTotal: number; ms: number }
  | { kind: 'log'; line: string };

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
  /** This session's figures (zero work when the run was already done). */
  seconds: number;
  rowsEncoded: number;
  docsPerSecond: number;
}

export interface ExecuteOptions {
  command: 'embed' | 'resume';
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  python?: string;
  env?: NodeJS.ProcessEnv;
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

const WORKER_ERROR_KIND: Record<WorkerErrorCode, ErrorKind> = {
  bad_message: 'internal',
  model_not_found: 'bad_input',
  bad_model: 'bad_input',
  bad_device: 'bad_input',
  bad_spec: 'bad_input',
  encode_failed: 'internal',
  internal: 'internal',
};

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
      return summarize(runDir, manifest, journal, started, 0);
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
    options.onProgress?.({
      kind: 'started',
      runDir,
      chunksTotal: plan.length,
      chunksDone: done.size,
      rowsTotal: corpus.ids.length,
      recomputing: recomputing.length,
    });
    if (pending.length > 0) await encodeChunks(runDir, manifest, corpus, pending, done, journal, options);
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
    return summarize(runDir, manifest, journal, started, rowsEncoded);
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

async function encodeChunks(
  runDir: string,
  manifest: RunManifest,
  corpus: Corpus,
  pending: ChunkPlan[],
  done: Map<number, ChunkRecord>,
  journal: Journal,
  options: ExecuteOptions,
): Promise<void> {
  const { spec } = manifest;
  const report = options.onProgress ?? (() => undefined);
  const worker = WorkerProcess.start({
    python: options.python,
    env: options.env,
    onLog: (line) => report({ kind: 'log', line }),
  });
  const onAbort = (): void => worker.kill();
  options.signal?.addEventListener('abort', onAbort);
  try {
    const ready = await worker.handshake();
    journal.append({
      type: 'worker_ready',
      pid: ready.pid,
      python: ready.python,
      torch: ready.torch,
      sentenceTransformers: ready.sentenceTransformers,
      cuda: ready.cuda,
    });
    report({ kind: 'worker', pid: ready.pid, torch: ready.torch, cuda: ready.cuda });
    const encodeSpec: EncodeSpec = {
      model: spec.model,
      modelKey: spec.modelKey,
      device: spec.device,
      batchSize: spec.batchSize,
      maxSeqLen: spec.maxSeqLen,
    };
    const byIndex = new Map(pending.map((chunk) => [chunk.index, chunk]));
    let sent = 0;
    const fill = (): void => {
      for (; sent < pending.length && sent - (pending.length - byIndex.size) < CHUNKS_IN_FLIGHT; sent += 1) {
        const chunk = pending[sent]!;
        const texts = corpus.texts.slice(chunk.start, chunk.end);
        const path = join(runDir, chunkFile(spec.modelKey, chunk.index));
        worker.send({ type: 'encode', spec: encodeSpec, chunks: [{ index: chunk.index, texts, path }] });
      }
    };
    fill();
    while (byIndex.size > 0) {
      const item = await worker.next();
      if (item.kind === 'exit') {
        const why = options.signal?.aborted ? 'stopped by a signal' : describeExit(item.exit);
        throw new HeadroomError('interrupted', `run interrupted: ${why}`);
      }
      const event = item.event;
      const record = onWorkerEvent(event, spec, byIndex, journal, report);
      if (record) {
        done.set(record.index, record);
        fill();
        report({
          kind: 'chunk',
          index: record.index,
          chunksDone: done.size,
          chunksTotal: manifest.chunks,
          rowsDone: [...done.values()].reduce((sum, chunk) => sum + chunk.rows, 0),
          rowsTotal: manifest.input.rows,
          ms: record.ms,
        });
      }
    }
    await worker.stop();
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    worker.kill();
  }
}

/** Journals what the worker reports; returns the chunk record when a chunk finished. */
function onWorkerEvent(
  event: WorkerToEngine,
  spec: EmbedSpec,
  pending: Map<number, ChunkPlan>,
  journal: Journal,
  report: (progress: Progress) => void,
): ChunkRecord | undefined {
  switch (event.type) {
    case 'model_loaded':
      journal.append({ type: 'model_loaded', model: event.model, source: event.source, device: event.device, dim: event.dim, maxSeqLen: event.maxSeqLen });
      report({ kind: 'model', model: event.model, device: event.device, dim: event.dim, source: event.source, ms: event.ms });
      return undefined;
    case 'chunk_done': {
      const chunk = pending.get(event.index);
      if (event.pass !== spec.modelKey || !chunk || event.rows !== chunk.end - chunk.start) {
        throw new HeadroomError('internal', `worker reported an unexpected chunk: ${JSON.stringify(event)}`);
      }
      pending.delete(event.index);
      const record = journal.append({
        type: 'chunk_done',
        model: spec.modelKey,
        index: event.index,
        rows: event.rows,
        dim: event.dim,
        sha256: event.sha256,
        file: chunkFile(spec.modelKey, event.index),
        truncated: event.truncated,
        ms: event.ms,
      });
      return record.type === 'chunk_done' ? record : undefined;
    }
    case 'error':
      if (event.fatal) throw new HeadroomError(WORKER_ERROR_KIND[event.code], event.message);
      report({ kind: 'log', line: `worker: ${event.message}` });
      return undefined;
    case 'log':
      report({ kind: 'log', line: event.message });
      return undefined;
    default:
      return undefined;
  }
}

function summarize(runDir: string, manifest: RunManifest, journal: Journal, started: number, rowsEncoded: number): RunSummary {
  const state = replay(journal.records, true);
  const completed = state.completed;
  if (!completed) throw new HeadroomError('internal', `run ${runDir} has no completion record`);
  const loaded = journal.records.filter((record) => record.type === 'model_loaded').at(-1);
  const seconds = (performance.now() - started) / 1000;
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
    seconds: Number(seconds.toFixed(3)),
    rowsEncoded,
    docsPerSecond: seconds > 0 ? Math.round(rowsEncoded / seconds) : 0,
  };
}
