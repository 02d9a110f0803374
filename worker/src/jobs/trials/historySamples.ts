/**
 * A sweep's high-rate events and what its charts draw of each: the run's history
 * keeps, per time bucket, the events holding each value's extremes (runs/history.ts).
 *
 * Loss curves (`curve`) are the high-rate event: each carries points of many
 * running trials, sent several times a second whatever K. As marks they would
 * grow the history without bound and thin away the marks that matter (trials
 * finished, concurrency changes, OOMs); as samples the history keeps, per
 * bucket, the curve events holding the lowest and highest epoch and validation
 * loss (four at most), so a day-long sweep's history stays within the writer's bucket limit
 * (between 1,000 and 2,000 buckets, a few MB) while the live panel gets every
 * point. A sweep reopened from disk draws its curves from these kept events; the
 * trials themselves (trialDone, a mark) are all kept up to the writer's mark
 * limit, and trials.jsonl holds every one whatever the length.
 */
import type { SampleValues } from '../../runs/history.js';

type Point = { epoch?: unknown; val?: unknown };

const pointsOf = (event: Record<string, unknown>): Point[] => (Array.isArray(event.points) ? (event.points as Point[]) : []);

function extreme(points: Point[], field: 'epoch' | 'val', pick: (a: number, b: number) => number): number | null {
  let found: number | null = null;
  for (const point of points) {
    const value = point[field];
    if (typeof value === 'number' && Number.isFinite(value)) found = found === null ? value : pick(found, value);
  }
  return found;
}

export const TRIALS_HISTORY_SAMPLES: SampleValues = {
  curve: (event) => {
    const points = pointsOf(event);
    return [extreme(points, 'epoch', Math.max), extreme(points, 'val', Math.min)];
  },
};
