/**
 * What one runtime session does, as a pure reducer: `step(state, input)` takes
 * one thing that happened (the runtime got ready, sent an event, exited; the
 * ensemble mode changed) and returns the next state with the effects to carry
 * out, in order, as plain data (messages to send, journal records, progress,
 * a budget to remember, the end of the session). No I/O, clock or process here:
 * encodeSession.ts awaits the runtime, feeds each item in, and carries out the
 * effects. What needs I/O comes in as input: the per-user cache's budget for a
 * pass (see `cacheKeyToLookUp`); the loop fills in a chunk file's size.
 *
 * The scheduler state: each model's chunks not yet handed out, the units not
 * yet done, the open passes, the passes closing (pass_end sent, pass_completed
 * not back), each open pass's batching plan, whether the models are checked
 * (describe answered), and the units handed out ahead (at most UNITS_IN_FLIGHT).
 */
import { join } from 'node:path';
import type { z } from 'zod';
import type { Batching, EncodeSpec, EngineToRuntime, EnsembleMode, OomPolicy, RuntimeErrorCode, RuntimeEvent, RuntimeToEngine } from '../../contract/protocol.js';
import type { BudgetSource } from '../../contract/jobs/embed.js';
import type { Corpus } from '../../corpus/readCorpus.js';
import { HeadroomError, type ErrorKind } from '../../errors.js';
import { describeExit, type RuntimeExit } from '../../supervisor/runtimeProcess.js';
import { budgetKey } from './budgetCache.js';
import type { ChunkPlan } from './chunks/planner.js';
import { checkDims } from './ensemble.js';
import { chunkFile, type EmbedSpec, type ModelEntry, type ModelIdentity } from './manifest.js';
import { checkDescribed } from './modelIdentity.js';
import type { MemoryFigures, Progress } from './progress.js';
import type { ChunkRecord, JournalRecord, NewRecord } from './records.js';
import { nextStep } from './schedule.js';
import { judgeBaselines, leakLimits } from '../../supervisor/leakDetector.js';

/** Units handed to the runtime ahead of time, so it never waits on the Engine. */
export const UNITS_IN_FLIGHT = 2;
const GIB = 1024 ** 3;

const RUNTIME_ERROR_KIND: Record<RuntimeErrorCode, ErrorKind> = {
  bad_message: 'internal',
  model_not_found: 'bad_input',
  bad_model: 'bad_input',
  bad_device: 'bad_input',
  bad_spec: 'bad_input',
  document_too_large: 'bad_input',
  encode_failed: 'internal',
  recycle: 'internal',
  bad_input: 'bad_input',
  train_failed: 'internal',
  internal: 'internal',
};

type ChunkProgress = Extract<Progress, { kind: 'chunk' }>;

export interface Unit {
  entry: ModelEntry;
  chunk: ChunkPlan;
}

/** What does not change during a session. */
export interface SessionConfig {
  runDir: string;
  spec: EmbedSpec;
  /** run.json's model fingerprints: the runtime's models must match them before any work. */
  identities: readonly ModelIdentity[];
  corpus: Corpus;
  unitsTotal: number;
  /** The runtime's pid: a hung one's half-written chunk files end in .tmp-<pid>. */
  pid: number;
  /** False under injected faults: a budget learned then says nothing about the real device. */
  teachBudgets: boolean;
  /** The worker this session runs on (w0, w1, ...): a pass starts from the budget this worker last ended on. */
  worker: string;
  /** The device every model runs on in this runtime (a worker of --workers: cpu, or cuda:0 inside its CUDA_VISIBLE_DEVICES); null: each model's own. */
  device: string | null;
  /** True when the run can be paused and resumed (the panel's control): the VRAM guard's `pause` pauses it; false (CLI): it stops, resumable. */
  pausable?: boolean;
  /** HEADROOM_LEAK_RECYCLE_MB and HEADROOM_LEAK_SLOPE_MB as the environment gives them (leakDetector.ts). */
  leakEnv?: LeakEnv;
}

type LeakEnv = Partial<Record<'HEADROOM_LEAK_RECYCLE_MB' | 'HEADROOM_LEAK_SLOPE_MB', string>>;

