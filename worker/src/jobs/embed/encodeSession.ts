/**
 * Drives Python runtimes through the pending (model, chunk) units of a run: check
 * every model's spec first (describe), open and close passes in the order the
 * ensemble mode asks for, pick each model's first token budget (this run's last,
 * the per-user cache, or a probe), hand out units two ahead, journal every finished
 * unit, pass and OOM, and start a fresh runtime when one asks to be recycled or
 * hangs (falls silent past the heartbeat timeout), redoing the units it held.
 * What one worker's session does is decided by the pure reducer in
 * sessionReducer.ts; this file does the I/O: the process, the journal, the
 * budget cache, the chunk files' sizes, the hung worker's leftovers.
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EnsembleMode, RuntimeEvent } from '../../contract/protocol.js';
import type { Corpus } from '../../corpus/readCorpus.js';
import { HeadroomError } from '../../errors.js';
import type { EmbedSpec, ModelIdentity } from './manifest.js';
import type { ChunkRecord, EmbedJournal } from './records.js';
import { chunkKey } from './runState.js';
import { RuntimeProcess } from '../../supervisor/runtimeProcess.js';
import { faultInjection, learnedBudget, rememberBudget } from './budgetCache.js';
import type { MemoryFigures, Progress } from './progress.js';
import type { RunControl } from '../../runs/runControl.js';
import type { EmbedSettings } from '../../contract/jobs/embed.js';
import { cacheKeyToLookUp, openSession, step, type SessionConfig, type SessionEffect, type SessionInput, type Unit } from './sessionReducer.js';

export type { Unit } from './sessionReducer.js';

/** Fresh runtimes one session may start after recycles before it gives up. */
const MAX_RECYCLES = 3;
/** Hung runtimes in a row (no unit finished in between) before the run stops, resumable. */
export const MAX_HANGS_IN_A_ROW = 3;

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

/** A runtime killed as hung, and the unit it was working on (null: before any was handed out). */
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
          ctx.report({ kind: 'policy', oomPolicy: oom });
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
      // A stop asked for before this runtime (right after start, or between runtimes) must not be missed.
      if (ctx.signal?.aborted) throw new HeadroomError('interrupted', 'run interrupted: stopped by a signal');
      const runtime = RuntimeProcess.start({ python: ctx.python, env: ctx.env, onLog: (line) => ctx.report({ kind: 'log', line }) });
      current = runtime;
      const doneBefore = ctx.done.size;
      const outcome = await withRuntime(ctx, runtime, remaining, (fill) => {
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
        throw new HeadroomError('internal', `the runtime ran out of memory again after ${MAX_RECYCLES} fresh starts: ${outcome.reason}`);
      }
      recycles += 1;
      ctx.journal.append({ type: 'worker_recycled', reason: outcome.reason });
      ctx.report({ kind: 'log', line: `starting a fresh runtime: ${outcome.reason}` });
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
  ctx.report({ kind: 'log', line: `runtime ${hung.pid} hung (silent ${silentS} s, limit ${timeoutS} s) during ${what}: killed${giveUp ? '' : '; a fresh runtime redoes it'}` });
  if (giveUp) {
    throw new HeadroomError(
      'interrupted',
      `run interrupted: the Python runtime hung ${inARow} times in a row (silent for more than ${timeoutS} s each time, during ${what}); ` +
        `check the machine (GPU driver, memory, swap), then \`headroom resume ${ctx.runDir}\` (HEADROOM_HEARTBEAT_TIMEOUT_S sets the limit)`,
    );
  }
}

/** Carries out one session with the reducer (sessionReducer.ts): await the runtime, feed it in, do what it says. */
async function withRuntime(ctx: SessionContext, runtime: RuntimeProcess, pending: Unit[], setWake: (fill: () => void) => void): Promise<Recycle | Hung | undefined> {
  const onAbort = (): void => runtime.kill();
  ctx.signal?.addEventListener('abort', onAbort);
  if (ctx.signal?.aborted) onAbort(); // it fired while the runtime was being started
  let live = true;
  try {
    let ready: RuntimeEvent<'ready'>;
    try {
      ready = await runtime.handshake();
    } catch (error) {
      const exit = runtime.isHung ? await runtime.exited : undefined;
      if (exit?.reason === 'hung') return new Hung(runtime.pid, exit.silentMs ?? 0, exit.timeoutMs ?? 0, undefined);
      throw error;
    }
    const config: SessionConfig = {
      runDir: ctx.runDir,
      spec: ctx.spec,
      identities: ctx.identities,
      corpus: ctx.corpus,
      unitsTotal: ctx.unitsTotal,
      pid: runtime.pid,
      // a budget learned under injected faults says nothing about the real device
      teachBudgets: !faultInjection(ctx.env ?? process.env),
    };
    let state = openSession(config, pending, ctx.done.values(), ctx.journal.records, ctx.ensembleMode, ctx.memory);
    const feed = (input: SessionInput): SessionEffect | undefined => {
      const next = step(state, input);
      state = next.state;
      return carryOut(ctx, runtime, next.effects);
    };
    let end = feed({ kind: 'ready', ready, oomPolicy: ctx.oomPolicy, paused: ctx.control?.paused ?? false });
    // A mode change only reorders what is left to send: it never ends the session.
    setWake(() => {
      if (live) feed({ kind: 'mode', ensembleMode: ctx.ensembleMode });
    });
    while (end === undefined) {
      const item = await runtime.next();
      if (item.kind === 'exit') {
        end = feed({ kind: 'exit', exit: item.exit, aborted: ctx.signal?.aborted ?? false });
      } else {
        const event = item.event;
        const cacheKey = event.type === 'pass_started' ? cacheKeyToLookUp(state, event) : null;
        end = feed({ kind: 'event', event, cachedBudget: cacheKey === null ? null : learnedBudget(cacheKey) });
      }
    }
    switch (end.kind) {
      case 'done':
        await runtime.stop();
        return undefined;
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
  }
}

/** Does the effects in order; returns the one that ends the session, if any (always the last). */
function carryOut(ctx: SessionContext, runtime: RuntimeProcess, effects: readonly SessionEffect[]): SessionEffect | undefined {
  for (const effect of effects) {
    switch (effect.kind) {
      case 'send':
        runtime.send(effect.message);
        break;
      case 'journal': {
        const record = ctx.journal.append(effect.record);
        if (effect.record.type === 'chunk_done') ctx.done.set(chunkKey(effect.record.model, effect.record.index), record as ChunkRecord);
        break;
      }
      case 'report':
        ctx.report(effect.progress);
        break;
      case 'report_chunk':
        ctx.report({ ...effect.progress, fileBytes: fileSize(join(ctx.runDir, effect.file)) });
        break;
      case 'remember_budget':
        rememberBudget(effect.key, effect.budget);
        break;
      case 'memory':
        Object.assign(ctx.memory, effect.figures);
        break;
      default:
        return effect;
    }
  }
  return undefined;
}
