/**
 * Drives Python workers through the pending chunks of a run: load the model, pick
 * the first token budget (this run's last, the per-user cache, or a probe), hand
 * out chunks two ahead, journal every finished chunk and every OOM, and start a
 * fresh worker when one asks to be recycled (memory in-process clean-up cannot free).
 */
import { join } from 'node:path';
import type { Batching, EncodeSpec, WorkerErrorCode, WorkerToEngine } from '../contract/protocol.js';
import type { Corpus } from '../corpus/readCorpus.js';
import type { ChunkPlan } from '../chunks/planner.js';
import { HeadroomError, type ErrorKind } from '../errors.js';
import type { Journal } from '../runs/journal.js';
import { chunkFile, type EmbedSpec } from '../runs/manifest.js';
import type { ChunkRecord } from '../runs/records.js';
import { describeExit, WorkerProcess } from '../supervisor/workerProcess.js';
import { budgetKey, learnedBudget, rememberBudget } from './budgetCache.js';
import type { MemoryFigures, Progress } from './progress.js';

/** Chunks handed to the worker ahead of time, so it never waits on the Engine. */
const CHUNKS_IN_FLIGHT = 2;
/** Fresh workers one session may start after recycles before it gives up. */
const MAX_RECYCLES = 3;
const GIB = 1024 ** 3;

const WORKER_ERROR_KIND: Record<WorkerErrorCode, ErrorKind> = {
  bad_message: 'internal',
  model_not_found: 'bad_input',
  bad_model: 'bad_input',
  bad_device: 'bad_input',
  bad_spec: 'bad_input',
  document_too_large: 'bad_input',
  encode_failed: 'internal',
  recycle: 'internal',
  internal: 'internal',
};

export interface SessionContext {
  runDir: string;
  spec: EmbedSpec;
  corpus: Corpus;
  journal: Journal;
  /** Chunks done so far (filled in as chunks finish). */
  done: Map<number, ChunkRecord>;
  chunksTotal: number;
  oomPolicy: EmbedSpec['oomPolicy'];
  report: (progress: Progress) => void;
  signal: AbortSignal | undefined;
  python: string | undefined;
  env: NodeJS.ProcessEnv | undefined;
  memory: MemoryFigures;
}

class Recycle {
  constructor(readonly reason: string) {}
}

export async function encodePending(ctx: SessionContext, pending: ChunkPlan[]): Promise<void> {
  for (let recycles = 0; ; recycles += 1) {
    const remaining = pending.filter((chunk) => !ctx.done.has(chunk.index));
    if (remaining.length === 0) return;
    const outcome = await withWorker(ctx, remaining);
    if (!(outcome instanceof Recycle)) return;
    if (recycles >= MAX_RECYCLES) {
      throw new HeadroomError('internal', `the worker ran out of memory again after ${MAX_RECYCLES} fresh starts: ${outcome.reason}`);
    }
    ctx.journal.append({ type: 'worker_recycled', reason: outcome.reason });
    ctx.report({ kind: 'log', line: `starting a fresh worker: ${outcome.reason}` });
  }
}

/** The budget this run ended on, from its own journal: a resume starts there. */
function lastRecordedBudget(ctx: SessionContext): number | null {
  for (const record of [...ctx.journal.records].reverse()) {
    if (record.type === 'oom') return record.budget;
    if (record.type === 'chunk_done') return record.stats.budget;
  }
  return null;
}

function batching(ctx: SessionContext, initialBudget: number | null): Batching {
  const { spec } = ctx;
  return {
    mode: spec.batchSize === 'auto' ? 'auto' : 'fixed',
    batchSize: spec.batchSize === 'auto' ? spec.minBatch : spec.batchSize,
    minBatch: spec.minBatch,
    maxBatch: spec.maxBatch,
    maxBatchTokens: spec.maxBatchTokens,
    targetMemory: spec.targetMemory,
    initialBudget,
    oomPolicy: ctx.oomPolicy,
  };
}

