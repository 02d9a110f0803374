/**
 * Drives Python workers through the pending (model, chunk) units of a run: check
 * every model's spec first (describe), open and close passes in the order the
 * ensemble mode asks for, pick each model's first token budget (this run's last,
 * the per-user cache, or a probe), hand out units two ahead, journal every finished
 * unit, pass and OOM, and start a fresh worker when one asks to be recycled or
 * hangs (falls silent past the heartbeat timeout), redoing the units it held.
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Batching, EncodeSpec, EnsembleMode, WorkerErrorCode, WorkerEvent } from '../../contract/protocol.js';
import type { Corpus } from '../../corpus/readCorpus.js';
import type { ChunkPlan } from './chunks/planner.js';
import { HeadroomError, type ErrorKind } from '../../errors.js';

import { chunkFile, type EmbedSpec, type ModelEntry, type ModelIdentity } from './manifest.js';
import type { ChunkRecord, EmbedJournal } from './records.js';
import { chunkKey } from './runState.js';
import { describeExit, RuntimeProcess } from '../../supervisor/runtimeProcess.js';
import { budgetKey, faultInjection, learnedBudget, rememberBudget } from './budgetCache.js';
import { checkDims } from './ensemble.js';
import { checkDescribed } from './modelIdentity.js';
import type { MemoryFigures, Progress } from './progress.js';
import type { RunControl } from '../../runs/runControl.js';
import type { EmbedSettings } from '../../contract/jobs/embed.js';
import { nextStep } from './schedule.js';

/** Units handed to the worker ahead of time, so it never waits on the Engine. */
const UNITS_IN_FLIGHT = 2;
/** Fresh workers one session may start after recycles before it gives up. */
const MAX_RECYCLES = 3;
/** Hung workers in a row (no unit finished in between) before the run stops, resumable. */
export const MAX_HANGS_IN_A_ROW = 3;
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

export interface Unit {
  entry: ModelEntry;
  chunk: ChunkPlan;
}

export interface SessionContext {
  runDir: string;
  spec: EmbedSpec;
  /** run.json's model fingerprints: the worker's models must match them before any work. */
  identities: readonly ModelIdentity[];
  corpus: Corpus;
  journal: EmbedJournal;
  /** Units done so far, by chunkKey(model key, index) (filled in as units finish). */
  done: Map<string, ChunkRecord>;
  unitsTotal: number;
  /** In force now; changed through `control` for the remaining work. */
  oomPolicy: EmbedSpec['oomPolicy'];
  ensembleMode: EnsembleMode;
  control: RunControl<EmbedSettings> | undefined;
  report: (progress: Progress) => void;
  signal: AbortSignal | undefined;
  python: string | undefined;
  env: NodeJS.ProcessEnv | undefined;
  memory: MemoryFigures;
}

class Recycle {
  constructor(readonly reason: string) {}
}

/** A worker killed as hung, and the unit it was working on (null: before any was handed out). */
class Hung {
  constructor(
    readonly pid: number,
    readonly silentMs: number,
    readonly timeoutMs: number,
    readonly unit: Unit | undefined,
  ) {}
}

/** Bytes of a file just written (0 if it is already gone): the panel adds it to the run's size. */
function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export async function encodePending(ctx: SessionContext, pending: Unit[]): Promise<void> {
  let current: RuntimeProcess | undefined;
  let wake: (() => void) | undefined;
  const unsubscribe = ctx.control?.subscribe((command) => {
    switch (command.kind) {
      case 'pause':
        current?.send({ type: 'pause' });
        break;
      case 'resume':
        current?.send({ type: 'resume' });
        break;
      case 'settings': {
        const { oom, ensembleMode } = command.settings;
        if (oom !== undefined && oom !== ctx.oomPolicy) {
          ctx.oomPolicy = oom;
          ctx.journal.append({ type: 'policy_changed', oomPolicy: oom });
          current?.send({ type: 'set_policy', oomPolicy: oom });
        }
        if (ensembleMode !== undefined && ensembleMode !== ctx.ensembleMode) {
          ctx.ensembleMode = ensembleMode;
          ctx.journal.append({ type: 'mode_changed', ensembleMode });
          ctx.report({ kind: 'mode', ensembleMode });
          wake?.();
        }
        break;
      }
    }
  });
  try {
    let recycles = 0;
    let hungInARow = 0;
    for (;;) {
      const remaining = pending.filter((unit) => !ctx.done.has(chunkKey(unit.entry.key, unit.chunk.index)));
      if (remaining.length === 0) return;
      const worker = RuntimeProcess.start({ python: ctx.python, env: ctx.env, onLog: (line) => ctx.report({ kind: 'log', line }) });
      current = worker;
      const doneBefore = ctx.done.size;
      const outcome = await withWorker(ctx, worker, remaining, (fill) => {
        wake = fill;
      });
      current = undefined;
      if (outcome instanceof Hung) {
        hungInARow = ctx.done.size > doneBefore ? 1 : hungInARow + 1;
        onHung(ctx, outcome, hungInARow);
        continue;
      }
      if (!(outcome instanceof Recycle)) return;
      if (recycles >= MAX_RECYCLES) {
        throw new HeadroomError('internal', `the worker ran out of memory again after ${MAX_RECYCLES} fresh starts: ${outcome.reason}`);
      }
      recycles += 1;
      ctx.journal.append({ type: 'worker_recycled', reason: outcome.reason });
      ctx.report({ kind: 'log', line: `starting a fresh worker: ${outcome.reason}` });
    }
  } finally {
    unsubscribe?.();
  }
}