/** The VRAM guard's and the leak detector's part of a session (undefined: nothing yet). */
interface GuardState {
  /** This runtime's baselines (bytes), one per unit: a fresh runtime starts a new series. */
  readonly baselines: readonly number[];
  readonly warned: boolean;
  readonly recycling: boolean;
  /** Set by a critical level with `pause`, said with the runtime's `paused`. */
  readonly pauseReason: string | null;
  /** The device of the latest pass (the leak limit's default depends on it). */
  readonly device: string;
}

/** A finished unit's dimension, newest first (shared between states: appending copies nothing). */
interface DimList {
  key: string;
  dim: number;
  before: DimList | null;
}

export interface SessionState {
  readonly config: SessionConfig;
  readonly mode: EnsembleMode;
  /**
   * Each model's chunks not yet handed to any runtime, in chunk order. With several workers this and
   * `done` are the run's, shared: the Engine threads the latest of both through every worker's steps.
   */
  readonly unsent: ReadonlyMap<string, readonly ChunkPlan[]>;
  /** Passes started and not ended. */
  readonly open: ReadonlySet<string>;
  /** Passes asked to end whose pass_completed has not come back yet. */
  readonly closing: ReadonlySet<string>;
  /** Each started pass's batching, and the key its learned budget is kept under. */
  readonly plans: ReadonlyMap<string, { plan: Batching; budgetKey: string }>;
  /** True once `described` passed the checks: no pass starts before. */
  readonly described: boolean;
  /** Units handed to the runtime, oldest first: the runtime finishes them in this order. */
  readonly inFlight: readonly Unit[];
  /** Units done in the run (earlier sessions too): how many, their rows, their dimensions. */
  readonly done: { units: number; rows: number; dims: DimList | null };
  /** The budget each model ended on in this run (its last oom or chunk_done): a pass starts there. */
  readonly lastBudget: ReadonlyMap<string, number>;
  readonly memory: Readonly<MemoryFigures>;
  readonly guard?: GuardState;
}

export type SessionInput =
  /** The runtime answered the handshake; the OOM policy in force and whether the run is paused now. */
  | { kind: 'ready'; ready: RuntimeEvent<'ready'>; oomPolicy: OomPolicy; paused: boolean }
  /** The ensemble mode in force now (changed through the run's control): only the remaining work is reordered. */
  | { kind: 'mode'; ensembleMode: EnsembleMode }
  /** An event; for pass_started, the per-user cache's budget under cacheKeyToLookUp's key (null: none, or not looked up). */
  | { kind: 'event'; event: RuntimeToEngine; cachedBudget?: number | null }
  /** The runtime is gone; `aborted`: the run's signal fired. */
  | { kind: 'exit'; exit: RuntimeExit; aborted: boolean };

export type SessionEffect =
  | { kind: 'send'; message: EngineToRuntime }
  /** A chunk_done record also joins the run's done units. */
  | { kind: 'journal'; record: NewRecord }
  | { kind: 'report'; progress: Progress }
  /** A unit's progress: the loop puts the size of `file` (relative to the run folder) in its fileBytes. */
  | { kind: 'report_chunk'; progress: ChunkProgress; file: string }
  | { kind: 'remember_budget'; key: string; budget: number }
  | { kind: 'memory'; figures: MemoryFigures }
  /** The runtime asked for a fresh one: kill it, start another. */
  | { kind: 'recycle'; reason: string }
  /** The leak detector: take no new unit, finish those in flight, then a fresh runtime (WorkerSlot.recycleBetweenUnits). */
  | { kind: 'recycle_between_units'; reason: string }
  /** The VRAM guard paused the runtime itself: the run's control is paused too, so the user resumes it as any pause. */
  | { kind: 'pause_run'; reason: string }
  /** The runtime was killed as hung: remove its half-written files; a fresh one redoes `unit`. */
  | { kind: 'hung'; silentMs: number; timeoutMs: number; unit: Unit | undefined; tmpFiles: string[] }
  | { kind: 'fail'; error: HeadroomError }
  /** Every unit done and every pass closed: shut the runtime down. */
  | { kind: 'done' };

