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
