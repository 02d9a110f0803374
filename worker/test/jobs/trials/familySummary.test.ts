/** The families side by side (FamilySummary) from journals written by hand: ranks, ms per trial, peaks, elapsed over sessions, the live fold. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rankFamilies, TrialsRunInfo, type FamilySummary } from '../../../src/contract/jobs/trials.js';
import type { TrialResult } from '../../../src/contract/trialsProtocol.js';
import { familySummaries } from '../../../src/jobs/trials/families.js';
import { trialsJob } from '../../../src/jobs/trials/job.js';
import { foldTrialsEvent } from '../../../src/jobs/trials/liveInfo.js';
import { readManifest, runPaths } from '../../../src/jobs/trials/manifest.js';
import { runStatus } from '../../../src/jobs/trials/runStatus.js';
import { familyTable } from '../../../src/jobs/trials/words.js';
import { readRunInfo } from '../../../src/panel/runInfo.js';
import { readJournal } from '../../../src/runs/journal.js';
import { JournalRecord, type NewRecord } from '../../../src/jobs/trials/records.js';
import { cli, tempDir } from '../../helpers.js';
import { openedFamily, SPACE, trial, writeTimedRun } from './fixtures.js';

const done = (result: TrialResult): NewRecord => ({ type: 'trial_done', result, recovered: false });
const withPeak = (result: TrialResult, ms: number, peakBytes: number | null, peakSource: TrialResult['peakSource'] = 'estimate'): TrialResult => ({ ...result, ms, peakBytes, peakSource });

/**
 * nn, xgboost and catboost, 2 trials each. Session 1: nn finishes (1 s .. 6 s), xgboost opens at 7 s and finishes
 * one trial at 9 s, then the process is killed (nothing more journaled). Session 2 (from 100 s): nn reopens done
 * (101 .. 101.5 s), xgboost finishes (102 .. 106 s, one failed trial on the way), catboost opens at 107 s and the run
 * is interrupted at 108 s.
 */
function threeFamilies(dir: string): string {
  return writeTimedRun(
    dir,
    [
      [0, { type: 'session_started', pid: 1, command: 'trials', finished: 0, complete: 0 }],
      [1, openedFamily('nn', 2)],
      [3, done(withPeak(trial(0, 0.5), 100, 4096))],
      [4, { type: 'concurrency', concurrency: 1, reason: 'oom', peak: null, estimate: 4096 }],
      [5, done(withPeak(trial(1, 0.6), 300, 2048))],
      [6, { type: 'family_done', family: 'nn', complete: 2, ms: 5000 }],
      [7, openedFamily('xgboost', 2)],
      [9, done(withPeak(trial(0, 0.8, 'complete', 'xgboost'), 50, 8192, 'measured'))],
      [100, { type: 'session_started', pid: 2, command: 'resume', finished: 3, complete: 3 }],
      [101, openedFamily('nn', 2, 2)],
      [101.5, { type: 'family_done', family: 'nn', complete: 2, ms: 400 }],
      [102, openedFamily('xgboost', 3, 1)],
      [104, done(withPeak(trial(1, null, 'failed', 'xgboost'), 10, null))],
      [105, done(withPeak(trial(2, 0.7, 'complete', 'xgboost'), 150, 1024, 'measured'))],
      [105.5, done(withPeak(trial(2, 0.99, 'complete', 'xgboost'), 1, 1, 'measured'))], // a repeat of a key: never counted
      [106, { type: 'family_done', family: 'xgboost', complete: 2, ms: 4000 }],
      [107, openedFamily('catboost', 2)],
      [108, { type: 'run_interrupted', reason: 'run interrupted: stopped by a signal' }],
    ],
    2,
    ['nn', 'xgboost', 'catboost'],
  );
}

