/**
 * The trials slice: each sweep's live state, folded from its events (TrialsEvent,
 * parsed once; one that fails it is dropped, never half-applied): the finished
 * trials, the loss curves of the running ones (bounded: the running and the last
 * few finished trials, a bounded number of points each), memory and concurrency
 * on the run's time axis, the engine in force, OOMs, the tree workers and a log.
 * A trial is known by its family and number (numbers count per family); the loss
 * curves are the NN family's (trial_progress names no family). Rebuilt from the
 * run's history on open, then completed with runTrials (trials.jsonl: every
 * finished trial, whatever the history thinned).
 */
import type { RunEvent, RunHistory, RunInfo } from '../../../worker/src/contract/api.ts';
import { rankFamilies, TrialsEvent, TrialsRunInfo, type FamilySummary, type TrialsTable } from '../../../worker/src/contract/jobs/trials.ts';
import { SessionEvent } from '../../../worker/src/contract/runs.ts';
import { TrialsFamily, type TrialKey, type TrialRunner, type TrialParams, type TrialResult } from '../../../worker/src/contract/trialsProtocol.ts';
import type { Point } from '../charts/decimate.ts';
import { count } from '../format.ts';
import { WINDOW } from './core.ts';
import type { KindStore, SliceCreator, Store } from './types.ts';

/** Curves of finished trials kept beside the running ones (the chart shows how the last few ended). */
export const FINISHED_CURVES = 6;
/** Points per curve: past it, every other point goes (the curve keeps its shape and its last point). */
export const CURVE_POINTS = 400;
/** Finished trials kept live (trials.jsonl holds them all; the table reads it on open). */
export const RESULTS = 100_000;
const LOG_LINES = 500;
const OOM_MARKS = 1000;
const WORKER_CHANGES = 100;

export interface CurvePoint {
  epoch: number;
  train: number;
  val: number;
}

/** A trial's identity as a string ("xgboost:3"), for maps and React keys. */
export const trialKey = (t: TrialKey): string => `${t.family}:${t.number}`;
export const sameTrial = (a: TrialKey, b: TrialKey): boolean => a.family === b.family && a.number === b.number;

/** An NN trial's curve (trial_progress is the NN family's; tree trials draw none). */
export interface TrialCurve {
  number: number;
  /** Null when the curve's first point came before its trialStarted (a history thinned at its start). */
  params: TrialParams | null;
  points: CurvePoint[];
  /** Null while the trial runs. */
  state: TrialResult['state'] | null;
}

export interface RunningTrial {
  family: TrialsFamily;
  number: number;
  params: TrialParams;
  seed: number;
  members: number;
  /** ms since the epoch. */
  startedAt: number;
}

export interface EngineInForce {
  family: TrialsFamily;
  /** ms since the epoch: when the family started in the session seen here. */
  startedAt: number;
  engine: TrialRunner;
  why: string;
  concurrency: number;
  memberBytes: number;
  roomBytes: number | null;
  device: string;
  failedStale: number[];
}

/** A tree worker process as its last tree_worker event left it (one per family and slot). */
export interface TreeWorker {
  family: TrialsFamily;
  slot: number;
  pid: number;
  device: string;
  visibleDevices: string;
  threads: number;
  reason: 'started' | 'replaced' | 'hung' | 'recycled' | 'oom';
  detail: string | null;
}

export interface SweepSeries {
  /** Finished trials by family (in TrialsFamily's order) then number (one per key: a later report replaces an earlier one). */
  results: TrialResult[];
  /** The sweep's families in the order they run (the started event); null before it. */
  families: TrialsFamily[] | null;
  /** The family training now (its engine event), null between families and sessions. */
  familyNow: TrialsFamily | null;
  /** Each family's engine as it last started (engine events). */
  engines: Partial<Record<TrialsFamily, EngineInForce>>;
  /** Tree worker processes by family and slot (the last one in each slot), and the replacements and recycles (bounded). */
  treeWorkers: TreeWorker[];
  treeWorkerChanges: (TreeWorker & { at: number })[];
  /** Families that reached their count in a session seen here, with that session's ms. */
  familiesDone: Partial<Record<TrialsFamily, { complete: number; ms: number }>>;
  running: RunningTrial[];
  /** The running trials' curves and the last FINISHED_CURVES finished ones', oldest first. */
  curves: TrialCurve[];
  vram: Point[];
  /** Bytes the runtime may use (GPU capacity or system memory). */
  total: number | null;
  /** Members trained at once, on the time axis (a step line: sampled again with each memory sample while a session trains). */
  concurrency: Point[];
  /** Members trained at once in the session working now; null between sessions. */
  concurrencyNow: number | null;
  engine: EngineInForce | null;
  ooms: number[];
  log: { at: number; line: string }[];
  runDir: string | null;
  metric: 'r2' | 'auc' | null;
  task: 'regression' | 'binary' | null;
  trialsTotal: number | null;
  /** Lines of trials.jsonl runTrials skipped (damaged or half-written). */
  skipped: TrialsTable['skipped'];
}

