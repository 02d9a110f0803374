import { describe, expect, it } from 'vitest';
import { npyMatrixHeader, parseNpyMatrix } from '../../../../src/jobs/embed/chunks/npy.js';

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
