/**
 * Drives Python runtimes through the pending (model, chunk) units of a run: one
 * worker (a run without --workers) or one per listed device (workerPlan.ts), all
 * taking units from ONE queue, whichever is free. Each worker checks every model's
 * spec first (describe), opens and closes passes in the order the ensemble mode
 * asks for (sequential: one pass open at a time on each worker), picks each model's
 * first token budget (its own last in this run, the per-user cache, or a probe),
 * takes units two ahead, journals every finished unit, pass and OOM (naming the
 * worker), and gets a fresh runtime when it asks to be recycled, hangs (silent past
 * the heartbeat timeout) or, with --workers, dies; the units it held go back to the
 * queue. With --workers a worker that fails MAX_WORKER_FAILURES times in a row is
 * given up and the others go on; with every worker given up the run stops,
 * resumable. What one worker's session does is decided by the pure reducer in
 * sessionReducer.ts (one reducer state per worker); the queue's part of it (units
 * not handed out, units done) is the run's, threaded through every worker's steps.
 * This file does the I/O: the processes, the journal, the budget cache, the chunk
 * files' sizes, a hung worker's leftovers.
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EnsembleMode, RuntimeEvent } from '../../contract/protocol.js';
import type { Corpus } from '../../corpus/readCorpus.js';
import { HeadroomError } from '../../errors.js';
import { chunkFile, type EmbedSpec, type ModelIdentity } from './manifest.js';
import type { ChunkRecord, EmbedJournal, NewRecord } from './records.js';
import { chunkKey } from './runState.js';
import { describeExit, MAX_HANGS_IN_A_ROW, RuntimeProcess, type RuntimeExit } from '../../supervisor/runtimeProcess.js';
import { faultInjection, learnedBudget, rememberBudget } from './budgetCache.js';
import type { MemoryFigures, Progress } from './progress.js';
import type { RunControl } from '../../runs/runControl.js';
import type { EmbedSettings } from '../../contract/jobs/embed.js';
import { cacheKeyToLookUp, openSession, step, type SessionConfig, type SessionEffect, type SessionInput, type SessionState, type Unit } from './sessionReducer.js';
import type { ChunkPlan } from './chunks/planner.js';
import { planWorkers, type WorkerPlan } from './workerPlan.js';
import { pickLeakEnv } from '../../supervisor/leakDetector.js';
import { firstSentence } from '../../contract/words.js';

export type { Unit } from './sessionReducer.js';

/** Fresh runtimes one worker may get after OOM recycles before the run gives up. */
const MAX_RECYCLES = 3;
/** Hung runtimes in a row (no unit finished in between) before a run without --workers stops, resumable. */
export { MAX_HANGS_IN_A_ROW } from '../../supervisor/runtimeProcess.js';
/** With --workers: failures (hung or died) in a row after which a worker is given up; the others go on. */
export const MAX_WORKER_FAILURES = 3;

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

/** The runtime asked for a fresh one (OOM it could not recover in-process): its units go back to the queue. */
class Recycle {
  constructor(readonly reason: string) {}
}

/** A runtime killed as hung, and the unit it was working on (undefined: before any was handed out). */
class Hung {
  constructor(
    readonly pid: number,
    readonly silentMs: number,
    readonly timeoutMs: number,
    readonly unit: Unit | undefined,
  ) {}
}

/** With --workers: a runtime that exited by itself or was killed from outside, and the unit it was working on. */
class Died {
  constructor(
    readonly pid: number,
    readonly exit: RuntimeExit | undefined,
    readonly why: string,
    readonly unit: Unit | undefined,
  ) {}
}

/** The session ended with nothing left for it (undefined) or drained for a recycle between units. */
type Outcome = Recycle | Hung | Died | 'drained' | undefined;

const NOTHING: ReadonlyMap<string, readonly ChunkPlan[]> = new Map();

/** The run's share of every worker's reducer state: the units no worker holds yet, and the units done. */
class RunQueue {
  constructor(
    public unsent: ReadonlyMap<string, readonly ChunkPlan[]>,
    public done: SessionState['done'],
  ) {}