export const emptySweep = (): SweepSeries => ({
  results: [],
  families: null,
  familyNow: null,
  engines: {},
  treeWorkers: [],
  treeWorkerChanges: [],
  familiesDone: {},
  running: [], curves: [],
  vram: [],
  total: null,
  concurrency: [],
  concurrencyNow: null,
  engine: null,
  ooms: [],
  log: [],
  runDir: null,
  metric: null,
  task: null,
  trialsTotal: null,
  skipped: [],
});

/** How a number of a trial's params reads: two significant digits, tiny ones as 1.2e-5, whole numbers whole. */
export const paramNumber = (v: number): string => (v === 0 ? '0' : Number.isInteger(v) ? String(v) : Math.abs(v) < 1e-3 ? v.toExponential(1) : Number(v.toPrecision(2)).toString());

/** NN params by their short names, in this order; any other key (a tree family's) as "max_depth 6". */
const NN_SHORT: Record<string, string> = { lr: 'lr', weight_decay: 'wd', dropout: 'dropout' };

/**
 * A trial's params in one line: "256-128-64 · lr 0.0012 · wd 3.1e-5 · dropout 0.12" for
 * an NN, "max_depth 6 · learning_rate 0.05 · subsample 0.8" for a tree family.
 */
export function paramsLine(params: TrialParams): string {
  const value = (v: number | string | boolean): string => (typeof v === 'number' ? paramNumber(v) : String(v));
  const parts: string[] = [];
  if (params.hidden !== undefined) parts.push(String(params.hidden));
  for (const key of Object.keys(NN_SHORT)) if (params[key] !== undefined) parts.push(`${NN_SHORT[key]} ${value(params[key])}`);
  for (const [key, v] of Object.entries(params)) if (key !== 'hidden' && !(key in NN_SHORT)) parts.push(`${key} ${value(v)}`);
  return parts.join(' · ');
}

/** Halves a curve until it is within its bound, keeping the first and the last point. */
function thin(points: CurvePoint[]): CurvePoint[] {
  let kept = points;
  while (kept.length > CURVE_POINTS) {
    const last = kept.at(-1)!;
    kept = kept.filter((_, i) => i % 2 === 0);
    if (kept.at(-1) !== last) kept.push(last);
  }
  return kept;
}

const trimmed = <T>(list: T[], bound: number): T[] => (list.length > bound ? list.slice(list.length - bound + Math.floor(bound / 10)) : list);

/** Keeps the curves of the running trials and of the last FINISHED_CURVES finished ones. */
function boundCurves(curves: TrialCurve[]): TrialCurve[] {
  const finished = curves.filter((c) => c.state !== null);
  if (finished.length <= FINISHED_CURVES) return curves;
  const drop = new Set(finished.slice(0, finished.length - FINISHED_CURVES));
  return curves.filter((c) => !drop.has(c));
}

const FAMILY_ORDER = new Map(TrialsFamily.options.map((family, i) => [family, i]));
/** Results in the table's first order: by family (TrialsFamily's order), then number. */
export const byKey = (a: TrialKey, b: TrialKey): number => FAMILY_ORDER.get(a.family)! - FAMILY_ORDER.get(b.family)! || a.number - b.number;

/** Puts a result in its place (by family and number), replacing one with its key. */
export function mergeResults(results: readonly TrialResult[], more: readonly TrialResult[]): TrialResult[] {
  if (more.length === 0) return results as TrialResult[];
  const byTrial = new Map(results.map((r) => [trialKey(r), r]));
  for (const r of more) byTrial.set(trialKey(r), r);
  return trimmed([...byTrial.values()].sort(byKey), RESULTS);
}

/**
 * A sweep's state being folded: copied once, its lists replaced as events change
 * them (a history of thousands of events builds each list in place, then bounds it).
 */
