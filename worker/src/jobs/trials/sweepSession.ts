/**
 * One session of a sweep: one runtime, `sweep` sent once it is ready, its events
 * fed to the reducer (sweepReducer.ts) and the effects carried out here: the
 * journal (fsynced per record), trials.jsonl (one line per finished trial, after
 * its record), the reports. Pause and resume go to the runtime, which holds them
 * between epochs; a stop kills the runtime, and the run reads as interrupted.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { TrialsEvent, TrialsSettings } from '../../contract/jobs/trials.js';
import type { TrialResult } from '../../contract/trialsProtocol.js';
import { HeadroomError } from '../../errors.js';
import type { RunControl } from '../../runs/runControl.js';
import { RuntimeProcess } from '../../supervisor/runtimeProcess.js';
import type { TrialsJournal } from './records.js';
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

export async function runSweepSession(ctx: SweepContext): Promise<void> {
  if (ctx.signal?.aborted) throw new HeadroomError('interrupted', 'run interrupted: stopped by a signal');
  const runtime = RuntimeProcess.start({ python: ctx.python, env: ctx.env, onLog: (line) => ctx.report({ kind: 'log', line }) });
  const onAbort = (): void => runtime.kill();
  ctx.signal?.addEventListener('abort', onAbort);
  if (ctx.signal?.aborted) onAbort();
  const unsubscribe = ctx.control?.subscribe((command) => {
    if (command.kind === 'pause') runtime.send({ type: 'pause' });
    else if (command.kind === 'resume') runtime.send({ type: 'resume' });
  });
  let state = openSweep(ctx, ctx.finished);
  const feed = (input: SweepInput): SweepEffect | undefined => {
    const next = step(state, input);
    state = next.state;
    return carryOut(ctx, runtime, next.effects);
  };
  try {
    const ready = await runtime.handshake();
    let end = feed({ kind: 'ready', ready, paused: ctx.control?.paused ?? false });
    while (end === undefined) {
      const item = await runtime.next();
      end = item.kind === 'exit' ? feed({ kind: 'exit', exit: item.exit, aborted: ctx.signal?.aborted ?? false }) : feed({ kind: 'event', event: item.event });
    }
    if (end.kind === 'fail') throw end.error;
    await runtime.stop();
  } catch (error) {
    // A stop that landed while the runtime was starting reads as the stop it was.
    if (ctx.signal?.aborted && !(error instanceof HeadroomError && error.kind === 'interrupted')) throw new HeadroomError('interrupted', 'run interrupted: stopped by a signal');
    throw error;
  } finally {
    unsubscribe?.();
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
