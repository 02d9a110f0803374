/**
 * The GPUs view's series: per GPU its memory used, its unaccounted memory and its
 * utilisation, and system memory; rebuilt from the monitor's own history file
 * (gpuHistory) when the view opens, then extended by each live sample. Bounded to
 * a day of 1 Hz samples per series, as the run series are.
 */
import type { GpuHistory, GpuPoint, GpuSample } from '../../../worker/src/contract/api.ts';
import type { Point } from '../charts/decimate.ts';

/** One GPU's series (bytes, percent) and its memory total (the chart's scale). */
export interface GpuLine {
  used: Point[];
  unaccounted: Point[];
  util: Point[];
  total: number;
}

export interface GpuSeries {
  /** By GPU index. */
  gpus: Record<number, GpuLine>;
  system: Point[];
  /** The time (ms) of the latest point folded in: a live sample at or before it is already drawn. */
  lastAt: number;
}

export const emptyGpuSeries = (): GpuSeries => ({ gpus: {}, system: [], lastAt: 0 });

const push = (list: Point[], point: Point, max: number): void => {
  list.push(point);
  if (list.length > max) list.splice(0, Math.floor(max / 10) + (list.length - max));
};

/** Folds points (in time order; one at or before the series' last is skipped) into a copy of the series. */
export function foldGpuPoints(base: GpuSeries, points: readonly GpuPoint[], max: number): GpuSeries {
  const fresh = points.filter((point) => point.at > base.lastAt);
  if (fresh.length === 0) return base;
  const gpus: Record<number, GpuLine> = {};
  for (const [index, line] of Object.entries(base.gpus)) gpus[Number(index)] = { ...line, used: line.used.slice(), unaccounted: line.unaccounted.slice(), util: line.util.slice() };
  const system = base.system.slice();
  for (const point of fresh) {
    const t = point.at / 1000;
    for (const gpu of point.gpus) {
      const line = (gpus[gpu.index] ??= { used: [], unaccounted: [], util: [], total: gpu.total });
      line.total = gpu.total;
      push(line.used, { t, v: gpu.used }, max);
      if (gpu.unaccounted !== null) push(line.unaccounted, { t, v: gpu.unaccounted }, max);
      if (gpu.util !== null) push(line.util, { t, v: gpu.util }, max);
    }
    push(system, { t, v: point.system }, max);
  }
  return { gpus, system, lastAt: fresh.at(-1)!.at };
}

/** A live sample as a point of the history (the same figures the monitor writes to its file). */
export function pointOfSample(sample: GpuSample): GpuPoint {
  return {
    at: sample.at,
    gpus: sample.gpus.map((gpu) => ({ index: gpu.index, used: gpu.memoryUsed, total: gpu.memoryTotal, util: gpu.utilization, temp: gpu.temperature, power: gpu.power, unaccounted: gpu.unaccounted })),
    system: sample.system.memoryUsed,
  };
}

/**
 * The series from the history file, then every live point drawn since that the file does not hold yet
 * (samples that came while it was read): no gap, no duplicate.
 */
export function gpuSeriesFromHistory(history: Pick<GpuHistory, 'points'>, live: GpuSeries, max: number): GpuSeries {
  const fromDisk = foldGpuPoints(emptyGpuSeries(), history.points, max);
  const after = fromDisk.lastAt;
  const gpus: Record<number, GpuLine> = { ...fromDisk.gpus };
  for (const [key, line] of Object.entries(live.gpus)) {
    const index = Number(key);
    const later = (list: Point[]): Point[] => list.filter((p) => p.t * 1000 > after);
    const base = gpus[index] ?? { used: [], unaccounted: [], util: [], total: line.total };
    gpus[index] = { total: line.total, used: [...base.used, ...later(line.used)], unaccounted: [...base.unaccounted, ...later(line.unaccounted)], util: [...base.util, ...later(line.util)] };
  }
  const system = [...fromDisk.system, ...live.system.filter((p) => p.t * 1000 > after)];
  return { gpus, system, lastAt: Math.max(after, live.lastAt) };
}
