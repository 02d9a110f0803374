/**
 * The trials slice: a sweep's events folded into its finished trials, bounded loss
 * curves, engine and concurrency; rebuilt from a real history file (the Engine's own
 * HistoryWriter) and completed by runTrials, then fed live events without a gap or a
 * duplicate. The API is the one boundary replaced.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { RunEvent, RunInfo, type HeadroomApi, type RunHistory } from '../../../worker/src/contract/api.ts';
import { TRIALS_KIND, TrialsEvent, TrialsRunInfo, type TrialsTable } from '../../../worker/src/contract/jobs/trials.ts';
import { HistoryWriter, readHistory } from '../../../worker/src/runs/history.ts';
import { useStore } from '../../src/store/index.ts';
import { runRow } from '../../src/store/runs.ts';
import { CURVE_POINTS, FINISHED_CURVES, emptySweep, foldSweep, liveComparison, mergeResults, paramsLine, sweepOf } from '../../src/store/trials.ts';
import { curve, engine, familyDone, result, started, summary, treeParams, treeWorker, trialDone, trialStarted, trialsRun } from './trialsFixtures.ts';

const RUN = 's1';
const t0 = 1_700_000_000_000;
const fold = (events: RunEvent['event'][]) => foldSweep(emptySweep(), events.map((event, i) => ({ at: t0 + i * 1000, event })));

beforeEach(() => useStore.setState(useStore.getInitialState(), true));

describe('the fixtures fit the contract', () => {
  it('are valid trials events and run info', () => {
    for (const event of [started(), engine(), trialStarted(0), curve(0, 0, 3), trialDone(result(0, 0.5), 1), engine(2, [], 'xgboost'), trialStarted(0, 'xgboost'), treeWorker('xgboost', 0, 11), familyDone('xgboost', 6, 900)]) {
      expect(TrialsEvent.safeParse(event).success).toBe(true);
    }
    expect(TrialsRunInfo.safeParse(trialsRun(RUN)).success).toBe(true);
    expect(RunInfo.safeParse(trialsRun(RUN)).success).toBe(true);
  });
});

describe('a sweep folded from its events', () => {
  it('keeps finished trials by number, the running ones, their curves, the engine and concurrency', () => {
    const { series, dropped } = fold([
      { kind: 'session', phase: 'start', command: 'start' },
      started(),
      engine(2),
      trialStarted(0),
      trialStarted(1),
      curve(0, 0, 4),
      curve(1, 0, 2),
      trialDone(result(1, 0.7), 1),
      { kind: 'concurrency', concurrency: 1, reason: 'oom', peak: null, estimate: 100 },
      { kind: 'memory', allocated: 5e6, reserved: null, free: null, total: 8e9, peak: null },
    ]);
    expect(dropped).toBe(0);
    expect(series.results.map((r) => r.number)).toEqual([1]);
    expect(series.running.map((r) => r.number)).toEqual([0]);
    expect(series.curves.map((c) => [c.number, c.state, c.points.length])).toEqual([
      [0, null, 5],
      [1, 'complete', 3],
    ]);
    expect(series.engine).toMatchObject({ engine: 'batched', concurrency: 1, device: 'cpu' });
    expect(series.concurrency.map((p) => p.v)).toEqual([2, 1, 1]); // the step line goes on with each memory sample
    expect(series.concurrencyNow).toBe(1);
    expect(series.vram).toEqual([{ t: (t0 + 9000) / 1000, v: 5e6 }]);
    expect(series.runDir).toBe('/runs/s1');
    expect(series.metric).toBe('r2');
    expect(series.log.map((l) => l.line)).toContain('nn trial 1 complete r2 0.7000 after 40 epochs');
  });

  it('bounds the curves: the running ones and the last few finished, a bounded number of points each', () => {
    const events: RunEvent['event'][] = [];
    for (let n = 0; n < 20; n += 1) events.push(trialStarted(n), curve(n, 0, 9), trialDone(result(n, n / 20), n + 1));
    events.push(trialStarted(20), curve(20, 0, CURVE_POINTS * 3)); // a long trial, still running
    const { series } = fold(events);
    const running = series.curves.filter((c) => c.state === null);
    const finished = series.curves.filter((c) => c.state !== null);
    expect(running.map((c) => c.number)).toEqual([20]);
    expect(finished.map((c) => c.number)).toEqual(Array.from({ length: FINISHED_CURVES }, (_, i) => 20 - FINISHED_CURVES + i)); // the last finished
    expect(running[0]!.points.length).toBeLessThanOrEqual(CURVE_POINTS);
    expect(running[0]!.points.at(-1)!.epoch).toBe(CURVE_POINTS * 3); // thinned, the last point kept
    expect(running[0]!.points[0]!.epoch).toBe(0);
    expect(series.results).toHaveLength(20); // every finished trial stays for the table
  });

  it('starts a curve again when its trial restarts (an OOM), and a report of a trial again replaces it', () => {
    const { series } = fold([trialStarted(3), curve(3, 0, 9), { kind: 'oom', members: 4, concurrency: 2, restarted: [3] }, curve(3, 0, 1), trialDone(result(3, 0.1), 1), trialDone(result(3, 0.2), 1)]);
    expect(series.curves[0]!.points.map((p) => p.epoch)).toEqual([0, 1]);
    expect(series.ooms).toHaveLength(1);
    expect(series.results.map((r) => r.value)).toEqual([0.2]);
  });

  it('forgets the running trials at a new session (the crash failed them; they run again under new numbers)', () => {
    const { series } = fold([trialStarted(4), curve(4, 0, 3), { kind: 'session', phase: 'start', command: 'resume' }, engine(2, [4])]);
    expect(series.running).toEqual([]);
    expect(series.curves).toEqual([]);
    expect(series.log.map((l) => l.line).join('\n')).toMatch(/nn trials 4 were left running by a crash/);
  });

  it('drops an event that fails TrialsEvent, untouched', () => {
    useStore.getState().onRunEvent({ runId: RUN, jobKind: TRIALS_KIND, seq: 1, at: t0, event: trialDone(result(0, 0.5), 1) });
    const before = sweepOf(useStore.getState(), RUN);
    for (const [seq, event] of [
      [2, { kind: 'trialDone', result: { number: 'one' }, trialsDone: 1, trialsTotal: 6 }],
      [3, { kind: 'curve', points: [{ number: 1, epoch: 0 }] }],
      [4, { kind: 'no-such-event' }],
    ] as const) {
      expect(() => useStore.getState().onRunEvent({ runId: RUN, jobKind: TRIALS_KIND, seq, at: t0, event })).not.toThrow();
    }
    expect(sweepOf(useStore.getState(), RUN)).toBe(before);
    expect(useStore.getState().droppedEvents).toBe(3);
  });
});

describe('a sweep of several families', () => {
  const families = ['nn', 'xgboost', 'lightgbm'] as const;

  it('keeps the same trial number of two families apart, the curves the NN family\'s alone', () => {
    const { series, dropped } = fold([
      started('/runs/s1', [...families]),
      engine(2),
      trialStarted(0),
      curve(0, 0, 2),
      trialDone(result(0, 0.5), 1),
      familyDone('nn', 1, 1200),
      engine(2, [], 'xgboost'),
      treeWorker('xgboost', 0, 101),
      treeWorker('xgboost', 1, 102),
      trialStarted(0, 'xgboost'),
      trialStarted(1, 'xgboost'),
      trialDone(result(0, 0.7, { family: 'xgboost' }), 2),
      treeWorker('xgboost', 1, 103, 'replaced', 'pid 102 died mid-trial (SIGKILL): trial 1 runs again'),
    ]);
    expect(dropped).toBe(0);
    expect(series.families).toEqual(families);
    expect(series.results.map((r) => `${r.family}:${r.number}`)).toEqual(['nn:0', 'xgboost:0']);
    expect(series.running.map((r) => `${r.family}:${r.number}`)).toEqual(['xgboost:1']);
    expect(series.curves.map((c) => c.number)).toEqual([0]); // a tree trial draws no loss curve
    expect(series.curves[0]!.state).toBe('complete'); // xgboost's trial 0 did not touch nn's curve 0
    expect(series.engine).toMatchObject({ family: 'xgboost', engine: 'worker', concurrency: 2 });
    expect(Object.keys(series.engines)).toEqual(['nn', 'xgboost']);
    expect(series.familyNow).toBe('xgboost');
    expect(series.familiesDone).toEqual({ nn: { complete: 1, ms: 1200 } });
    expect(series.treeWorkers.map((w) => [w.slot, w.pid])).toEqual([
      [0, 101],
      [1, 103],
    ]);
    expect(series.treeWorkerChanges.map((c) => [c.reason, c.pid])).toEqual([['replaced', 103]]);
    const log = series.log.map((l) => l.line).join('\n');
    expect(log).toMatch(/xgboost: 2 workers on cpu/);
    expect(log).toMatch(/xgboost worker 1 replaced: pid 103 on cpu \(no GPU, 1 thread\): pid 102 died/);
    expect(log).toMatch(/xgboost trial 0 complete r2 0.7000 after 40 rounds/);
    expect(log).toMatch(/nn done: 1 trial in 1.2 s/);
  });

  it('merges trials.jsonl by family and number: a report again replaces only its own family\'s trial', () => {
    const merged = mergeResults([result(2, 0.1, { family: 'lightgbm' }), result(2, 0.2)], [result(2, 0.3, { family: 'xgboost' }), result(2, 0.4, { family: 'lightgbm' })]);
    expect(merged.map((r) => [r.family, r.number, r.value])).toEqual([
      ['nn', 2, 0.2],
      ['xgboost', 2, 0.3],
      ['lightgbm', 2, 0.4],
    ]);
  });

  it('words NN and tree params alike', () => {
    expect(paramsLine(result(0, 0.5).params)).toBe('12-6 · lr 0.001 · wd 1.0e-5 · dropout 0.1');
    expect(paramsLine(treeParams(1))).toBe('max_depth 4 · learning_rate 0.1 · n_estimators 200 · subsample 0.8');
    expect(paramsLine({ depth: 6, learning_rate: 0.0004, grow_policy: 'Lossguide', bootstrap: true })).toBe('depth 6 · learning_rate 4.0e-4 · grow_policy Lossguide · bootstrap true');
  });

  it('compares the families live: the trials seen here over the run\'s summaries, ranked by best value', () => {
    const summaries = [summary('nn', { rank: 1, trialsDone: 1, best: { number: 0, value: 0.5, params: result(0, 0.5).params }, elapsedMs: 4000, engine: 'batched', concurrency: 2 }), summary('xgboost'), summary('lightgbm')];
    const results = [result(0, 0.5), result(1, 0.6), result(0, 0.8, { family: 'xgboost', ms: 300, peakBytes: 5000 }), result(1, null, { family: 'xgboost', ms: 10 }), result(2, 0.7, { family: 'xgboost', ms: 500, peakBytes: 9000 })];
    const t = 1_000_000;
    const rows = liveComparison({ summaries, families, trialsPerFamily: 6, results, engines: { xgboost: { family: 'xgboost', startedAt: t - 2500, engine: 'worker', why: '', concurrency: 2, memberBytes: 0, roomBytes: null, device: 'cpu', failedStale: [] } }, familyNow: 'xgboost', now: t });
    expect(rows.map((f) => [f.family, f.rank, f.best?.value ?? null, f.trialsDone, f.failed])).toEqual([
      ['nn', 2, 0.6, 2, 0],
      ['xgboost', 1, 0.8, 2, 1],
      ['lightgbm', null, null, 0, 0],
    ]);
    const xgb = rows[1]!;
    expect(xgb.best!.number).toBe(0);
    expect(xgb.msPerTrial).toBe(400); // the complete trials' mean: the failed one is not a trial's time
    expect(xgb.peakBytes).toBe(9000);
    expect(xgb.elapsedMs).toBe(2500); // training now: since its engine event
    expect([xgb.engine, xgb.concurrency]).toEqual(['worker', 2]);
    expect(rows[0]!.elapsedMs).toBe(4000);
    expect(rows[2]!.trialsTotal).toBe(6);
  });
});

describe('a sweep rebuilt from its history, then live', () => {
  it('folds the history, merges runTrials, and applies each later live event once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-sweep-view-'));
    const writer = new HistoryWriter(dir, {});
    const sent: RunEvent[] = [];
    const send = (event: RunEvent['event'], at: number): void => {
      const entry = writer.record(event, at);
      sent.push({ runId: RUN, jobKind: TRIALS_KIND, seq: entry.seq, at: entry.at, event: entry.event });
    };
    send({ kind: 'session', phase: 'start', command: 'start' }, t0);
    send(started(), t0 + 1);
    send(engine(2), t0 + 2);
    send(trialStarted(0), t0 + 3);
    send(trialStarted(1), t0 + 4);
    send(curve(0, 0, 5), t0 + 5);
    send(trialDone(result(0, 0.4), 1), t0 + 6);
    writer.close();
    // trials.jsonl holds a trial the history does not (a trial told while the history was being read).
    const table: TrialsTable = { runId: RUN, trials: [result(0, 0.4), result(2, 0.9)], skipped: [{ line: 4, reason: 'not JSON (half-written)' }] };
    let tableAsked = 0;
    const api = {
      runHistory: async (): Promise<RunHistory> => {
        const h = await readHistory(dir);
        return { runId: RUN, jobKind: TRIALS_KIND, events: h.events, counts: h.counts, lastSeq: h.lastSeq, bytes: h.bytes };
      },
      runTrials: async (): Promise<TrialsTable> => {
        tableAsked += 1;
        return table;
      },
    } as unknown as HeadroomApi;
    useStore.setState({ api });
    useStore.getState().setRuns([trialsRun(RUN)]);
    await useStore.getState().loadHistory(RUN);
    await new Promise((resolve) => setTimeout(resolve, 0));

    let s = sweepOf(useStore.getState(), RUN);
    expect(tableAsked).toBe(1);
    expect(s.results.map((r) => r.number)).toEqual([0, 2]);
    expect(s.skipped).toEqual([{ line: 4, reason: 'not JSON (half-written)' }]);
    expect(s.running.map((r) => r.number)).toEqual([1]);
    expect(s.curves.find((c) => c.number === 0)!.points).toHaveLength(6);

    // Live: the history's last events again (already drawn), then new ones, one of them twice.
    const later: RunEvent[] = [
      { runId: RUN, jobKind: TRIALS_KIND, seq: 8, at: t0 + 7, event: curve(1, 0, 3) },
      { runId: RUN, jobKind: TRIALS_KIND, seq: 9, at: t0 + 8, event: trialDone(result(1, 0.6), 2) },
    ];
    for (const event of [...sent.slice(-3), ...later, later[0]!]) useStore.getState().onRunEvent(event);
    s = sweepOf(useStore.getState(), RUN);
    expect(s.curves.find((c) => c.number === 0)!.points).toHaveLength(6); // not doubled
    expect(s.curves.find((c) => c.number === 1)!.points).toHaveLength(4); // the repeat dropped by its seq
    expect(s.results.map((r) => r.number)).toEqual([0, 1, 2]);
    expect(s.running).toEqual([]);
    expect(s.log.filter((l) => l.line.startsWith('nn trial 0 complete'))).toHaveLength(1);
  });

  it('lists a sweep with its own words', () => {
    const row = runRow(trialsRun(RUN));
    expect(row.viewable).toBe(true);
    expect(row.kind).toBe('trials');
    expect(row.details).toBe('sweep of y in table.csv · best r2 0.8000 (trial 1)');
  });
});