export interface Step {
  state: SessionState;
  effects: SessionEffect[];
}

/** The state of a session about to get ready: `pending` are its units, `done` and `records` the run's so far. */
export function openSession(
  config: SessionConfig,
  pending: readonly Unit[],
  done: Iterable<ChunkRecord>,
  records: readonly JournalRecord[],
  mode: EnsembleMode,
  memory: MemoryFigures,
): SessionState {
  const unsent = new Map<string, ChunkPlan[]>(config.spec.models.map((entry) => [entry.key, []]));
  for (const unit of pending) unsent.get(unit.entry.key)!.push(unit.chunk);
  let finished: SessionState['done'] = { units: 0, rows: 0, dims: null };
  for (const record of done) finished = withDone(finished, record.model, record.rows, record.dim);
  const lastBudget = new Map<string, number>();
  for (const record of records) {
    if ((record.type === 'oom' || record.type === 'chunk_done') && record.worker !== undefined && record.worker !== config.worker) continue; // each worker learns its own
    if (record.type === 'oom') lastBudget.set(record.model, record.budget);
    if (record.type === 'chunk_done') lastBudget.set(record.model, record.stats.budget);
  }
  return {
    config,
    mode,
    unsent,
    open: new Set(),
    closing: new Set(),
    plans: new Map(),
    described: false,
    inFlight: [],
    done: finished,
    lastBudget,
    memory: { ...memory },
  };
}

/** True once no unit is left to hand out or in flight, and every pass is closed. */
export const finished = (state: SessionState): boolean =>
  state.inFlight.length === 0 && [...state.unsent.values()].every((chunks) => chunks.length === 0) && state.open.size === 0 && state.closing.size === 0;

const fixedBatches = (spec: EmbedSpec): boolean => spec.batchSize !== 'auto' || spec.maxBatchTokens !== null;

const fingerprint = (config: SessionConfig, model: string): string => config.identities.find((identity) => identity.key === model)?.sha256 ?? 'unknown';

/**
 * The per-user cache key to look up before feeding this pass_started in, or null
 * when the cache is not asked (fixed batches, or this run has a budget for the model).
 */
export function cacheKeyToLookUp(state: SessionState, event: RuntimeEvent<'pass_started'>): string | null {
  if (fixedBatches(state.config.spec) || state.lastBudget.has(event.model)) return null;
  return budgetKey(event, fingerprint(state.config, event.model));
}

export function step(state: SessionState, input: SessionInput): Step {
  const effects: SessionEffect[] = [];
  let next: SessionState;
  try {
    next = apply(state, input, effects);
  } catch (error) {
    if (error instanceof HeadroomError) return { state, effects: [{ kind: 'fail', error }] };
    throw error;
  }
  const last = effects.at(-1)?.kind;
  if (last === 'recycle' || last === 'hung' || last === 'fail') return { state: next, effects };
  next = fill(next, effects);
  if (finished(next)) effects.push({ kind: 'done' });
  return { state: next, effects };
}

/** The input's own effects; a check that fails throws a HeadroomError (step makes it a `fail`). */
function apply(state: SessionState, input: SessionInput, effects: SessionEffect[]): SessionState {
  const { spec } = state.config;
  switch (input.kind) {
    case 'ready': {
      const { ready } = input;
      effects.push(
        { kind: 'journal', record: { type: 'worker_ready', pid: ready.pid, python: ready.python, torch: ready.torch, sentenceTransformers: ready.sentenceTransformers, cuda: ready.cuda } },
        { kind: 'report', progress: { kind: 'runtime', pid: ready.pid, torch: ready.torch, cuda: ready.cuda } },
        { kind: 'send', message: { type: 'set_policy', oomPolicy: input.oomPolicy } },
      );
      if (input.paused) effects.push({ kind: 'send', message: { type: 'pause' } });
      // Every model is checked (found, dims agree) before any work starts.
      effects.push({ kind: 'send', message: { type: 'describe', specs: spec.models.map((entry) => encodeSpec(spec, entry, state.config.device)) } });
      return state;
    }
    case 'mode':
      return { ...state, mode: input.ensembleMode };
    case 'exit': {
      if (input.exit.reason === 'hung') {
        // The killed runtime's half-written chunk files; the redo writes them afresh.
        const tmpFiles = state.inFlight.map((unit) => `${join(state.config.runDir, chunkFile(unit.entry.key, unit.chunk.index))}.tmp-${state.config.pid}`);
        effects.push({ kind: 'hung', silentMs: input.exit.silentMs ?? 0, timeoutMs: input.exit.timeoutMs ?? 0, unit: state.inFlight[0], tmpFiles });
        return state;
      }
      const why = input.aborted ? 'stopped by a signal' : describeExit(input.exit);
      throw new HeadroomError('interrupted', `run interrupted: ${why}`);
    }
    case 'event':
      return onEvent(state, input.event, input.cachedBudget ?? null, effects);
  }
}

