import { describe, expect, it } from 'vitest';
import { planChunks } from '../../../../src/jobs/embed/chunks/planner.js';

describe('chunk planner', () => {
  it('covers every row once, in order', () => {
    expect(planChunks(25, 10)).toEqual([
      { index: 0, start: 0, end: 10 },
      { index: 1, start: 10, end: 20 },
      { index: 2, start: 20, end: 25 },
    ]);
    expect(planChunks(3, 1000)).toEqual([{ index: 0, start: 0, end: 3 }]);
  });
});