  get empty(): boolean {
    return [...this.unsent.values()].every((chunks) => chunks.length === 0);
  }

  /** A worker's units in flight when it failed: back in chunk order, for whichever worker is free next. */
  giveBack(units: readonly Unit[]): void {
    if (units.length === 0) return;
    const unsent = new Map(this.unsent);
    for (const unit of units) {
      const chunks = [...(unsent.get(unit.entry.key) ?? [])];
      if (!chunks.some((chunk) => chunk.index === unit.chunk.index)) chunks.push(unit.chunk);
      unsent.set(unit.entry.key, chunks.sort((a, b) => a.index - b.index));
    }
    this.unsent = unsent;
  }
}

/** One worker: its plan (device, environment), its runtime now, and its record of failures. */
export class WorkerSlot {
  current: RuntimeProcess | undefined;
  /** Set: take no new unit, finish those in flight, then get a fresh runtime (the reason journaled). */
  private draining: string | undefined;
  wake: (() => void) | undefined;
  recycles = 0;
  failuresInARow = 0;
  starts = 0;
  givenUp = false;
  /** Each model's device in this worker's latest pass (named in chunk_done without --workers). */
  readonly passDevices = new Map<string, string>();

  constructor(readonly plan: WorkerPlan) {}

  get id(): string {
    return this.plan.id;
  }

  /**
   * The worker takes no new unit, finishes those it holds, and then gets a fresh runtime (a leaking worker, say).
   * `wake`: feed its session now; false from inside one of its own steps (no re-entry: its next event sees it).
   */
  recycleBetweenUnits(reason: string, wake = true): void {
    if (this.draining !== undefined || !this.current) return;
    this.draining = reason;
    if (wake) this.wake?.();
  }

  get drainReason(): string | undefined {
    return this.draining;
  }

  clearDrain(): void {
    this.draining = undefined;
  }
}

/** Bytes of a file just written (0 if it is already gone): the panel adds it to the run's size. */
function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

interface Pool {
  queue: RunQueue;
  slots: WorkerSlot[];
  /** With --workers: a dead worker is restarted (without, a death stops the run, as before workers). */
  pooled: boolean;
  /** The first failure that stops the run: the other workers are stopped and not restarted. */
  failure: unknown;
}

const allDone = (ctx: SessionContext, pending: readonly Unit[]): boolean => pending.every((unit) => ctx.done.has(chunkKey(unit.entry.key, unit.chunk.index)));

export async function encodePending(ctx: SessionContext, pending: Unit[]): Promise<void> {
  const plans = planWorkers(ctx.spec.workers, ctx.env ?? process.env);
  const slots = plans.map((plan) => new WorkerSlot(plan));
  // The queue starts as a session of all the pending units would: each model's chunks in order, the run's done units counted.
  const first = openSession(sessionConfig(ctx, slots[0]!, 0), pending, ctx.done.values(), [], ctx.ensembleMode, ctx.memory);
  const pool: Pool = { queue: new RunQueue(first.unsent, first.done), slots, pooled: ctx.spec.workers !== null, failure: undefined };
  const everyRuntime = (send: (runtime: RuntimeProcess) => void): void => slots.forEach((slot) => slot.current && send(slot.current));
  const unsubscribe = ctx.control?.subscribe((command) => {
    switch (command.kind) {
      case 'pause':
        everyRuntime((runtime) => runtime.send({ type: 'pause' }));
        break;
      case 'resume':
        everyRuntime((runtime) => runtime.send({ type: 'resume' }));
        break;
      case 'settings': {
        const { oom, ensembleMode } = command.settings;
        if (oom !== undefined && oom !== ctx.oomPolicy) {
          ctx.oomPolicy = oom;
          ctx.journal.append({ type: 'policy_changed', oomPolicy: oom });
          ctx.report({ kind: 'policy', oomPolicy: oom });
          everyRuntime((runtime) => runtime.send({ type: 'set_policy', oomPolicy: oom }));
        }
        if (ensembleMode !== undefined && ensembleMode !== ctx.ensembleMode) {
          ctx.ensembleMode = ensembleMode;
          ctx.journal.append({ type: 'mode_changed', ensembleMode });
          ctx.report({ kind: 'mode', ensembleMode });
          slots.forEach((slot) => slot.wake?.());
        }
        break;
      }
    }
  });
  try {
    // A worker ends when the queue is empty for it; a unit another gave back later is taken in the next round.
    while (!allDone(ctx, pending)) {
      const live = slots.filter((slot) => !slot.givenUp);
      if (live.length === 0) throw allGivenUp(ctx, slots);
      if (pool.queue.empty) throw new HeadroomError('internal', 'units are missing from the queue and no worker holds them');
      await Promise.all(
        live.map((slot) =>
          runWorker(ctx, pool, slot).catch((error: unknown) => {
            if (pool.failure === undefined) pool.failure = error;
            everyRuntime((runtime) => runtime.kill()); // the others stop too; their exits are not restarted
          }),
        ),
      );
      if (pool.failure !== undefined) throw pool.failure;
    }
  } finally {
    unsubscribe?.();
  }
}