/** Journals and shows a hang; past MAX_HANGS_IN_A_ROW the run stops, resumable (exit 3). */
function onHung(ctx: SessionContext, hung: Hung, inARow: number): void {
  const giveUp = inARow >= MAX_HANGS_IN_A_ROW;
  const silentS = Number((hung.silentMs / 1000).toFixed(1));
  const timeoutS = Number((hung.timeoutMs / 1000).toFixed(1));
  const model = hung.unit?.entry.key ?? null;
  const chunk = hung.unit?.chunk.index ?? null;
  ctx.journal.append({ type: 'worker_hung', pid: hung.pid, silentS, timeoutS, model, chunk, inARow });
  ctx.report({ kind: 'runtime_hung', pid: hung.pid, silentS, timeoutS, model, chunk, inARow, giveUp });
  const what = hung.unit ? `${model} chunk ${chunk}` : 'its start-up';
  ctx.report({ kind: 'log', line: `worker ${hung.pid} hung (silent ${silentS} s, limit ${timeoutS} s) during ${what}: killed${giveUp ? '' : '; a fresh worker redoes it'}` });
  if (giveUp) {
    throw new HeadroomError(
      'interrupted',
      `run interrupted: the Python worker hung ${inARow} times in a row (silent for more than ${timeoutS} s each time, during ${what}); ` +
        `check the machine (GPU driver, memory, swap), then \`headroom resume ${ctx.runDir}\` (HEADROOM_HEARTBEAT_TIMEOUT_S sets the limit)`,
    );
  }
}

