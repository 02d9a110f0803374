/**
 * A rolling mean over the last `window` points: tokens per second is per batch and
 * dips on every chunk's last, small batch; the mean reads calmer (the raw values
 * are drawn beside it). Linear: one pass with a running sum.
 */
import type { Point } from './decimate.ts';

export function rollingMean(points: readonly Point[], window = 8): Point[] {
  const out: Point[] = [];
  let sum = 0;
  for (let i = 0; i < points.length; i += 1) {
    sum += points[i]!.v;
    if (i >= window) sum -= points[i - window]!.v;
    out.push({ t: points[i]!.t, v: sum / Math.min(i + 1, window) });
  }
  return out;
}