function onEvent(state: SessionState, event: RuntimeToEngine, cachedBudget: number | null, effects: SessionEffect[]): SessionState {
  const { config } = state;
  const { spec } = config;
  switch (event.type) {
    case 'described':
      checkDescribed(config.identities, spec.models, event.models);
      checkDims(spec.aggregate, event.models.map((model) => ({ key: model.modelKey, dim: model.dim })));
      return { ...state, described: true };
    case 'pass_started': {
      // A pass may be closing before its start is confirmed: with several workers the others can drain the
      // queue between this worker's pass_start and its pass_started; pass_completed follows as usual.
      if (!state.open.has(event.model) && !state.closing.has(event.model)) {
        throw new HeadroomError('internal', `runtime reported pass_started for ${event.model}, a pass the Engine did not open`);
      }
      const fixed = fixedBatches(spec);
      const key = budgetKey(event, fingerprint(config, event.model));
      const fromRun = fixed ? null : (state.lastBudget.get(event.model) ?? null);
      const fromCache = fixed || fromRun !== null ? null : cachedBudget;
      const initialBudget = fromRun ?? fromCache;
      const budgetSource: z.infer<typeof BudgetSource> = fixed ? 'fixed' : fromRun !== null ? 'run' : fromCache !== null ? 'cache' : 'probe';
      // A model whose files did not tell its dimension is checked against the others once loaded.
      checkDims(spec.aggregate, [...dimsInOrder(state.done.dims), { key: event.model, dim: event.dim }]);
      effects.push(
        {
          kind: 'journal',
          record: {
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
          },
        },
        {
          kind: 'report',
          progress: { kind: 'pass', phase: 'started', model: event.model, device: event.device, dim: event.dim, source: event.source, loaded: event.loaded, ms: event.ms, budgetSource, initialBudget, resident: event.resident },
        },
      );
      const memory = { ...state.memory, resident: Math.max(state.memory.resident ?? 0, event.resident) };
      effects.push({ kind: 'memory', figures: memory });
      return { ...state, memory, guard: { ...guardOf(state), device: event.device }, plans: withEntry(state.plans, event.model, { plan: batching(spec, initialBudget), budgetKey: key }) };
    }
    case 'pass_completed': {
      if (!state.closing.has(event.model)) throw new HeadroomError('internal', `runtime reported pass_completed for ${event.model}, a pass the Engine did not close`);
      effects.push(
        { kind: 'journal', record: { ...event, type: 'pass_completed' } },
        { kind: 'report', progress: { kind: 'pass', phase: 'completed', model: event.model, device: event.device, ms: event.ms, rows: event.rows, peak: event.peak, residentPeak: event.residentPeak, released: event.released } },
      );
      const memory = { ...state.memory, resident: Math.max(state.memory.resident ?? 0, event.residentPeak) };
      effects.push({ kind: 'memory', figures: memory });
      // a pass opened again starts from the budget this run ended on
      return { ...state, memory, plans: withoutEntry(state.plans, event.model), closing: withoutKey(state.closing, event.model) };
    }
    case 'probe':
      effects.push({ kind: 'journal', record: { type: 'probe', method: event.method, tokens: event.tokens, budget: event.budget } });
      return state;
    case 'oom': {
      const unit = state.inFlight[0];
      const model = unit?.entry.key ?? '?';
      const chunk = unit?.chunk.index ?? -1;
      effects.push(
        { kind: 'journal', record: { type: 'oom', model, chunk: Math.max(chunk, 0), kind: event.kind, docs: event.docs, tokens: event.tokens, budget: event.budget, action: event.action } },
        { kind: 'report', progress: { kind: 'oom', model, chunk, docs: event.docs, tokens: event.tokens, budget: event.budget, action: event.action } },
      );
      return { ...state, lastBudget: withEntry(state.lastBudget, model, event.budget) };
    }
    case 'batch':
      effects.push({ kind: 'report', progress: { kind: 'batch', docs: event.docs, tokens: event.tokens, padded: event.padded, ms: event.ms, peak: event.peak } });
      return state;
    case 'memory': {
      const memory = {
        ...state.memory,
        start: state.memory.start ?? event.allocated,
        end: event.allocated,
        peak: Math.max(state.memory.peak ?? 0, event.peak ?? 0, event.allocated ?? 0),
      };
      effects.push(
        { kind: 'memory', figures: memory },
        { kind: 'report', progress: { kind: 'memory', allocated: event.allocated, reserved: event.reserved, free: event.free, total: event.total, peak: event.peak } },
      );
      return { ...state, memory };
    }
    case 'chunk_done':
      return onChunkDone(state, event, effects);
    case 'vram_level':
      return onVramLevel(state, event, effects);
    case 'baseline':
      return onBaseline(state, event, effects);
    case 'paused': {
      const reason = state.guard?.pauseReason ?? null;
      effects.push({ kind: 'report', progress: reason === null ? { kind: 'paused' } : { kind: 'paused', reason } });
      return reason === null ? state : { ...state, guard: { ...guardOf(state), pauseReason: null } };
    }
    case 'resumed':
      effects.push({ kind: 'report', progress: { kind: event.type } });
      return state;
    case 'error':
      if (event.code === 'recycle') {
        effects.push({ kind: 'recycle', reason: event.message });
        return state;
      }
      if (event.fatal) throw runtimeFailure(config, event, state.inFlight[0]);
      effects.push({ kind: 'report', progress: { kind: 'log', line: `runtime: ${event.message}` } });
      return state;
    case 'log':
      effects.push({ kind: 'report', progress: { kind: 'log', line: event.message } });
      return state;
    default:
      return state;
  }
}