/** The budget this model ended on in this run, from the journal: a resume starts there. */
function lastRecordedBudget(ctx: SessionContext, key: string): number | null {
  for (const record of [...ctx.journal.records].reverse()) {
    if (record.type === 'oom' && record.model === key) return record.budget;
    if (record.type === 'chunk_done' && record.model === key) return record.stats.budget;
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

function encodeSpec(spec: EmbedSpec, entry: ModelEntry): EncodeSpec {
  return {
    model: entry.model,
    modelKey: entry.key,
    device: entry.device,
    maxSeqLen: spec.maxSeqLen,
    vramLimit: spec.vramLimitGiB === null ? null : Math.round(spec.vramLimitGiB * GIB),
  };
}

async function withWorker(ctx: SessionContext, worker: RuntimeProcess, pending: Unit[], setWake: (fill: () => void) => void): Promise<Recycle | Hung | undefined> {
  const { spec, journal, report } = ctx;
  const onAbort = (): void => worker.kill();
  ctx.signal?.addEventListener('abort', onAbort);
  const fixed = spec.batchSize !== 'auto' || spec.maxBatchTokens !== null;
  const hung = async (): Promise<Hung | undefined> => {
    const exit = await worker.exited;
    if (exit.reason !== 'hung') return undefined;
    // The killed worker's half-written chunk files; the redo writes them afresh.
    for (const unit of inFlight) rmSync(`${join(ctx.runDir, chunkFile(unit.entry.key, unit.chunk.index))}.tmp-${worker.pid}`, { force: true });
    return new Hung(worker.pid, exit.silentMs ?? 0, exit.timeoutMs ?? 0, inFlight[0]);
  };
  const inFlight: Unit[] = [];
  try {
    let ready: WorkerEvent<'ready'>;
    try {
      ready = await worker.handshake();
    } catch (error) {
      const outcome = worker.isHung ? await hung() : undefined;
      if (outcome) return outcome;
      throw error;
    }
    journal.append({ type: 'worker_ready', pid: ready.pid, python: ready.python, torch: ready.torch, sentenceTransformers: ready.sentenceTransformers, cuda: ready.cuda });
    report({ kind: 'runtime', pid: ready.pid, torch: ready.torch, cuda: ready.cuda });
    if (ctx.control?.paused) worker.send({ type: 'pause' });
    // Every model is checked (found, dims agree) before any work starts.
    worker.send({ type: 'describe', specs: spec.models.map((entry) => encodeSpec(spec, entry)) });

    const unsent = new Map<string, ChunkPlan[]>(spec.models.map((entry) => [entry.key, []]));
    for (const unit of pending) unsent.get(unit.entry.key)!.push(unit.chunk);
    const waiting = new Set(pending.map((unit) => chunkKey(unit.entry.key, unit.chunk.index)));
    const open = new Set<string>();
    /** Passes asked to end whose pass_completed has not come back yet. */
    const closing = new Set<string>();
    const plans = new Map<string, { plan: Batching; budgetKey: string }>();
    let described = false;

    const fill = (): void => {
      while (described) {
        const step = nextStep(spec.models, unsent, open, ctx.ensembleMode);
        if (step.kind === 'none') return;
        if (step.kind === 'start') {
          worker.send({ type: 'pass_start', spec: encodeSpec(spec, step.entry) });
          open.add(step.entry.key);
        } else if (step.kind === 'end') {
          worker.send({ type: 'pass_end', modelKey: step.entry.key, release: step.release });
          open.delete(step.entry.key);
          closing.add(step.entry.key);
        } else {
          const plan = plans.get(step.entry.key);
          if (!plan || inFlight.length >= UNITS_IN_FLIGHT) return;
          const { entry, chunk } = step;
          unsent.get(entry.key)!.shift();
          const texts = ctx.corpus.texts.slice(chunk.start, chunk.end);
          const path = join(ctx.runDir, chunkFile(entry.key, chunk.index));
          worker.send({ type: 'encode', spec: encodeSpec(spec, entry), batching: plan.plan, chunks: [{ index: chunk.index, texts, path }] });
          inFlight.push({ entry, chunk });
        }
      }
    };
    setWake(fill);

    for (;;) {
      if (waiting.size === 0 && open.size === 0 && closing.size === 0) break;
      const item = await worker.next();
      if (item.kind === 'exit') {
        const outcome = await hung();
        if (outcome) return outcome;
        const why = ctx.signal?.aborted ? 'stopped by a signal' : describeExit(item.exit);
        throw new HeadroomError('interrupted', `run interrupted: ${why}`);
      }
      const event = item.event;
      switch (event.type) {
        case 'described':
          checkDescribed(ctx.identities, spec.models, event.models);
          checkDims(spec.aggregate, event.models.map((model) => ({ key: model.modelKey, dim: model.dim })));
          described = true;
          break;
        case 'pass_started': {
          const key = budgetKey(event, ctx.identities.find((identity) => identity.key === event.model)?.sha256 ?? 'unknown');
          const fromRun = fixed ? null : lastRecordedBudget(ctx, event.model);
          const fromCache = fixed || fromRun !== null ? null : learnedBudget(key);
          const initialBudget = fromRun ?? fromCache;
          const budgetSource = fixed ? 'fixed' : fromRun !== null ? 'run' : fromCache !== null ? 'cache' : 'probe';
          checkPassDim(ctx, event);
          journal.append({
            type: 'pass_started',
            model: event.model,
            source: event.source,
            device: event.device,
            dim: event.dim,
            maxSeqLen: event.maxSeqLen,
            loaded: event.loaded,
            ms: event.ms,
            resident: event.resident,
            budgetKey: key,
            initialBudget,
            budgetSource,
          });
          report({ kind: 'pass', phase: 'started', model: event.model, device: event.device, dim: event.dim, source: event.source, loaded: event.loaded, ms: event.ms, budgetSource, initialBudget, resident: event.resident });
          ctx.memory.resident = Math.max(ctx.memory.resident ?? 0, event.resident);
          plans.set(event.model, { plan: batching(ctx, initialBudget), budgetKey: key });
          break;
        }
        case 'pass_completed':
          journal.append({ ...event, type: 'pass_completed' });
          report({ kind: 'pass', phase: 'completed', model: event.model, device: event.device, ms: event.ms, rows: event.rows, peak: event.peak, residentPeak: event.residentPeak, released: event.released });
          ctx.memory.resident = Math.max(ctx.memory.resident ?? 0, event.residentPeak);
          plans.delete(event.model); // a pass opened again re-reads its budget from the journal
          closing.delete(event.model);
          break;
        case 'probe':
          journal.append({ type: 'probe', method: event.method, tokens: event.tokens, budget: event.budget });
          break;
        case 'oom': {
          const unit = inFlight[0];
          const model = unit?.entry.key ?? '?';
          const chunk = unit?.chunk.index ?? -1;
          journal.append({ type: 'oom', model, chunk: Math.max(chunk, 0), kind: event.kind, docs: event.docs, tokens: event.tokens, budget: event.budget, action: event.action });
          report({ kind: 'oom', model, chunk, docs: event.docs, tokens: event.tokens, budget: event.budget, action: event.action });
          break;
        }
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
          const unit = inFlight[0];
          if (!unit || event.pass !== unit.entry.key || event.index !== unit.chunk.index || event.rows !== unit.chunk.end - unit.chunk.start) {
            throw new HeadroomError('internal', `worker reported an unexpected chunk: ${JSON.stringify({ ...event, stats: undefined })}`);
          }
          inFlight.shift();
          const record = recordUnit(ctx, unit, event);
          waiting.delete(chunkKey(unit.entry.key, unit.chunk.index));
          const learned = plans.get(unit.entry.key)?.budgetKey;
          // a budget learned under injected faults says nothing about the real device
          if (!fixed && learned && !faultInjection(ctx.env ?? process.env)) rememberBudget(learned, event.stats.budget);
          const rowsDone = [...ctx.done.values()].reduce((sum, chunk) => sum + chunk.rows, 0);
          report({
            kind: 'chunk',
            model: unit.entry.key,
            index: record.index,
            chunksDone: ctx.done.size,
            chunksTotal: ctx.unitsTotal,
            rowsDone,
            rowsTotal: ctx.corpus.ids.length * spec.models.length,
            ms: record.ms,
            budget: event.stats.budget,
            fileBytes: fileSize(join(ctx.runDir, record.file)),
            truncated: record.truncated,
            cutToFit: record.stats.oomTruncated,
            onCpu: record.stats.cpuFallbacks,
          });
          break;
        }
        case 'paused':
        case 'resumed':
          report({ kind: event.type });
          break;
        case 'error':
          if (event.code === 'recycle') {
            worker.kill();
            await worker.exited;
            return new Recycle(event.message);
          }
          if (event.fatal) throw workerFailure(ctx, event, inFlight[0]);
          report({ kind: 'log', line: `worker: ${event.message}` });
          break;
        case 'log':
          report({ kind: 'log', line: event.message });
          break;
        default:
          break;
      }
      fill();
    }
    await worker.stop();
    return undefined;
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
    worker.kill();
  }
}

/** A model whose files did not tell its dimension is checked against the others once loaded. */
function checkPassDim(ctx: SessionContext, event: WorkerEvent<'pass_started'>): void {
  const dims = [...ctx.done.values()].map((record) => ({ key: record.model, dim: record.dim }));
  checkDims(ctx.spec.aggregate, [...dims, { key: event.model, dim: event.dim }]);
}

function recordUnit(ctx: SessionContext, unit: Unit, event: WorkerEvent<'chunk_done'>): ChunkRecord {
  const record = ctx.journal.append({
    type: 'chunk_done',
    model: unit.entry.key,
    index: event.index,
    rows: event.rows,
    dim: event.dim,
    sha256: event.sha256,
    file: chunkFile(unit.entry.key, event.index),
    truncated: event.truncated,
    ms: event.ms,
    stats: event.stats,
  }) as ChunkRecord;
  ctx.done.set(chunkKey(unit.entry.key, unit.chunk.index), record);
  return record;
}

function workerFailure(ctx: SessionContext, event: WorkerEvent<'error'>, unit: Unit | undefined): HeadroomError {
  const document = event.document;
  if (event.code === 'document_too_large' && document) {
    const row = unit && unit.chunk.index === document.chunk ? unit.chunk.start + document.row : undefined;
    const id = row === undefined ? '?' : ctx.corpus.ids[row];
    return new HeadroomError(
      'bad_input',
      `document "${id}" (input row ${row === undefined ? '?' : row + 1}, ${document.tokens} tokens) does not fit in memory alone` +
        `${unit ? ` with model ${unit.entry.model}` : ''}; resume with --oom-policy cpu or --oom-policy truncate, or lower --max-seq-len`,
    );
  }
  return new HeadroomError(WORKER_ERROR_KIND[event.code], event.message);
}
