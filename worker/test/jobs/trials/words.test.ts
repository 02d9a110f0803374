import { describe, expect, it } from 'vitest';
import { trainingPhase } from '../../../src/jobs/trials/words.js';

describe('the training phase in words', () => {
  it('reads as before families for an NN-only sweep', () => {
    expect(trainingPhase(8, 12, 20)).toBe('training 8 trials at once · 12 of 20 done');
    expect(trainingPhase(1, 0, 20)).toBe('training 1 trial at a time · 0 of 20 done');
  });

  it('names the family training in a sweep of several, tree families by their workers', () => {
    expect(trainingPhase(2, 23, 60, 'xgboost')).toBe('xgboost: 2 workers · 23 of 60 done');
    expect(trainingPhase(1, 23, 60, 'catboost')).toBe('catboost: 1 worker · 23 of 60 done');
    expect(trainingPhase(8, 2, 60, 'nn')).toBe('nn: training 8 trials at once · 2 of 60 done');
  });
});

describe("the CLI reporter of a resumed sweep", () => {
  it('starts its running best and per-family counts from what earlier sessions finished', async () => {
    const { trialsReporter } = await import('../../../src/jobs/trials/cliReporter.js');
    const { trial } = await import('./fixtures.js');
    const written: string[] = [];
    const stream = { isTTY: false, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
    const reporter = trialsReporter(stream, false);
    const families = ['catboost', 'lightgbm'] as const;
    reporter.progress({ kind: 'started', runDir: '/r', trialsTotal: 6, trialsDone: 2, task: 'regression', metric: 'r2', families: [...families], best: { family: 'catboost', number: 1, value: 0.9705 }, doneByFamily: { catboost: 2 } });
    reporter.progress({ kind: 'trialDone', result: trial(3, 0.9682, 'complete', 'catboost'), trialsDone: 3, trialsTotal: 6 });
    const last = written.at(-1) ?? '';
    expect(last).toContain('catboost trial 3 (3 of 3) complete');
    expect(last).toContain('best r2 0.9705 (catboost trial 1)');
  });
});