class SweepDraft {
  readonly s: SweepSeries;
  private readonly owned = new Set<string>();
  private newResults: TrialResult[] = [];

  constructor(base: SweepSeries) {
    this.s = { ...base };
  }

  /** The list, owned by this draft (copied the first time). */
  list<K extends 'vram' | 'concurrency' | 'ooms' | 'log' | 'curves' | 'running' | 'treeWorkers' | 'treeWorkerChanges'>(key: K): SweepSeries[K] {
    if (!this.owned.has(key)) {
      this.owned.add(key);
      (this.s[key] as unknown[]) = (this.s[key] as unknown[]).slice();
    }
    return this.s[key];
  }

  log(at: number, line: string): void {
    this.list('log').push({ at, line });
  }

  result(r: TrialResult): void {
    this.newResults.push(r);
  }

  /** The curve of a trial, owned by this draft (created when absent). */
  curve(number: number): TrialCurve {
    const curves = this.list('curves');
    const i = curves.findIndex((c) => c.number === number);
    if (i < 0) {
      const fresh: TrialCurve = { number, params: null, points: [], state: null };
      curves.push(fresh);
      return fresh;
    }
    const own = { ...curves[i]!, points: curves[i]!.points.slice() };
    curves[i] = own;
    return own;
  }

  finish(): SweepSeries {
    const s = this.s;
    s.results = mergeResults(s.results, this.newResults);
    if (this.owned.has('vram')) s.vram = trimmed(s.vram, WINDOW);
    if (this.owned.has('concurrency')) s.concurrency = trimmed(s.concurrency, WINDOW);
    if (this.owned.has('ooms')) s.ooms = trimmed(s.ooms, OOM_MARKS);
    if (this.owned.has('log')) s.log = trimmed(s.log, LOG_LINES);
    if (this.owned.has('treeWorkerChanges')) s.treeWorkerChanges = trimmed(s.treeWorkerChanges, WORKER_CHANGES);
    if (this.owned.has('curves')) s.curves = boundCurves(s.curves.map((c) => (c.points.length > CURVE_POINTS ? { ...c, points: thin(c.points) } : c)));
    return s;
  }
}