describe('family summaries', () => {
  it('ranks by best value, averages complete trials, keeps the peak and its source, sums elapsed over sessions', () => {
    const dir = threeFamilies(join(tempDir(), 'three'));
    const { records } = readJournal(runPaths(dir).journal, JournalRecord);
    const [nn, xgboost, catboost] = familySummaries(records, ['nn', 'xgboost', 'catboost'], 2);
    expect(nn).toEqual({
      family: 'nn',
      rank: 2,
      trialsDone: 2,
      trialsTotal: 2,
      failed: 0,
      best: { number: 1, value: 0.6, params: trial(1, 0.6).params },
      msPerTrial: 200,
      peakBytes: 4096,
      peakSource: 'estimate',
      elapsedMs: 5400, // each session's family_done: 5000 ms, then 400 ms
      engine: 'batched',
      concurrency: 2, // its last session's
    });
    expect(xgboost).toMatchObject({ rank: 1, trialsDone: 2, failed: 1, best: { number: 0, value: 0.8 }, msPerTrial: 100, peakBytes: 8192, peakSource: 'measured', engine: 'worker', concurrency: 3 });
    // The killed session counts up to its last record (7 .. 9 s), the next one its family_done's 4000 ms.
    expect(xgboost!.elapsedMs).toBe(6000);
    expect(catboost).toEqual({
      family: 'catboost',
      rank: null,
      trialsDone: 0,
      trialsTotal: 2,
      failed: 0,
      best: null,
      msPerTrial: null,
      peakBytes: null,
      peakSource: null,
      elapsedMs: 1000, // opened at 107 s, interrupted at 108 s
      engine: 'worker',
      concurrency: 2,
    });
  });

  it('breaks a tie of best values by the spec order', () => {
    const line = (family: FamilySummary['family'], value: number | null): FamilySummary => ({
      family,
      rank: null,
      trialsDone: value === null ? 0 : 1,
      trialsTotal: 1,
      failed: 0,
      best: value === null ? null : { number: 0, value, params: {} },
      msPerTrial: null,
      peakBytes: null,
      peakSource: null,
      elapsedMs: 0,
      engine: null,
      concurrency: null,
    });
    expect(rankFamilies([line('nn', 0.5), line('lightgbm', null), line('xgboost', 0.9), line('catboost', 0.5)]).map((summary) => summary.rank)).toEqual([2, null, 1, 3]);
  });

  it('is in the status, `status --json` and the panel info; the text status prints the comparison', async () => {
    const dir = threeFamilies(join(tempDir(), 'status'));
    const status = runStatus(dir);
    expect(status).toMatchObject({ status: 'interrupted', trialsDone: 4, trialsTotal: 6, trialsOther: 1, engine: 'batched', best: { family: 'xgboost', number: 0, value: 0.8 } });
    expect(status.settings).toMatchObject({ families: ['nn', 'xgboost', 'catboost'], treeWorkers: 'auto', space: { nn: SPACE } });
    expect(status.families.map((family) => [family.family, family.rank])).toEqual([
      ['nn', 2],
      ['xgboost', 1],
      ['catboost', null],
    ]);
    expect(status.progressLine).toBe('4 of 6 trials · best r2 0.8000 (xgboost trial 0)');
    const lines = trialsJob.statusLines(status);
    expect(lines.join('\n')).toMatch(/best {5}r2 0\.8000: xgboost trial 0 \(max_depth 3/);
    const start = lines.findIndex((line) => line.startsWith('compare'));
    const compare = lines.slice(start, start + 4);
    expect(compare[0]).toMatch(/^compare +family +rank +best r2 +trials +ms\/trial +peak +time$/);
    expect(compare.slice(1).map((line) => line.trim().split(/\s+/)[0])).toEqual(['xgboost', 'nn', 'catboost']); // ranked
    expect(compare[1]).toMatch(/xgboost +1 +0\.8000 \(#0\) +2\/2 \(1 failed\) +100 +8 KiB +6\.0 s/);
    expect(compare[2]).toMatch(/nn +2 +0\.6000 \(#1\) +2\/2 +200 +~4 KiB +5\.4 s/);
    const info = readRunInfo('status', dir);
    expect(TrialsRunInfo.safeParse(info).success).toBe(true);
    const printed = await cli(['status', dir, '--json']);
    expect(printed.exitCode, printed.stderr).toBe(0);
    const json = JSON.parse(printed.stdout) as { families: FamilySummary[]; best: unknown };
    expect(json.best).toMatchObject({ family: 'xgboost', number: 0 });
    expect(json.families).toEqual(status.families);
    const text = await cli(['status', dir]);
    expect(text.stdout).toMatch(/compare {2}family/);
  });

  it('folds a live trial into its family: counts, mean ms, peak, rank', () => {
    const dir = threeFamilies(join(tempDir(), 'fold'));
    const info = readRunInfo('fold', dir);
    const folded = foldTrialsEvent(info, { kind: 'trialDone', result: withPeak(trial(0, 0.95, 'complete', 'catboost'), 40, 99 * 1024, 'measured'), trialsDone: 5, trialsTotal: 6 })!;
    const families = (folded as unknown as TrialsRunInfo).families;
    expect(families.map((family) => [family.family, family.rank])).toEqual([
      ['nn', 3],
      ['xgboost', 2],
      ['catboost', 1],
    ]);
    expect(families[2]).toMatchObject({ trialsDone: 1, msPerTrial: 40, peakBytes: 99 * 1024, best: { number: 0, value: 0.95 } });
    expect((folded as unknown as TrialsRunInfo).best).toMatchObject({ family: 'catboost', number: 0 });
    const engine = foldTrialsEvent(folded, { kind: 'engine', family: 'catboost', engine: 'worker', why: '4 workers', concurrency: 4, memberBytes: 0, roomBytes: null, device: 'cpu', failedStale: [] })!;
    expect((engine as unknown as TrialsRunInfo).engine).toBe('batched'); // the NN engine stays
    expect((engine as unknown as TrialsRunInfo).families[2]).toMatchObject({ engine: 'worker', concurrency: 4 });
    expect(familyTable((engine as unknown as TrialsRunInfo).families, 'r2', { params: true })[1]).toMatch(/^catboost +1 +0\.9500 \(#0\).*max_depth 3, learning_rate 0\.01$/);
  });
});

describe('a sweep from before families existed', () => {
  it('reads as the NN family alone: run.json without families, records and trials without family', () => {
    const dir = writeTimedRun(join(tempDir(), 'old'), [
      [0, { type: 'session_started', pid: 1, command: 'trials', finished: 0, complete: 0 }],
      [1, openedFamily('nn', 2)],
      [2, done(trial(0, 0.5))],
    ]);
    // As issue 12 wrote them: no families, treeWorkers, or family in any record; the space flat.
    const manifest = JSON.parse(readFileSync(runPaths(dir).manifest, 'utf8')) as { spec: Record<string, unknown> };
    delete manifest.spec.families;
    delete manifest.spec.treeWorkers;
    manifest.spec.space = SPACE;
    writeFileSync(runPaths(dir).manifest, JSON.stringify(manifest));
    const journal = readFileSync(runPaths(dir).journal, 'utf8').replaceAll('"family":"nn",', '').replace(/,"device":"cpu","message"/g, ',"message"');
    expect(journal).not.toContain('"family"');
    writeFileSync(runPaths(dir).journal, journal);
    expect(readManifest(dir).spec).toMatchObject({ families: ['nn'], treeWorkers: null, space: { nn: SPACE } });
    const status = runStatus(dir);
    expect(status).toMatchObject({ trialsDone: 1, trialsTotal: 4, best: { family: 'nn', number: 0 }, engine: 'batched' });
    expect(status.families).toHaveLength(1);
    expect(status.families[0]).toMatchObject({ family: 'nn', rank: 1, trialsDone: 1, elapsedMs: 1000 });
    expect(trialsJob.statusLines(status).join('\n')).not.toMatch(/compare/);
  });
});
