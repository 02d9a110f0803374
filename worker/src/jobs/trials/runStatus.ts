/** What `headroom status` and the panel's list say of a sweep: read from its folder only, safe while another process owns it. */
import { resolve } from 'node:path';
import { TRIALS_KIND, type TrialsRunInfo } from '../../contract/jobs/trials.js';
import type { RunFailure } from '../../contract/runs.js';
import type { TrialResult } from '../../contract/trialsProtocol.js';
import { readJournal } from '../../runs/journal.js';
import { liveOwner } from '../../runs/lock.js';
import type { StatusBase } from '../job.js';
import { readManifest, runPaths, type RunManifest } from './manifest.js';
import { JournalRecord } from './records.js';
import { familySummaries } from './families.js';
import { replay, type SweepState } from './runState.js';
import { failedPhase, failureWords, FINISHING, interruptionPhase, namesFamilies, OPENING, progressLine, STARTING, trainingPhase } from './words.js';

export interface TrialsStatus extends StatusBase {
  kind: typeof TRIALS_KIND;
  phase: string;
  progressLine: string;
  elapsedMs: number;
  sessionStartedAt: string | null;
  etaMs: number | null;
  failure: RunFailure | null;
  data: string;
  target: string;
  task: TrialsRunInfo['task'];
  metric: TrialsRunInfo['metric'];
  /** Complete trials over every family, of trials x families. */
  trialsDone: number;
  trialsTotal: number;
  /** The families side by side, in the spec's order (FamilySummary). */
  families: TrialsRunInfo['families'];
  /** Finished trials that did not complete (failed or pruned). */
  trialsOther: number;
  engine: TrialsRunInfo['engine'];
  engineWhy: string | null;
  concurrency: number | null;
  best: TrialsRunInfo['best'];
  settings: TrialsRunInfo['settings'];
  rows: number;
  features: number;
  trialsFile: string;
  study: string;
  /** Concurrency halvings after an out-of-memory, over the run. */
  ooms: number;
  /** Tree workers replaced (died or hung mid-trial) or recycled, and tree trials moved after an out-of-memory, over the run. */
  treeWorkersReplaced: number;
  treeOoms: number;
  /** Runtimes killed as hung (silent past the heartbeat timeout) and replaced, over the run. */
  hangs: number;
  /** Complete trials when the session running now began (the panel's live ETA counts from it); null unless running. */
  sessionTrialsStart: number | null;
}

type Journaled = JournalRecord;

/** Each session's start and its last record's time. */
function sessions(records: readonly Journaled[]): { start: number; startAt: string; end: number; index: number }[] {
  const out: { start: number; startAt: string; end: number; index: number }[] = [];
  records.forEach((record, index) => {
    const at = Date.parse(record.at);
    if (record.type === 'session_started') out.push({ start: at, startAt: record.at, end: at, index });
    else if (out.length > 0) out.at(-1)!.end = Math.max(out.at(-1)!.end, at);
  });
  return out;
}

function settingsOf(manifest: RunManifest): TrialsRunInfo['settings'] {
  const { spec } = manifest;
  return {
    epochs: spec.epochs,
    patience: spec.patience,
    folds: spec.folds,
    valFraction: spec.valFraction,
    sampler: spec.sampler,
    seed: spec.seed,
    engine: manifest.request.engine,
    concurrency: manifest.request.concurrency,
    device: spec.device,
    space: spec.space,
    families: spec.families,
    treeWorkers: spec.treeWorkers ?? 'auto',
  };
}

/** The phase of a sweep some process works on now, from its last session's records. */
function runningPhase(state: SweepState, session: readonly Journaled[], total: number, named: boolean): string {
  const last = session.at(-1);
  if (!last || last.type === 'session_started') return STARTING;
  if (state.complete >= total) return FINISHING;
  if (last.type === 'worker_ready' || !session.some((record) => record.type === 'sweep_opened')) return OPENING;
  return trainingPhase(state.concurrency ?? 1, state.complete, total, named ? state.opened?.family : undefined);
}