function allGivenUp(ctx: SessionContext, slots: readonly WorkerSlot[]): HeadroomError {
  return new HeadroomError(
    'interrupted',
    `run interrupted: every worker (${slots.map((slot) => `${slot.id} on ${slot.plan.device ?? 'its models\u2019 devices'}`).join(', ')}) failed ${MAX_WORKER_FAILURES} times in a row; ` +
      `check the machine (GPU driver, memory, swap), then \`headroom resume ${ctx.runDir}\``,
  );
}

function sessionConfig(ctx: SessionContext, slot: WorkerSlot, pid: number): SessionConfig {
  return {
    runDir: ctx.runDir,
    spec: ctx.spec,
    identities: ctx.identities,
    corpus: ctx.corpus,
    unitsTotal: ctx.unitsTotal,
    pid,
    // a budget learned under injected faults says nothing about the real device
    teachBudgets: !faultInjection(ctx.env ?? process.env),
    worker: slot.id,
    device: slot.plan.runtimeDevice,
    pausable: ctx.control !== undefined,
    leakEnv: pickLeakEnv(slot.plan.env),
  };
}

/** One worker's runtimes, one after another, until the queue has nothing left for it (or it is given up). */
async function runWorker(ctx: SessionContext, pool: Pool, slot: WorkerSlot): Promise<void> {
  while (!pool.queue.empty && pool.failure === undefined) {
    // A stop asked for before this runtime (right after start, or between runtimes) must not be missed.
    if (ctx.signal?.aborted) throw new HeadroomError('interrupted', 'run interrupted: stopped by a signal');
    const runtime = RuntimeProcess.start({ python: ctx.python, env: slot.plan.env, onLog: (line) => ctx.report({ kind: 'log', line }) });
    slot.current = runtime;
    if (pool.pooled) {
      const device = slot.plan.device!;
      ctx.journal.append({ type: 'worker_started', worker: slot.id, device, pid: runtime.pid, attempt: slot.failuresInARow });
      ctx.report({ kind: 'worker', worker: slot.id, device, phase: 'started', pid: runtime.pid, reason: null, attempt: slot.failuresInARow });
    }
    const doneBefore = ctx.done.size;
    let outcome: Outcome;
    try {
      outcome = await withRuntime(ctx, pool, slot, runtime);
    } finally {
      slot.current = undefined;
      slot.wake = undefined;
    }
    const progressed = ctx.done.size > doneBefore;
    if (outcome === undefined) return;
    if (outcome === 'drained') {
      ctx.journal.append({ type: 'worker_recycled', reason: slot.drainReason ?? 'recycled', worker: slot.id });
      ctx.report({ kind: 'log', line: `${slot.id}: starting a fresh runtime between units: ${slot.drainReason}` });
      slot.clearDrain();
      continue;
    }
    if (outcome instanceof Recycle) {
      if (slot.recycles >= MAX_RECYCLES) {
        throw new HeadroomError('internal', `the runtime ran out of memory again after ${MAX_RECYCLES} fresh starts: ${outcome.reason}`);
      }
      slot.recycles += 1;
      ctx.journal.append({ type: 'worker_recycled', reason: outcome.reason, worker: slot.id });
      ctx.report({ kind: 'log', line: `${pool.pooled ? `${slot.id}: ` : ''}starting a fresh runtime: ${outcome.reason}` });
      if (pool.pooled) restarted(ctx, slot, 'recycled', outcome.reason);
      continue;
    }
    slot.failuresInARow = progressed ? 1 : slot.failuresInARow + 1;
    if (outcome instanceof Hung) onHung(ctx, pool, slot, outcome);
    else onDied(ctx, slot, outcome);
    if (!pool.pooled) continue;
    if (slot.failuresInARow >= MAX_WORKER_FAILURES) {
      slot.givenUp = true;
      const device = slot.plan.device!;
      const reason = `${outcome instanceof Hung ? 'hung' : 'died'} ${slot.failuresInARow} times in a row`;
      ctx.journal.append({ type: 'worker_given_up', worker: slot.id, device, reason });
      ctx.report({ kind: 'worker', worker: slot.id, device, phase: 'given_up', pid: null, reason, attempt: slot.failuresInARow });
      ctx.report({ kind: 'log', line: `${slot.id} on ${device} given up (${reason}); the other workers go on` });
      return;
    }
    restarted(ctx, slot, outcome instanceof Hung ? 'hung' : 'died', outcome instanceof Hung ? 'hung' : outcome.why);
  }
}