/** Folds one trials event (already parsed) into a draft; `at` is ms since the epoch. */
function foldTrialsEvent(draft: SweepDraft, at: number, event: TrialsEvent): void {
  const t = at / 1000;
  const s = draft.s;
  switch (event.kind) {
    case 'started':
      s.families = event.families;
      s.runDir = event.runDir;
      s.trialsTotal = event.trialsTotal;
      s.task = event.task;
      s.metric = event.metric;
      return;
    case 'engine': {
      const engine: EngineInForce = { family: event.family, startedAt: at, engine: event.engine, why: event.why, concurrency: event.concurrency, memberBytes: event.memberBytes, roomBytes: event.roomBytes, device: event.device, failedStale: event.failedStale };
      s.engine = engine;
      s.engines = { ...s.engines, [event.family]: engine };
      s.familyNow = event.family;
      draft.list('concurrency').push({ t, v: event.concurrency });
      s.concurrencyNow = event.concurrency;
      draft.log(
        at,
        event.engine === 'worker'
          ? `${event.family}: ${count(event.concurrency, 'worker')} on ${event.device} (${event.why})`
          : `${event.family}: engine ${event.engine} at concurrency ${event.concurrency} on ${event.device} (${event.why})`,
      );
      if (event.failedStale.length) draft.log(at, `${event.family} trials ${event.failedStale.join(', ')} were left running by a crash: failed, their params asked again`);
      return;
    }
    case 'trialStarted': {
      const running = draft.list('running');
      const i = running.findIndex((r) => sameTrial(r, event));
      const entry: RunningTrial = { family: event.family, number: event.number, params: event.params, seed: event.seed, members: event.members, startedAt: at };
      if (i >= 0) running[i] = entry;
      else running.push(entry);
      if (event.family !== 'nn') return; // tree trials report no curve
      const curve = draft.curve(event.number);
      curve.params = event.params;
      curve.state = null;
      return;
    }
    case 'curve': {
      const byTrial = new Map<number, CurvePoint[]>();
      for (const p of event.points) {
        const list = byTrial.get(p.number) ?? [];
        list.push({ epoch: p.epoch, train: p.train, val: p.val });
        byTrial.set(p.number, list);
      }
      for (const [number, points] of byTrial) {
        const curve = draft.curve(number);
        const lastEpoch = curve.points.at(-1)?.epoch ?? -Infinity;
        // A trial restarted (an OOM) reports its epochs again from the start: its curve starts again.
        if (points[0]!.epoch <= lastEpoch) curve.points = curve.points.filter((p) => p.epoch < points[0]!.epoch);
        curve.points.push(...points);
      }
      return;
    }
    case 'trialDone': {
      const r = event.result;
      draft.result(r);
      s.trialsTotal = event.trialsTotal;
      const running = s.running.some((x) => sameTrial(x, r)) ? draft.list('running') : null;
      if (running) running.splice(running.findIndex((x) => sameTrial(x, r)), 1);
      if (r.family === 'nn' && s.curves.some((c) => c.number === r.number)) {
        const curve = draft.curve(r.number);
        curve.state = r.state;
        curve.params = curve.params ?? r.params;
        // Finished curves go after the running ones' in finishing order (the oldest finished is dropped first).
        const curves = draft.list('curves');
        curves.splice(curves.indexOf(curve), 1);
        curves.push(curve);
      }
      const value = r.value === null ? '' : ` ${s.metric ?? 'value'} ${r.value.toFixed(4)}`;
      const unit = r.family === 'nn' ? 'epochs' : 'rounds';
      draft.log(at, `${r.family} trial ${r.number} ${r.state}${value} after ${r.epochs} ${unit}${r.message ? ` (${r.message})` : ''}`);
      return;
    }
    case 'treeWorker': {
      const workers = draft.list('treeWorkers');
      const i = workers.findIndex((w) => w.family === event.family && w.slot === event.slot);
      const worker: TreeWorker = { family: event.family, slot: event.slot, pid: event.pid, device: event.device, visibleDevices: event.visibleDevices, threads: event.threads, reason: event.reason, detail: event.detail };
      if (i >= 0) workers[i] = worker;
      else workers.push(worker);
      if (event.reason !== 'started') draft.list('treeWorkerChanges').push({ ...worker, at });
      const sees = event.visibleDevices === '' ? 'no GPU' : `CUDA_VISIBLE_DEVICES=${event.visibleDevices}`;
      draft.log(at, `${event.family} worker ${event.slot} ${event.reason}: pid ${event.pid} on ${event.device} (${sees}, ${count(event.threads, 'thread')})${event.detail ? `: ${event.detail}` : ''}`);
      return;
    }
    case 'treeOom':
      draft.list('ooms').push(t);
      draft.log(at, `${event.family} trial ${event.number} out of memory on ${event.device}: ${event.action === 'cpu' ? 'runs again on the CPU' : `runs again with ${count(event.workers, 'worker')} there`} (${event.message})`);
      return;
    case 'familyDone':
      s.familiesDone = { ...s.familiesDone, [event.family]: { complete: event.complete, ms: event.ms } };
      if (s.familyNow === event.family) s.familyNow = null;
      draft.log(at, `${event.family} done: ${count(event.complete, 'trial')} in ${(event.ms / 1000).toFixed(1)} s`);
      return;
    case 'concurrency':
      draft.list('concurrency').push({ t, v: event.concurrency });
      s.concurrencyNow = event.concurrency;
      if (s.engine) s.engine = { ...s.engine, concurrency: event.concurrency };
      draft.log(at, `concurrency now ${event.concurrency} (${event.reason === 'oom' ? 'out of memory' : 'measured peak'})`);
      return;
    case 'oom':
      draft.list('ooms').push(t);
      // The restarted trials train again from their initial state: their curves start again.
      for (const number of event.restarted) if (s.curves.some((c) => c.number === number)) draft.curve(number).points = [];
      draft.log(at, `out of memory with ${event.members} members: concurrency ${event.concurrency}, restarted trials ${event.restarted.join(', ') || 'none'}`);
      return;
    case 'memory':
      if (event.allocated === null) return;
      draft.list('vram').push({ t, v: event.allocated });
      s.total = event.total ?? s.total;
      // The step line goes on to now, not only to its last change.
      if (s.concurrencyNow !== null) draft.list('concurrency').push({ t, v: s.concurrencyNow });
      return;
    case 'log':
      draft.log(at, event.line);
      return;
    case 'runtimeHung':
      // Its trials were left RUNNING: the fresh runtime asks them again under new numbers.
      if (s.running.length > 0) draft.list('running').splice(0);
      draft.log(at, `runtime ${event.pid} sent nothing for ${event.silentS} s (limit ${event.timeoutS} s): killed as hung${event.giveUp ? ` ${event.inARow} times in a row` : '; a fresh runtime goes on'}`);
      return;
    case 'runtime':
      draft.log(at, `runtime ${event.pid} ready (torch ${event.torch}, ${event.cuda ? 'CUDA' : 'CPU only'})`);
      return;
    case 'paused':
    case 'resumed':
      draft.log(at, event.kind);
      return;
    default:
      assertNever(event);
  }
}

