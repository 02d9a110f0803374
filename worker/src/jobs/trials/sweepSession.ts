/**
 * One session of a sweep: a runtime, `sweep` sent once it is ready, its events
 * fed to the reducer (sweepReducer.ts) and the effects carried out here: the
 * journal (fsynced per record), trials.jsonl (one line per finished trial, after
 * its record), the reports. Pause and resume go to the runtime, which holds them
 * between epochs; a stop kills the runtime, and the run reads as interrupted. A
 * runtime killed as hung is journaled (worker_hung) and followed by a fresh one.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { TrialsEvent, TrialsSettings } from '../../contract/jobs/trials.js';
import type { RuntimeToEngine } from '../../contract/protocol.js';
import type { TrialKey, TrialResult } from '../../contract/trialsProtocol.js';
import { HeadroomError } from '../../errors.js';
import type { RunControl } from '../../runs/runControl.js';
import { MAX_HANGS_IN_A_ROW, RuntimeProcess } from '../../supervisor/runtimeProcess.js';
import type { TrialsJournal } from './records.js';
import { finishedTrials } from './runState.js';
import { openSweep, step, type SweepConfig, type SweepEffect, type SweepInput } from './sweepReducer.js';

export interface SweepContext extends SweepConfig {
  journal: TrialsJournal;
  finished: readonly TrialResult[];
  trialsFile: string;
  control: RunControl<TrialsSettings> | undefined;
  signal: AbortSignal | undefined;
  report: (event: TrialsEvent) => void;
  python: string | undefined;
  env: NodeJS.ProcessEnv | undefined;
}

/** One line of trials.jsonl per finished trial, appended and fsynced (the session's start rewrites the file from the journal). */
export function appendTrialLine(path: string, result: TrialResult): void {
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, `${JSON.stringify(result)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A runtime killed as hung, and the trials it had started and not finished. */
interface Hung {
  pid: number;
  silentMs: number;
  timeoutMs: number;
  running: TrialKey[];
}

/**
 * Runtimes one after another until the sweep is done: one killed as hung is followed by a fresh one, which opens the
 * studies as a resume does (the trials left RUNNING failed and asked again); MAX_HANGS_IN_A_ROW hangs with no trial
 * finished in between stop the run, resumable.
 */
export async function runSweepSession(ctx: SweepContext): Promise<void> {
  let current: RuntimeProcess | undefined;
  const unsubscribe = ctx.control?.subscribe((command) => {
    if (command.kind === 'pause') current?.send({ type: 'pause' });
    else if (command.kind === 'resume') current?.send({ type: 'resume' });
  });
  try {
    let finished = ctx.finished;
    let hungInARow = 0;
    for (;;) {
      if (ctx.signal?.aborted) throw new HeadroomError('interrupted', 'run interrupted: stopped by a signal');
      const runtime = RuntimeProcess.start({ python: ctx.python, env: ctx.env, onLog: (line) => ctx.report({ kind: 'log', line }) });
      current = runtime;
      const hung = await withRuntime(ctx, runtime, finished);
      current = undefined;
      if (hung === undefined) return;
      const now = finishedTrials(ctx.journal.records);
      hungInARow = now.length > finished.length ? 1 : hungInARow + 1;
      onHung(ctx, hung, hungInARow);
      finished = now;
    }
  } finally {
    unsubscribe?.();
  }
}

/** Journals and shows a hang; past MAX_HANGS_IN_A_ROW the run stops, resumable (exit 3). */
function onHung(ctx: SweepContext, hung: Hung, inARow: number): void {
  const giveUp = inARow >= MAX_HANGS_IN_A_ROW;
  const silentS = Number((hung.silentMs / 1000).toFixed(1));
  const timeoutS = Number((hung.timeoutMs / 1000).toFixed(1));
  ctx.journal.append({ type: 'worker_hung', pid: hung.pid, silentS, timeoutS, inARow, running: hung.running });
  ctx.report({ kind: 'runtimeHung', pid: hung.pid, silentS, timeoutS, inARow, giveUp, running: hung.running });
  if (giveUp) {
    throw new HeadroomError(
      'interrupted',
      `run interrupted: the Python runtime hung ${inARow} times in a row (silent for more than ${timeoutS} s each time, no trial finished in between); ` +
        `check the machine (GPU driver, memory, swap), then \`headroom resume ${ctx.runDir}\` (HEADROOM_HEARTBEAT_TIMEOUT_S sets the limit)`,
    );
  }
}

/** One runtime: `sweep` sent once it is ready, its events through the reducer; undefined once the sweep is done. */
async function withRuntime(ctx: SweepContext, runtime: RuntimeProcess, finished: readonly TrialResult[]): Promise<Hung | undefined> {
  const onAbort = (): void => runtime.kill();
  ctx.signal?.addEventListener('abort', onAbort);
  if (ctx.signal?.aborted) onAbort();
  let state = openSweep(ctx, finished);
  const feed = (input: SweepInput): SweepEffect | undefined => {
    const next = step(state, input);
    state = next.state;
    return carryOut(ctx, runtime, next.effects);
  };
  try {
    let ready: Extract<RuntimeToEngine, { type: 'ready' }>;
    try {
      ready = await runtime.handshake();
    } catch (error) {
      const exit = runtime.isHung ? await runtime.exited : undefined;
      if (exit?.reason === 'hung' && !ctx.signal?.aborted) return { pid: runtime.pid, silentMs: exit.silentMs ?? 0, timeoutMs: exit.timeoutMs ?? 0, running: [] };
      throw error;
    }
    let end = feed({ kind: 'ready', ready, paused: ctx.control?.paused ?? false });
    while (end === undefined) {
      const item = await runtime.next();
      end = item.kind === 'exit' ? feed({ kind: 'exit', exit: item.exit, aborted: ctx.signal?.aborted ?? false }) : feed({ kind: 'event', event: item.event });
    }
    if (end.kind === 'fail') throw end.error;
    if (end.kind === 'hung') return { pid: runtime.pid, silentMs: end.silentMs, timeoutMs: end.timeoutMs, running: end.running };
    await runtime.stop();
    return undefined;
  } catch (error) {
    // A stop that landed while the runtime was starting reads as the stop it was.
    if (ctx.signal?.aborted && !(error instanceof HeadroomError && error.kind === 'interrupted')) throw new HeadroomError('interrupted', 'run interrupted: stopped by a signal');
    throw error;
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
    runtime.kill();
  }
}

/** Does the effects in order; returns the one that ends the session (fail or done), if any. */
function carryOut(ctx: SweepContext, runtime: RuntimeProcess, effects: readonly SweepEffect[]): SweepEffect | undefined {
  for (const effect of effects) {
    switch (effect.kind) {
      case 'send':
        runtime.send(effect.message);
        break;
      case 'journal':
        ctx.journal.append(effect.record);
        break;
      case 'trial':
        appendTrialLine(ctx.trialsFile, effect.result);
        break;
      case 'report':
        ctx.report(effect.event);
        break;
      default:
        return effect;
    }
  }
  return undefined;
}