function restarted(ctx: SessionContext, slot: WorkerSlot, after: 'hung' | 'died' | 'recycled', reason: string): void {
  const device = slot.plan.device!;
  const attempt = Math.max(1, after === 'recycled' ? slot.recycles : slot.failuresInARow);
  ctx.journal.append({ type: 'worker_restarted', worker: slot.id, device, after, attempt });
  ctx.report({ kind: 'worker', worker: slot.id, device, phase: 'restarted', pid: null, reason, attempt });
}

/** Journals and shows a hang; without --workers, past MAX_HANGS_IN_A_ROW the run stops, resumable (exit 3). */
function onHung(ctx: SessionContext, pool: Pool, slot: WorkerSlot, hung: Hung): void {
  const inARow = slot.failuresInARow;
  const giveUp = pool.pooled ? inARow >= MAX_WORKER_FAILURES : inARow >= MAX_HANGS_IN_A_ROW;
  const silentS = Number((hung.silentMs / 1000).toFixed(1));
  const timeoutS = Number((hung.timeoutMs / 1000).toFixed(1));
  const model = hung.unit?.entry.key ?? null;
  const chunk = hung.unit?.chunk.index ?? null;
  ctx.journal.append({ type: 'worker_hung', pid: hung.pid, silentS, timeoutS, model, chunk, inARow, worker: slot.id });
  ctx.report({ kind: 'runtime_hung', pid: hung.pid, silentS, timeoutS, model, chunk, inARow, giveUp, worker: slot.id });
  const what = hung.unit ? `${model} chunk ${chunk}` : 'its start-up';
  const who = pool.pooled ? `${slot.id}'s runtime` : 'runtime';
  ctx.report({ kind: 'log', line: `${who} ${hung.pid} hung (silent ${silentS} s, limit ${timeoutS} s) during ${what}: killed${giveUp ? '' : '; a fresh runtime redoes it'}` });
  if (giveUp && !pool.pooled) {
    throw new HeadroomError(
      'interrupted',
      `run interrupted: the Python runtime hung ${inARow} times in a row (silent for more than ${timeoutS} s each time, during ${what}); ` +
        `check the machine (GPU driver, memory, swap), then \`headroom resume ${ctx.runDir}\` (HEADROOM_HEARTBEAT_TIMEOUT_S sets the limit)`,
    );
  }
}