function onChunkDone(state: SessionState, event: RuntimeEvent<'chunk_done'>, effects: SessionEffect[]): SessionState {
  const { config } = state;
  const [unit, ...rest] = state.inFlight;
  if (!unit || event.pass !== unit.entry.key || event.index !== unit.chunk.index || event.rows !== unit.chunk.end - unit.chunk.start) {
    throw new HeadroomError('internal', `runtime reported an unexpected chunk: ${JSON.stringify({ ...event, stats: undefined })}`);
  }
  const file = chunkFile(unit.entry.key, event.index);
  effects.push({
    kind: 'journal',
    record: { type: 'chunk_done', model: unit.entry.key, index: event.index, rows: event.rows, dim: event.dim, sha256: event.sha256, file, truncated: event.truncated, ms: event.ms, stats: event.stats },
  });
  const done = withDone(state.done, unit.entry.key, event.rows, event.dim);
  const learned = state.plans.get(unit.entry.key)?.budgetKey;
  if (!fixedBatches(config.spec) && learned && config.teachBudgets) effects.push({ kind: 'remember_budget', key: learned, budget: event.stats.budget });
  effects.push({
    kind: 'report_chunk',
    progress: {
      kind: 'chunk',
      model: unit.entry.key,
      index: event.index,
      chunksDone: done.units,
      chunksTotal: config.unitsTotal,
      rowsDone: done.rows,
      rowsTotal: config.corpus.ids.length * config.spec.models.length,
      ms: event.ms,
      budget: event.stats.budget,
      fileBytes: 0,
      truncated: event.truncated,
      cutToFit: event.stats.oomTruncated,
      onCpu: event.stats.cpuFallbacks,
    },
    file,
  });
  return { ...state, inFlight: rest, done, lastBudget: withEntry(state.lastBudget, unit.entry.key, event.stats.budget) };
}