async function withWorker(ctx: SessionContext, pending: ChunkPlan[]): Promise<Recycle | undefined> {
  const { spec, journal, report } = ctx;
  const worker = WorkerProcess.start({ python: ctx.python, env: ctx.env, onLog: (line) => report({ kind: 'log', line }) });
  const onAbort = (): void => worker.kill();
  ctx.signal?.addEventListener('abort', onAbort);
  const encodeSpec: EncodeSpec = {
    model: spec.model,
    modelKey: spec.modelKey,
    device: spec.device,
    maxSeqLen: spec.maxSeqLen,
    vramLimit: spec.vramLimitGiB === null ? null : Math.round(spec.vramLimitGiB * GIB),
  };
  try {
    const ready = await worker.handshake();
    journal.append({ type: 'worker_ready', pid: ready.pid, python: ready.python, torch: ready.torch, sentenceTransformers: ready.sentenceTransformers, cuda: ready.cuda });
    report({ kind: 'worker', pid: ready.pid, torch: ready.torch, cuda: ready.cuda });
    worker.send({ type: 'load', spec: encodeSpec });

    const byIndex = new Map(pending.map((chunk) => [chunk.index, chunk]));
    const inFlight: number[] = [];
    let sent = 0;
    let plan: Batching | undefined;
    let key = '';
    const fill = (): void => {
      for (; plan && sent < pending.length && inFlight.length < CHUNKS_IN_FLIGHT; sent += 1) {
        const chunk = pending[sent]!;
        const texts = ctx.corpus.texts.slice(chunk.start, chunk.end);
        const path = join(ctx.runDir, chunkFile(spec.modelKey, chunk.index));
        worker.send({ type: 'encode', spec: encodeSpec, batching: plan, chunks: [{ index: chunk.index, texts, path }] });
        inFlight.push(chunk.index);
      }
    };

    while (byIndex.size > 0) {
      const item = await worker.next();
      if (item.kind === 'exit') {
        const why = ctx.signal?.aborted ? 'stopped by a signal' : describeExit(item.exit);
        throw new HeadroomError('interrupted', `run interrupted: ${why}`);
      }
      const event = item.event;
      switch (event.type) {
        case 'model_loaded': {
          key = budgetKey(event);
          const fixed = spec.batchSize !== 'auto' || spec.maxBatchTokens !== null;
          const fromRun = fixed ? null : lastRecordedBudget(ctx);
          const fromCache = fixed || fromRun !== null ? null : learnedBudget(key);
          const initialBudget = fromRun ?? fromCache;
          const budgetSource = fixed ? 'fixed' : fromRun !== null ? 'run' : fromCache !== null ? 'cache' : 'probe';
          journal.append({ type: 'model_loaded', model: event.model, source: event.source, device: event.device, dim: event.dim, maxSeqLen: event.maxSeqLen, budgetKey: key, initialBudget, budgetSource });
          report({ kind: 'model', model: event.model, device: event.device, dim: event.dim, source: event.source, ms: event.ms, budgetSource, initialBudget });
          plan = batching(ctx, initialBudget);
          fill();
          break;
        }
        case 'probe':
          journal.append({ type: 'probe', method: event.method, tokens: event.tokens, budget: event.budget });
          break;
        case 'oom':
          journal.append({ type: 'oom', chunk: inFlight[0] ?? -1, kind: event.kind, docs: event.docs, tokens: event.tokens, budget: event.budget, action: event.action });
          report({ kind: 'oom', chunk: inFlight[0] ?? -1, docs: event.docs, tokens: event.tokens, budget: event.budget, action: event.action });
          break;
        case 'batch':
          report({ kind: 'batch', docs: event.docs, tokens: event.tokens, padded: event.padded, ms: event.ms, peak: event.peak });
          break;
        case 'memory':
          ctx.memory.start ??= event.allocated;
          ctx.memory.end = event.allocated;
          ctx.memory.peak = Math.max(ctx.memory.peak ?? 0, event.peak ?? 0, event.allocated ?? 0);
          report({ kind: 'memory', allocated: event.allocated, reserved: event.reserved, free: event.free, total: event.total, peak: event.peak });
          break;
        case 'chunk_done': {
          const record = recordChunk(ctx, event, byIndex);
          inFlight.splice(inFlight.indexOf(event.index), 1);
          if (spec.batchSize === 'auto' && spec.maxBatchTokens === null && key) rememberBudget(key, event.stats.budget);
          fill();
          const rowsDone = [...ctx.done.values()].reduce((sum, chunk) => sum + chunk.rows, 0);
          report({ kind: 'chunk', index: record.index, chunksDone: ctx.done.size, chunksTotal: ctx.chunksTotal, rowsDone, rowsTotal: ctx.corpus.ids.length, ms: record.ms, budget: event.stats.budget });
          break;
        }
        case 'error':
          if (event.code === 'recycle') {
            worker.kill();
            await worker.exited;
            return new Recycle(event.message);
          }
          if (event.fatal) throw workerFailure(ctx, event, pending);
          report({ kind: 'log', line: `worker: ${event.message}` });
          break;
        case 'log':
          report({ kind: 'log', line: event.message });
          break;
        default:
          break;
      }
    }
    await worker.stop();
    return undefined;
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
    worker.kill();
  }
}

function recordChunk(ctx: SessionContext, event: Extract<WorkerToEngine, { type: 'chunk_done' }>, pending: Map<number, ChunkPlan>): ChunkRecord {
  const chunk = pending.get(event.index);
  if (event.pass !== ctx.spec.modelKey || !chunk || event.rows !== chunk.end - chunk.start) {
    throw new HeadroomError('internal', `worker reported an unexpected chunk: ${JSON.stringify(event)}`);
  }
  pending.delete(event.index);
  const record = ctx.journal.append({
    type: 'chunk_done',
    model: ctx.spec.modelKey,
    index: event.index,
    rows: event.rows,
    dim: event.dim,
    sha256: event.sha256,
    file: chunkFile(ctx.spec.modelKey, event.index),
    truncated: event.truncated,
    ms: event.ms,
    stats: event.stats,
  }) as ChunkRecord;
  ctx.done.set(record.index, record);
  return record;
}

function workerFailure(ctx: SessionContext, event: Extract<WorkerToEngine, { type: 'error' }>, pending: ChunkPlan[]): HeadroomError {
  const document = event.document;
  if (event.code === 'document_too_large' && document) {
    const chunk = pending.find((c) => c.index === document.chunk);
    const row = chunk ? chunk.start + document.row : undefined;
    const id = row === undefined ? '?' : ctx.corpus.ids[row];
    return new HeadroomError(
      'bad_input',
      `document "${id}" (input row ${row === undefined ? '?' : row + 1}, ${document.tokens} tokens) does not fit in memory alone; ` +
        `resume with --oom-policy cpu or --oom-policy truncate, or lower --max-seq-len`,
    );
  }
  return new HeadroomError(WORKER_ERROR_KIND[event.code], event.message);
}
