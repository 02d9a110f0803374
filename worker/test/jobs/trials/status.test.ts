/** A sweep's status, words, live fold, table and history from run folders written by hand (no runtime). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TrialsRunInfo, TrialsTable } from '../../../src/contract/jobs/trials.js';
import { TRIALS_HISTORY_SAMPLES } from '../../../src/jobs/trials/historySamples.js';
import { trialsJob } from '../../../src/jobs/trials/job.js';
import { foldTrialsEvent } from '../../../src/jobs/trials/liveInfo.js';
import { parseTrialsFile } from '../../../src/jobs/trials/panelCalls.js';
import { runStatus } from '../../../src/jobs/trials/runStatus.js';
import { interruptionPhase, progressLine, trainingPhase } from '../../../src/jobs/trials/words.js';
import { HistoryWriter, readHistory } from '../../../src/runs/history.js';
import { readRunInfo } from '../../../src/panel/runInfo.js';
import { cli, tempDir } from '../../helpers.js';
import { opened, trial, writeRun } from './fixtures.js';

describe('words', () => {
  it('says the phase and the progress the same way everywhere', () => {
    expect(trainingPhase(8, 12, 20)).toBe('training 8 trials at once · 12 of 20 done');
    expect(trainingPhase(1, 0, 20)).toBe('training 1 trial at a time · 0 of 20 done');
    expect(progressLine({ done: 3, total: 20, metric: 'r2', best: { number: 7, value: 0.91234 } })).toBe('3 of 20 trials · best r2 0.9123 (trial 7)');
    expect(progressLine({ done: 0, total: 20, metric: 'auc', best: null })).toBe('0 of 20 trials · no result yet');
    expect(interruptionPhase('run interrupted: the Python runtime was killed by SIGKILL')).toBe('interrupted: the runtime was killed');
    expect(interruptionPhase('run interrupted: stopped by a signal')).toBe('stopped by you');
  });
});

describe('status', () => {
  it('counts complete trials, the best, the engine and concurrency in force; an ended session reads interrupted', async () => {
    const dir = writeRun(join(tempDir(), 'sweep'), [
      { type: 'session_started', pid: 1, command: 'trials', finished: 0, complete: 0 },
      opened,
      { type: 'trial_done', result: trial(0, 0.4), recovered: false },
      { type: 'trial_done', result: trial(1, null, 'failed'), recovered: false },
      { type: 'trial_done', result: trial(2, 0.7), recovered: false },
      { type: 'trial_done', result: trial(2, 0.99), recovered: true }, // never counted twice: the first record stays
      { type: 'concurrency', concurrency: 1, reason: 'oom', peak: null, estimate: 4096 },
      { type: 'run_interrupted', reason: 'run interrupted: the Python runtime was killed by SIGKILL' },
    ]);
    const status = runStatus(dir);
    expect(status).toMatchObject({ status: 'interrupted', trialsDone: 2, trialsTotal: 4, trialsOther: 1, unitsDone: 2, engine: 'batched', concurrency: 1, best: { number: 2, value: 0.7 } });
    expect(status.phase).toBe('interrupted: the runtime was killed');
    expect(status.progressLine).toBe('2 of 4 trials · best r2 0.7000 (trial 2)');
    const lines = trialsJob.statusLines(status).join('\n');
    expect(lines).toMatch(/trials {3}2\/4 complete, 1 failed or pruned/);
    expect(lines).toMatch(/best {5}r2 0\.7000: trial 2 \(hidden 16-8/);
    const info = readRunInfo('sweep', dir);
    expect(TrialsRunInfo.safeParse(info).success).toBe(true);
    const printed = await cli(['status', dir, '--json']);
    expect(printed.exitCode).toBe(0);
    expect(JSON.parse(printed.stdout)).toMatchObject({ kind: 'trials', status: 'interrupted', trialsDone: 2, best: { number: 2 } });
  });

  it('folds live events into the listed info without touching disk', () => {
    const dir = writeRun(join(tempDir(), 'live'), []);
    const info = { ...readRunInfo('live', dir), sessionStartedAt: new Date(Date.now() - 10_000).toISOString(), sessionTrialsStart: 0 };
    const engine = foldTrialsEvent(info, { kind: 'engine', family: 'nn', engine: 'batched', why: 'asked for', concurrency: 2, memberBytes: 1, roomBytes: null, device: 'cpu', failedStale: [] })!;
    expect(engine.phase).toBe('training 2 trials at once · 0 of 4 done');
    const done = foldTrialsEvent(engine, { kind: 'trialDone', result: trial(1, 0.5), trialsDone: 1, trialsTotal: 4 })!;
    expect(done).toMatchObject({ trialsDone: 1, unitsDone: 1, best: { number: 1, value: 0.5 }, progressLine: '1 of 4 trials · best r2 0.5000 (trial 1)' });
    expect(done.etaMs).toBeGreaterThan(0);
    expect(foldTrialsEvent(done, { kind: 'curve', points: [] })).toBeUndefined();
  });
});

describe('runTrials table', () => {
  it('skips and names a damaged line, never fails', () => {
    const good = JSON.stringify(trial(0, 0.5));
    const { trials, skipped } = parseTrialsFile(`${good}\n{"number": \n${JSON.stringify({ number: 1 })}\n${good}\n{"half`);
    expect(trials).toHaveLength(2);
    expect(skipped.map((entry) => entry.line)).toEqual([2, 3, 5]);
    expect(TrialsTable.safeParse({ runId: 'x', trials, skipped }).success).toBe(true);
  });

  it('is served by the job for a sweep folder', () => {
    const dir = writeRun(join(tempDir(), 'table'), []);
    writeFileSync(join(dir, 'trials.jsonl'), `${JSON.stringify(trial(0, 0.5))}\nnot json\n`);
    const table = trialsJob.calls!.runTrials!({ runId: 'table' }, { runDir: dir, runtime: {} }) as TrialsTable;
    expect(table.trials.map((result) => result.number)).toEqual([0]);
    expect(table.skipped).toEqual([{ line: 2, reason: 'not valid JSON' }]);
  });
});

describe('history of a long sweep', () => {
  it('keeps curve events per bucket, so the file stays bounded however many arrive', async () => {
    const dir = writeRun(join(tempDir(), 'history'), []);
    const writer = new HistoryWriter(dir, TRIALS_HISTORY_SAMPLES, { bucketsMax: 20, bucketMsMin: 1000 });
    const points = Array.from({ length: 20 }, (_, number) => ({ number, epoch: 0, train: 1, val: 1 }));
    for (let i = 0; i < 20_000; i += 1) {
      writer.record({ kind: 'curve', points: points.map((point) => ({ ...point, epoch: i, val: 1 / (1 + i) + point.number })) }, 1_000_000 + i * 100);
      if (i % 1000 === 0) writer.record({ kind: 'trialDone', result: trial(i / 1000, 0.5), trialsDone: i / 1000 + 1, trialsTotal: 20 }, 1_000_000 + i * 100);
    }
    writer.close();
    const history = await readHistory(dir);
    const curves = history.events.filter((entry) => entry.event.kind === 'curve');
    expect(history.counts.curve).toBe(20_000);
    expect(curves.length).toBeLessThanOrEqual(4 * 40);
    expect(history.events.filter((entry) => entry.event.kind === 'trialDone')).toHaveLength(20);
    expect(readFileSync(join(dir, 'history.jsonl')).length).toBeLessThan(2_000_000);
  });
});