/** Sends what the schedule allows now: passes to open or close, units up to UNITS_IN_FLIGHT ahead. */
function fill(state: SessionState, effects: SessionEffect[]): SessionState {
  const { spec } = state.config;
  let next = state;
  while (next.described) {
    const scheduled = nextStep(spec.models, next.unsent, next.open, next.mode);
    if (scheduled.kind === 'none') return next;
    const { entry } = scheduled;
    if (scheduled.kind === 'start') {
      effects.push({ kind: 'send', message: { type: 'pass_start', spec: encodeSpec(spec, entry, state.config.device) } });
      next = { ...next, open: withKey(next.open, entry.key) };
    } else if (scheduled.kind === 'end') {
      effects.push({ kind: 'send', message: { type: 'pass_end', modelKey: entry.key, release: scheduled.release } });
      next = { ...next, open: withoutKey(next.open, entry.key), closing: withKey(next.closing, entry.key) };
    } else {
      const plan = next.plans.get(entry.key);
      if (!plan || next.inFlight.length >= UNITS_IN_FLIGHT) return next;
      const { chunk } = scheduled;
      const texts = state.config.corpus.texts.slice(chunk.start, chunk.end);
      const path = join(state.config.runDir, chunkFile(entry.key, chunk.index));
      effects.push({ kind: 'send', message: { type: 'encode', spec: encodeSpec(spec, entry, state.config.device), batching: plan.plan, chunks: [{ index: chunk.index, texts, path }] } });
      next = { ...next, unsent: withEntry(next.unsent, entry.key, next.unsent.get(entry.key)!.slice(1)), inFlight: [...next.inFlight, { entry, chunk }] };
    }
  }
  return next;
}

export function batching(spec: EmbedSpec, initialBudget: number | null): Batching {
  return {
    mode: spec.batchSize === 'auto' ? 'auto' : 'fixed',
    batchSize: spec.batchSize === 'auto' ? spec.minBatch : spec.batchSize,
    minBatch: spec.minBatch,
    maxBatch: spec.maxBatch,
    maxBatchTokens: spec.maxBatchTokens,
    targetMemory: spec.targetMemory,
    initialBudget,
    vramWarning: spec.vramWarning,
    vramCritical: spec.vramCritical,
    onCritical: spec.onCritical,
  };
}

export function encodeSpec(spec: EmbedSpec, entry: ModelEntry, device: string | null = null): EncodeSpec {
  return {
    model: entry.model,
    modelKey: entry.key,
    device: device ?? entry.device,
    maxSeqLen: spec.maxSeqLen,
    vramLimit: spec.vramLimitGiB === null ? null : Math.round(spec.vramLimitGiB * GIB),
  };
}

function runtimeFailure(config: SessionConfig, event: RuntimeEvent<'error'>, unit: Unit | undefined): HeadroomError {
  const document = event.document;
  if (event.code === 'document_too_large' && document) {
    const row = unit && unit.chunk.index === document.chunk ? unit.chunk.start + document.row : undefined;
    const id = row === undefined ? '?' : config.corpus.ids[row];
    return new HeadroomError(
      'bad_input',
      `document "${id}" (input row ${row === undefined ? '?' : row + 1}, ${document.tokens} tokens) does not fit in memory alone` +
        `${unit ? ` with model ${unit.entry.model}` : ''}; resume with --oom-policy cpu or --oom-policy truncate, or lower --max-seq-len`,
    );
  }
  return new HeadroomError(RUNTIME_ERROR_KIND[event.code], event.message);
}

const withDone = (done: SessionState['done'], key: string, rows: number, dim: number): SessionState['done'] => ({
  units: done.units + 1,
  rows: done.rows + rows,
  dims: { key, dim, before: done.dims },
});

function dimsInOrder(list: DimList | null): { key: string; dim: number }[] {
  const dims: { key: string; dim: number }[] = [];
  for (let at = list; at; at = at.before) dims.push({ key: at.key, dim: at.dim });
  return dims.reverse();
}

function withKey(set: ReadonlySet<string>, key: string): ReadonlySet<string> {
  return new Set(set).add(key);
}