function onDied(ctx: SessionContext, slot: WorkerSlot, died: Died): void {
  const model = died.unit?.entry.key ?? null;
  const chunk = died.unit?.chunk.index ?? null;
  ctx.journal.append({ type: 'worker_died', worker: slot.id, pid: died.pid, reason: firstSentence(died.why), model, chunk, inARow: slot.failuresInARow });
  ctx.report({ kind: 'log', line: `${slot.id}'s runtime ${died.pid} ${firstSentence(died.why).replace(/^the Python runtime /, '')} during ${died.unit ? `${model} chunk ${chunk}` : 'its start-up'}; its units go back to the queue` });
}

/** Carries out one session with the reducer (sessionReducer.ts): await the runtime, feed it in, do what it says. */
async function withRuntime(ctx: SessionContext, pool: Pool, slot: WorkerSlot, runtime: RuntimeProcess): Promise<Outcome> {
  const onAbort = (): void => runtime.kill();
  ctx.signal?.addEventListener('abort', onAbort);
  if (ctx.signal?.aborted) onAbort(); // it fired while the runtime was being started
  const stopping = (): boolean => (ctx.signal?.aborted ?? false) || pool.failure !== undefined;
  let live = true;
  // What this session holds: given back to the queue unless the session ends by finishing it.
  let state: SessionState | undefined;
  let finished = false;
  try {
    let ready: RuntimeEvent<'ready'>;
    try {
      ready = await runtime.handshake();
    } catch (error) {
      const exit = runtime.isHung || pool.pooled ? await runtime.exited : undefined;
      if (exit?.reason === 'hung') return new Hung(runtime.pid, exit.silentMs ?? 0, exit.timeoutMs ?? 0, undefined);
      if (pool.pooled && !stopping()) return new Died(runtime.pid, exit, error instanceof Error ? error.message : String(error), undefined);
      throw error;
    }
    state = openSession(sessionConfig(ctx, slot, runtime.pid), [], ctx.done.values(), ctx.journal.records, ctx.ensembleMode, ctx.memory);
    const feed = (input: SessionInput): SessionEffect | undefined => {
      const draining = slot.drainReason !== undefined;
      // The run's queue and done units, as they are now (another worker may have changed them since).
      const next = step({ ...state!, unsent: draining ? NOTHING : pool.queue.unsent, done: pool.queue.done }, input);
      if (!draining) pool.queue.unsent = next.state.unsent;
      pool.queue.done = next.state.done;
      state = next.state;
      return carryOut(ctx, slot, runtime, next.effects);
    };
    let end = feed({ kind: 'ready', ready, oomPolicy: ctx.oomPolicy, paused: ctx.control?.paused ?? false });
    // A mode change (or a recycle between units) only changes what is sent next. When it ends the session (a drained
    // worker with nothing in flight), the runtime's next event (described, or the pass_completed of a pass it closed) lets the loop see it.
    slot.wake = () => {
      if (live && end === undefined) end = feed({ kind: 'mode', ensembleMode: ctx.ensembleMode });
    };
    while (end === undefined) {
      const item = await runtime.next();
      if (end !== undefined) break; // a wake ended it (a drained worker's last pass was already closed)
      if (item.kind === 'exit') {
        if (pool.pooled && item.exit.reason !== 'hung' && !stopping()) return new Died(runtime.pid, item.exit, describeExit(item.exit), state.inFlight[0]);
        end = feed({ kind: 'exit', exit: item.exit, aborted: ctx.signal?.aborted ?? false });
      } else {
        const event = item.event;
        const cacheKey = event.type === 'pass_started' ? cacheKeyToLookUp(state, event) : null;
        end = feed({ kind: 'event', event, cachedBudget: cacheKey === null ? null : learnedBudget(cacheKey) });
      }
    }
    switch (end.kind) {
      case 'done':
        finished = true;
        await runtime.stop();
        return slot.drainReason !== undefined ? 'drained' : undefined;
      case 'recycle':
        runtime.kill();
        await runtime.exited;
        return new Recycle(end.reason);
      case 'hung':
        for (const file of end.tmpFiles) rmSync(file, { force: true });
        return new Hung(runtime.pid, end.silentMs, end.timeoutMs, end.unit);
      case 'fail':
        throw end.error;
      default:
        throw new HeadroomError('internal', `a session cannot end with ${end.kind}`);
    }
  } finally {
    live = false;
    ctx.signal?.removeEventListener('abort', onAbort);
    runtime.kill();
    if (!finished && state) {
      // A died worker may have left half-written chunk files too; the redo writes them afresh.
      for (const unit of state.inFlight) rmSync(`${join(ctx.runDir, chunkFile(unit.entry.key, unit.chunk.index))}.tmp-${runtime.pid}`, { force: true });
      pool.queue.giveBack(state.inFlight.filter((unit) => !ctx.done.has(chunkKey(unit.entry.key, unit.chunk.index))));
    }
  }
}

