import { describe, expect, it } from 'vitest';
import { npyMatrixHeader, parseNpyMatrix } from '../../../../src/jobs/embed/chunks/npy.js';
import { planChunks } from '../../../../src/jobs/embed/chunks/planner.js';
import { modelKey } from '../../../../src/jobs/embed/modelKey.js';

describe('npy header', () => {
  it('round-trips and is 64-byte aligned like numpy writes it', () => {
    const header = npyMatrixHeader(3, 2);
    expect(header.length % 64).toBe(0);
    const file = Buffer.concat([header, Buffer.alloc(3 * 2 * 4)]);
    expect(parseNpyMatrix(file)).toEqual({ rows: 3, cols: 2, dataOffset: header.length });
  });

  it('names what is wrong with a damaged file', () => {
    const file = Buffer.concat([npyMatrixHeader(3, 2), Buffer.alloc(20)]);
    expect(parseNpyMatrix(file)).toMatch(/expected/);
    expect(parseNpyMatrix(Buffer.from('hello world'))).toBe('not a .npy file');
  });
});

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

describe('modelKey', () => {
  it('keeps hub names readable and folder names distinct', () => {
    expect(modelKey('sentence-transformers/all-MiniLM-L6-v2')).toBe('sentence-transformers__all-MiniLM-L6-v2');
    expect(modelKey('/a/model')).not.toBe(modelKey('/b/model'));
    expect(modelKey('/a/model')).toMatch(/^model-[0-9a-f]{8}$/);
  });
});