const bestOf = (best: TrialResult | null): TrialsRunInfo['best'] => (best && best.value !== null ? { family: best.family, number: best.number, value: best.value, params: best.params } : null);

export function runStatus(runDirArg: string): TrialsStatus {
  const runDir = resolve(runDirArg);
  const manifest = readManifest(runDir);
  const paths = runPaths(runDir);
  const { records } = readJournal(paths.journal, JournalRecord);
  const owner = liveOwner(paths.lock);
  const state = replay(records, owner !== undefined);
  const total = manifest.spec.trials * manifest.spec.families.length;
  const all = sessions(records);
  const open = state.status === 'running' ? all.at(-1) : undefined;
  const elapsedMs = all.filter((session) => session !== open).reduce((sum, session) => sum + (session.end - session.start), 0);
  const best = bestOf(state.best);
  const line = progressLine({ done: state.complete, total, metric: manifest.checked.metric, best, named: namesFamilies(manifest.spec.families) });
  let phase: string;
  let etaMs: number | null = null;
  let failure: RunFailure | null = null;
  let sessionTrialsStart: number | null = null;
  if (open) {
    const session = records.slice(open.index);
    phase = runningPhase(state, session, total, namesFamilies(manifest.spec.families));
    const startDone = replay(records.slice(0, open.index), true).complete;
    sessionTrialsStart = startDone;
    const doneNow = state.complete - startDone;
    if (doneNow > 0 && open.end > open.start) etaMs = Math.round(((total - state.complete) * (open.end - open.start)) / doneNow);
  } else if (state.status === 'done') phase = 'done';
  else if (state.status === 'created') phase = 'not started yet';
  else if (state.status === 'failed') {
    failure = failureWords(state.errors.at(-1) ?? 'the run failed without a message');
    phase = failedPhase(failure);
  } else {
    const tail = all.length > 0 ? records.slice(all.at(-1)!.index) : [];
    const interrupted = tail.findLast((record) => record.type === 'run_interrupted');
    phase = interruptionPhase(interrupted?.type === 'run_interrupted' ? interrupted.reason : null);
  }
  const lastOpened = state.opened;
  // The NN family's engine (a tree family's runner is 'worker': its FamilySummary says so).
  const nnOpened = state.openedBy.get('nn');
  const nnEngine = nnOpened?.engine;
  return {
    runDir,
    kind: TRIALS_KIND,
    status: state.status,
    unitsDone: state.complete,
    unitsTotal: total,
    owner: owner ?? null,
    errors: state.errors,
    lastInterruption: state.lastInterruption,
    device: lastOpened?.device ?? null,
    phase,
    progressLine: line,
    elapsedMs,
    sessionStartedAt: open?.startAt ?? null,
    etaMs,
    failure,
    data: manifest.spec.data,
    target: manifest.spec.target,
    task: manifest.spec.task,
    metric: manifest.checked.metric,
    trialsDone: state.complete,
    trialsTotal: total,
    families: familySummaries(records, manifest.spec.families, manifest.spec.trials),
    trialsOther: state.trials.size - state.complete,
    engine: nnEngine === undefined || nnEngine === 'worker' ? null : nnEngine,
    engineWhy: nnOpened?.engineWhy ?? lastOpened?.engineWhy ?? null,
    concurrency: state.concurrency,
    best,
    settings: settingsOf(manifest),
    rows: manifest.checked.rows,
    features: manifest.checked.features,
    trialsFile: paths.trials,
    study: paths.study,
    ooms: records.filter((record) => record.type === 'trials_oom').length,
    treeWorkersReplaced: records.filter((record) => record.type === 'tree_worker' && record.reason !== 'started').length,
    treeOoms: records.filter((record) => record.type === 'tree_oom').length,
    hangs: records.filter((record) => record.type === 'worker_hung').length,
    sessionTrialsStart,
  };
}
