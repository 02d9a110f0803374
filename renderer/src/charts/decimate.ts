/**
 * Charts draw at most a few hundred points whatever the window holds: min/max per
 * bucket keeps every spike (an OOM's peak must not vanish), in time order.
 */
export interface Point {
  t: number;
  v: number;
}

export function decimate(points: readonly Point[], buckets = 400): Point[] {
  if (points.length <= buckets * 2) return points.slice();
  const size = points.length / buckets;
  const out: Point[] = [];
  for (let b = 0; b < buckets; b += 1) {
    const start = Math.floor(b * size);
    const end = Math.min(points.length, Math.floor((b + 1) * size));
    let min = points[start]!;
    let max = points[start]!;
    for (let i = start + 1; i < end; i += 1) {
      const p = points[i]!;
      if (p.v < min.v) min = p;
      if (p.v > max.v) max = p;
    }
    if (min === max) out.push(min);
    else if (min.t <= max.t) out.push(min, max);
    else out.push(max, min);
  }
  return out;
}

/** Appends to a bounded window, dropping the oldest in blocks (amortised, no per-sample shift). */
export function appendBounded<T>(list: T[], item: T, max: number): T[] {
  const next = list.length >= max ? list.slice(Math.floor(max / 10)) : list.slice();
  next.push(item);
  return next;
}
