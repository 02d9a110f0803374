/**
 * What one runtime session of a sweep does, as a pure reducer (the model is
 * embed's sessionReducer.ts): `step(state, input)` takes one thing that happened
 * (the runtime got ready, sent an event, exited) and returns the next state with
 * the effects to carry out, in order, as plain data. sweepSession.ts does the
 * I/O. A finished trial is journaled before it is written to trials.jsonl and
 * before it is shown, and a trial the journal has (a family and a number: numbers
 * count per family) is never journaled again. A runtime killed as hung ends the
 * session with a `hung` effect (sweepSession.ts starts a fresh runtime), any
 * other exit as interrupted.
 */
import type { EngineToRuntime, RuntimeErrorCode, RuntimeToEngine } from '../../contract/protocol.js';
import type { TrialsEvent } from '../../contract/jobs/trials.js';
import type { TrialKey, TrialResult, TrialsFamily } from '../../contract/trialsProtocol.js';
import { HeadroomError, type ErrorKind } from '../../errors.js';
import { describeExit, type RuntimeExit } from '../../supervisor/runtimeProcess.js';
import { judgeBaselines, leakLimits } from '../../supervisor/leakDetector.js';
import type { RunManifest } from './manifest.js';
import type { NewRecord } from './records.js';
import { keyOf } from './runState.js';

/** Only bad input is the user's to fix; every other failure of the runtime is Headroom's. */
const errorKind = (code: RuntimeErrorCode): ErrorKind => (code === 'bad_input' || code === 'bad_spec' || code === 'bad_device' ? 'bad_input' : 'internal');

export interface SweepConfig {
  runDir: string;
  spec: RunManifest['spec'];
}

export interface SweepState {
  readonly config: SweepConfig;
  /** Trials the journal holds as finished (earlier sessions and this one), by keyOf (family and number). */
  readonly finished: ReadonlyMap<string, TrialKey>;
  /** Complete trials over every family, and by family. */
  readonly complete: number;
  readonly completeBy: ReadonlyMap<TrialsFamily, number>;
  /** Trials this runtime started and has not finished, by keyOf: what a hang leaves RUNNING in the study. */
  readonly running: ReadonlyMap<string, TrialKey>;
  /** Each tree worker's memory baseline after clean-up, one per trial, by pid: its leak slope. */
  readonly baselines: ReadonlyMap<number, readonly number[]>;
  /** Tree workers already warned about (once each). */
  readonly leakWarned: ReadonlySet<number>;
}

export type SweepInput =
  | { kind: 'ready'; ready: Extract<RuntimeToEngine, { type: 'ready' }>; paused: boolean }
  | { kind: 'event'; event: RuntimeToEngine }
  | { kind: 'exit'; exit: RuntimeExit; aborted: boolean };

export type SweepEffect =
  | { kind: 'send'; message: EngineToRuntime }
  | { kind: 'journal'; record: NewRecord }
  /** A finished trial, journaled just before: its line of trials.jsonl. */
  | { kind: 'trial'; result: TrialResult }
  | { kind: 'report'; event: TrialsEvent }
  | { kind: 'fail'; error: HeadroomError }
  /** The sweep is done with exactly the trials asked for: shut the runtime down. */
  | { kind: 'done' }
  /** The runtime was killed as hung (silent past the heartbeat timeout), with these trials started and unfinished. */
  | { kind: 'hung'; silentMs: number; timeoutMs: number; running: TrialKey[] };

export function openSweep(config: SweepConfig, finished: Iterable<TrialResult>): SweepState {
  const list = [...finished];
  const completeBy = new Map<TrialsFamily, number>();
  for (const result of list) if (result.state === 'complete') completeBy.set(result.family, (completeBy.get(result.family) ?? 0) + 1);
  return {
    config,
    finished: new Map(list.map((result) => [keyOf(result), { family: result.family, number: result.number }])),
    complete: list.filter((result) => result.state === 'complete').length,
    completeBy,
    running: new Map(),
    baselines: new Map(),
    leakWarned: new Set(),
  };
}