function assertNever(event: never): never {
  throw new Error(`a trials event the reducer does not handle: ${JSON.stringify(event)}`);
}

function sessionLine(event: SessionEvent): string {
  if (event.phase === 'start') return event.command === 'start' ? 'session started' : 'session resumed';
  return event.outcome === 'done' ? 'session ended: done' : `session ended: ${event.outcome}${event.message ? ` (${event.message})` : ''}`;
}

/** Folds events (parsed here; one failing TrialsEvent is skipped and counted) into a sweep's state. */
export function foldSweep(base: SweepSeries, events: readonly Pick<RunEvent, 'at' | 'event'>[]): { series: SweepSeries; dropped: number } {
  const draft = new SweepDraft(base);
  let dropped = 0;
  for (const { at, event } of events) {
    const session = event.kind === 'session' ? SessionEvent.safeParse(event) : null;
    if (session?.success) {
      draft.log(at, sessionLine(session.data));
      // Between sessions no trial runs: the ones a crash cut short are failed and asked again under new numbers.
      if (draft.s.running.length) draft.list('running').length = 0;
      draft.s.concurrencyNow = null;
      draft.s.familyNow = null;
      if (draft.s.curves.some((c) => c.state === null)) {
        const kept = draft.s.curves.filter((c) => c.state !== null);
        const curves = draft.list('curves');
        curves.length = 0;
        curves.push(...kept);
      }
      continue;
    }
    const parsed = TrialsEvent.safeParse(event);
    if (parsed.success) foldTrialsEvent(draft, at, parsed.data);
    else dropped += 1;
  }
  return { series: draft.finish(), dropped };
}

/** A sweep's state rebuilt from its history. */
export const sweepFromHistory = (history: Pick<RunHistory, 'events'>): SweepSeries =>
  // A thinned history writes a bucket's kept samples when the bucket closes, after later marks: folded in seq order.
  foldSweep(emptySweep(), history.events.slice().sort((a, b) => a.seq - b.seq)).series;

/** A listed run read as a sweep; null when it is not one (or does not fit the schema). */
export function readTrialsRun(run: RunInfo): TrialsRunInfo | null {
  const parsed = TrialsRunInfo.safeParse(run);
  return parsed.success ? parsed.data : null;
}

/** The best complete trial (highest value: r2 and auc are maximised). */
export function bestOf(results: readonly TrialResult[]): TrialResult | null {
  let best: TrialResult | null = null;
  for (const r of results) if (r.state === 'complete' && r.value !== null && (best === null || r.value > best.value!)) best = r;
  return best;
}

/** What the comparison reads of a sweep beside its trials. */
export interface ComparisonInput {
  /** The run's summaries (the Engine's, from the journal: each family's time, engine and workers). */
  summaries: readonly FamilySummary[];
  /** The spec's families, in their order. */
  families: readonly TrialsFamily[];
  trialsPerFamily: number;
  results: readonly TrialResult[];
  engines?: SweepSeries['engines'];
  familiesDone?: SweepSeries['familiesDone'];
  /** The family training now, and the time now (ms since the epoch), for its time so far. */
  familyNow?: TrialsFamily | null;
  now?: number;
}

/**
 * The families side by side, kept live: each family's summary from the run, brought up
 * to date with the trials seen here (done, failed, best, ms per trial, peak memory), the
 * engine events (engine, workers) and the time it has trained, then ranked again.
 */