/** Journal records of a worker's work name it (and a finished unit, its device). */
const TAGGED = new Set<NewRecord['type']>(['worker_ready', 'pass_started', 'pass_completed', 'probe', 'oom', 'chunk_done', 'vram_level', 'leak_warning']);
/** Progress events of a worker's work name it. */
const TAGGED_PROGRESS = new Set<Progress['kind']>(['runtime', 'memory', 'pass', 'chunk', 'batch', 'oom', 'runtime_hung', 'vram_level', 'baseline', 'leak_warning']);

function tagRecord(slot: WorkerSlot, record: NewRecord): NewRecord {
  if (!TAGGED.has(record.type)) return record;
  if (record.type === 'pass_started') slot.passDevices.set(record.model, record.device);
  if (record.type === 'chunk_done') return { ...record, worker: slot.id, device: slot.plan.device ?? slot.passDevices.get(record.model) ?? 'unknown' };
  return { ...record, worker: slot.id } as NewRecord;
}

const tagProgress = (slot: WorkerSlot, progress: Progress): Progress => (TAGGED_PROGRESS.has(progress.kind) ? ({ ...progress, worker: slot.id } as Progress) : progress);

/** Several workers' memory figures as the run's: the first start, the highest peak and residency, the latest end. */
function mergeMemory(run: MemoryFigures, worker: MemoryFigures): void {
  const most = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));
  run.start ??= worker.start;
  run.end = worker.end ?? run.end;
  run.peak = most(run.peak, worker.peak);
  run.resident = most(run.resident, worker.resident);
}

/** Does the effects in order; returns the one that ends the session, if any (always the last). */
function carryOut(ctx: SessionContext, slot: WorkerSlot, runtime: RuntimeProcess, effects: readonly SessionEffect[]): SessionEffect | undefined {
  for (const effect of effects) {
    switch (effect.kind) {
      case 'send':
        runtime.send(effect.message);
        break;
      case 'journal': {
        const record = ctx.journal.append(tagRecord(slot, effect.record));
        if (effect.record.type === 'chunk_done') ctx.done.set(chunkKey(effect.record.model, effect.record.index), record as ChunkRecord);
        break;
      }
      case 'report':
        ctx.report(tagProgress(slot, effect.progress));
        break;
      case 'report_chunk':
        ctx.report(tagProgress(slot, { ...effect.progress, fileBytes: fileSize(join(ctx.runDir, effect.file)) }));
        break;
      case 'remember_budget':
        rememberBudget(effect.key, effect.budget);
        break;
      case 'memory':
        mergeMemory(ctx.memory, effect.figures);
        break;
      case 'recycle_between_units':
        slot.recycleBetweenUnits(effect.reason, false); // inside this worker's own step
        break;
      case 'pause_run':
        ctx.control?.pause(); // the run shows paused, and the user's resume resumes it
        break;
      default:
        return effect;
    }
  }
  return undefined;
}
