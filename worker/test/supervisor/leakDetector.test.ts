/** The leak detector (pure): a growing series is a leak with its slope right; a flat noisy one and a short one are not. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, judgeBaselines, leakLimits, theilSen } from '../../src/supervisor/leakDetector.js';
import { seededRandom } from '../helpers.js';

const MB = 1024 * 1024;
const limits = leakLimits({}, 'cpu');
/** A baseline of 900 MB, `slope` MB more per unit, and +-`noise` MB of seeded noise (a spike now and then). */
function series(n: number, slope: number, noise: number, seed = 1): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const spike = i % 7 === 3 ? 5 * noise : 0;
    return (900 + slope * i + (random() * 2 - 1) * noise + spike) * MB;
  });
}

describe('leak detector', () => {
  it('fires on a growing series, with the slope in MB per unit', () => {
    const verdict = judgeBaselines(series(20, 20, 6), limits);
    expect(verdict.leaking).toBe(true);
    expect(verdict.slopeMB).toBeGreaterThan(18);
    expect(verdict.slopeMB).toBeLessThan(22);
    expect(verdict.units).toBe(12);
    expect(verdict.driftMB).toBeGreaterThan(19 * 20 - 30);
  });

  it('stays quiet on a flat noisy series, whatever the seed', () => {
    for (let seed = 1; seed <= 50; seed += 1) {
      const verdict = judgeBaselines(series(40, 0, 20, seed), limits);
      expect(verdict.leaking, `seed ${seed}: slope ${verdict.slopeMB}`).toBe(false);
      expect(Math.abs(verdict.slopeMB)).toBeLessThan(limits.slopeMB);
    }
  });

  it('stays quiet on a short series, even a steep one', () => {
    expect(judgeBaselines(series(DEFAULT_LIMITS.minUnits - 1, 50, 0), limits)).toMatchObject({ leaking: false, slopeMB: 50 });
    expect(judgeBaselines([], limits)).toMatchObject({ leaking: false, recycle: false, slopeMB: 0, driftMB: 0 });
    expect(judgeBaselines(series(DEFAULT_LIMITS.minUnits, 50, 0), limits).leaking).toBe(true);
  });

  it('a small steady rise under the rise threshold is not a leak', () => {
    // 4.5 MB a unit over 6 units: above the slope, but 22 MB in all, under riseMB (32)
    expect(judgeBaselines(series(6, 4.5, 0), limits).leaking).toBe(false);
  });

  it('asks for a recycle once the drift passes the limit, not before', () => {
    const low = { ...limits, recycleMB: 100 };
    expect(judgeBaselines(series(5, 20, 0), low).recycle).toBe(false); // +80 MB
    expect(judgeBaselines(series(7, 20, 0), low).recycle).toBe(true); // +120 MB
  });

  it('Theil-Sen ignores a spike that least squares would follow', () => {
    expect(theilSen([1, 2, 3, 4, 100, 6, 7])).toBeCloseTo(1, 5);
    expect(theilSen([5])).toBe(0);
  });

  it('reads its limits from the environment, per device', () => {
    expect(leakLimits({}, 'cuda:0').recycleMB).toBe(1024);
    expect(leakLimits({}, 'cpu').recycleMB).toBe(2048);
    expect(leakLimits({ HEADROOM_LEAK_RECYCLE_MB: '64', HEADROOM_LEAK_SLOPE_MB: '2' }, 'cuda:0')).toMatchObject({ recycleMB: 64, slopeMB: 2 });
    expect(leakLimits({ HEADROOM_LEAK_RECYCLE_MB: 'lots' }, 'cpu').recycleMB).toBe(2048);
  });
});