export function liveComparison({ summaries, families, trialsPerFamily, results, engines = {}, familiesDone = {}, familyNow = null, now = Date.now() }: ComparisonInput): FamilySummary[] {
  const order = [...families, ...summaries.map((s) => s.family).filter((f) => !families.includes(f))];
  for (const r of results) if (!order.includes(r.family)) order.push(r.family);
  return rankFamilies(
    order.map((family): FamilySummary => {
      const base: FamilySummary = summaries.find((s) => s.family === family) ?? { family, rank: null, trialsDone: 0, trialsTotal: trialsPerFamily, failed: 0, best: null, msPerTrial: null, peakBytes: null, peakSource: null, elapsedMs: 0, engine: null, concurrency: null };
      const own = results.filter((r) => r.family === family);
      const complete = own.filter((r) => r.state === 'complete' && r.value !== null);
      const seen = bestOf(own);
      const best = seen && (base.best === null || seen.value! > base.best.value) ? { number: seen.number, value: seen.value!, params: seen.params } : base.best;
      let peak: { bytes: number | null; source: FamilySummary['peakSource'] } = { bytes: base.peakBytes, source: base.peakSource };
      for (const r of own) if (r.peakBytes !== null && (peak.bytes === null || r.peakBytes > peak.bytes)) peak = { bytes: r.peakBytes, source: r.peakSource };
      const engine = engines[family];
      const running = familyNow === family && engine ? base.elapsedMs + Math.max(0, now - engine.startedAt) : 0;
      return {
        ...base,
        trialsDone: Math.max(base.trialsDone, complete.length),
        failed: Math.max(base.failed, own.filter((r) => r.state === 'failed').length),
        best,
        // The trials seen here are all of them once trials.jsonl is read: their mean is then the whole's.
        msPerTrial: complete.length >= base.trialsDone && complete.length > 0 ? complete.reduce((sum, r) => sum + r.ms, 0) / complete.length : base.msPerTrial,
        peakBytes: peak.bytes,
        peakSource: peak.source,
        elapsedMs: Math.max(base.elapsedMs, familiesDone[family]?.ms ?? 0, running),
        engine: engine?.engine ?? base.engine,
        concurrency: engine?.concurrency ?? base.concurrency,
      };
    }),
  );
}

export interface TrialsSlice {
  sweeps: Record<string, SweepSeries>;
  /** Parses the event with TrialsEvent and folds it in; false (nothing changed) when it fails the schema. */
  onTrialsEvent(event: RunEvent): boolean;
  setSweep(runId: string, series: SweepSeries): void;
  /** Merges a sweep's trials table (runTrials) into its finished trials. */
  mergeTrialsTable(table: TrialsTable): void;
}

export const createTrialsSlice: SliceCreator<TrialsSlice> = (set) => ({
  sweeps: {},
  onTrialsEvent: ({ runId, at, event }) => {
    let dropped = 0;
    set((state) => {
      const next = foldSweep(state.sweeps[runId] ?? emptySweep(), [{ at, event }]);
      dropped = next.dropped;
      return dropped ? {} : { sweeps: { ...state.sweeps, [runId]: next.series } };
    });
    return dropped === 0;
  },
  setSweep: (runId, series) => set((state) => ({ sweeps: { ...state.sweeps, [runId]: series } })),
  mergeTrialsTable: ({ runId, trials, skipped }) =>
    set((state) => {
      const base = state.sweeps[runId] ?? emptySweep();
      return { sweeps: { ...state.sweeps, [runId]: { ...base, results: mergeResults(base.results, trials), skipped } } };
    }),
});

export const trialsStore: KindStore = {
  describe: (run) => {
    const info = readTrialsRun(run);
    if (!info) return null;
    const best = info.best && info.metric ? ` · best ${info.metric} ${info.best.value.toFixed(4)} (trial ${info.best.number})` : '';
    return { details: `sweep of ${info.target} in ${info.data.split(/[\\/]/).at(-1) ?? info.data}${best}`, progressNote: null };
  },
  onEvent: (store, event) => store.onTrialsEvent(event),
  rebuild: (store, history) => {
    store.setSweep(history.runId, sweepFromHistory(history));
    // The history may be thinned; trials.jsonl holds every finished trial.
    void store.api?.runTrials({ runId: history.runId }).then(
      (table) => store.mergeTrialsTable(table),
      (error: Error) => store.setError(`cannot read the trials of run ${history.runId}: ${error.message}`),
    );
  },
};

const EMPTY = emptySweep();
/** A sweep's state (a shared empty one before its first event, so selectors stay stable). */
export const sweepOf = (state: Store, runId: string | null): SweepSeries => (runId && state.sweeps[runId]) || EMPTY;