function withEntry<V>(map: ReadonlyMap<string, V>, key: string, value: V): ReadonlyMap<string, V> {
  return new Map(map).set(key, value);
}

function withoutKey(set: ReadonlySet<string>, key: string): ReadonlySet<string> {
  if (!set.has(key)) return set;
  const copy = new Set(set);
  copy.delete(key);
  return copy;
}

function withoutEntry<V>(map: ReadonlyMap<string, V>, key: string): ReadonlyMap<string, V> {
  if (!map.has(key)) return map;
  const copy = new Map(map);
  copy.delete(key);
  return copy;
}

const guardOf = (state: SessionState): GuardState => state.guard ?? { baselines: [], warned: false, recycling: false, pauseReason: null, device: 'cpu' };
const pct = (used: number, total: number): string => `${Math.round((used / total) * 100)}%`;
const gib = (bytes: number): string => `${(bytes / GIB).toFixed(2)} GiB`;

/** The VRAM guard crossed a level: journaled, shown; `pause` pauses the run (or, with nothing to resume it, stops it resumable). */
function onVramLevel(state: SessionState, event: RuntimeEvent<'vram_level'>, effects: SessionEffect[]): SessionState {
  const unit = state.inFlight[0];
  const model = unit?.entry.key ?? '?';
  const chunk = Math.max(unit?.chunk.index ?? 0, 0);
  const { level, used, total, action, budget } = event;
  effects.push(
    { kind: 'journal', record: { type: 'vram_level', model, chunk, level, used, total, action, budget } },
    { kind: 'report', progress: { kind: 'vram_level', model, chunk, level, used, total, action, budget } },
  );
  if (action === 'shrink' && budget !== null) return { ...state, lastBudget: withEntry(state.lastBudget, model, budget) };
  if (action !== 'pause') return state;
  const reason = `memory at the critical level: ${pct(used, total)} of ${gib(total)} (critical ${Math.round(state.config.spec.vramCritical * 100)}%)`;
  if (!state.config.pausable) {
    throw new HeadroomError('interrupted', `run interrupted: ${reason}, and --on-critical is pause; free memory on the device, then \`headroom resume ${state.config.runDir}\``);
  }
  effects.push({ kind: 'pause_run', reason });
  return { ...state, guard: { ...guardOf(state), pauseReason: reason } };
}

/** A baseline after clean-up: a chart sample, the leak detector's series; a rising one is a warning, a drifted one a recycle between units. */
function onBaseline(state: SessionState, event: RuntimeEvent<'baseline'>, effects: SessionEffect[]): SessionState {
  const guard = guardOf(state);
  effects.push({ kind: 'report', progress: { kind: 'baseline', model: event.model, chunk: event.chunk, bytes: event.bytes } });
  if (event.chunk === null) return state; // between passes: a model was just dropped, not a unit of work
  const baselines = [...guard.baselines, event.bytes];
  const verdict = judgeBaselines(baselines, leakLimits(state.config.leakEnv ?? {}, guard.device));
  const warn = verdict.leaking && !guard.warned;
  // only while units are left to hand out: a fresh runtime for none would only cost its start
  const recycle = verdict.recycle && !guard.recycling && [...state.unsent.values()].some((chunks) => chunks.length > 0);
  if (warn || recycle) {
    const figures = { model: event.model, chunk: event.chunk, slopeMB: round1(verdict.slopeMB), driftMB: round1(verdict.driftMB), units: verdict.units, recycle };
    effects.push({ kind: 'journal', record: { type: 'leak_warning', ...figures } }, { kind: 'report', progress: { kind: 'leak_warning', ...figures } });
  }
  if (recycle) {
    const limit = leakLimits(state.config.leakEnv ?? {}, guard.device).recycleMB;
    effects.push({ kind: 'recycle_between_units', reason: `memory baseline rose ${round1(verdict.driftMB)} MB since this runtime's first unit (limit ${limit} MB, HEADROOM_LEAK_RECYCLE_MB)` });
  }
  return { ...state, guard: { ...guard, baselines, warned: guard.warned || warn, recycling: guard.recycling || recycle } };
}

const round1 = (value: number): number => Math.round(value * 10) / 10;