/** The journaled trials as `sweep` names them: by the spec's family order, then number. */
function journaledKeys(state: SweepState): TrialKey[] {
  const order = state.config.spec.families;
  const rank = (family: TrialsFamily): number => (order.includes(family) ? order.indexOf(family) : order.length);
  return [...state.finished.values()].sort((a, b) => rank(a.family) - rank(b.family) || a.family.localeCompare(b.family) || a.number - b.number);
}

export function step(state: SweepState, input: SweepInput): { state: SweepState; effects: SweepEffect[] } {
  const effects: SweepEffect[] = [];
  try {
    return { state: apply(state, input, effects), effects };
  } catch (error) {
    if (error instanceof HeadroomError) return { state, effects: [...effects, { kind: 'fail', error }] };
    throw error;
  }
}

function apply(state: SweepState, input: SweepInput, effects: SweepEffect[]): SweepState {
  const { config } = state;
  switch (input.kind) {
    case 'ready': {
      const { ready } = input;
      effects.push(
        { kind: 'journal', record: { type: 'worker_ready', pid: ready.pid, python: ready.python, torch: ready.torch, cuda: ready.cuda } },
        { kind: 'report', event: { kind: 'runtime', pid: ready.pid, torch: ready.torch, cuda: ready.cuda } },
      );
      if (input.paused) effects.push({ kind: 'send', message: { type: 'pause' } });
      effects.push({ kind: 'send', message: { type: 'sweep', spec: config.spec, runDir: config.runDir, journaled: journaledKeys(state) } });
      return state;
    }
    case 'exit': {
      if (!input.aborted && input.exit.reason === 'hung') {
        effects.push({ kind: 'hung', silentMs: input.exit.silentMs ?? 0, timeoutMs: input.exit.timeoutMs ?? 0, running: [...state.running.values()] });
        return state;
      }
      const why = input.aborted ? 'stopped by a signal' : describeExit(input.exit);
      throw new HeadroomError('interrupted', `run interrupted: ${why}`);
    }
    case 'event':
      return onEvent(state, input.event, effects);
  }
}

