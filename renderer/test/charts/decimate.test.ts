import { describe, expect, it } from 'vitest';
import { appendBounded, decimate, type Point } from '../../src/charts/decimate.ts';

describe('decimation', () => {
  it('draws a day of 1 Hz samples as at most 800 points and keeps every spike', () => {
    const day: Point[] = Array.from({ length: 86_400 }, (_, t) => ({ t, v: t === 51_234 ? 1e9 : 100 + (t % 7) }));
    const drawn = decimate(day);
    expect(drawn.length).toBeLessThanOrEqual(800);
    expect(Math.max(...drawn.map((p) => p.v))).toBe(1e9); // the OOM peak survives
    expect(drawn.every((p, i) => i === 0 || p.t >= drawn[i - 1]!.t)).toBe(true);
  });

  it('leaves short series alone', () => {
    const few = [{ t: 1, v: 2 }, { t: 2, v: 3 }];
    expect(decimate(few)).toEqual(few);
  });

  it('bounds the window, dropping the oldest first', () => {
    let list: number[] = [];
    for (let i = 0; i < 25; i += 1) list = appendBounded(list, i, 10);
    expect(list.length).toBeLessThanOrEqual(10);
    expect(list.at(-1)).toBe(24);
  });
});

describe('rolling mean', () => {
  it('averages the last points, keeps every time, and starts from the first point', async () => {
    const { rollingMean } = await import('../../src/charts/smooth.ts');
    const points = [10, 0, 10, 0, 10, 0].map((v, t) => ({ t, v }));
    const smooth = rollingMean(points, 2);
    expect(smooth.map((p) => p.t)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(smooth.map((p) => p.v)).toEqual([10, 5, 5, 5, 5, 5]);
  });
});