function onEvent(state: SweepState, event: RuntimeToEngine, effects: SweepEffect[]): SweepState {
  const { spec } = state.config;
  const total = spec.trials * spec.families.length;
  switch (event.type) {
    case 'sweep_opened': {
      const { type, ...opened } = event;
      void type;
      if (!spec.families.includes(opened.family)) throw new HeadroomError('internal', `the runtime opened the ${opened.family} family's study; this sweep searches ${spec.families.join(', ')}`);
      effects.push(
        { kind: 'journal', record: { type: 'sweep_opened', ...opened } },
        {
          kind: 'report',
          event: {
            kind: 'engine',
            family: opened.family,
            engine: opened.engine,
            why: opened.engineWhy,
            concurrency: opened.concurrency,
            memberBytes: opened.memberBytes,
            roomBytes: opened.roomBytes,
            device: opened.device,
            failedStale: opened.failedStale,
          },
        },
      );
      return state;
    }
    case 'trial_started':
      effects.push({ kind: 'report', event: { kind: 'trialStarted', family: event.family, number: event.number, params: event.params, seed: event.seed, members: event.members } });
      return { ...state, running: new Map(state.running).set(keyOf(event), { family: event.family, number: event.number }) };
    case 'trial_progress':
      effects.push({ kind: 'report', event: { kind: 'curve', points: event.points } });
      return state;
    case 'trial_done': {
      const { result } = event;
      const key = keyOf(result);
      const running = new Map(state.running);
      running.delete(key);
      if (state.finished.has(key)) {
        // Never trained or counted twice: the journal's record of this trial stays the one in force.
        effects.push({ kind: 'report', event: { kind: 'log', line: `the runtime reported ${result.family} trial ${result.number} again; the journal already holds it (kept as journaled)` } });
        return { ...state, running };
      }
      if (!spec.families.includes(result.family)) throw new HeadroomError('internal', `the runtime finished a ${result.family} trial; this sweep searches ${spec.families.join(', ')}`);
      const counts = result.state === 'complete' ? 1 : 0;
      const complete = state.complete + counts;
      effects.push(
        { kind: 'journal', record: { type: 'trial_done', result, recovered: event.recovered } },
        { kind: 'trial', result },
        { kind: 'report', event: { kind: 'trialDone', result, trialsDone: complete, trialsTotal: total } },
      );
      return {
        ...state,
        finished: new Map(state.finished).set(key, { family: result.family, number: result.number }),
        complete,
        completeBy: new Map(state.completeBy).set(result.family, (state.completeBy.get(result.family) ?? 0) + counts),
        running,
      };
    }
    case 'tree_worker': {
      const { type, ...worker } = event;
      void type;
      effects.push({ kind: 'journal', record: { type: 'tree_worker', ...worker } }, { kind: 'report', event: { kind: 'treeWorker', ...worker } });
      return state;
    }
    case 'tree_baseline': {
      // One point per trial of a tree worker's baseline: a steady rise is said once; recycling stays the pool's.
      const series = [...(state.baselines.get(event.pid) ?? []), event.bytes];
      const baselines = new Map(state.baselines).set(event.pid, series);
      const verdict = judgeBaselines(series, leakLimits({}, 'cpu'));
      if (!verdict.leaking || state.leakWarned.has(event.pid)) return { ...state, baselines };
      const line =
        `memory leak suspected in ${event.family} worker ${event.slot} (pid ${event.pid}): its baseline after clean-up rises ` +
        `${verdict.slopeMB.toFixed(1)} MB per trial over ${verdict.units} trials (+${verdict.driftMB.toFixed(0)} MB in all); ` +
        `it is replaced between trials once it grows past HEADROOM_TREE_RECYCLE_MB`;
      effects.push({ kind: 'report', event: { kind: 'log', line } });
      return { ...state, baselines, leakWarned: new Set(state.leakWarned).add(event.pid) };
    }
    case 'tree_oom': {
      const { type, ...oom } = event;
      void type;
      effects.push({ kind: 'journal', record: { type: 'tree_oom', ...oom } }, { kind: 'report', event: { kind: 'treeOom', ...oom } });
      return state;
    }
    case 'family_done': {
      const held = state.completeBy.get(event.family) ?? 0;
      if (held !== spec.trials || event.complete !== spec.trials) {
        throw new HeadroomError('internal', `the runtime ended the ${event.family} family with ${event.complete} complete trials; the journal holds ${held} of the ${spec.trials} asked for`);
      }
      const { type, ...done } = event;
      void type;
      effects.push({ kind: 'journal', record: { type: 'family_done', ...done } }, { kind: 'report', event: { kind: 'familyDone', ...done } });
      return state;
    }
    case 'concurrency': {
      const { type, ...change } = event;
      void type;
      effects.push({ kind: 'journal', record: { type: 'concurrency', ...change } }, { kind: 'report', event: { kind: 'concurrency', ...change } });
      return state;
    }
    case 'trials_oom': {
      const { type, ...oom } = event;
      void type;
      effects.push({ kind: 'journal', record: { type: 'trials_oom', ...oom } }, { kind: 'report', event: { kind: 'oom', ...oom } });
      return state;
    }
    case 'sweep_done':
      if (state.complete !== total || event.complete !== total || spec.families.some((family) => state.completeBy.get(family) !== spec.trials)) {
        const by = spec.families.map((family) => `${family} ${state.completeBy.get(family) ?? 0}`).join(', ');
        throw new HeadroomError('internal', `the runtime ended the sweep with ${event.complete} complete trials; the journal holds ${state.complete} of the ${total} asked for (${by}; ${spec.trials} each)`);
      }
      effects.push({ kind: 'done' });
      return state;
    case 'memory': {
      const { type, ...memory } = event;
      void type;
      effects.push({ kind: 'report', event: { kind: 'memory', ...memory } });
      return state;
    }
    case 'paused':
    case 'resumed':
      effects.push({ kind: 'report', event: { kind: event.type } });
      return state;
    case 'error':
      if (event.fatal) throw new HeadroomError(errorKind(event.code), event.message);
      effects.push({ kind: 'report', event: { kind: 'log', line: `runtime: ${event.message}` } });
      return state;
    case 'log':
      effects.push({ kind: 'report', event: { kind: 'log', line: event.message } });
      return state;
    default:
      return state;
  }
}
